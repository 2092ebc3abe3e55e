/**
 * The training loop: one compiled step graph, state held in the runtime, batches drawn
 * deterministically by step number (so a resumed run sees exactly the batches an uninterrupted one
 * would), evaluation every N steps, a JSONL metrics log, checkpoints, and NaN/Inf detection that
 * names the step and the offending tensors.
 */
import { appendFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TonyError } from '../errors.ts';
import { writeFileAtomic } from '../io.ts';
import { latestCheckpoint, loadCheckpoint, replaceCheckpoint, saveRunCheckpoint } from './checkpoint.ts';
import { type DType, type HostTensor, hostTensor } from './dtype.ts';
import { exportOnnx } from './onnx.ts';
import { type AdamWConfig, type ParamGroup, resolveGroups } from './optim.ts';
import type { Runtime } from './runtime.ts';
import { loadWeights, runOnWeights, stateKey } from './state.ts';
import { type CompiledStep, compileStep, type Objective, objective, type Traced } from './step.ts';

/** What the trainer needs from a model + data pairing. */
export interface TrainTask {
  /**
   * Trace the model and its loss on a fresh ParamSet; `data` are the batch inputs in feed order.
   * 'train' traces the training step (dropout on), 'eval' the validation graph (dropout off; buffer
   * updates are ignored there). Several named losses, metrics and forward-updated buffers: step.ts.
   */
  trace(mode?: 'train' | 'eval'): Traced;
  /** Batch number `index` of a split, deterministic in (seed, index). */
  batch(split: 'train' | 'val', index: number): Record<string, HostTensor>;
  /** Tokens (or examples) consumed per batch, for throughput and scaling-law logs. */
  tokensPerStep: number;
  /** Saved as config.json in the run directory and every checkpoint. */
  config: Record<string, unknown>;
  /**
   * Weights a fresh run starts from (a GSM8K verifier starts from its generator); parameters not
   * named here are initialised from the seed. `TrainOptions.initParams` takes precedence.
   */
  initParams?: Record<string, HostTensor>;
}

export interface TrainOptions {
  steps: number;
  optimizer: AdamWConfig;
  /** Learning-rate multipliers, weight decay and freezing per parameter group (optim.ts). */
  groups?: readonly ParamGroup[];
  /**
   * Micro-batches per step (default 1): gradients of `accumulate` consecutive batches are averaged
   * before one update. Step s uses train batches s·k … s·k + k − 1.
   */
  accumulate?: number;
  /**
   * Run the gradients-only and apply-only graphs instead of the fused step even without
   * accumulation (what data-parallel training runs; slower on one machine).
   */
  split?: boolean;
  /** Parameter initialisation seed. */
  seed?: number;
  /** Initial parameter (and buffer) values, e.g. pretrained weights; others are initialised from `seed`. */
  initParams?: Record<string, HostTensor>;
  evalEvery?: number;
  evalBatches?: number;
  /** Save a checkpoint every N steps (and at the end) when outDir is set. */
  checkpointEvery?: number;
  /** Checkpoints kept (older ones are deleted). */
  keep?: number;
  /**
   * Also keep the parameters of the evaluation with the lowest validation loss so far as
   * `<outDir>/best/` (early stopping's pick, as Hugging Face's `load_best_model_at_end`). Its
   * state.json holds `step`, `tokens` and `val_loss`. Loaders given the run directory still take the
   * newest `ckpt-<step>/`; give them `<outDir>/best` for this one. A resumed run keeps a best saved at
   * or before the step it resumes from, and drops one saved after it (that history is rewritten).
   */
  keepBest?: boolean;
  /** Run directory: config.json, metrics.jsonl, ckpt-<step>/. */
  outDir?: string;
  /** Continue from the latest checkpoint in outDir (if any). */
  resume?: boolean;
  onProgress?: (p: { done: number; total: number; from: number; info: Record<string, string> }) => void;
  /**
   * Data-parallel training (src/distributed/): this process is one rank of several, `task` gives
   * it its shard of every batch, gradients are summed over ranks before each update. Rank 0 alone
   * writes the run directory; every rank reads it to resume.
   */
  parallel?: DataParallel;
}

/** What the trainer needs from a data-parallel group (src/distributed/ implements it over MPI). */
export interface DataParallel {
  readonly rank: number;
  readonly size: number;
  /** The training step, with gradients summed over all ranks before the (identical) update. */
  compile(rt: Runtime, obj: Objective, cfg: AdamWConfig, groups?: readonly ParamGroup[]): Promise<CompiledStep>;
  /** Σ over ranks, in place (evaluation totals). */
  sum(x: Float64Array): Float64Array;
}

