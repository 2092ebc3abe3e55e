/**
 * Can a VQ-VAE level carry key and tempo at all? Held-out songs, encoded and decoded by each level
 * given, judged by the key and tempo estimators against the songs' own metadata — beside the
 * same judgement of the original audio (the estimators' own ceiling on these songs).
 *
 *   npx tsx docs/results/jukebox/ceiling.ts <music dir> <songs> <seconds> <level run or checkpoint>…
 *
 * Songs: the first <songs> held-out songs by id (the split of src/models/jukebox/data.ts).
 */

import { loadVQVAE } from '../../../src/models/jukebox/codec.ts';
import { judge, judgeReconstructions, rates } from '../../../src/models/jukebox/conditioning.ts';
import { readMusic } from '../../../src/models/jukebox/data.ts';

const [data, n, seconds, ...levels] = process.argv.slice(2);
const pct = (v: number) => `${(100 * v).toFixed(0).padStart(3)} %`;
const line = (name: string, r: ReturnType<typeof rates>) =>
  console.log(
    `${name.padEnd(48)} key ${pct(r.keyExact)} (relative ${pct(r.keyRelative)}), tempo ±8 % ${pct(r.tempoClose)} (metrical ${pct(r.tempoMetrical)}) of ${r.n}`,
  );
const music = await readMusic([data!], 8000);
const songs = [...music.val].sort((a, b) => a.id.localeCompare(b.id)).slice(0, Number(n));
const s = Number(seconds);
line(
  'original audio',
  rates(
    songs.map((x) =>
      judge(x.samples.subarray(0, Math.round(s * 8000)), 8000, { key: x.key!, tempo: x.tempo!, timbre: x.timbre ?? '' }, true),
    ),
  ),
);
for (const dir of levels) {
  const level = await loadVQVAE(dir, { threads: 1 });
  try {
    if (level.cfg.sampleRate !== 8000) throw new Error(`${dir}: trained at ${level.cfg.sampleRate} Hz; this script reads 8 kHz`);
    line(`${dir} (${level.cfg.level})`, rates(await judgeReconstructions(level, songs, s)));
  } finally {
    await level.close();
  }
}
