/**
 * Power laws with an irreducible term, as in Henighan et al. 2020, "Scaling laws for autoregressive
 * generative modeling" (PAPERS.md §4):
 *
 *   L(x) = L∞ + (x0 / x)^α        ('irreducible': L∞ ≈ the data's entropy, the power term ≈ the reducible KL)
 *   L(x) = (x0 / x)^α             ('pure': L∞ = 0)
 *
 * for x = non-embedding parameters N or compute C = 6·N·tokens. Fits minimise squared residuals in
 * log space, Σ (log L̂(xᵢ) − log Lᵢ)², so that every point counts for its relative error, whatever the
 * loss scale. The pure law is then a straight line in log-log space and is solved exactly; the
 * irreducible form is solved by Levenberg–Marquardt from several starts, with bounds that keep
 * 0 ≤ L∞ < min Lᵢ (otherwise log(Lᵢ − L∞) is undefined and the power term could not be positive).
 */
import { levenbergMarquardt } from 'ml-levenberg-marquardt';
import { TonyError } from '../errors.ts';

export type PowerLawForm = 'irreducible' | 'pure';

/** Parameters of L(x) = L∞ + (x0/x)^α (L∞ = 0 for the pure form). */
export interface PowerLawParams {
  lInf: number;
  x0: number;
  alpha: number;
}

/** A fitted power law and how well it fits. */
export interface PowerLawFit extends PowerLawParams {
  form: PowerLawForm;
  /** Number of free parameters: 3 for 'irreducible', 2 for 'pure'. */
  nParams: number;
  /** Σ (log L̂ − log L)² at the optimum. */
  sse: number;
  /** Coefficient of determination in log space, 1 − SSE / Σ (log L − mean log L)², the space the fit minimises. */
  r2: number;
  /** True when the fitted L∞ sits on its upper bound (just under min L): the data never bend toward a floor. */
  lInfAtBound: boolean;
}

/** L∞ may come this close (relatively) to the smallest loss and no closer, so log(L − L∞) stays finite. */
const LINF_MARGIN = 1e-6;
/** Starting guesses for L∞, as fractions of the smallest loss; the best of the resulting fits wins. */
const LINF_STARTS = [0, 0.25, 0.5, 0.75, 0.9, 0.97];
/** Exponents beyond this are not scaling laws; the bound only stops LM wandering off on flat data. */
const ALPHA_MAX = 10;
/** α at or below this means the fit found no decrease at all (α is bounded below by 0). */
const ALPHA_FLOOR = 1e-8;
/** |k| bound: the log of the power term at the geometric-mean x; e^±1000 is far past any loss. */
const K_BOUND = 1e3;
/** Levenberg–Marquardt iterations per start. The problem has 3 parameters; ~30 usually suffice. */
const LM_ITERATIONS = 100;

/** Number of free parameters of each form. */
export const PARAMS_OF: Record<PowerLawForm, number> = { irreducible: 3, pure: 2 };

/** L(x) for fitted or given parameters. */
export function powerLaw(p: PowerLawParams, x: number): number {
  return p.lInf + (p.x0 / x) ** p.alpha;
}

/**
 * Check that (xs, losses) can be fitted with `form`: equal lengths, finite positive values, at least
 * as many distinct x as parameters, and losses that are not all equal. Throws a data TonyError that
 * names the offending value otherwise.
 */
export function checkFitInput(xs: ArrayLike<number>, losses: ArrayLike<number>, form: PowerLawForm, what = 'x'): void {
  const k = PARAMS_OF[form];
  if (xs.length !== losses.length) {
    throw new TonyError('data', `power-law fit got ${xs.length} ${what} values but ${losses.length} losses`);
  }
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const l = losses[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(l)) {
      throw new TonyError(
        'data',
        `power-law fit: point ${i} is (${what}=${x}, loss=${l}), not finite`,
        'drop NaN/Infinity rows (a diverged run?) before fitting',
      );
    }
    if (x <= 0) {
      throw new TonyError(
        'data',
        `power-law fit: point ${i} has ${what}=${x}; a power law needs ${what} > 0`,
        `check the '${what}' column`,
      );
    }
    if (l <= 0) {
      throw new TonyError('data', `power-law fit: point ${i} has loss=${l}; the fit is in log space and needs loss > 0`);
    }
  }
  const distinct = new Set(Array.from(xs)).size;
  if (distinct < k) {
    throw new TonyError(
      'data',
      `power-law fit (${form}) has ${distinct} distinct ${what} value(s) but ${k} parameters to fit`,
      form === 'irreducible'
        ? 'give at least 3 sizes (6 or more for a trustworthy fit), or fit the pure power law'
        : 'give at least 2 sizes',
    );
  }
  const l0 = losses[0]!;
  if (Array.from(losses).every((l) => l === l0)) {
    throw new TonyError(
      'data',
      `power-law fit: all ${losses.length} losses equal ${l0}; there is no trend to fit`,
      'check that the runs differ in size and actually trained',
    );
  }
}

