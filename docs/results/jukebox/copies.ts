/**
 * Does the top prior copy its training songs? (docs/results/jukebox.md, session 6: a prior trained
 * past its held-out minimum.) For the paired requests of `tony jukebox conditioning` (drawRequests,
 * the same seeds), sample top codes with and without the conditions, and count how many of each
 * sample's n-grams occur anywhere in the training songs' top codes. The reference: the held-out
 * songs' own top codes (music of the same corpus that the prior never saw), cut to the same length.
 *
 *   npx tsx docs/results/jukebox/copies.ts <codes.jsonl> <prior dir> <seconds> <temperature> <n-gram> <seed>…
 */

import { drawRequests } from '../../../src/models/jukebox/conditioning.ts';
import { readCodes } from '../../../src/models/jukebox/kind.ts';
import { conditionIds } from '../../../src/models/jukebox/prior.ts';
import { loadPrior, sampleCodes } from '../../../src/models/jukebox/sample.ts';
import { levelHop } from '../../../src/models/jukebox/vqvae.ts';

const [codesPath, priorDir, secondsArg, tArg, nArg, ...seeds] = process.argv.slice(2);
const N = Number(nArg);
const { train, val } = await readCodes([codesPath!]);
const prior = await loadPrior(priorDir!, { threads: 1 });
const sr = 8000; // the corpus's rate (tony audio corpus --sample-rate 8000)
const length = Math.ceil((Number(secondsArg) * sr) / levelHop('top'));

const grams = new Set<string>();
for (const s of train) for (let i = 0; i + N <= s.top.length; i++) grams.add(s.top.slice(i, i + N).join(','));
/** Share of a sequence's n-grams found in the training songs, and the longest run of copied n-grams. */
const copied = (c: ArrayLike<number>) => {
  const a = Array.from(c);
  let hit = 0;
  let run = 0;
  let longest = 0;
  for (let i = 0; i + N <= a.length; i++) {
    const h = grams.has(a.slice(i, i + N).join(','));
    hit += h ? 1 : 0;
    run = h ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return { share: hit / Math.max(1, a.length - N + 1), longest: longest ? longest + N - 1 : 0 };
};
const report = (name: string, rows: Array<{ share: number; longest: number }>) => {
  const m = rows.reduce((a, r) => a + r.share, 0) / rows.length;
  const sd = Math.sqrt(rows.reduce((a, r) => a + (r.share - m) ** 2, 0) / Math.max(1, rows.length - 1));
  const whole = rows.filter((r) => r.share === 1).length;
  const med = [...rows.map((r) => r.longest)].sort((a, b) => a - b)[rows.length >> 1];
  console.log(
    `${name.padEnd(26)} n ${String(rows.length).padStart(4)}: ${N}-grams found in training ${(100 * m).toFixed(1)} % (sd ${(100 * sd).toFixed(1)}); ` +
      `all of it copied in ${whole}; median longest copied run ${med} codes of ${length}`,
  );
};

console.log(`${train.length} training songs' top codes (${grams.size} distinct ${N}-grams); ${length} codes a sample`);
report(
  'held-out songs (reference)',
  val.filter((s) => s.top.length >= length).map((s) => copied(s.top.slice(0, length))),
);
const arms: Record<string, Array<{ share: number; longest: number }>> = { conditioned: [], unconditioned: [] };
for (const seed of seeds.map(Number)) {
  const requests = drawRequests(24, seed);
  const cond = Int32Array.from(requests.flatMap((q) => conditionIds(q)));
  const none = Int32Array.from(requests.flatMap(() => conditionIds({})));
  for (const [arm, c] of [
    ['conditioned', cond],
    ['unconditioned', none],
  ] as const) {
    const codes = await sampleCodes(prior, { length, batch: requests.length, cond: c, temperature: Number(tArg), seed });
    arms[arm]!.push(...codes.map(copied));
  }
}
for (const [arm, rows] of Object.entries(arms)) report(`top prior T ${tArg}, ${arm}`, rows);
await prior.close();
