/**
 * The Scaling page's data: a sweep folder's learning curves with both fits `tony scale fit` makes —
 * L(N) over final losses and L(C) on the compute frontier (src/scaling/analyze.ts) — in the shape
 * the page plots. A fit the data cannot support (too few runs) is reported as a note, not an error:
 * the curves are still worth seeing.
 */
import { TonyError } from '../errors.ts';
import { analyzeScaling, type ScalingAnalysis } from '../scaling/analyze.ts';
import { type RunRow, readRuns } from '../scaling/runs.ts';
import { inside } from './runs.ts';

/** Bootstrap resamples for the intervals shown: enough for two stable digits, fast enough for a page load. */
const RESAMPLES = 200;

export async function readScalingRuns(root: string, name: string): Promise<RunRow[]> {
  return readRuns(inside(root, name));
}

type Fit = { analysis: ScalingAnalysis } | { note: string };

export function scalingView(rows: readonly RunRow[]): { params: Fit; compute: Fit } {
  const fit = (x: 'params' | 'compute'): Fit => {
    try {
      return { analysis: analyzeScaling(rows, { x, resamples: RESAMPLES, seed: 0 }) };
    } catch (err) {
      if (err instanceof TonyError && (err.kind === 'data' || err.kind === 'usage')) return { note: err.format() };
      throw err;
    }
  };
  return { params: fit('params'), compute: fit('compute') };
}