/**
 * Fit L(x) = L∞ + (x0/x)^α (form 'irreducible') or (x0/x)^α (form 'pure') to points (xs, losses)
 * by least squares on log L.
 *
 *   const fit = fitPowerLaw([1e5, 1e6, 1e7], [3.1, 2.6, 2.3], 'pure');
 *   fit.alpha, fit.x0, fit.r2
 */
export function fitPowerLaw(
  xs: ArrayLike<number>,
  losses: ArrayLike<number>,
  form: PowerLawForm = 'irreducible',
  what = 'x',
  /**
   * L∞ known in advance (form 'irreducible' only), e.g. the data's entropy when the generator is
   * known (math-entropy.ts): only x0 and α are fitted, and the fit says whether the floor fits.
   */
  floor?: number,
): PowerLawFit {
  checkFitInput(xs, losses, form, what);
  const n = xs.length;
  // Centre log x: with t = log x − mean, the power term is exp(k − α t), and k and α are nearly
  // uncorrelated; with log x0 directly they are almost collinear and LM crawls.
  const logX = Array.from(xs, Math.log);
  const tMean = logX.reduce((a, b) => a + b, 0) / n;
  const t = logX.map((v) => v - tMean);
  const y = Array.from(losses, Math.log);
  const lMin = Math.min(...Array.from(losses));

  let best: { lInf: number; k: number; alpha: number; sse: number } | undefined;
  if (floor !== undefined) {
    if (form !== 'irreducible') throw new TonyError('usage', 'a fixed L∞ needs the irreducible form');
    if (!(floor >= 0 && floor < lMin))
      throw new TonyError(
        'data',
        `power-law fit: the fixed L∞ ${floor} is not in [0, ${lMin.toPrecision(4)}) (the smallest loss)`,
        'a floor must lie below every loss: check that it is in the same units (nats per token) and split',
      );
    const fit = solveLM(t, y, startFrom(t, losses, floor), floor, true);
    best = { ...fit, sse: sseOf(t, y, fit.lInf, fit.k, fit.alpha) };
  } else if (form === 'pure') {
    const { slope, intercept } = ols(t, y);
    best = { lInf: 0, k: intercept, alpha: -slope, sse: sseOf(t, y, 0, intercept, -slope) };
  } else {
    const lInfMax = lMin * (1 - LINF_MARGIN);
    for (const frac of LINF_STARTS) {
      let fit = solveLM(t, y, startFrom(t, losses, frac * lMin), lInfMax);
      // Clamping keeps LM inside the box but makes it crawl along a face: when L∞ ends on a bound,
      // fix it there and finish (k, α) alone (an active-set step, as bounded solvers do).
      if (fit.lInf <= 0 || fit.lInf >= lInfMax) fit = solveLM(t, y, fit, lInfMax, true);
      const sse = sseOf(t, y, fit.lInf, fit.k, fit.alpha);
      if (Number.isFinite(sse) && (!best || sse < best.sse)) best = { ...fit, sse };
    }
    if (!best) throw new TonyError('numeric', `power-law fit diverged from every start on ${n} points`, 'check the data for outliers');
  }

  if (!(best.alpha > ALPHA_FLOOR)) {
    throw new TonyError(
      'data',
      `power-law fit (${form}): loss does not fall with ${what} (fitted α = ${best.alpha.toPrecision(3)}; losses ${Array.from(losses, (l) => l.toPrecision(4)).join(', ')} at increasing ${what})`,
      'a scaling law needs losses that improve with size or compute: check for undertrained large runs or swapped columns',
    );
  }
  const yMean = y.reduce((a, b) => a + b, 0) / n;
  const sst = y.reduce((a, v) => a + (v - yMean) ** 2, 0);
  return {
    form,
    nParams: floor === undefined ? PARAMS_OF[form] : PARAMS_OF[form] - 1,
    lInf: best.lInf,
    alpha: best.alpha,
    // k − α t = α (log x0 − log x)  ⇒  log x0 = k/α + mean log x.
    x0: Math.exp(best.k / best.alpha + tMean),
    sse: best.sse,
    r2: 1 - best.sse / sst,
    lInfAtBound: floor === undefined && form === 'irreducible' && best.lInf >= lMin * (1 - 2 * LINF_MARGIN),
  };
}

