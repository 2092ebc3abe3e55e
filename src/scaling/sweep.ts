/**
 * `tony scale sweep` as a library call: train a family of Tony GPTs of several sizes on the same data
 * and the same token budget, then fit L(N) and L(C) to their logs (PAPERS.md §4, Kaplan et al. 2020,
 * Henighan et al. 2020).
 *
 * Layout of a sweep directory:
 *
 *     <out>/sweep.json      the options every size shares (a rerun with other options is refused)
 *     <out>/data/           one tokenizer + packed shards (prepareShards), shared by all sizes
 *     <out>/<d>x<L>/        one trainer run directory per size (config.json, metrics.jsonl, ckpt-*)
 *     <out>/summary.json    per-size results and both analyses
 *     <out>/scaling.svg     L(N); scaling-compute.svg: learning curves, frontier and L(C)
 *
 * Resumable: a size whose latest checkpoint is at its final step is skipped, an unfinished one resumes
 * from its latest checkpoint (the trainer draws batches by step number, so a resumed size ends where
 * an uninterrupted one would). Sizes train in child processes (sweep-worker.ts), `parallel` at a time,
 * each with its own ONNX Runtime of `threads` threads — so a 16-core machine runs e.g. 4 sizes × 4.
 *
 *     const res = await runSweep({ ...SWEEP_DEFAULTS, sizes: parseSizes('32x1,64x2'), data: ['corpus'], tokens: 2e6, out: 'runs/sweep' });
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { latestCheckpoint } from '../engine/checkpoint.ts';
import { type Device, Runtime } from '../engine/runtime.ts';
import { type ErrorKind, TonyError } from '../errors.ts';
import { writeFileAtomic } from '../io.ts';
import { GPT, type GPTConfig } from '../models/gpt/gpt.ts';
import { lmKind } from '../models/gpt/kind.ts';
import { trainWithRecipe } from '../models/recipe.ts';
import { pool } from '../pool.ts';
import type { Progress } from '../progress.ts';
import { openShards } from '../text/dataset.ts';
import { prepareShards } from '../text/prepare.ts';
import { analyzeScaling, type ScalingAnalysis } from './analyze.ts';
import { writeScalingPlot } from './plot.ts';
import { BOOTSTRAP_DEFAULTS } from './resample.ts';
import { computeOf, type RunRow, readMetricsRun } from './runs.ts';

/** One model size of the family: width × depth; heads follow from the width. */
export interface SweepSize {
  /** `<dModel>x<nLayer>`, also the run directory's name. */
  name: string;
  dModel: number;
  nLayer: number;
  nHead: number;
}

export const SWEEP_DEFAULTS = {
  /** Context length T of every size. */
  block: 128,
  /** Sequences per step B (tokens per step = B·T, the same for every size). */
  batch: 16,
  /** BPE vocabulary of the shared tokenizer. */
  vocab: 2048,
  /** Sizes trained at once, each in its own process. */
  parallel: 1,
  /** Validation evaluations per run: the learning-curve points the compute frontier is built from. */
  evalPoints: 10,
  /** Validation batches per evaluation. */
  evalBatches: 8,
  /** Seed of initialisation and batch order (the same for every size). */
  seed: 0,
  /** Bootstrap resamples of the fits. */
  bootstrap: BOOTSTRAP_DEFAULTS.resamples,
  /** Corpus size cap in bytes. */
  maxBytes: 64 << 20,
};

export interface SweepOptions {
  sizes: SweepSize[];
  /** Corpus roots (directories of text files). */
  data: string[];
  include?: string[];
  exclude?: string[];
  /** Training tokens of the smallest size (of every size when `tokensExponent` is 0). */
  tokens: number;
  /**
   * γ of the budget rule tokens(N) = tokens · (N / N_smallest)^γ (non-embedding N). 0 gives every size
   * the same budget, which starves the larger models (docs/results/scaling.md); Kaplan et al.'s
   * compute-optimal allocation has data ∝ N^~0.37, so γ ≈ 0.4 keeps each size near its frontier.
   */
  tokensExponent?: number;
  out: string;
  block: number;
  batch: number;
  vocab: number;
  /** A constant peak learning rate for all sizes; default: `sweepLr(N)` per size. */
  lr?: number;
  parallel: number;
  /** ONNX Runtime threads per size (default: cores / parallel). */
  threads?: number;
  /** Execution provider of every size (default cpu). */
  device?: Device;
  evalPoints: number;
  evalBatches: number;
  seed: number;
  bootstrap: number;
  maxBytes: number;
}

