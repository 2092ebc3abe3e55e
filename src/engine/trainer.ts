/**
 * The training loop: one compiled step graph, state held in the runtime, batches drawn
 * deterministically by step number (so a resumed run sees exactly the batches an uninterrupted one
 * would), evaluation every N steps, a JSONL metrics log, checkpoints, and NaN/Inf detection that
 * names the step and the offending tensors.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TonyError } from '../errors.ts';
import { writeFileAtomic } from '../io.ts';
import { type HostTensor, hostTensor } from './dtype.ts';
import { latestCheckpoint, loadCheckpoint, saveRunCheckpoint } from './checkpoint.ts';
import type { ParamSet } from './nn.ts';
import { exportOnnx } from './onnx.ts';
import { type AdamWConfig, buildTrainStep, stateKey } from './optim.ts';
import type { Runtime } from './runtime.ts';
import type { Tensor } from './tensor.ts';

/** What the trainer needs from a model + data pairing. */
export interface TrainTask {
  /**
   * Trace the model and its loss on a fresh ParamSet; `data` are the batch inputs in feed order.
   * 'train' traces the training step (dropout on), 'eval' the validation loss (dropout off).
   */
  trace(mode?: 'train' | 'eval'): { ps: ParamSet; loss: Tensor; data: Tensor[] };
  /** Batch number `index` of a split, deterministic in (seed, index). */
  batch(split: 'train' | 'val', index: number): Record<string, HostTensor>;
  /** Tokens (or examples) consumed per training step, for throughput and scaling-law logs. */
  tokensPerStep: number;
  /** Saved as config.json in the run directory and every checkpoint. */
  config: Record<string, unknown>;
}

export interface TrainOptions {
  steps: number;
  optimizer: AdamWConfig;
  /** Parameter initialisation seed. */
  seed?: number;
  /** Initial parameter values (e.g. pretrained weights); others are initialised from `seed`. */
  initParams?: Record<string, HostTensor>;
  evalEvery?: number;
  evalBatches?: number;
  /** Save a checkpoint every N steps (and at the end) when outDir is set. */
  checkpointEvery?: number;
  /** Checkpoints kept (older ones are deleted). */
  keep?: number;
  /** Run directory: config.json, metrics.jsonl, ckpt-<step>/. */
  outDir?: string;
  /** Continue from the latest checkpoint in outDir (if any). */
  resume?: boolean;
  onProgress?: (p: { done: number; total: number; info: Record<string, string> }) => void;
}

export interface StepRecord {
  step: number;
  tokens: number;
  loss: number;
  lr: number;
  grad_norm: number;
  time_s: number;
}

export interface TrainResult {
  /** Training loss per step run in this call (index 0 = first step after any resume). */
  history: StepRecord[];
  evals: Array<{ step: number; tokens: number; val_loss: number }>;
  finalStep: number;
  /** Median tokens/s over the steps of this call. */
  tokensPerSecond: number;
  params: number;
}

