/**
 * pass@k, the unbiased estimator of Chen et al. 2021 (Codex, §2.1): from n samples of which c pass,
 *
 *   pass@k = 1 − C(n−c, k) / C(n, k) = 1 − Π_{i=n−c+1..n} (1 − k/i),   and 1 when n − c < k,
 *
 * averaged over problems. The product form never forms the huge binomials; every factor is in
 * [0, 1), so it stays accurate for n in the thousands. The naive 1 − (1 − c/n)^k is biased low.
 */
import { TonyError } from '../errors.ts';

/** pass@k for one problem with n samples, c of them correct. */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || n < 0 || c < 0 || c > n || k < 1) {
    throw new TonyError('usage', `pass@k needs integers 0 ≤ c ≤ n and k ≥ 1, got n=${n} c=${c} k=${k}`);
  }
  if (k > n) throw new TonyError('usage', `pass@${k} needs at least ${k} samples, this problem has ${n}`, `choose k ≤ ${n}`);
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/**
 * Mean pass@k over problems for each k in `ks`, keeping only the k every problem has samples for
 * (as the reference harness does); `{ 'pass@1': 0.28, ... }`.
 */
export function meanPassAtK(counts: ReadonlyArray<{ n: number; c: number }>, ks: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  if (counts.length === 0) return out;
  const minN = Math.min(...counts.map((x) => x.n));
  for (const k of ks) {
    if (k > minN) continue;
    out[`pass@${k}`] = counts.reduce((s, x) => s + passAtK(x.n, x.c, k), 0) / counts.length;
  }
  return out;
}