/** Heads are ~32 wide (GPT-2 small uses 64 at d = 768; these models are tiny). */
const HEAD_WIDTH = 32;
/** Linear warmup over this fraction of each run, then cosine decay to 0.1·lr at its last step. */
const WARMUP_FRACTION = 0.05;
/** Fewer steps than this leave too few learning-curve points to build a frontier from. */
const MIN_STEPS = 10;
/** Patterns never read from the corpus (as `tony train lm`). */
const DEFAULT_EXCLUDE = ['**/node_modules/**', '**/*.min.*'];

/**
 * Parse `--sizes`, e.g. '32x1,48x2,64x2' → dModel × nLayer each. nHead is the largest divisor of dModel
 * that is ≤ dModel/32 (at least 1). Sizes come back sorted by non-embedding parameters (≈ 12·L·d²).
 */
export function parseSizes(spec: string): SweepSize[] {
  const parts = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const hint = 'write sizes as <dModel>x<nLayer>, comma-separated, e.g. --sizes 32x1,48x2,64x2,96x3';
  if (parts.length === 0) throw new TonyError('usage', `--sizes is empty ('${spec}')`, hint);
  const sizes: SweepSize[] = [];
  for (const p of parts) {
    const m = /^(\d+)x(\d+)$/i.exec(p);
    if (!m) throw new TonyError('usage', `--sizes: '${p}' is not <dModel>x<nLayer>`, hint);
    const dModel = Number(m[1]);
    const nLayer = Number(m[2]);
    if (dModel < 1 || nLayer < 1) throw new TonyError('usage', `--sizes: '${p}' needs dModel ≥ 1 and nLayer ≥ 1`, hint);
    const name = `${dModel}x${nLayer}`;
    if (sizes.some((s) => s.name === name)) throw new TonyError('usage', `--sizes names ${name} twice`, 'list each size once');
    let nHead = Math.max(1, Math.floor(dModel / HEAD_WIDTH));
    while (dModel % nHead !== 0) nHead--;
    sizes.push({ name, dModel, nLayer, nHead });
  }
  return sizes.sort((a, b) => a.nLayer * a.dModel ** 2 - b.nLayer * b.dModel ** 2 || a.dModel - b.dModel);
}

/**
 * Peak learning rate for a model of N non-embedding parameters: Kaplan et al. 2020 (eq. D.1),
 * LR(N) ≈ 0.003239 − 0.0001395·ln N — fitted there as the best rate across sizes, ≈ 2e-3 at 1e4
 * parameters and 1.3e-3 at 1e6. A constant rate would favour whichever size it was tuned for and bend
 * L(N); this rule is the published one, and it changes slowly enough to be safe at our small sizes.
 */
export function sweepLr(nonembeddingParams: number): number {
  return Math.max(1e-4, 0.003239 - 0.0001395 * Math.log(nonembeddingParams));
}

/** Everything one size's training needs; sent to the child process as JSON. */
export interface SizeJob {
  size: SweepSize;
  dir: string;
  dataDir: string;
  model: GPTConfig;
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  evalEvery: number;
  evalBatches: number;
  seed: number;
  threads: number;
  device?: Device;
}

/** A size's plan and outcome, as summary.json lists it. */
interface SizeSummary {
  name: string;
  dModel: number;
  nLayer: number;
  nHead: number;
  params: number;
  nonembedding_params: number;
  steps: number;
  tokens: number;
  lr: number;
  /** 6·N·tokens at the end of the run. */
  compute: number;
  /** Validation loss at the last step (nats/token). */
  val_loss?: number;
  /** What this invocation did with the size. */
  status: 'trained' | 'resumed' | 'skipped';
}

export type SweepEvent =
  | { kind: 'prepare'; stage: string; progress: Progress }
  | { kind: 'plan'; sizes: SizeSummary[] }
  | { kind: 'start'; size: string; resumeFrom: number; steps: number }
  | { kind: 'skip'; size: string }
  | { kind: 'progress'; size: string; progress: Progress }
  | { kind: 'done'; size: string; valLoss?: number; tokensPerSecond: number; seconds: number };

export interface SweepResult {
  sizes: SizeSummary[];
  /** L(N) over the final validation losses; undefined (with a note) when it cannot be fitted. */
  params?: ScalingAnalysis;
  /** L(C) on the compute frontier of all validation curves, and N_opt(C) ∝ C^β. */
  compute?: ScalingAnalysis;
  notes: string[];
  files: { summary: string; plot?: string; computePlot?: string };
}

