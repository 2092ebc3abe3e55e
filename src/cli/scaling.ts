/**
 * `tony scale …` — scaling laws. `fit` reads runs (a runs JSONL file or Tony's training logs), fits
 * L(x) = L∞ + (x0/x)^α and the pure power law, prints each parameter with its bootstrap interval, R²
 * and leave-one-out error, and optionally draws the log-log plot (`--floor`: also with L∞ fixed at a
 * known entropy, which `entropy` computes for the procedural math text). `sweep` trains a family of GPTs of
 * several sizes on the same data and token budget (resumable), then fits and plots them.
 */
import { existsSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { Device } from '../engine/runtime.ts';
import { TonyError } from '../errors.ts';
import { checkWritable } from '../io.ts';
import { analyzeScaling, formatAnalysis, type ScalingAxis } from '../scaling/analyze.ts';
import { mathEntropyFloor } from '../scaling/math-entropy.ts';
import { writeScalingPlot } from '../scaling/plot.ts';
import { BOOTSTRAP_DEFAULTS } from '../scaling/resample.ts';
import { readRuns } from '../scaling/runs.ts';
import { parseSizes, runSweep, SWEEP_DEFAULTS, type SweepEvent } from '../scaling/sweep.ts';
import { collect, parseNumber } from './flags.ts';
import { progressBar } from './progress.ts';

export function register(program: Command): void {
  const scale = program.command('scale').description('scaling laws: fit power laws with an irreducible term to families of runs');
  scale
    .command('fit')
    .description(
      'fit L(N) or L(C) to runs (JSONL rows {run, params, nonembedding_params, tokens, compute?, loss, split}, or a directory of Tony training logs)',
    )
    .argument('<runs>', 'runs JSONL file, a run directory (config.json + metrics.jsonl), or a directory of run directories')
    .option('--x <axis>', "fit against 'params' (final loss per run) or 'compute' (frontier of the learning curves)", 'params')
    .option('--split <name>', "which losses to fit (default: 'val' when present, else 'train')")
    .option('--plot <file>', 'write a log-log plot (.svg or .png)')
    .option('--bootstrap <n>', 'bootstrap resamples for the intervals', String(BOOTSTRAP_DEFAULTS.resamples))
    .option('--level <p>', 'confidence level of the intervals', String(BOOTSTRAP_DEFAULTS.level))
    .option('--seed <n>', 'seed of the bootstrap', String(BOOTSTRAP_DEFAULTS.seed))
    .option('--json', 'print the analysis as JSON instead of text')
    .option('--floor <nats>', 'also fit with L∞ fixed at this known floor (e.g. from `tony scale entropy`)')
    .addOption(
      new Option(
        '--frontier <kind>',
        "--x compute: the frontier's convex hull in log-log, or its lower envelope (every point below all cheaper ones)",
      )
        .choices(['hull', 'envelope'])
        .default('hull'),
    )
    .action(
      async (
        source: string,
        opts: {
          x: string;
          split?: string;
          plot?: string;
          bootstrap: string;
          level: string;
          seed: string;
          json?: boolean;
          floor?: string;
          frontier: 'hull' | 'envelope';
        },
      ) => {
        if (opts.x !== 'params' && opts.x !== 'compute') throw new TonyError('usage', `--x must be 'params' or 'compute', got '${opts.x}'`);
        const resamples = parseNumber('bootstrap', opts.bootstrap, { integer: true, min: 10 });
        const seed = parseNumber('seed', opts.seed, { integer: true, min: 0 });
        const level = Number(opts.level);
        if (!(level > 0 && level < 1)) throw new TonyError('usage', `--level must be in (0, 1), got '${opts.level}'`, 'e.g. --level 0.95');
        if (opts.plot) await checkWritable(opts.plot, 'file'); // before the bootstrap, not after it
        const rows = await readRuns(source);
        const floor = opts.floor === undefined ? undefined : parseNumber('floor', opts.floor, { min: 0 });
        const analysis = analyzeScaling(rows, {
          x: opts.x as ScalingAxis,
          split: opts.split,
          resamples,
          level,
          seed,
          floor,
          frontier: opts.frontier,
        });
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
      },
    );

  scale
    .command('entropy')
    .description(
      "the true entropy floor of procedural math text in a sweep's shards: −ln P of each problem under the generator, in nats per token",
    )
    .argument('<data>', "a shard directory built from math-NNN.txt files (a sweep's data/)")
    .option('--seed <n>', 'the seed the problems were generated with (tony math generate --seed)', '0')
    .option('--per-file <n>', 'problems per math-NNN.txt file', '100')
    .option('--split <split>', 'which shard split to score', 'val')
    .option('--json', 'print the result as JSON')
    .action(async (data: string, opts: { seed: string; perFile: string; split: string; json?: boolean }) => {
      if (opts.split !== 'val' && opts.split !== 'train')
        throw new TonyError('usage', `--split must be 'val' or 'train', got '${opts.split}'`);
      const floor = await mathEntropyFloor(data, {
        split: 'train',
        seed: parseNumber('seed', opts.seed, { integer: true, min: 0 }),
        perFile: parseNumber('per-file', opts.perFile, { integer: true, min: 1 }),
        shardSplit: opts.split,
      });
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(floor, null, 2)}\n`
          : `entropy floor of '${data}' (${opts.split}): ${floor.natsPerToken.toFixed(4)} nats/token — ${floor.nats.toFixed(1)} nats over ${floor.problems} problems (${(floor.nats / floor.problems).toFixed(2)} per problem) in ${floor.tokens} tokens\n`,
      );
    });

  scale
    .command('sweep')
    .description('train a family of GPTs of several sizes on the same data and token budget (resumable), then fit L(N) and L(C)')
    .requiredOption(
      '--sizes <list>',
      'model sizes <dModel>x<nLayer>, comma-separated, e.g. 32x1,48x2,64x2,96x3,128x4,160x4 (heads ≈ dModel/32)',
    )
    .option('--data <dir>', 'directory of text files (repeatable)', collect, [])
    .option('--include <glob>', 'files to include, relative to each --data root (repeatable)', collect, [])
    .option('--exclude <glob>', 'files to leave out (repeatable)', collect, [])
    .requiredOption(
      '--tokens <n>',
      'training tokens per size, or of the smallest size with --tokens-exponent (steps = tokens / (batch·block))',
    )
    .option('--tokens-exponent <γ>', 'budget grows with size: tokens · (N / N_smallest)^γ (0 = the same for all)', '0')
    .requiredOption('--out <dir>', 'sweep directory: data/, one run directory per size, summary.json, scaling.svg')
    .option('--block <n>', 'context length', String(SWEEP_DEFAULTS.block))
    .option('--batch <n>', 'sequences per step', String(SWEEP_DEFAULTS.batch))
    .option('--vocab <n>', 'BPE vocabulary size', String(SWEEP_DEFAULTS.vocab))
    .option('--lr <x>', "one peak learning rate for all sizes (default: Kaplan et al.'s LR(N) = 0.003239 − 0.0001395·ln N)")
    .option('--parallel <k>', 'sizes trained at once, each in its own process', String(SWEEP_DEFAULTS.parallel))
    .option('--threads <n>', 'ONNX Runtime threads per size (default: cores / parallel)')
    .addOption(new Option('--device <device>', 'execution provider of every size').choices(['cpu', 'webgpu', 'cuda']).default('cpu'))
    .option(
      '--eval-points <n>',
      'validation evaluations per size (learning-curve points for the frontier)',
      String(SWEEP_DEFAULTS.evalPoints),
    )
    .option('--max-bytes <n>', 'corpus size cap in bytes', String(SWEEP_DEFAULTS.maxBytes))
    .option('--seed <n>', 'seed of initialisation, batch order and bootstrap', String(SWEEP_DEFAULTS.seed))
    .option('--bootstrap <n>', 'bootstrap resamples for the intervals', String(SWEEP_DEFAULTS.bootstrap))
    .action(async (opts: Record<string, string | string[] | undefined>) => {
      const data = opts.data as string[];
      if (!data.length)
        throw new TonyError('usage', 'scale sweep needs --data <dir>', 'e.g. --data /usr/lib/python3.11 --include "**/*.py"');
      for (const d of data)
        if (!existsSync(d)) throw new TonyError('data', `--data '${d}' does not exist`, 'pass a directory of text files');
      const include = opts.include as string[];
      const exclude = opts.exclude as string[];
      let lr: number | undefined;
      if (opts.lr !== undefined) {
        lr = parseNumber('lr', opts.lr as string, { min: 0, exclusiveMin: true });
      }
      const res = await runSweep(
        {
          sizes: parseSizes(opts.sizes as string),
          data,
          ...(include.length ? { include } : {}),
          ...(exclude.length ? { exclude: ['**/node_modules/**', '**/*.min.*', ...exclude] } : {}),
          tokens: parseNumber('tokens', opts.tokens as string, { integer: true, min: 1 }),
          tokensExponent: parseNumber('tokens-exponent', opts.tokensExponent as string, { min: 0, max: 2 }),
          out: opts.out as string,
          block: parseNumber('block', opts.block as string, { integer: true, min: 1 }),
          batch: parseNumber('batch', opts.batch as string, { integer: true, min: 1 }),
          vocab: parseNumber('vocab', opts.vocab as string, { integer: true, min: 1 }),
          ...(lr !== undefined ? { lr } : {}),
          parallel: parseNumber('parallel', opts.parallel as string, { integer: true, min: 1 }),
          device: opts.device as Device,
          ...(opts.threads !== undefined ? { threads: parseNumber('threads', opts.threads as string, { integer: true, min: 1 }) } : {}),
          evalPoints: parseNumber('eval-points', opts.evalPoints as string, { integer: true, min: 1 }),
          evalBatches: SWEEP_DEFAULTS.evalBatches,
          maxBytes: parseNumber('max-bytes', opts.maxBytes as string, { integer: true, min: 1 }),
          seed: parseNumber('seed', opts.seed as string, { integer: true, min: 0 }),
          bootstrap: parseNumber('bootstrap', opts.bootstrap as string, { integer: true, min: 10 }),
        },
        sweepReporter(),
      );
      const out: string[] = ['', 'size      N (non-emb.)   steps   lr        val loss   status'];
      for (const s of res.sizes) {
        out.push(
          `${s.name.padEnd(9)} ${s.nonembedding_params.toExponential(3).padStart(12)}   ${String(s.steps).padStart(5)}   ${s.lr.toExponential(2)}  ${s.val_loss?.toFixed(4).padStart(8) ?? '       –'}   ${s.status}`,
        );
      }
      if (res.params) out.push('', formatAnalysis(res.params, BOOTSTRAP_DEFAULTS.level));
      if (res.compute) out.push('', formatAnalysis(res.compute, BOOTSTRAP_DEFAULTS.level));
      for (const n of res.notes) out.push('', n);
      process.stdout.write(out.join('\n') + '\n');
      process.stderr.write(`sweep: ${[res.files.summary, res.files.plot, res.files.computePlot].filter(Boolean).join(', ')} written\n`);
    });
}

/** Seconds between a size's plain progress lines (one line per size, never a redraw: sizes run in parallel). */
const PROGRESS_EVERY_S = 15;

/** `tony scale sweep`: one line per event and size, so k parallel sizes stay readable in any terminal or log. */
function sweepReporter(): (e: SweepEvent) => void {
  let prepBar: ReturnType<typeof progressBar> | undefined;
  let prepStage = '';
  const lastLine = new Map<string, number>();
  const say = (line: string) => process.stderr.write(`sweep: ${line}\n`);
  return (e) => {
    if (e.kind === 'prepare') {
      if (e.stage !== prepStage) {
        prepBar?.stop();
        prepBar = progressBar(e.stage, e.stage === 'tokenizer' ? 'merges' : 'files');
        prepStage = e.stage;
      }
      prepBar!.update(e.progress);
      return;
    }
    prepBar?.stop();
    prepBar = undefined;
    if (e.kind === 'plan') {
      for (const s of e.sizes) {
        say(
          `${s.name.padEnd(8)} ${s.nHead} heads, ${s.nonembedding_params.toLocaleString()} non-embedding params, ${s.steps} steps, lr ${s.lr.toPrecision(3)}, C = ${s.compute.toExponential(2)} FLOPs`,
        );
      }
    } else if (e.kind === 'skip') say(`${e.size.padEnd(8)} finished earlier, skipped`);
    else if (e.kind === 'start')
      say(`${e.size.padEnd(8)} ${e.resumeFrom ? `resuming at step ${e.resumeFrom}` : 'starting'} (${e.steps} steps)`);
    else if (e.kind === 'progress') {
      const now = Date.now();
      if (now - (lastLine.get(e.size) ?? 0) < PROGRESS_EVERY_S * 1000 && e.progress.done !== e.progress.total) return;
      lastLine.set(e.size, now);
      const info = Object.entries(e.progress.info ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(' | ');
      say(`${e.size.padEnd(8)} step ${e.progress.done}/${e.progress.total} | ${info}`);
    } else if (e.kind === 'done') {
      say(
        `${e.size.padEnd(8)} done in ${e.seconds.toFixed(0)} s${e.valLoss !== undefined ? `, val loss ${e.valLoss.toFixed(4)}` : ''}, ${Math.round(e.tokensPerSecond).toLocaleString()} tokens/s`,
      );
    }
  };
}
