/**
 * `tony scale fit` as a library call: from scaling rows to every number the report prints.
 *
 * - x = 'params': L(N) over each run's final loss, N = non-embedding parameters.
 * - x = 'compute': the compute frontier of all learning curves, L(C) on it, and N_opt(C) ∝ C^β.
 *
 * Both forms (with irreducible term, and pure) are fitted, each with bootstrap intervals and
 * leave-one-out errors, so the report shows whether the irreducible term earns its parameter.
 */
import { TonyError } from '../errors.ts';
import {
  bootstrapOptimalSize,
  type CurvePoint,
  computeFrontier,
  envelopeFrontier,
  fitOptimalSize,
  leaveOutOptimalSize,
  nearFrontier,
  type OptimalSize,
  type OptimalSizeLeaveOut,
} from './frontier.ts';
import { fitPowerLaw, formatPowerLaw, PARAMS_OF, type PowerLawFit, type PowerLawForm } from './powerlaw.ts';
import { type BootstrapOptions, bootstrapPowerLaw, type Interval, type LeaveOneOut, leaveOneOut } from './resample.ts';
import { chooseSplit, curvePoints, finalPoints, type RunRow } from './runs.ts';

export type ScalingAxis = 'params' | 'compute';

/** Relative loss above the hull that still counts as "on the frontier" for the near-frontier β: 1 %. */
export const NEAR_FRONTIER = 0.01;

export interface AnalyzeOptions extends BootstrapOptions {
  x: ScalingAxis;
  /** Which split's losses to fit; default 'val' when present, else 'train'. */
  split?: string;
  /** A known L∞ (the data's entropy): also fit the irreducible form with L∞ fixed there. */
  floor?: number;
  /** Which frontier L(C) and β are fitted on (x = 'compute'): the convex hull (default) or the lower envelope. */
  frontier?: 'hull' | 'envelope';
}

/** One form fitted with everything that says how far to trust it. */
export interface FormReport {
  fit: PowerLawFit;
  intervals: Record<'lInf' | 'x0' | 'alpha', Interval>;
  leaveOneOut: LeaveOneOut;
}

export interface ScalingAnalysis {
  x: ScalingAxis;
  split: string;
  /** The frontier kind (x = 'compute'). */
  frontier?: 'hull' | 'envelope';
  /** The points fitted: final losses per run (params), or the frontier (compute). */
  points: Array<CurvePoint & { tokens: number }>;
  /** Every learning-curve point of the split, for the plot. */
  curves: Array<CurvePoint & { tokens: number }>;
  fits: Record<PowerLawForm, FormReport>;
  /** The irreducible form with L∞ fixed at `AnalyzeOptions.floor` (when given). */
  floorFit?: FormReport;
  /** N_opt(C) ∝ C^β on the frontier (x = 'compute' only, and only when ≥ 2 sizes make the frontier). */
  optimalSize?: OptimalSize & { intervals: Record<'beta' | 'coefficient', Interval>; leaveOut: OptimalSizeLeaveOut };
  /**
   * N_opt(C) refitted on every curve point within NEAR_FRONTIER of the hull (x = 'compute', when
   * those points come from ≥ 2 sizes): β without the hull's knife edge (see nearFrontier).
   */
  nearFrontier?: OptimalSize & { tolerance: number; points: number; sizes: string[]; leaveOut: OptimalSizeLeaveOut };
  /** Why optimalSize is missing, when x = 'compute'. */
  optimalSizeNote?: string;
}

/** Fit scaling laws to `rows` along `options.x`. Throws a data TonyError on degenerate input. */
export function analyzeScaling(rows: readonly RunRow[], options: AnalyzeOptions): ScalingAnalysis {
  const split = chooseSplit(rows, options.split);
  const curves = curvePoints(rows, split);
  let points: Array<CurvePoint & { tokens: number }>;
  if (options.x === 'params') {
    points = finalPoints(rows, split).sort((a, b) => a.params - b.params);
  } else if (options.x === 'compute') {
    points = options.frontier === 'envelope' ? envelopeFrontier(curves) : computeFrontier(curves);
  } else {
    throw new TonyError('usage', `--x must be 'params' or 'compute', got '${String(options.x)}'`);
  }
  const xs = points.map((p) => (options.x === 'params' ? p.params : p.compute));
  const ls = points.map((p) => p.loss);
  const label = options.x === 'params' ? 'nonembedding_params' : 'compute';
  if (xs.length <= PARAMS_OF.irreducible) {
    const what = options.x === 'params' ? `${xs.length} run(s)` : `a compute frontier of ${xs.length} point(s)`;
    throw new TonyError(
      'data',
      `${what} in split '${split}': L(${options.x === 'params' ? 'N' : 'C'}) = L∞ + (x0/x)^α has 3 parameters and needs at least 4 points to fit and check`,
      options.x === 'params' ? 'train at least 4 sizes (the paper uses 6 or more)' : 'log evaluations more often, or give more runs',
    );
  }

  const report = (form: PowerLawForm, floor?: number): FormReport => ({
    fit: fitPowerLaw(xs, ls, form, label, floor),
    intervals: bootstrapPowerLaw(xs, ls, form, options, floor).intervals,
    leaveOneOut: leaveOneOut(xs, ls, form, floor),
  });
  const fits = { irreducible: report('irreducible'), pure: report('pure') };

  const out: ScalingAnalysis = { x: options.x, split, points, curves, fits };
  if (options.x === 'compute') out.frontier = options.frontier ?? 'hull';
  if (options.floor !== undefined) out.floorFit = report('irreducible', options.floor);
  if (options.x === 'compute') {
    try {
      out.optimalSize = {
        ...fitOptimalSize(points),
        intervals: bootstrapOptimalSize(points, options),
        leaveOut: leaveOutOptimalSize(points),
      };
      // Within 1 % of the hull: only for the hull (the envelope keeps those points already).
      const near = options.frontier === 'envelope' ? [] : nearFrontier(curves, points, NEAR_FRONTIER);
      const sizes = [...new Set([...near].sort((a, b) => a.params - b.params).map((p) => p.run))];
      if (sizes.length >= 2)
        out.nearFrontier = {
          ...fitOptimalSize(near),
          tolerance: NEAR_FRONTIER,
          points: near.length,
          sizes,
          leaveOut: leaveOutOptimalSize(near),
        };
    } catch (err) {
      if (!(err instanceof TonyError) || err.kind !== 'data') throw err;
      out.optimalSizeNote = err.message;
    }
  }
  return out;
}

