/**
 * β of N_opt(C) ∝ C^β where `tony scale fit --x compute` cannot fit L(C) (a frontier of fewer than 4
 * hull vertices, as the math sweep's): β on the hull vertices and on every curve point within 1 % of
 * the hull, each with its leave-one-point/size-out range. From the repository root:
 *
 *   node --import tsx docs/results/scaling/beta.mts docs/results/scaling/math
 */
import { computeFrontier, fitOptimalSize, leaveOutOptimalSize, nearFrontier } from '../../../src/scaling/frontier.ts';
import { NEAR_FRONTIER } from '../../../src/scaling/analyze.ts';
import { curvePoints, readRuns } from '../../../src/scaling/runs.ts';

const rows = await readRuns(process.argv[2]!);
const curves = curvePoints(rows, 'val');
const hull = computeFrontier(curves);
const report = (name: string, pts: typeof curves) => {
  const o = fitOptimalSize(pts);
  const lo = leaveOutOptimalSize(pts);
  const sizes = [...new Set([...pts].sort((a, b) => a.params - b.params).map((p) => p.run))];
  console.log(`${name}: ${pts.length} points from ${sizes.length} sizes (${sizes.join(', ')})`);
  console.log(`  β ${o.beta.toFixed(4)}  R² ${o.r2.toFixed(4)}  leave one point or size out: [${lo.range.lo.toFixed(4)}, ${lo.range.hi.toFixed(4)}]`);
};
console.log(`hull vertices: ${hull.map((p) => `${p.run}@${p.compute.toExponential(2)} L=${p.loss.toFixed(3)}`).join(', ')}`);
report('hull vertices', hull);
report(`within ${100 * NEAR_FRONTIER} % of the hull`, nearFrontier(curves, hull, NEAR_FRONTIER));