/** The options a sweep directory is bound to: changing any of them would change every run. */
function sweepKey(o: SweepOptions) {
  return {
    data: o.data,
    include: o.include ?? null,
    exclude: o.exclude ?? null,
    maxBytes: o.maxBytes,
    vocab: o.vocab,
    tokens: o.tokens,
    // Only when set, so that sweep directories made before the option keep resuming.
    ...(o.tokensExponent ? { tokensExponent: o.tokensExponent } : {}),
    block: o.block,
    batch: o.batch,
    lr: o.lr ?? 'kaplan',
    evalPoints: o.evalPoints,
    seed: o.seed,
  };
}

/** Train every size that is not finished, then fit and plot. Throws on the first size that fails. */
export async function runSweep(opts: SweepOptions, onEvent?: (e: SweepEvent) => void): Promise<SweepResult> {
  checkOptions(opts);
  await mkdir(opts.out, { recursive: true });
  const keyPath = join(opts.out, 'sweep.json');
  const key = sweepKey(opts);
  if (existsSync(keyPath)) {
    const prev = JSON.parse(await readFile(keyPath, 'utf8')) as Record<string, unknown>;
    // Keys on either side: an option set there and absent now (tokensExponent) is a change too.
    const keys = [...new Set([...Object.keys(key), ...Object.keys(prev)])];
    const changed = keys.filter((k) => JSON.stringify(prev[k] ?? null) !== JSON.stringify(key[k as keyof typeof key] ?? null));
    if (changed.length) {
      const was = changed.map(
        (k) => `${k} ${JSON.stringify(prev[k] ?? null)} there, ${JSON.stringify(key[k as keyof typeof key] ?? null)} now`,
      );
      throw new TonyError(
        'config',
        `${opts.out} holds a sweep made with other options: ${was.join('; ')}`,
        'rerun with the same options, or use a new --out',
      );
    }
  } else {
    await writeFileAtomic(keyPath, JSON.stringify(key, null, 2) + '\n');
  }

  // One tokenizer and one set of shards for the whole family. Plain next-token loss: no FIM.
  const dataDir = join(opts.out, 'data');
  const shards = await prepareShards(
    {
      roots: opts.data,
      include: opts.include,
      exclude: opts.exclude ?? DEFAULT_EXCLUDE,
      maxBytes: opts.maxBytes,
      tokenizer: 'bpe',
      vocabSize: opts.vocab,
      out: dataDir,
    },
    (stage, progress) => onEvent?.({ kind: 'prepare', stage, progress }),
  );
  const vocabSize = shards.tokenizer.vocabSize;
  const valTokens = shards.tokenCount('val');
  shards.close();
  if (valTokens < opts.block + 1) {
    throw new TonyError(
      'data',
      `the validation split has ${valTokens} tokens, fewer than one context of ${opts.block + 1}`,
      'use a larger corpus or a smaller --block',
    );
  }

  const threads = opts.threads ?? Math.max(1, Math.floor(availableParallelism() / opts.parallel));
  const jobs: SizeJob[] = [];
  const summaries: SizeSummary[] = [];
  const models = opts.sizes.map((size) => {
    const model = {
      ...lmKind.config({ vocabSize, blockSize: opts.block, nLayer: size.nLayer, nHead: size.nHead, dModel: size.dModel }).model,
    };
    return { size, model, gpt: new GPT(model) };
  });
  const smallest = Math.min(...models.map((m) => m.gpt.nonEmbeddingParams));
  for (const { size, model, gpt } of models) {
    const nonembedding = gpt.nonEmbeddingParams;
    const lr = opts.lr ?? sweepLr(nonembedding);
    const steps = sizeSteps(opts, nonembedding / smallest);
    // Every size gets the same number of learning-curve points, whatever its budget.
    const evalEvery = Math.max(1, Math.round(steps / opts.evalPoints));
    const tokens = steps * opts.batch * opts.block;
    jobs.push({
      size,
      dir: join(opts.out, size.name),
      dataDir,
      model,
      steps,
      batch: opts.batch,
      lr,
      warmup: Math.max(1, Math.round(WARMUP_FRACTION * steps)),
      evalEvery,
      evalBatches: opts.evalBatches,
      seed: opts.seed,
      threads,
      ...(opts.device ? { device: opts.device } : {}),
    });
    summaries.push({
      ...size,
      params: gpt.ps.count(),
      nonembedding_params: nonembedding,
      steps,
      tokens,
      lr,
      compute: computeOf(nonembedding, tokens),
      status: 'trained',
    });
  }
  onEvent?.({ kind: 'plan', sizes: summaries });

  // Which sizes still need training, and from where.
  const pending: Array<{ job: SizeJob; summary: SizeSummary; from: number }> = [];
  for (const [i, job] of jobs.entries()) {
    const from = (await latestCheckpoint(job.dir))?.step ?? 0;
    if (from > job.steps) {
      throw new TonyError(
        'checkpoint',
        `${job.dir} has a checkpoint at step ${from}, past this sweep's ${job.steps} steps`,
        'use a new --out for a smaller budget',
      );
    }
    if (from === job.steps) {
      summaries[i]!.status = 'skipped';
      onEvent?.({ kind: 'skip', size: job.size.name });
    } else {
      summaries[i]!.status = from > 0 ? 'resumed' : 'trained';
      pending.push({ job, summary: summaries[i]!, from });
    }
  }
  // Largest first: the longest jobs start early, so `parallel` workers finish close together.
  pending.reverse();
  await pool(pending, opts.parallel, async ({ job, from }) => {
    onEvent?.({ kind: 'start', size: job.size.name, resumeFrom: from, steps: job.steps });
    const t0 = performance.now();
    try {
      const res = await trainInChild(job, (progress) => onEvent?.({ kind: 'progress', size: job.size.name, progress }));
      onEvent?.({
        kind: 'done',
        size: job.size.name,
        valLoss: res.valLoss,
        tokensPerSecond: res.tokensPerSecond,
        seconds: (performance.now() - t0) / 1000,
      });
    } catch (err) {
      for (const c of children) c.kill('SIGTERM'); // the others resume next time
      throw err;
    }
  });

  return analyzeSweep(opts, jobs, summaries);
}