/** The report `tony scale fit` prints. */
export function formatAnalysis(a: ScalingAnalysis, level = 0.95): string {
  const v = a.x === 'params' ? 'N' : 'C';
  const pct = `${Math.round(level * 100)}%`;
  const lines: string[] = [];
  const runs = new Set(a.curves.map((p) => p.run)).size;
  lines.push(
    a.x === 'params'
      ? `L(N) on the final '${a.split}' loss of ${a.points.length} runs (N = non-embedding parameters)`
      : `L(C) on the compute frontier (${a.frontier === 'envelope' ? 'lower envelope' : 'convex hull'}): ${a.points.length} of ${a.curves.length} '${a.split}' points from ${runs} runs (C = 6·N·tokens)`,
  );
  const reports = [
    ['with irreducible term', a.fits.irreducible],
    ['pure power law', a.fits.pure],
    ...(a.floorFit ? [['with L∞ fixed at the given floor', a.floorFit] as const] : []),
  ] as const;
  for (const [title, r] of reports) {
    const f = r.fit;
    const form = f.form;
    lines.push('', `${title}: ${formatPowerLaw(f, v)}`);
    const row = (name: string, value: number, iv: Interval, digits: (x: number) => string) =>
      `  ${name.padEnd(6)} ${digits(value).padStart(10)}   ${pct} CI [${digits(iv.lo)}, ${digits(iv.hi)}]`;
    if (form === 'irreducible')
      lines.push(row('L∞', f.lInf, r.intervals.lInf, (x) => x.toFixed(4)) + (f.lInfAtBound ? '   (at its bound: min loss)' : ''));
    lines.push(row(`${v}0`, f.x0, r.intervals.x0, (x) => x.toExponential(3)));
    lines.push(row('α', f.alpha, r.intervals.alpha, (x) => x.toFixed(4)));
    lines.push(`  R² (log space) ${f.r2.toFixed(4)}   SSE (log space) ${f.sse.toExponential(3)}, ${f.nParams} free parameters`);
    const loo = r.leaveOneOut;
    lines.push(
      `  leave-one-out: rms error ${pctOf(loo.rmsLogError)}, largest ${v} predicted from the rest ${signedPct(loo.extrapolationLogError)}, α in [${loo.alphaRange.lo.toFixed(4)}, ${loo.alphaRange.hi.toFixed(4)}]`,
    );
  }
  if (a.optimalSize) {
    const o = a.optimalSize;
    const iv = o.intervals;
    lines.push('', `N_opt(C) = A · C^β on the ${new Set(a.points.map((p) => p.params)).size} sizes that make the frontier`);
    lines.push(`  β      ${o.beta.toFixed(4).padStart(10)}   ${pct} CI [${iv.beta.lo.toFixed(4)}, ${iv.beta.hi.toFixed(4)}]`);
    lines.push(
      `  A      ${o.coefficient.toExponential(3).padStart(10)}   ${pct} CI [${iv.coefficient.lo.toExponential(3)}, ${iv.coefficient.hi.toExponential(3)}]`,
    );
    lines.push(`  R² (log N on log C) ${o.r2.toFixed(4)}`);
    const fmt = (b: number | undefined) => (b === undefined ? '–' : b.toFixed(3));
    lines.push(
      `  leave one frontier point out: β in [${o.leaveOut.range.lo.toFixed(4)}, ${o.leaveOut.range.hi.toFixed(4)}] (over points and sizes)`,
      `    without point i (by compute): ${o.leaveOut.withoutPoint.map(fmt).join(' ')}`,
      `    without size: ${Object.entries(o.leaveOut.withoutSize)
        .map(([run, b]) => `${run} ${fmt(b)}`)
        .join(', ')}`,
    );
  }
  if (a.nearFrontier) {
    const nf = a.nearFrontier;
    lines.push(
      '',
      `N_opt(C) on the ${nf.points} curve points within ${(100 * nf.tolerance).toFixed(0)} % of the frontier (${nf.sizes.length} sizes: ${nf.sizes.join(', ')})`,
      `  β      ${nf.beta.toFixed(4).padStart(10)}   R² ${nf.r2.toFixed(4)}   leave one point or size out: β in [${nf.leaveOut.range.lo.toFixed(4)}, ${nf.leaveOut.range.hi.toFixed(4)}]`,
    );
  }
  if (!a.optimalSize && a.optimalSizeNote) {
    lines.push('', `N_opt(C): not fitted: ${a.optimalSizeNote}`);
  }
  return lines.join('\n');
}

/** |log ratio| as a percentage error (exp(e) − 1, so 0.1 → 10.5%). */
function pctOf(logErr: number): string {
  return `${((Math.exp(Math.abs(logErr)) - 1) * 100).toFixed(2)}%`;
}

function signedPct(logErr: number): string {
  return `${logErr >= 0 ? '+' : ''}${((Math.exp(logErr) - 1) * 100).toFixed(2)}%`;
}
