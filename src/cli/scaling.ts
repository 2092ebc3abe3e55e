/**
 * `tony scale …` — scaling laws. `fit` reads runs (a runs JSONL file or Tony's training logs), fits
 * L(x) = L∞ + (x0/x)^α and the pure power law, prints each parameter with its bootstrap interval, R²
 * and leave-one-out error, and optionally draws the log-log plot.
 */
import type { Command } from 'commander';
import { TonyError } from '../errors.ts';
import { analyzeScaling, formatAnalysis, type ScalingAxis } from '../scaling/analyze.ts';
import { writeScalingPlot } from '../scaling/plot.ts';
import { BOOTSTRAP_DEFAULTS } from '../scaling/resample.ts';
import { readRuns } from '../scaling/runs.ts';

export function register(program: Command): void {
  const scale = program.command('scale').description('scaling laws: fit power laws with an irreducible term to families of runs');
  scale
    .command('fit')
    .description('fit L(N) or L(C) to runs (JSONL rows {run, params, nonembedding_params, tokens, compute?, loss, split}, or a directory of Tony training logs)')
    .argument('<runs>', 'runs JSONL file, a run directory (config.json + metrics.jsonl), or a directory of run directories')
    .option('--x <axis>', "fit against 'params' (final loss per run) or 'compute' (frontier of the learning curves)", 'params')
    .option('--split <name>', "which losses to fit (default: 'val' when present, else 'train')")
    .option('--plot <file>', 'write a log-log plot (.svg or .png)')
    .option('--bootstrap <n>', 'bootstrap resamples for the intervals', String(BOOTSTRAP_DEFAULTS.resamples))
    .option('--level <p>', 'confidence level of the intervals', String(BOOTSTRAP_DEFAULTS.level))
    .option('--seed <n>', 'seed of the bootstrap', String(BOOTSTRAP_DEFAULTS.seed))
    .option('--json', 'print the analysis as JSON instead of text')
    .action(async (source: string, opts: { x: string; split?: string; plot?: string; bootstrap: string; level: string; seed: string; json?: boolean }) => {
      if (opts.x !== 'params' && opts.x !== 'compute') throw new TonyError('usage', `--x must be 'params' or 'compute', got '${opts.x}'`);
      const resamples = intFlag('--bootstrap', opts.bootstrap, 10);
      const seed = intFlag('--seed', opts.seed, 0);
      const level = Number(opts.level);
      if (!(level > 0 && level < 1)) throw new TonyError('usage', `--level must be in (0, 1), got '${opts.level}'`, 'e.g. --level 0.95');
      const rows = await readRuns(source);
      const analysis = analyzeScaling(rows, { x: opts.x as ScalingAxis, split: opts.split, resamples, level, seed });
      if (opts.json) {
        const { curves: _curves, ...rest } = analysis;
        process.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
      } else {
        process.stdout.write(`${formatAnalysis(analysis, level)}\n`);
      }
      if (opts.plot) {
        await writeScalingPlot(analysis, opts.plot);
        process.stderr.write(`plot written to ${opts.plot}\n`);
      }
    });
}

function intFlag(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new TonyError('usage', `${name} must be an integer ≥ ${min}, got '${value}'`);
  return n;
}