/** Read every size's log, fit both laws, write summary.json and the plots. */
async function analyzeSweep(opts: SweepOptions, jobs: SizeJob[], summaries: SizeSummary[]): Promise<SweepResult> {
  const rows: RunRow[] = [];
  for (const [i, job] of jobs.entries()) {
    const runRows = await readMetricsRun(job.dir);
    rows.push(...runRows);
    summaries[i]!.val_loss = runRows.filter((r) => r.split === 'val').at(-1)?.loss;
  }
  const notes: string[] = [];
  const fit = (x: 'params' | 'compute') => {
    try {
      return analyzeScaling(rows, { x, split: 'val', resamples: opts.bootstrap, seed: opts.seed + 1 });
    } catch (err) {
      // A family that does not follow a power law (too few sizes, losses that do not fall) is a
      // result to report, not a reason to lose the runs' summary.
      if (err instanceof TonyError && err.kind === 'data') {
        notes.push(`L(${x === 'params' ? 'N' : 'C'}) not fitted: ${err.message}`);
        return undefined;
      }
      throw err;
    }
  };
  const params = fit('params');
  const compute = fit('compute');
  const files: SweepResult['files'] = { summary: join(opts.out, 'summary.json') };
  if (params) await writeScalingPlot(params, (files.plot = join(opts.out, 'scaling.svg')));
  if (compute) await writeScalingPlot(compute, (files.computePlot = join(opts.out, 'scaling-compute.svg')));
  const strip = (a?: ScalingAnalysis) => {
    if (!a) return undefined;
    const { curves: _curves, ...rest } = a;
    return rest;
  };
  const summary = { options: sweepKey(opts), sizes: summaries, params: strip(params), compute: strip(compute), notes };
  await writeFileAtomic(files.summary, JSON.stringify(summary, null, 2) + '\n');
  return { sizes: summaries, params, compute, notes, files };
}

/**
 * Training steps of a size with `ratio` = N / N_smallest: tokens · ratio^γ, in whole steps of batch·block.
 *
 *     sizeSteps({ tokens: 2048 * 100, batch: 16, block: 128, tokensExponent: 0.5 }, 4)  // 200
 */
export function sizeSteps(o: Pick<SweepOptions, 'tokens' | 'batch' | 'block' | 'tokensExponent'>, ratio: number): number {
  return Math.floor((o.tokens * ratio ** (o.tokensExponent ?? 0)) / (o.batch * o.block));
}

