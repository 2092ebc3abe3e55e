/**
 * How much to trust a fit: bootstrap confidence intervals for its parameters and leave-one-out
 * extrapolation error. Both refit on subsets of the points, so they work for any fit that maps a set of
 * point indices to named numbers (the power laws here, the N_opt(C) line in frontier.ts).
 */
import { TonyError } from '../errors.ts';
import { mulberry32 } from '../random.ts';
import { fitPowerLaw, type PowerLawFit, type PowerLawForm, powerLaw } from './powerlaw.ts';

/** A two-sided percentile interval. */
export interface Interval {
  lo: number;
  hi: number;
}

export interface BootstrapOptions {
  /** Number of resamples. 1000 gives percentile endpoints stable to about a percent. */
  resamples?: number;
  /** Coverage of the interval, e.g. 0.95. */
  level?: number;
  /** Seed of the resampling RNG, so that reports are reproducible. */
  seed?: number;
}

export interface BootstrapResult<K extends string> {
  intervals: Record<K, Interval>;
  /** Resamples that were used; resamples whose fit was impossible (too few distinct points) are redrawn. */
  used: number;
  /** Resamples redrawn because the subset could not be fitted. */
  redrawn: number;
}

export const BOOTSTRAP_DEFAULTS = { resamples: 1000, level: 0.95, seed: 1 } as const;
/** Give up when this many resamples in a row cannot be fitted: the data are too degenerate to resample. */
const MAX_REDRAWS_PER_RESAMPLE = 50;

/**
 * Case-resampling bootstrap: draw n indices with replacement, refit, and take percentile intervals of
 * every parameter `fit` returns. Resamples that `fit` rejects with a data error (for example fewer
 * distinct x than parameters) are redrawn, which conditions the intervals on the fit being possible.
 *
 *   const { intervals } = bootstrap(xs.length, (idx) => { const f = fitPowerLaw(pick(xs, idx), pick(ys, idx)); return { alpha: f.alpha }; });
 */
export function bootstrap<K extends string>(
  n: number,
  fit: (indices: number[]) => Record<K, number>,
  options: BootstrapOptions = {},
): BootstrapResult<K> {
  const { resamples, level, seed } = { ...BOOTSTRAP_DEFAULTS, ...options };
  const rand = mulberry32(seed);
  const draws: Array<Record<K, number>> = [];
  let redrawn = 0;
  while (draws.length < resamples) {
    const idx = Array.from({ length: n }, () => Math.floor(rand() * n));
    try {
      draws.push(fit(idx));
    } catch (err) {
      if (!(err instanceof TonyError) || err.kind !== 'data') throw err;
      redrawn++;
      if (redrawn > MAX_REDRAWS_PER_RESAMPLE * (draws.length + 1)) {
        throw new TonyError(
          'data',
          `bootstrap: ${redrawn} resamples of ${n} points could not be fitted`,
          `last error: ${err.message}; add more distinct points`,
        );
      }
    }
  }
  const keys = Object.keys(draws[0]!) as K[];
  const intervals = {} as Record<K, Interval>;
  for (const key of keys) {
    const values = draws.map((d) => d[key]).sort((a, b) => a - b);
    intervals[key] = { lo: quantile(values, (1 - level) / 2), hi: quantile(values, 1 - (1 - level) / 2) };
  }
  return { intervals, used: draws.length, redrawn };
}

/** Bootstrap intervals for L∞, x0 and α of a power-law fit (L∞ is 0 throughout for the pure form). */
export function bootstrapPowerLaw(
  xs: ArrayLike<number>,
  losses: ArrayLike<number>,
  form: PowerLawForm,
  options: BootstrapOptions = {},
  floor?: number,
): BootstrapResult<'lInf' | 'x0' | 'alpha'> {
  return bootstrap(
    xs.length,
    (idx) => {
      const f = fitPowerLaw(pick(xs, idx), pick(losses, idx), form, 'x', floor);
      return { lInf: f.lInf, x0: f.x0, alpha: f.alpha };
    },
    options,
  );
}

/** Leave-one-out: each point predicted by the law fitted to all the others. */
export interface LeaveOneOut {
  /** log(L̂ᵢ / Lᵢ) for each point i, in the input order (NaN where the rest could not be fitted). */
  logErrors: number[];
  /** Root mean square of logErrors: the typical relative error of predicting an unseen size. */
  rmsLogError: number;
  /** log(L̂ / L) for the largest x left out and predicted from the smaller ones: true extrapolation. */
  extrapolationLogError: number;
  /** Smallest and largest α over the leave-one-out fits: a stable law barely moves. */
  alphaRange: Interval;
}

/** Leave each point out in turn, refit on the rest, and predict the point left out. */
export function leaveOneOut(xs: ArrayLike<number>, losses: ArrayLike<number>, form: PowerLawForm, floor?: number): LeaveOneOut {
  const n = xs.length;
  const all = Array.from({ length: n }, (_, i) => i);
  const logErrors: number[] = [];
  const alphas: number[] = [];
  for (let i = 0; i < n; i++) {
    const rest = all.filter((j) => j !== i);
    let fit: PowerLawFit;
    try {
      fit = fitPowerLaw(pick(xs, rest), pick(losses, rest), form, 'x', floor);
    } catch (err) {
      if (err instanceof TonyError && err.kind === 'data') {
        throw new TonyError('data', `leave-one-out: without point ${i} (x=${xs[i]}), ${err.message}`, err.hint ?? 'give more sizes');
      }
      throw err;
    }
    logErrors.push(Math.log(powerLaw(fit, xs[i]!) / losses[i]!));
    alphas.push(fit.alpha);
  }
  const largest = all.reduce((a, b) => (xs[b]! > xs[a]! ? b : a), 0);
  return {
    logErrors,
    rmsLogError: Math.sqrt(logErrors.reduce((a, e) => a + e * e, 0) / n),
    extrapolationLogError: logErrors[largest]!,
    alphaRange: { lo: Math.min(...alphas), hi: Math.max(...alphas) },
  };
}

/** values[idx[0]], values[idx[1]], … */
export function pick(values: ArrayLike<number>, idx: number[]): number[] {
  return idx.map((i) => values[i]!);
}

/** Linear-interpolated quantile of sorted values (numpy's default 'linear' method). */
export function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export { mulberry32 } from '../random.ts';
