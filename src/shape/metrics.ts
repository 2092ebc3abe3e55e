/**
 * Point-cloud and mesh metrics: Chamfer distance, F-score at a distance threshold, approximate
 * earth mover's distance (EMD) by the auction algorithm, and (re-exported from mesh.ts) area and
 * volume.
 */
import { shapeError } from '../errors.ts';
import { KdTree, nearestDistances2 } from './kdtree.ts';

export { meshArea, meshVolume } from './mesh.ts';

/** Both directions of the Chamfer distance. */
export interface ChamferResult {
  /** Mean over points of A of the squared distance to the nearest point of B. */
  aToB: number;
  bToA: number;
  /** aToB + bToA — the usual "CD" of point-cloud papers (squared-L2 variant). */
  chamfer: number;
}

/**
 * Chamfer distance between clouds A (N, 3) and B (M, 3): mean squared nearest-neighbour distance
 * from A to B plus from B to A. Zero iff the sets coincide; translating one of two clouds by a
 * vector t shorter than half their point spacing gives 2|t|².
 */
export function chamferDistance(a: Float32Array, b: Float32Array): ChamferResult {
  if (a.length === 0 || b.length === 0)
    throw shapeError('Chamfer distance needs two non-empty clouds', `got ${a.length / 3} and ${b.length / 3} points`);
  const mean = (x: Float64Array) => x.reduce((s, v) => s + v, 0) / x.length;
  const aToB = mean(nearestDistances2(a, b));
  const bToA = mean(nearestDistances2(b, a));
  return { aToB, bToA, chamfer: aToB + bToA };
}

export interface FScoreResult {
  /** Fraction of predicted points within τ of the reference. */
  precision: number;
  /** Fraction of reference points within τ of the prediction. */
  recall: number;
  fscore: number;
}

/** F-score at threshold τ (Tatarchenko et al. 2019): harmonic mean of precision and recall. */
export function fScore(pred: Float32Array, ref: Float32Array, tau: number): FScoreResult {
  if (!(tau > 0)) throw shapeError(`F-score threshold must be > 0, got ${tau}`);
  const within = (from: Float32Array, to: Float32Array) => {
    const d2 = nearestDistances2(from, to, new KdTree(to));
    let n = 0;
    for (const v of d2) if (v <= tau * tau) n++;
    return n / d2.length;
  };
  const precision = within(pred, ref);
  const recall = within(ref, pred);
  const fscore = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, fscore };
}

/**
 * Approximate EMD between two clouds of equal size N: the mean Euclidean distance under a
 * one-to-one matching found by Bertsekas's auction algorithm with ε-scaling. The auction's final
 * matching is within N·ε of the optimal total cost, so the returned mean exceeds the exact EMD by
 * at most `epsilon` (and never undercuts it). Costs are computed on the fly: O(N) memory,
 * roughly O(N² · log(C/ε)) time in practice — fine for the 1–4K clouds of Point-E.
 */
export function emdApprox(a: Float32Array, b: Float32Array, opts: { epsilon?: number } = {}): { emd: number; assignment: Int32Array } {
  const n = a.length / 3;
  if (b.length !== a.length)
    throw shapeError(
      `EMD needs clouds of equal size, got ${n} and ${b.length / 3} points`,
      'subsample the larger one (farthestPointSample) first',
    );
  if (n === 0) return { emd: 0, assignment: new Int32Array(0) };
  // Scale of the costs: the bounding diagonal of both clouds together.
  let lo = Infinity,
    hi = -Infinity;
  for (const arr of [a, b]) for (const v of arr) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const diag = Math.max((hi - lo) * Math.sqrt(3), 1e-12);
  const target = opts.epsilon ?? 1e-3 * diag;
  if (!(target > 0)) throw shapeError(`EMD epsilon must be > 0, got ${target}`);
  const cost = (i: number, j: number) => {
    const dx = a[3 * i]! - b[3 * j]!,
      dy = a[3 * i + 1]! - b[3 * j + 1]!,
      dz = a[3 * i + 2]! - b[3 * j + 2]!;
    return Math.sqrt(dx * dx + dy * dy + dz * dz);
  };

  const price = new Float64Array(n);
  const owner = new Int32Array(n); // object j → person i
  const assigned = new Int32Array(n); // person i → object j
  const EPS_STEP = 5; // ε shrinks by this factor per scaling phase
  for (let eps = Math.max(diag / 4, target); ; eps = Math.max(eps / EPS_STEP, target)) {
    owner.fill(-1);
    assigned.fill(-1);
    const queue: number[] = [];
    for (let i = n - 1; i >= 0; i--) queue.push(i);
    while (queue.length > 0) {
      const i = queue.pop()!;
      // Best and second-best value −cost − price over objects.
      let best = -1,
        v1 = -Infinity,
        v2 = -Infinity;
      for (let j = 0; j < n; j++) {
        const val = -cost(i, j) - price[j]!;
        if (val > v1) [v2, v1, best] = [v1, val, j];
        else if (val > v2) v2 = val;
      }
      if (n === 1) v2 = v1; // a lone object: bid only ε
      price[best]! += v1 - v2 + eps;
      const prev = owner[best]!;
      if (prev >= 0) {
        assigned[prev] = -1;
        queue.push(prev);
      }
      owner[best] = i;
      assigned[i] = best;
    }
    if (eps <= target) break;
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += cost(i, assigned[i]!);
  return { emd: total / n, assignment: assigned };
}