function checkOptions(o: SweepOptions): void {
  if (o.sizes.length === 0) throw new TonyError('usage', 'a sweep needs at least one size', 'e.g. --sizes 32x1,64x2');
  if (o.data.length === 0) throw new TonyError('usage', 'a sweep needs --data <dir>', 'pass a directory of text files');
  for (const [name, v] of [
    ['tokens', o.tokens],
    ['block', o.block],
    ['batch', o.batch],
    ['vocab', o.vocab],
    ['parallel', o.parallel],
    ['eval points', o.evalPoints],
    ['eval batches', o.evalBatches],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new TonyError('usage', `sweep: ${name} must be a positive integer, got ${v}`);
  }
  if (o.threads !== undefined && (!Number.isInteger(o.threads) || o.threads < 1))
    throw new TonyError('usage', `sweep: threads must be a positive integer, got ${o.threads}`);
  if (o.lr !== undefined && !(o.lr > 0)) throw new TonyError('usage', `sweep: lr must be positive, got ${o.lr}`);
  if (o.tokensExponent !== undefined && !(o.tokensExponent >= 0 && o.tokensExponent <= 2))
    throw new TonyError('usage', `sweep: the tokens exponent must be in [0, 2], got ${o.tokensExponent}`, 'e.g. --tokens-exponent 0.4');
  // The smallest size has the smallest budget, so checking it checks them all.
  const steps = sizeSteps(o, 1);
  if (steps < MIN_STEPS) {
    throw new TonyError(
      'usage',
      `--tokens ${o.tokens} is only ${steps} steps of ${o.batch}×${o.block} tokens; a sweep needs ≥ ${MIN_STEPS}`,
      `raise --tokens to at least ${MIN_STEPS * o.batch * o.block}`,
    );
  }
  if (o.evalPoints > steps)
    throw new TonyError(
      'usage',
      `sweep: ${o.evalPoints} evaluations do not fit in ${steps} steps`,
      'lower the eval points or raise --tokens',
    );
}

/** The training processes running now (killed when another size fails). */
const children = new Set<ChildProcess>();

/** Messages from sweep-worker.ts. */
export type WorkerMessage =
  | { type: 'progress'; progress: Progress }
  | { type: 'done'; valLoss?: number; tokensPerSecond: number }
  | { type: 'error'; kind: ErrorKind; message: string; hint?: string };

/** Train one size in a child process (its own ONNX Runtime, its own memory). */
function trainInChild(job: SizeJob, onProgress: (p: Progress) => void): Promise<{ valLoss?: number; tokensPerSecond: number }> {
  // The child is TypeScript: load it through tsx's loader, found from here rather than the cwd.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = fork(fileURLToPath(new URL('./sweep-worker.ts', import.meta.url)), [], {
    execArgv: ['--import', tsx],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
  child.stdout!.resume();
  return new Promise((resolve, reject) => {
    let result: { valLoss?: number; tokensPerSecond: number } | undefined;
    let error: TonyError | undefined;
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') onProgress(m.progress);
      else if (m.type === 'done') result = { valLoss: m.valLoss, tokensPerSecond: m.tokensPerSecond };
      else error = new TonyError(m.kind, `size ${job.size.name}: ${m.message}`, m.hint);
    });
    child.on('error', (err) => (error ??= new TonyError('device', `size ${job.size.name}: cannot start its process: ${err.message}`)));
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (result && code === 0) return resolve(result);
      reject(
        error ??
          new TonyError(
            'device',
            `size ${job.size.name}: its training process ended (${signal ?? `exit code ${code}`})${stderr ? `:\n${stderr.trim()}` : ''}`,
            'rerun the sweep: finished sizes are skipped and this one resumes',
          ),
      );
    });
    child.send(job);
  });
}

/** Train one size in this process (sweep-worker.ts calls it). Resumes from the size's latest checkpoint. */
export async function trainSize(job: SizeJob, onProgress?: (p: Progress) => void): Promise<{ valLoss?: number; tokensPerSecond: number }> {
  const shards = await openShards(job.dataDir);
  const rt = await Runtime.start({ device: job.device, threads: job.threads });
  try {
    const task = lmKind.task({ model: job.model }, shards, { batch: job.batch, seed: job.seed });
    const res = await trainWithRecipe(
      rt,
      { ...task, config: { ...task.config, sweep: { size: job.size.name, lr: job.lr, steps: job.steps } } },
      {
        steps: job.steps,
        lr: job.lr,
        warmup: job.warmup,
        seed: job.seed,
        evalEvery: job.evalEvery,
        evalBatches: job.evalBatches,
        checkpointEvery: job.evalEvery,
        out: job.dir,
        resume: true,
        onProgress,
      },
    );
    return { valLoss: res.evals.at(-1)?.val_loss, tokensPerSecond: res.tokensPerSecond };
  } finally {
    shards.close();
    await rt.close();
  }
}