/**
 * Levenberg–Marquardt on log L = log(L∞ + exp(k − α t)) from `start`, within 0 ≤ L∞ ≤ lInfMax and
 * 0 ≤ α ≤ ALPHA_MAX; with `fixLInf`, L∞ stays at its start and only (k, α) move.
 */
function solveLM(t: number[], y: number[], start: { lInf: number; k: number; alpha: number }, lInfMax: number, fixLInf = false) {
  if (fixLInf) {
    const lInf = start.lInf;
    const r = levenbergMarquardt(
      { x: t, y },
      ([k, alpha]) =>
        (ti: number) =>
          Math.log(lInf + Math.exp(k! - alpha! * ti)),
      {
        initialValues: [start.k, start.alpha],
        minValues: [-K_BOUND, 0],
        maxValues: [K_BOUND, ALPHA_MAX],
        jacobianFunction:
          ([k, alpha]) =>
          (ti: number) => {
            const p = Math.exp(k! - alpha! * ti);
            return [p / (lInf + p), (-ti * p) / (lInf + p)];
          },
        maxIterations: LM_ITERATIONS,
        errorTolerance: 0,
      },
    );
    const [k, alpha] = r.parameterValues as [number, number];
    return { lInf, k, alpha };
  }
  const r = levenbergMarquardt(
    { x: t, y },
    ([lInf, k, alpha]) =>
      (ti: number) =>
        Math.log(lInf! + Math.exp(k! - alpha! * ti)),
    {
      initialValues: [start.lInf, start.k, start.alpha],
      minValues: [0, -K_BOUND, 0],
      maxValues: [lInfMax, K_BOUND, ALPHA_MAX],
      // ∂/∂(L∞, k, α) of log(L∞ + P), P = exp(k − α t).
      jacobianFunction:
        ([lInf, k, alpha]) =>
        (ti: number) => {
          const p = Math.exp(k! - alpha! * ti);
          const s = lInf! + p;
          return [1 / s, p / s, (-ti * p) / s];
        },
      maxIterations: LM_ITERATIONS,
      errorTolerance: 0,
    },
  );
  const [lInf, k, alpha] = r.parameterValues as [number, number, number];
  return { lInf, k, alpha };
}

/** Start for a given L∞: the straight line through (t, log(L − L∞)), which is exact when L∞ is right. */
function startFrom(t: number[], losses: ArrayLike<number>, lInf: number): { lInf: number; k: number; alpha: number } {
  const z = Array.from(losses, (l) => Math.log(l - lInf));
  const { slope, intercept } = ols(t, z);
  return { lInf, k: intercept, alpha: Math.min(Math.max(-slope, 1e-3), ALPHA_MAX) };
}

function sseOf(t: number[], y: number[], lInf: number, k: number, alpha: number): number {
  let s = 0;
  for (let i = 0; i < t.length; i++) s += (Math.log(lInf + Math.exp(k - alpha * t[i]!)) - y[i]!) ** 2;
  return s;
}

/** Ordinary least squares y ≈ intercept + slope·x. */
export function ols(x: ArrayLike<number>, y: ArrayLike<number>): { slope: number; intercept: number } {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
  }
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** The fitted formula as text, e.g. `L(N) = 3.12 + (N / 8.0e+1)^-0.240`. */
export function formatPowerLaw(p: PowerLawParams & { form?: PowerLawForm }, variable = 'x'): string {
  const power = `(${variable} / ${p.x0.toExponential(2)})^${(-p.alpha).toFixed(3)}`;
  return p.form === 'pure' ? `L(${variable}) = ${power}` : `L(${variable}) = ${p.lInf.toFixed(3)} + ${power}`;
}