/** Train `task` on `rt`. Parameters stay in the runtime afterwards (state keys `param:<name>`). */
export async function train(rt: Runtime, task: TrainTask, opts: TrainOptions): Promise<TrainResult> {
  const { ps, loss, data } = task.trace('train');
  const stepGraph = buildTrainStep(ps, loss, data, opts.optimizer);
  const trainSession = await rt.load(stepGraph.model);
  const evalTrace = task.trace('eval');
  const evalGraph = exportOnnx([...evalTrace.data, ...evalTrace.ps.inputs], { loss: evalTrace.loss }, { name: 'eval' });
  const evalSession = await rt.load(evalGraph);
  const evalState = Object.fromEntries(evalTrace.ps.specs.map((s) => [s.name, stateKey.param(s.name)]));
  const nParams = ps.count();

  // Initial state: a checkpoint to resume from, or fresh parameters and zero moments.
  let step = 0;
  const ckptDir = opts.outDir && opts.resume ? (await latestCheckpoint(opts.outDir))?.dir : undefined;
  if (ckptDir) {
    const expect = Object.fromEntries(ps.specs.map((s) => [s.name, { shape: s.shape, dtype: 'float32' as const }]));
    const ck = await loadCheckpoint(ckptDir, { params: expect });
    const entries: Record<string, HostTensor> = {};
    for (const s of ps.specs) {
      entries[stateKey.param(s.name)] = ck.params[s.name]!;
      const m = ck.optimizer?.[`m.${s.name}`];
      const v = ck.optimizer?.[`v.${s.name}`];
      if (!m || !v) throw new TonyError('checkpoint', `${ckptDir}: optimizer state for '${s.name}' is missing`, 'resume needs a checkpoint saved by the trainer');
      entries[stateKey.m(s.name)] = m;
      entries[stateKey.v(s.name)] = v;
    }
    await rt.setState(entries);
    step = Number((ck.state as { step?: number }).step ?? 0);
  } else {
    const init = { ...ps.initialize(opts.seed ?? 0), ...opts.initParams };
    const entries: Record<string, HostTensor> = {};
    for (const s of ps.specs) {
      entries[stateKey.param(s.name)] = init[s.name]!;
      entries[stateKey.m(s.name)] = hostTensor('float32', s.shape);
      entries[stateKey.v(s.name)] = hostTensor('float32', s.shape);
    }
    await rt.setState(entries);
  }

  const metricsPath = opts.outDir ? join(opts.outDir, 'metrics.jsonl') : undefined;
  if (opts.outDir) {
    await mkdir(opts.outDir, { recursive: true });
    const runConfig = { ...task.config, params: nParams, nonembedding_params: task.config.nonembedding_params ?? nParams };
    await writeFileAtomic(join(opts.outDir, 'config.json'), JSON.stringify(runConfig, null, 2) + '\n');
    await trimMetrics(metricsPath!, step);
  }
  const log = async (row: Record<string, number>) => {
    if (metricsPath) await appendFile(metricsPath, JSON.stringify(row) + '\n');
  };

  const evaluate = async (): Promise<number> => {
    let total = 0;
    const n = opts.evalBatches ?? 4;
    for (let i = 0; i < n; i++) {
      const r = await rt.run(evalSession, task.batch('val', i), { state: evalState, fetch: ['loss'] });
      total += (r.loss!.data as Float32Array)[0]!;
    }
    return total / n;
  };

  const save = async () => {
    if (!opts.outDir) return;
    const names = ps.specs.map((s) => s.name);
    const st = await rt.getState(names.flatMap((n) => [stateKey.param(n), stateKey.m(n), stateKey.v(n)]));
    const params: Record<string, HostTensor> = {};
    const optimizer: Record<string, HostTensor> = {};
    for (const n of names) {
      params[n] = st[stateKey.param(n)]!;
      optimizer[`m.${n}`] = st[stateKey.m(n)]!;
      optimizer[`v.${n}`] = st[stateKey.v(n)]!;
    }
    const config = { ...task.config, optimizer: opts.optimizer };
    const state = { step, tokens: step * task.tokensPerStep };
    await saveRunCheckpoint(opts.outDir, step, { config, state, params, optimizer }, { keep: opts.keep ?? 2 });
  };

  const history: StepRecord[] = [];
  const evals: TrainResult['evals'] = [];
  const rates: number[] = [];
  const lr = hostTensor('float32', [], [opts.optimizer.lr]);
  const started = performance.now();
  while (step < opts.steps) {
    const t0 = performance.now();
    const feeds = { ...task.batch('train', step), step: hostTensor('float32', [], [step + 1]), lr };
    const r = await rt.run(trainSession, feeds, {
      state: stepGraph.state,
      update: stepGraph.update,
      fetch: ['loss', 'grad_norm', 'lr_t', 'grad_sq'],
    });
    step++;
    const lossV = (r.loss!.data as Float32Array)[0]!;
    const norm = (r.grad_norm!.data as Float32Array)[0]!;
    if (!Number.isFinite(lossV) || !Number.isFinite(norm)) {
      const sq = r.grad_sq!.data as Float32Array;
      const bad = stepGraph.paramNames.filter((_, i) => !Number.isFinite(sq[i]!));
      const what = !Number.isFinite(lossV) ? `loss is ${lossV}` : `gradient norm is ${norm}`;
      throw new TonyError(
        'numeric',
        `step ${step}: ${what}${bad.length ? `; non-finite gradients in ${bad.slice(0, 8).join(', ')}${bad.length > 8 ? ` and ${bad.length - 8} more` : ''}` : ''}`,
        'lower the learning rate or raise warmup, then resume from the last checkpoint',
      );
    }
    const dt = (performance.now() - t0) / 1000;
    rates.push(task.tokensPerStep / dt);
    const rec: StepRecord = {
      step,
      tokens: step * task.tokensPerStep,
      loss: lossV,
      lr: (r.lr_t!.data as Float32Array)[0]!,
      grad_norm: norm,
      time_s: (performance.now() - started) / 1000,
    };
    history.push(rec);
    await log({ ...rec });
    if (opts.evalEvery && (step % opts.evalEvery === 0 || step === opts.steps)) {
      const val = await evaluate();
      evals.push({ step, tokens: rec.tokens, val_loss: val });
      await log({ step, tokens: rec.tokens, val_loss: val });
    }
    if (opts.outDir && ((opts.checkpointEvery && step % opts.checkpointEvery === 0) || step === opts.steps)) await save();
    opts.onProgress?.({
      done: step,
      total: opts.steps,
      info: {
        loss: lossV.toFixed(3),
        ...(evals.length ? { val: evals[evals.length - 1]!.val_loss.toFixed(3) } : {}),
        'tok/s': formatRate(median(rates)),
      },
    });
  }
  return { history, evals, finalStep: step, tokensPerSecond: median(rates), params: nParams };
}

/** Drop metric rows past `step` (a resumed run rewrites them) — the log stays one consistent run. */
async function trimMetrics(path: string, step: number): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return;
  }
  const kept = text
    .split('\n')
    .filter((l) => l.trim() && (JSON.parse(l) as { step: number }).step <= step)
    .map((l) => l + '\n')
    .join('');
  if (kept !== text) await writeFile(path, kept);
}

export const median = (xs: readonly number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const formatRate = (r: number) => (r >= 1e4 ? `${(r / 1e3).toFixed(1)}k` : r.toFixed(0));
