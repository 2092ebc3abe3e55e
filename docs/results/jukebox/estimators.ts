/**
 * The key and tempo estimators (src/audio/estimate.ts) on a music corpus's ground truth.
 *
 *   npx tsx docs/results/jukebox/estimators.ts <music dir> <first clip> <end clip>
 *
 * The estimators' constants were chosen on clips 0–79 of the seed-13 corpus; docs/results/jukebox.md
 * reports clips 200–415, which played no part in that.
 */
import { estimateKey, estimateTempo, parseKey } from '../../../src/audio/estimate.ts';
import { loadEntry, readDataset } from '../../../src/audio/manifest.ts';
import { toMono } from '../../../src/audio/wav.ts';

const [dir, from, to] = process.argv.slice(2);
const entries = (await readDataset(dir!)).slice(Number(from), Number(to));
const n = { exact: 0, relative: 0, tempo: 0, metrical: 0 };
for (const e of entries) {
  const { audio } = await loadEntry(e);
  const x = toMono(audio);
  const k = estimateKey(x, audio.sampleRate);
  const want = parseKey(e.key as string);
  const rel = want.mode === 'major' ? { tonic: (want.tonic + 9) % 12, mode: 'minor' } : { tonic: (want.tonic + 3) % 12, mode: 'major' };
  const exact = k.tonic === want.tonic && k.mode === want.mode;
  n.exact += +exact;
  n.relative += +(exact || (k.tonic === rel.tonic && k.mode === rel.mode));
  const ratio = estimateTempo(x, audio.sampleRate).bpm / (e.tempo as number);
  n.tempo += +(Math.abs(ratio - 1) <= 0.04);
  n.metrical += +[0.5, 2 / 3, 1, 1.5, 2].some((r) => Math.abs(ratio / r - 1) <= 0.04);
}
const pct = (v: number) => `${((100 * v) / entries.length).toFixed(1)} %`;
console.log(
  `${entries.length} clips (${from}–${Number(to) - 1}): key exact ${pct(n.exact)}, up to relative ${pct(n.relative)}; ` +
    `tempo ±4 % ${pct(n.tempo)}, a metrical level (½ ⅔ 1 3⁄2 2×) ±4 % ${pct(n.metrical)}`,
);