/** One metrics.jsonl training row: the fixed fields, then the task's named losses (`loss_<name>`) and metrics. */
export interface StepRecord {
  step: number;
  tokens: number;
  loss: number;
  lr: number;
  grad_norm: number;
  time_s: number;
  [logged: string]: number;
}

/** One evaluation: `val_loss` (the total), `val_loss_<name>` and `val_<metric>` for the rest. */
export interface EvalRecord {
  step: number;
  tokens: number;
  val_loss: number;
  [logged: string]: number;
}

export interface TrainResult {
  /** Training loss per step run in this call (index 0 = first step after any resume). */
  history: StepRecord[];
  evals: EvalRecord[];
  finalStep: number;
  /** Median tokens/s over the steps of this call. */
  tokensPerSecond: number;
  params: number;
  /** What the trainer repaired on its way (e.g. a torn last line of metrics.jsonl), for the caller to show. */
  notices: string[];
}

/** Train `task` on `rt`. Weights stay in the runtime afterwards (state keys `param:<name>`, state.ts). */
export async function train(rt: Runtime, task: TrainTask, opts: TrainOptions): Promise<TrainResult> {
  const obj = objective(task.trace('train'));
  const { ps, buffers } = obj;
  const { trainable } = resolveGroups(ps, opts.optimizer, opts.groups);
  const k = opts.accumulate ?? 1;
  const dp = opts.parallel;
  if (dp && k !== 1)
    throw new TonyError(
      'config',
      'data-parallel training takes one micro-batch per step',
      'raise the batch (or the workers) instead of accumulate',
    );
  const stepper = dp
    ? await dp.compile(rt, obj, opts.optimizer, opts.groups)
    : await compileStep(rt, obj, opts.optimizer, { groups: opts.groups, accumulate: k, split: opts.split });
  // Every rank trains; rank 0 alone writes the run directory.
  const outDir = dp && dp.rank !== 0 ? undefined : opts.outDir;
  const loggedNames = Object.keys(obj.logged);

  const evalObj = objective(task.trace('eval'));
  const evalWeights = { ps: evalObj.ps, ...(evalObj.buffers ? { buffers: evalObj.buffers } : {}) };
  const evalGraph = exportOnnx(
    [...evalObj.data, ...evalObj.ps.inputs, ...(evalObj.buffers?.inputs ?? [])],
    { loss: evalObj.loss, ...evalObj.logged },
    { name: 'eval' },
  );
  const evalSession = await rt.load(evalGraph);
  const nParams = ps.count();
  const bufferNames = buffers?.specs.map((s) => s.name) ?? [];
  const tokensPerStep = task.tokensPerStep * k;

  // Initial state: a checkpoint to resume from, or fresh weights and zero moments.
  let step = 0;
  const ckptDir = opts.outDir && opts.resume ? (await latestCheckpoint(opts.outDir))?.dir : undefined;
  if (ckptDir) {
    const expect: Record<string, { shape: readonly number[]; dtype: DType }> = {};
    for (const s of ps.specs) expect[s.name] = { shape: s.shape, dtype: 'float32' };
    for (const s of buffers?.specs ?? []) expect[s.name] = { shape: s.shape, dtype: s.dtype };
    const ck = await loadCheckpoint(ckptDir, { params: expect });
    const entries: Record<string, HostTensor> = {};
    for (const name of Object.keys(expect)) entries[stateKey.param(name)] = ck.params[name]!;
    for (const { spec } of trainable) {
      const m = ck.optimizer?.[`m.${spec.name}`];
      const v = ck.optimizer?.[`v.${spec.name}`];
      if (!m || !v)
        throw new TonyError(
          'checkpoint',
          `${ckptDir}: optimizer state for '${spec.name}' is missing`,
          'resume needs a checkpoint saved by the trainer',
        );
      entries[stateKey.m(spec.name)] = m;
      entries[stateKey.v(spec.name)] = v;
    }
    await rt.setState(entries, { transfer: true }); // read from the checkpoint for this alone
    step = Number((ck.state as { step?: number }).step ?? 0);
  } else {
    // The fresh initial values and zero moments move to the runtime's thread (no second copy);
    // parameters the caller gave are copied, their arrays stay the caller's.
    const fresh = { ...ps.initialize(opts.seed ?? 0), ...buffers?.initialize(opts.seed ?? 0) };
    const given = opts.initParams ?? task.initParams ?? {};
    const names = [...ps.specs.map((s) => s.name), ...bufferNames];
    await rt.setState(Object.fromEntries(names.filter((n) => !(n in given)).map((n) => [stateKey.param(n), fresh[n]!])), {
      transfer: true,
    });
    await loadWeights(rt, Object.fromEntries(names.filter((n) => n in given).map((n) => [n, given[n]!])));
    const moments: Record<string, HostTensor> = {};
    for (const { spec } of trainable) {
      moments[stateKey.m(spec.name)] = hostTensor('float32', spec.shape);
      moments[stateKey.v(spec.name)] = hostTensor('float32', spec.shape);
    }
    await rt.setState(moments, { transfer: true });
  }

  const notices: string[] = [];
  const metricsPath = outDir ? join(outDir, 'metrics.jsonl') : undefined;
  if (outDir) {
    await mkdir(outDir, { recursive: true });
    const runConfig = { ...task.config, params: nParams, nonembedding_params: task.config.nonembedding_params ?? nParams };
    await writeFileAtomic(join(outDir, 'config.json'), JSON.stringify(runConfig, null, 2) + '\n');
    const dropped = await trimMetrics(metricsPath!, step);
    if (dropped)
      notices.push(`${metricsPath}: dropped a torn last line (${JSON.stringify(dropped.slice(0, 60))}), as a crash mid-write leaves it`);
  }
  // The best evaluation so far, when keeping it: resumed from best/state.json if it is not ahead of us.
  const bestDir = outDir && opts.keepBest ? join(outDir, 'best') : undefined;
  let bestLoss = Number.POSITIVE_INFINITY;
  if (bestDir) {
    const prev = await readFile(join(bestDir, 'state.json'), 'utf8').then(
      (t) => JSON.parse(t) as { step?: unknown; val_loss?: unknown },
      () => undefined,
    );
    if (prev && typeof prev.step === 'number' && typeof prev.val_loss === 'number' && prev.step <= step) bestLoss = prev.val_loss;
    else if (prev || (await stat(bestDir).catch(() => undefined))) {
      await rm(bestDir, { recursive: true, force: true });
      notices.push(`${bestDir}: removed (saved at step ${String(prev?.step)}, after the step this run starts from, ${step})`);
    }
  }
  const log = async (row: Record<string, number>) => {
    if (metricsPath) await appendFile(metricsPath, JSON.stringify(row) + '\n');
  };

  const evaluate = async (): Promise<Record<string, number>> => {
    const n = opts.evalBatches ?? 4;
    const names = ['loss', ...Object.keys(evalObj.logged)];
    const totals = new Float64Array(names.length);
    for (let i = 0; i < n; i++) {
      const r = await runOnWeights(rt, evalSession, evalWeights, task.batch('val', i), { fetch: names });
      names.forEach((name, j) => (totals[j]! += (r[name]!.data as Float32Array)[0]!));
    }
    // Each rank evaluated its shard of every batch: the mean of the shards' means is the batch's.
    if (dp) dp.sum(totals);
    const ranks = dp?.size ?? 1;
    return Object.fromEntries(names.map((name, j) => [name === 'loss' ? 'val_loss' : `val_${name}`, totals[j]! / n / ranks]));
  };

  const save = async () => {
    if (!outDir) return;
    const weightNames = [...ps.specs.map((s) => s.name), ...bufferNames];
    const trainNames = trainable.map((tp) => tp.spec.name);
    const st = await rt.getState([...weightNames.map(stateKey.param), ...trainNames.flatMap((n) => [stateKey.m(n), stateKey.v(n)])]);
    const params: Record<string, HostTensor> = {};
    const optimizer: Record<string, HostTensor> = {};
    for (const n of weightNames) params[n] = st[stateKey.param(n)]!;
    for (const n of trainNames) {
      optimizer[`m.${n}`] = st[stateKey.m(n)]!;
      optimizer[`v.${n}`] = st[stateKey.v(n)]!;
    }
    const config = { ...task.config, optimizer: opts.optimizer, ...(k > 1 ? { accumulate: k } : {}) };
    const state = { step, tokens: step * tokensPerStep };
    await saveRunCheckpoint(outDir, step, { config, state, params, optimizer }, { keep: opts.keep ?? 2 });
  };

  const saveBest = async (at: number, tokens: number, valLoss: number) => {
    const weightNames = [...ps.specs.map((s) => s.name), ...bufferNames];
    const st = await rt.getState(weightNames.map(stateKey.param));
    const params = Object.fromEntries(weightNames.map((n) => [n, st[stateKey.param(n)]!]));
    await replaceCheckpoint(bestDir!, { config: task.config, state: { step: at, tokens, val_loss: valLoss }, params });
  };

  const history: StepRecord[] = [];
  const evals: EvalRecord[] = [];
  const rates: number[] = [];
  const lr = hostTensor('float32', [], [opts.optimizer.lr]);
  const started = performance.now();
  const resumedAt = step;
  while (step < opts.steps) {
    const t0 = performance.now();
    const r = await stepper.run(step + 1, lr, (micro) => task.batch('train', step * k + micro));
    step++;
    const lossV = r.loss;
    const norm = r.grad_norm;
    if (!Number.isFinite(lossV) || !Number.isFinite(norm)) {
      const bad = stepper.paramNames.filter((_, i) => !Number.isFinite(r.grad_sq[i]!));
      const what = !Number.isFinite(lossV) ? `loss is ${lossV}` : `gradient norm is ${norm}`;
      throw new TonyError(
        'numeric',
        `step ${step}: ${what}${bad.length ? `; non-finite gradients in ${bad.slice(0, 8).join(', ')}${bad.length > 8 ? ` and ${bad.length - 8} more` : ''}` : ''}`,
        'lower the learning rate or raise warmup, then resume from the last checkpoint',
      );
    }
    const dt = (performance.now() - t0) / 1000;
    rates.push(tokensPerStep / dt);
    const rec: StepRecord = {
      step,
      tokens: step * tokensPerStep,
      loss: lossV,
      lr: r.lr_t,
      grad_norm: norm,
      time_s: (performance.now() - started) / 1000,
      ...r.logged,
    };
    history.push(rec);
    await log({ ...rec });
    if (opts.evalEvery && (step % opts.evalEvery === 0 || step === opts.steps)) {
      const e = { step, tokens: rec.tokens, ...(await evaluate()) } as EvalRecord;
      evals.push(e);
      await log(e);
      if (bestDir && e.val_loss < bestLoss) {
        bestLoss = e.val_loss;
        await saveBest(step, rec.tokens, e.val_loss);
      }
    }
    if (outDir && ((opts.checkpointEvery && step % opts.checkpointEvery === 0) || step === opts.steps)) await save();
    const lastEval = evals.at(-1);
    opts.onProgress?.({
      done: step,
      total: opts.steps,
      from: resumedAt,
      info: {
        loss: lossV.toFixed(3),
        ...Object.fromEntries(loggedNames.map((n) => [n, formatValue(rec[n]!)])),
        ...(lastEval ? { val: lastEval.val_loss.toFixed(3) } : {}),
        'tok/s': formatRate(median(rates)),
      },
    });
  }
  return { history, evals, finalStep: step, tokensPerSecond: median(rates), params: nParams, notices };
}

