/**
 * The compute frontier (Henighan et al. 2020, PAPERS.md §4): over all learning curves of a family of
 * models, the lowest loss reachable with each amount of compute C = 6·N·tokens. It is the lower
 * convex hull of the (compute, loss) points of every curve, taken here in log-log space (where the
 * curves and the fitted law are drawn, and where L∞ + (C0/C)^α is convex), from the cheapest point up
 * to the lowest loss (past it the hull only climbs to the most expensive point, which is not a
 * frontier). L(C) is fitted to the frontier points, and N_opt(C) ∝ C^β to the sizes of the models
 * that make them up.
 *
 * Only hull vertices are kept: a point on a straight stretch between two vertices is not "strictly
 * best" anywhere, and keeping it would weight the fit toward whichever curve happens to be logged
 * most densely there. Log evaluations often (every few percent of a run) so the hull has vertices.
 */
import { TonyError } from '../errors.ts';
import { ols } from './powerlaw.ts';
import { type BootstrapOptions, bootstrap, type Interval } from './resample.ts';

/** One point of one learning curve. */
export interface CurvePoint {
  run: string;
  /** Non-embedding parameters of the run's model. */
  params: number;
  compute: number;
  loss: number;
}

/**
 * Lower convex hull of `points` in (log compute, log loss), from the smallest compute to the lowest
 * loss, in order of increasing compute. Points with compute ≤ 0 (step 0) have no place on a log axis
 * and are skipped; among points with equal compute only the lowest loss can be on the hull.
 */
export function computeFrontier<P extends CurvePoint>(points: readonly P[]): P[] {
  checkPoints(points);
  const sorted = points
    .filter((p) => p.compute > 0)
    .map((p) => ({ p, u: Math.log(p.compute), v: Math.log(p.loss) }))
    .sort((a, b) => a.u - b.u || a.v - b.v);
  // Andrew's monotone chain, lower half: keep turning left (counter-clockwise).
  const hull: typeof sorted = [];
  for (const q of sorted) {
    if (hull.length > 0 && hull[hull.length - 1]!.u === q.u) continue; // same compute, higher loss
    while (hull.length >= 2) {
      const o = hull[hull.length - 2]!;
      const a = hull[hull.length - 1]!;
      const cross = (a.u - o.u) * (q.v - o.v) - (a.v - o.v) * (q.u - o.u);
      if (cross > 0) break;
      hull.pop();
    }
    hull.push(q);
  }
  let lowest = 0;
  for (let i = 1; i < hull.length; i++) if (hull[i]!.v < hull[lowest]!.v) lowest = i;
  return hull.slice(0, lowest + 1).map((h) => h.p);
}

/**
 * The lower envelope of the curves: every point whose loss is below that of every point with less
 * compute (the lowest loss reached with at most that compute), in order of compute. Unlike
 * the hull it keeps each size wherever that size is best, also where the envelope is locally concave
 * in log-log — as when the smallest models learn their easy part fast and then saturate, so that a
 * chord from their early points passes below the middle sizes (the math sweep of
 * docs/results/scaling.md: 3 sizes make the hull, all 10 the envelope). It keeps every logged point
 * of a stretch, so densely logged stretches weigh more in a fit: log all sizes equally often.
 */
export function envelopeFrontier<P extends CurvePoint>(points: readonly P[]): P[] {
  checkPoints(points);
  const sorted = points.filter((p) => p.compute > 0).sort((a, b) => a.compute - b.compute || a.loss - b.loss);
  const out: P[] = [];
  for (const p of sorted) if (out.length === 0 || p.loss < out[out.length - 1]!.loss) out.push(p);
  return out;
}

function checkPoints(points: readonly CurvePoint[]): void {
  for (const p of points) {
    if (!Number.isFinite(p.compute) || !Number.isFinite(p.loss) || p.loss <= 0) {
      throw new TonyError(
        'data',
        `frontier: run '${p.run}' has a point with compute=${p.compute}, loss=${p.loss}`,
        'losses must be finite and > 0, compute finite',
      );
    }
  }
}

/** N_opt(C) = A · C^β: the model size that makes the frontier at compute C. */
export interface OptimalSize {
  beta: number;
  /** The coefficient A, so that N_opt = A · C^β. */
  coefficient: number;
  /** R² of log N on log C. */
  r2: number;
}

