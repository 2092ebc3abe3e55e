/**
 * Are there notes in a folder of samples? The notes measures of src/audio/tonality.ts over every WAV
 * in each directory given, split by the file names' arm (`cond-…` / `uncond-…` as
 * `tony jukebox conditioning --wavs` writes them; anything else is "all"): mean and standard
 * deviation over files.
 *
 *   npx tsx docs/results/jukebox/notes.ts [--pool] <wav dir>…     (--pool: one row per arm over all the dirs)
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tonality } from '../../../src/audio/tonality.ts';
import { readWav, toMono } from '../../../src/audio/wav.ts';

const args = process.argv.slice(2);
const pool = args[0] === '--pool';
const dirs = pool ? args.slice(1) : args;
// With --pool, one row per arm over every directory's files (e.g. all the seeds of a chain run).
for (const group of pool ? [dirs] : dirs.map((d) => [d])) {
  const dir = pool ? `${group.length} directories` : group[0]!;
  const byArm = new Map<string, ReturnType<typeof tonality>[]>();
  const files = (
    await Promise.all(
      group.map(async (d) =>
        (
          await readdir(d)
        )
          .filter((f) => f.endsWith('.wav'))
          .sort()
          .map((f) => join(d, f)),
      ),
    )
  ).flat();
  for (const path of files) {
    const f = path.slice(path.lastIndexOf('/') + 1);
    const audio = await readWav(path);
    const arm = f.startsWith('uncond-') ? 'unconditioned' : f.startsWith('cond-') ? 'conditioned' : 'all';
    byArm.set(arm, [...(byArm.get(arm) ?? []), tonality(toMono(audio), audio.sampleRate)]);
  }
  for (const [arm, ts] of byArm) {
    const stat = (f: (t: ReturnType<typeof tonality>) => number) => {
      const m = ts.reduce((a, t) => a + f(t), 0) / ts.length;
      const sd = Math.sqrt(ts.reduce((a, t) => a + (f(t) - m) ** 2, 0) / Math.max(1, ts.length - 1));
      return `${m.toFixed(3)} (sd ${sd.toFixed(3)})`;
    };
    console.log(
      `${dir} ${arm.padEnd(13)} n ${ts.length}: peak share ${stat((t) => t.peakShare)}, strong ${stat((t) => t.strongFrames)}, ` +
        `pitch classes ${stat((t) => t.pitchClasses)}, flatness ${stat((t) => t.flatness)}, kept frames ${stat((t) => t.frames / t.totalFrames)}`,
    );
  }
}