/**
 * Drop metric rows past `step` (a resumed run rewrites them), so the log stays one consistent run.
 * A last line that is not a JSON row is what a crash in the middle of an append leaves: it is
 * dropped (and returned, for a notice). Anything else that does not parse is refused, naming the
 * file and line: a log that was edited or corrupted should be looked at, not silently rewritten.
 */
async function trimMetrics(path: string, step: number): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const last = lines.findLastIndex((l) => l.trim() !== '');
  const kept: string[] = [];
  let torn: string | undefined;
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      row = undefined;
    }
    const rowStep = row !== null && typeof row === 'object' ? (row as { step?: unknown }).step : undefined;
    if (typeof rowStep !== 'number') {
      if (i === last) {
        torn = line;
        continue;
      }
      throw new TonyError(
        'data',
        `${path}:${i + 1}: not a metrics row (${JSON.stringify(line.slice(0, 60))}${line.length > 60 ? '…' : ''})`,
        `every line is a JSON object with a numeric "step"; fix or delete line ${i + 1}, or start a fresh run in another --out`,
      );
    }
    if (rowStep <= step) kept.push(line + '\n');
  }
  const out = kept.join('');
  if (out !== text) await writeFileAtomic(path, out);
  return torn;
}

export const median = (xs: readonly number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const formatRate = (r: number) => (r >= 1e4 ? `${(r / 1e3).toFixed(1)}k` : r.toFixed(0));

const formatValue = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(3) : v.toExponential(1));