/** Fit log N = log A + β log C by least squares over frontier points; needs two distinct sizes. */
export function fitOptimalSize(frontier: readonly CurvePoint[]): OptimalSize {
  const sizes = new Set(frontier.map((p) => p.params));
  if (sizes.size < 2) {
    throw new TonyError(
      'data',
      `N_opt(C) needs frontier points from at least 2 model sizes; the frontier has ${frontier.length} point(s) from ${sizes.size} size(s)`,
      'train more sizes, or train the small ones longer so that larger models overtake them',
    );
  }
  for (const p of frontier) {
    if (!(p.params > 0)) throw new TonyError('data', `run '${p.run}' has nonembedding_params=${p.params}`, 'model sizes must be > 0');
  }
  const u = frontier.map((p) => Math.log(p.compute));
  const w = frontier.map((p) => Math.log(p.params));
  const { slope, intercept } = ols(u, w);
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  const sst = w.reduce((a, b) => a + (b - mean) ** 2, 0);
  const sse = w.reduce((a, b, i) => a + (b - (intercept + slope * u[i]!)) ** 2, 0);
  return { beta: slope, coefficient: Math.exp(intercept), r2: sst > 0 ? 1 - sse / sst : 1 };
}

/** Bootstrap intervals for β and the coefficient A, resampling the frontier points. */
export function bootstrapOptimalSize(
  frontier: readonly CurvePoint[],
  options: BootstrapOptions = {},
): Record<'beta' | 'coefficient', Interval> {
  return bootstrap(
    frontier.length,
    (idx) => {
      const o = fitOptimalSize(idx.map((i) => frontier[i]!));
      return { beta: o.beta, coefficient: o.coefficient };
    },
    options,
  ).intervals;
}

/** β refitted without each frontier point, and without each size's points (issue 11: β must not hinge on one point). */
export interface OptimalSizeLeaveOut {
  /** β without frontier point i (undefined where fewer than 2 sizes remain). */
  withoutPoint: Array<number | undefined>;
  /** β without every frontier point of one size, keyed by run name. */
  withoutSize: Record<string, number | undefined>;
  /** Smallest and largest β over both lists (NaN when there is none). */
  range: Interval;
}

/**
 * Leave-one-out for N_opt(C) ∝ C^β: refit β without each frontier point, and without each size's
 * points. A β that moves far when one point (typically the last, at the highest compute) is dropped
 * rests on that point — the failure of the first sweep (docs/results/scaling.md).
 */
export function leaveOutOptimalSize(frontier: readonly CurvePoint[]): OptimalSizeLeaveOut {
  const betaOf = (pts: CurvePoint[]) => (new Set(pts.map((p) => p.params)).size >= 2 ? fitOptimalSize(pts).beta : undefined);
  const withoutPoint = frontier.map((_, i) => betaOf(frontier.filter((_, j) => j !== i)));
  const withoutSize: Record<string, number | undefined> = {};
  for (const run of new Set(frontier.map((p) => p.run))) withoutSize[run] = betaOf(frontier.filter((p) => p.run !== run));
  const all = [...withoutPoint, ...Object.values(withoutSize)].filter((b): b is number => b !== undefined);
  // NaN when no refit has two sizes left (a frontier of two points from two sizes).
  return { withoutPoint, withoutSize, range: all.length ? { lo: Math.min(...all), hi: Math.max(...all) } : { lo: NaN, hi: NaN } };
}

/**
 * The curve points within `tolerance` (relative, in loss) of the frontier: the hull in log-log
 * space, interpolated linearly between its vertices, over the hull's compute range. The hull keeps
 * only vertices, so on a nearly straight frontier a size whose best points sit 0.1 % above the line
 * between two other sizes' vertices is not "on" it — although it is, to any precision the losses
 * have. Fitting N_opt(C) to these points shows whether β depends on that knife edge.
 */
export function nearFrontier<P extends CurvePoint>(points: readonly P[], frontier: readonly CurvePoint[], tolerance: number): P[] {
  if (!(tolerance >= 0)) throw new TonyError('usage', `near-frontier tolerance must be ≥ 0, got ${tolerance}`);
  if (frontier.length === 0) return [];
  const u = frontier.map((p) => Math.log(p.compute));
  const v = frontier.map((p) => Math.log(p.loss));
  const hullAt = (x: number): number | undefined => {
    if (x < u[0]! || x > u[u.length - 1]!) return undefined;
    let i = 0;
    while (i < u.length - 2 && x > u[i + 1]!) i++;
    if (u.length === 1) return v[0];
    const t = (x - u[i]!) / (u[i + 1]! - u[i]!);
    return v[i]! + t * (v[i + 1]! - v[i]!);
  };
  const slack = Math.log1p(tolerance);
  return points.filter((p) => {
    if (!(p.compute > 0)) return false;
    const h = hullAt(Math.log(p.compute));
    return h !== undefined && Math.log(p.loss) - h <= slack;
  });
}
