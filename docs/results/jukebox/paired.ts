/**
 * Pool `tony jukebox conditioning` results (one JSON per seed) and compare the arms request by
 * request: each request is sampled once with its conditions and once with none, so the pairs are
 * the unit. Per measure: hits per arm, the difference with its standard error (unpaired, as the
 * earlier tables), and the exact McNemar test on the discordant pairs (two-sided binomial, p = ½).
 *
 *   npx tsx docs/results/jukebox/paired.ts <conditioning.json>…
 */
import { readFile } from 'node:fs/promises';
import type { Judged } from '../../../src/models/jukebox/conditioning.ts';

const MEASURES = ['keyExact', 'keyRelative', 'tempoClose', 'tempoMetrical'] as const;
const pairs: Array<[Judged, Judged]> = [];
for (const f of process.argv.slice(2)) {
  const { judged } = JSON.parse(await readFile(f, 'utf8')) as { judged: Judged[] };
  const cond = judged.filter((j) => j.conditioned);
  const none = judged.filter((j) => !j.conditioned);
  if (cond.length !== none.length) throw new Error(`${f}: ${cond.length} conditioned but ${none.length} unconditioned samples`);
  cond.forEach((c, i) => {
    if (JSON.stringify(c.request) !== JSON.stringify(none[i]!.request)) throw new Error(`${f}: sample ${i}'s arms have different requests`);
    pairs.push([c, none[i]!]);
  });
}
/** log C(n, k), to keep the binomial tail exact for hundreds of pairs. */
const logChoose = (n: number, k: number) => {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
};
const mcnemar = (b: number, c: number) => {
  const n = b + c;
  let tail = 0;
  for (let i = 0; i <= Math.min(b, c); i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
  return Math.min(1, 2 * tail);
};
const n = pairs.length;
console.log(`${n} paired requests from ${process.argv.length - 2} file(s)`);
for (const m of MEASURES) {
  const a = pairs.filter(([c]) => c[m]).length;
  const u = pairs.filter(([, x]) => x[m]).length;
  const b = pairs.filter(([c, x]) => c[m] && !x[m]).length;
  const c = pairs.filter(([cc, x]) => !cc[m] && x[m]).length;
  const [pa, pu] = [a / n, u / n];
  const se = Math.sqrt((pa * (1 - pa)) / n + (pu * (1 - pu)) / n);
  console.log(
    `${m.padEnd(14)} conditioned ${a} (${(100 * pa).toFixed(1)} %), unconditioned ${u} (${(100 * pu).toFixed(1)} %), ` +
      `difference ${(100 * (pa - pu)).toFixed(1)} (se ${(100 * se).toFixed(1)}) points; discordant ${b} vs ${c}, McNemar p = ${mcnemar(b, c).toFixed(4)}`,
  );
}
