/**
 * How far L∞ is pinned down: the profile of the fit's error over fixed L∞ values. For each L∞ on a
 * grid, L(x) = L∞ + (x0/x)^α is refitted with L∞ fixed (`fitPowerLaw(…, floor)`), and the grid values
 * whose error stays within the F-test threshold of the best fit, ΔSSE ≤ F(1, n−3; 0.95) · SSE_min/(n−3),
 * form the profile interval of L∞ (the interval a likelihood ratio test would accept, for Gaussian
 * log-space errors). With --floor, also the F statistic of the known floor. From the repository root:
 *
 *   node --import tsx docs/results/scaling/linf-profile.mts docs/results/scaling/code params
 *   node --import tsx docs/results/scaling/linf-profile.mts docs/results/scaling/math-frontier envelope 0.2018
 */
import { computeFrontier, envelopeFrontier } from '../../../src/scaling/frontier.ts';
import { fitPowerLaw } from '../../../src/scaling/powerlaw.ts';
import { curvePoints, finalPoints, readRuns } from '../../../src/scaling/runs.ts';

const [dir, axis = 'params', floorArg] = process.argv.slice(2);
const rows = await readRuns(dir!);
// axis: 'params' (final losses), 'compute' (the hull) or 'envelope' (the lower envelope).
const pts =
  axis === 'params'
    ? finalPoints(rows, 'val').sort((a, b) => a.params - b.params)
    : (axis === 'envelope' ? envelopeFrontier : computeFrontier)(curvePoints(rows, 'val'));
const xs = pts.map((p) => (axis === 'params' ? p.params : p.compute));
const ls = pts.map((p) => p.loss);
const n = xs.length;
// 95 % quantiles of F(1, d) for d = n − 3 residual degrees of freedom (scipy.stats.f.ppf(0.95, 1, d)).
const F95: Record<number, number> = { 1: 161.45, 2: 18.513, 3: 10.128, 4: 7.7086, 5: 6.6079, 6: 5.9874, 7: 5.5914, 8: 5.3177, 9: 5.1174, 10: 4.9646, 11: 4.8443, 12: 4.7472, 13: 4.6672, 14: 4.6001, 15: 4.5431, 16: 4.494, 17: 4.4513, 18: 4.4139, 19: 4.3807, 20: 4.3512 };
const d = n - 3;
const free = fitPowerLaw(xs, ls, 'irreducible');
const s2 = free.sse / d;
const lMin = Math.min(...ls);
const threshold = (F95[d] ?? 3.84) * s2;
console.log(`${n} points (${axis}); free fit L∞ = ${free.lInf.toFixed(4)}${free.lInfAtBound ? ' (at its bound)' : ''}, α = ${free.alpha.toFixed(4)}, SSE ${free.sse.toExponential(3)}; smallest loss ${lMin.toFixed(4)}`);
console.log('L∞      SSE         F = ΔSSE/(SSE_min/(n−3))   α');
const accepted: number[] = [];
const grid = Array.from({ length: 40 }, (_, i) => (lMin * i) / 40);
for (const lInf of grid) {
  const f = fitPowerLaw(xs, ls, 'irreducible', 'x', lInf);
  const F = (f.sse - free.sse) / s2;
  if (f.sse - free.sse <= threshold) accepted.push(lInf);
  console.log(`${lInf.toFixed(4)}  ${f.sse.toExponential(3)}   ${F.toFixed(2).padStart(8)}   ${f.alpha.toFixed(4)}`);
}
console.log(`profile 95 % interval of L∞ (grid step ${(lMin / 40).toFixed(3)}): [${Math.min(...accepted).toFixed(3)}, ${Math.max(...accepted).toFixed(3)}] (F threshold ${(F95[d] ?? 3.84).toFixed(2)})`);
if (floorArg !== undefined) {
  const f = fitPowerLaw(xs, ls, 'irreducible', 'x', Number(floorArg));
  console.log(`known floor ${floorArg}: SSE ${f.sse.toExponential(3)}, F ${((f.sse - free.sse) / s2).toFixed(2)} (reject at > ${(F95[d] ?? 3.84).toFixed(2)}), α ${f.alpha.toFixed(4)}`);
}
