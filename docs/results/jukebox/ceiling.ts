/**
 * Can a VQ-VAE level carry key and tempo at all? Held-out songs, encoded and decoded by each level
 * given, judged by the key and tempo estimators against the songs' own metadata — beside the
 * same judgement of the original audio (the estimators' own ceiling on these songs).
 *
 *   npx tsx docs/results/jukebox/ceiling.ts <music dir> <songs> <seconds> <level run or checkpoint>…
 *
 * Songs: the first <songs> held-out songs by id (the split of src/models/jukebox/data.ts).
 * Each line also gives the notes measures of src/audio/tonality.ts (session 4), means over songs:
 * peak share, strong frames, pitch classes, flatness.
 */

import { tonality } from '../../../src/audio/tonality.ts';
import { loadVQVAE } from '../../../src/models/jukebox/codec.ts';
import { judge, rates } from '../../../src/models/jukebox/conditioning.ts';
import { readMusic } from '../../../src/models/jukebox/data.ts';

const [data, n, seconds, ...levels] = process.argv.slice(2);
const pct = (v: number) => `${(100 * v).toFixed(0).padStart(3)} %`;
const notes = (xs: Float32Array[]) => {
  const ts = xs.map((x) => tonality(x, 8000));
  const mean = (f: (t: (typeof ts)[number]) => number) => (ts.reduce((a, t) => a + f(t), 0) / ts.length).toFixed(3);
  return `peak share ${mean((t) => t.peakShare)}, strong ${mean((t) => t.strongFrames)}, pitch classes ${mean((t) => t.pitchClasses)}, flatness ${mean((t) => t.flatness)}`;
};
const line = (name: string, r: ReturnType<typeof rates>, xs: Float32Array[]) =>
  console.log(
    `${name.padEnd(48)} key ${pct(r.keyExact)} (relative ${pct(r.keyRelative)}), tempo ±8 % ${pct(r.tempoClose)} (metrical ${pct(r.tempoMetrical)}) of ${r.n}; ${notes(xs)}`,
  );
const music = await readMusic([data!], 8000);
const songs = [...music.val].sort((a, b) => a.id.localeCompare(b.id)).slice(0, Number(n));
const s = Number(seconds);
const clips = songs.map((x) => x.samples.subarray(0, Math.round(s * 8000)));
const request = (x: (typeof songs)[number]) => ({ key: x.key!, tempo: x.tempo!, timbre: x.timbre ?? '' });
line('original audio', rates(clips.map((x, i) => judge(x, 8000, request(songs[i]!), true))), clips);
for (const dir of levels) {
  const level = await loadVQVAE(dir, { threads: 1 });
  try {
    if (level.cfg.sampleRate !== 8000) throw new Error(`${dir}: trained at ${level.cfg.sampleRate} Hz; this script reads 8 kHz`);
    const ys: Float32Array[] = [];
    for (const x of clips) ys.push((await level.decode(await level.encode(x))).slice(0, x.length));
    line(`${dir} (${level.cfg.level})`, rates(ys.map((y, i) => judge(y, 8000, request(songs[i]!), true))), ys);
  } finally {
    await level.close();
  }
}
