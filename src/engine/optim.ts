/**
 * The training step as one graph: forward, backward, global-norm gradient clipping, the warmup +
 * cosine learning-rate schedule and AdamW with decoupled weight decay (Loshchilov & Hutter), all
 * in ONNX. Parameters and moments go in as inputs and come back as outputs; the step count and the
 * base learning rate are inputs, so one graph serves the whole run.
 */
import { resolveConfig } from '../config.ts';
import { TonyError } from '../errors.ts';
import { grad } from './autodiff.ts';
import type { ParamSet, ParamSpec } from './nn.ts';
import { type ExportOptions, exportOnnx, type OnnxModel } from './onnx.ts';
import * as T from './ops/index.ts';
import type { BufferSet } from './state.ts';
import { stateKey } from './state.ts';
import { input, type Tensor, topoSort } from './tensor.ts';

export const ADAMW_DEFAULTS = {
  /** Peak learning rate (after warmup). */
  lr: 6e-4,
  beta1: 0.9,
  /** 0.95 as in GPT-3/nanoGPT: steadier than 0.999 for transformers at small batch sizes. */
  beta2: 0.95,
  eps: 1e-8,
  /** Decoupled weight decay, applied to matrices only (ParamSpec.decay). */
  weightDecay: 0.1,
  /** Global gradient-norm clip (0 disables). */
  gradClip: 1.0,
  warmupSteps: 20,
  /** Steps over which the cosine decays from lr to minLrRatio·lr. */
  decaySteps: 1000,
  minLrRatio: 0.1,
};
export type AdamWConfig = typeof ADAMW_DEFAULTS;

export const adamwConfig = (overrides: Partial<Record<keyof AdamWConfig, unknown>> = {}) =>
  resolveConfig('optimizer', ADAMW_DEFAULTS, overrides);

/** Runtime state keys (state.ts); re-exported here for the modules that import them from optim. */
export { stateKey };

/**
 * The learning rate at (1-based) step t: linear warmup to lr, then cosine decay to minLrRatio·lr
 * over decaySteps, then constant. Traced, so it runs in the graph; `lrAt` is the same in JS.
 */
function scheduledLr(cfg: AdamWConfig, t: Tensor, lr: Tensor): Tensor {
  const warm = T.mul(lr, T.div(t, Math.max(1, cfg.warmupSteps)));
  const progress = T.minimum(T.maximum(T.div(T.sub(t, cfg.warmupSteps), Math.max(1, cfg.decaySteps - cfg.warmupSteps)), 0), 1);
  const cosine = T.mul(T.add(T.cos(T.mul(progress, Math.PI)), 1), 0.5); // 1 → 0
  const decayed = T.mul(lr, T.add(cfg.minLrRatio, T.mul(cosine, 1 - cfg.minLrRatio)));
  return T.where(T.lessEqual(t, cfg.warmupSteps), warm, decayed);
}

/** The schedule in JS (for logs and tests). */
export function lrAt(cfg: AdamWConfig, t: number, lr = cfg.lr): number {
  if (t <= cfg.warmupSteps) return (lr * t) / Math.max(1, cfg.warmupSteps);
  const progress = Math.min(Math.max((t - cfg.warmupSteps) / Math.max(1, cfg.decaySteps - cfg.warmupSteps), 0), 1);
  return lr * (cfg.minLrRatio + (1 - cfg.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/**
 * A parameter group: the parameters it names get their own learning-rate multiplier and weight
 * decay, or are frozen (fed to the graph, but no gradients, no moments, never updated). A parameter
 * takes the first group that names it; the others follow the optimizer config.
 *
 *   groups: [{ params: /^wte\./, lrScale: 0.1 }, { params: ['encoder.w'], frozen: true }]
 */
export interface ParamGroup {
  /** Parameter names, or a pattern tested against each name. */
  params: RegExp | readonly string[];
  /** Multiplies the scheduled learning rate (default 1). */
  lrScale?: number;
  /** Replaces the config's weight decay for every member, whatever its ParamSpec.decay says. */
  weightDecay?: number;
  frozen?: boolean;
}

/** A trainable parameter with its group's settings resolved. */
export interface TrainableParam {
  spec: ParamSpec;
  lrScale: number;
  /** Effective decoupled weight decay (0 = none). */
  weightDecay: number;
}

/** Split `ps` into trainable parameters (with their settings) and frozen ones; unknown names are errors. */
export function resolveGroups(
  ps: ParamSet,
  cfg: Pick<AdamWConfig, 'weightDecay'>,
  groups: readonly ParamGroup[] = [],
): { trainable: TrainableParam[]; frozen: ParamSpec[] } {
  const names = new Set(ps.specs.map((s) => s.name));
  groups.forEach((g, i) => {
    const hint = `parameters are: ${[...names].slice(0, 12).join(', ')}${names.size > 12 ? ', …' : ''}`;
    if (g.params instanceof RegExp) {
      if (![...names].some((n) => (g.params as RegExp).test(n)))
        throw new TonyError('config', `parameter group ${i}: ${g.params} matches no parameter`, hint);
    } else {
      const unknown = g.params.filter((n) => !names.has(n));
      if (unknown.length) throw new TonyError('config', `parameter group ${i} names unknown parameters: ${unknown.join(', ')}`, hint);
    }
    for (const [key, v] of [
      ['lrScale', g.lrScale],
      ['weightDecay', g.weightDecay],
    ] as const) {
      if (v !== undefined && !(Number.isFinite(v) && v >= 0))
        throw new TonyError('config', `parameter group ${i}: ${key} must be a finite number ≥ 0, got ${v}`);
    }
  });
  const trainable: TrainableParam[] = [];
  const frozen: ParamSpec[] = [];
  for (const spec of ps.specs) {
    const g = groups.find((g) => (g.params instanceof RegExp ? g.params.test(spec.name) : g.params.includes(spec.name)));
    if (g?.frozen) frozen.push(spec);
    else trainable.push({ spec, lrScale: g?.lrScale ?? 1, weightDecay: g?.weightDecay ?? (spec.decay ? cfg.weightDecay : 0) });
  }
  if (trainable.length === 0)
    throw new TonyError('config', 'every parameter is frozen: there is nothing to train', 'unfreeze at least one parameter group');
  return { trainable, frozen };
}

/** Input name → state key and output name → state key, as Runtime.run takes them. */
export interface StateMaps {
  state: Record<string, string>;
  update: Record<string, string>;
  /** Outputs of `update` that may overwrite the state they replace (Runtime.run's inPlace; inPlaceUpdates). */
  inPlace?: string[];
}

/**
 * The outputs of `maps.update` whose new value may be written into the very buffer of the value
 * it replaces (Runtime.run's `inPlace`): those where every reader of the old value is an ancestor
 * of the new one, so any topological order — ONNX Runtime's sequential executor runs one — has
 * finished reading the old value before the new one is written. A training step with global-norm
 * clipping qualifies for every parameter and moment: each update depends on the norm, the norm on
 * every gradient, the gradients on every forward and backward read of the parameters. Without
 * clipping a parameter's update does not wait for earlier layers' backward reads of it, and it is
 * left double-buffered. In place, the step holds one copy of the parameters and moments instead of
 * two (3 × 4 bytes per parameter: 1 GB at GPT-2-small's 86 M; docs/results/engine.md, issue 22).
 */
export function inPlaceUpdates(ins: readonly Tensor[], outs: Readonly<Record<string, Tensor>>, maps: StateMaps): string[] {
  const byKey = new Map(Object.entries(maps.state).map(([name, key]) => [key, ins.find((t) => t.name === name)]));
  const order = topoSort(Object.values(outs));
  const readers = new Map<number, Tensor[]>();
  for (const t of order) for (const i of t.inputs) (readers.get(i.id) ?? readers.set(i.id, []).get(i.id)!).push(t);
  const pairs = Object.entries(maps.update).flatMap(([name, key]) => {
    const old = byKey.get(key);
    const next = outs[name]!;
    return old && old !== next && next.shape.length === old.shape.length ? [{ name, old, next }] : [];
  });
  // Which readers each node descends from, as bitsets over the readers (one pass in topological
  // order; a search per update took 0.85 s at GPT-2-small's 444 state outputs).
  const bit = new Map<number, number>();
  for (const { old } of pairs) for (const r of readers.get(old.id) ?? []) if (!bit.has(r.id)) bit.set(r.id, bit.size);
  const words = Math.ceil(bit.size / 32);
  const below = new Map<number, Uint32Array>();
  for (const t of order) {
    const b = new Uint32Array(words);
    for (const i of t.inputs) {
      const bi = below.get(i.id);
      if (bi) for (let w = 0; w < words; w++) b[w]! |= bi[w]!;
    }
    below.set(t.id, b);
    const own = bit.get(t.id);
    if (own !== undefined) b[own >> 5]! |= 1 << (own & 31);
  }
  return pairs
    .filter(({ old, next }) =>
      (readers.get(old.id) ?? []).every((r) => {
        // The new value's own node may read the old one only elementwise, index for index.
        if (r === next) return ELEMENTWISE.has(next.op) && sameShape(old.shape, next.shape);
        const k = bit.get(r.id)!;
        return (below.get(next.id)![k >> 5]! & (1 << (k & 31))) !== 0;
      }),
    )
    .map(({ name }) => name);
}

/** Ops whose kernels read and write each element at the same index (safe to write over an input). */
const ELEMENTWISE = new Set(['add', 'sub', 'mul', 'div']);
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Global-norm clipping, the schedule and AdamW, appended to a graph: `grads[i]` is the gradient of
 * `trainable[i]`'s parameter tensor `params[i]`. Pushes step, lr and each parameter's (p, m, v) onto
 * `ins`, and grad_norm, lr_t, grad_sq and each new (p, m, v) onto `outs`, in that order (the fused
 * graph of a plain task is byte-identical to the one before parameter groups existed).
 */
function appendAdamW(
  trainable: readonly TrainableParam[],
  params: readonly Tensor[],
  grads: readonly Tensor[],
  cfg: AdamWConfig,
  ins: Tensor[],
  outs: Record<string, Tensor>,
  maps: StateMaps,
): void {
  const t = input('step', [], 'float32'); // 1-based
  const lr = input('lr', [], 'float32');
  ins.push(t, lr);

  // Global-norm clipping (torch.nn.utils.clip_grad_norm_): scale all gradients by clip/‖g‖ when above.
  // Σ g² per parameter in one pass (ReduceSumSquare): keeping g² for the second moment held a
  // second copy of every gradient from the norm to the updates (345 MB at GPT-2-small's shape);
  // the update squares g again instead (one more pass over each gradient, issue 22).
  const gradSq = T.concat(
    grads.map((g) => T.reshape(T.sumSquares(g), [1])),
    0,
  ); // (P,)
  const gradNorm = T.sqrt(T.sumAll(gradSq));
  const scale = cfg.gradClip > 0 ? T.minimum(T.div(cfg.gradClip, T.add(gradNorm, 1e-6)), 1) : undefined;
  const lrT = scheduledLr(cfg, t, lr);
  // Per-step scalars, folded once so the per-element update is a handful of passes over each
  // parameter (each pass reads and writes the whole tensor: at 19 M parameters the update is bound
  // by memory traffic, not arithmetic). With s the clipping factor and b2 = √(1 − β2^t):
  //   m ← β1·m + ((1 − β1)·s)·g            (the clipped gradient is never written out)
  //   v ← β2·v + ((1 − β2)·s²)·g²
  //   p ← p·(1 − lr_t·wd) − (lr_t·b2 / (1 − β1^t)) · m / (√v + eps·b2)
  // which is  m̂ / (√v̂ + eps)  with m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t), multiplied through by b2.
  const sqrtBias2 = T.sqrt(T.sub(1, T.pow(T.scalar(cfg.beta2), t)));
  const stepSize = T.div(T.mul(lrT, sqrtBias2), T.sub(1, T.pow(T.scalar(cfg.beta1), t)));
  const epsT = T.mul(sqrtBias2, cfg.eps);
  const c1 = scale ? T.mul(scale, 1 - cfg.beta1) : T.scalar(1 - cfg.beta1);
  const c2 = scale ? T.mul(T.mul(scale, scale), 1 - cfg.beta2) : T.scalar(1 - cfg.beta2);
  const decayFactor = T.sub(1, T.mul(lrT, cfg.weightDecay));
  // A group's scalars, built once per distinct (lrScale, weightDecay); the default group reuses the above.
  const perGroup = new Map<string, { stepSize: Tensor; decayFactor: Tensor }>();
  const groupScalars = (p: TrainableParam) => {
    if (p.lrScale === 1) {
      if (p.weightDecay === cfg.weightDecay) return { stepSize, decayFactor };
    }
    const key = `${p.lrScale}/${p.weightDecay}`;
    let s = perGroup.get(key);
    if (!s) {
      const lrG = p.lrScale === 1 ? lrT : T.mul(lrT, p.lrScale);
      s = { stepSize: p.lrScale === 1 ? stepSize : T.mul(stepSize, p.lrScale), decayFactor: T.sub(1, T.mul(lrG, p.weightDecay)) };
      perGroup.set(key, s);
    }
    return s;
  };

  Object.assign(outs, { grad_norm: gradNorm, lr_t: lrT, grad_sq: gradSq });
  trainable.forEach((tp, i) => {
    const { spec } = tp;
    const p = params[i]!;
    const m = input(`m.${spec.name}`, spec.shape);
    const v = input(`v.${spec.name}`, spec.shape);
    const m2 = T.add(T.mul(m, cfg.beta1), T.mul(grads[i]!, c1));
    const v2 = T.add(T.mul(v, cfg.beta2), T.mul(T.mul(grads[i]!, grads[i]!), c2));
    const denom = T.add(T.sqrt(v2), epsT);
    const gs = groupScalars(tp);
    const decayed = tp.weightDecay > 0 ? T.mul(p, gs.decayFactor) : p;
    const p2 = T.sub(decayed, T.mul(T.div(m2, denom), gs.stepSize));
    ins.push(p, m, v);
    maps.state[p.name!] = stateKey.param(spec.name);
    maps.state[m.name!] = stateKey.m(spec.name);
    maps.state[v.name!] = stateKey.v(spec.name);
    for (const [suffix, value, key] of [
      ['param', p2, stateKey.param(spec.name)],
      ['m', m2, stateKey.m(spec.name)],
      ['v', v2, stateKey.v(spec.name)],
    ] as const) {
      outs[`new.${suffix}.${spec.name}`] = value;
      maps.update[`new.${suffix}.${spec.name}`] = key;
    }
  });
}

export interface TrainStepGraph extends StateMaps {
  model: OnnxModel;
  /** Names of the per-parameter squared-gradient-norm entries, in order (for NaN reports). */
  paramNames: string[];
}

/** What a step graph computes besides the loss and the update (all optional; see step.ts). */
export interface StepExtras {
  groups?: readonly ParamGroup[];
  /** Forward-updated state: buffer inputs and their new values (state.ts). */
  buffers?: BufferSet;
  /** Further scalar outputs (named losses, metrics), fetched and logged by the trainer. */
  outputs?: Readonly<Record<string, Tensor>>;
}

/**
 * Build the whole training step as one graph. `ps` holds the model's parameters, `loss` the traced
 * scalar loss (the total, when there are several), `data` the batch inputs. Outputs: loss,
 * grad_norm (before clipping), lr (scheduled), grad_sq (per-parameter squared norms), the new
 * parameters and moments, then `extras.outputs` and the buffers' new values (`new.buffer.<name>`).
 */
export function buildTrainStep(
  ps: ParamSet,
  loss: Tensor,
  data: readonly Tensor[],
  cfg: AdamWConfig,
  opts: ExportOptions = {},
  extras: StepExtras = {},
): TrainStepGraph {
  const { trainable, frozen } = resolveGroups(ps, cfg, extras.groups);
  const byName = new Map(ps.inputs.map((t) => [t.name!, t]));
  const params = trainable.map((tp) => byName.get(tp.spec.name)!);
  const grads = grad(loss, params);
  const ins: Tensor[] = [...data];
  const outs: Record<string, Tensor> = { loss };
  const maps: StateMaps = { state: {}, update: {} };
  appendAdamW(trainable, params, grads, cfg, ins, outs, maps);
  appendWeightsAndOutputs(
    frozen.map((s) => byName.get(s.name)!),
    extras,
    ins,
    outs,
    maps,
  );
  const model = exportOnnx(ins, outs, { name: 'train_step', ...opts });
  return { model, ...maps, inPlace: inPlaceUpdates(ins, outs, maps), paramNames: trainable.map((tp) => tp.spec.name) };
}

/** Frozen parameters and buffers as state inputs; extra outputs; buffer updates as state outputs. */
export function appendWeightsAndOutputs(
  frozen: readonly Tensor[],
  extras: StepExtras,
  ins: Tensor[],
  outs: Record<string, Tensor>,
  maps: StateMaps,
): void {
  for (const t of [...frozen, ...(extras.buffers?.inputs ?? [])]) {
    ins.push(t);
    maps.state[t.name!] = stateKey.param(t.name!);
  }
  for (const [name, t] of Object.entries(extras.outputs ?? {})) {
    if (name in outs)
      throw new TonyError('usage', `step output '${name}' is already an output of the training step`, 'rename the loss or metric');
    outs[name] = t;
  }
  for (const [name, value] of extras.buffers?.updates ?? []) {
    outs[`new.buffer.${name}`] = value;
    maps.update[`new.buffer.${name}`] = stateKey.param(name);
  }
}

/**
 * The apply-only graph: clipping, schedule and AdamW on given gradients (inputs `grad.<name>`), for
 * data-parallel training (gradients summed across workers first) and gradient accumulation.
 * `gradScale` multiplies the gradients first (1/k to average k accumulated micro-batches).
 * Outputs as buildTrainStep's, without the loss.
 */
export function buildApplyStep(
  ps: ParamSet,
  cfg: AdamWConfig,
  opts: ExportOptions & { groups?: readonly ParamGroup[]; gradScale?: number } = {},
): TrainStepGraph {
  const { trainable } = resolveGroups(ps, cfg, opts.groups);
  const byName = new Map(ps.inputs.map((t) => [t.name!, t]));
  const params = trainable.map((tp) => byName.get(tp.spec.name)!);
  const gradIns = trainable.map((tp) => input(`grad.${tp.spec.name}`, tp.spec.shape));
  const grads = opts.gradScale !== undefined && opts.gradScale !== 1 ? gradIns.map((g) => T.mul(g, opts.gradScale!)) : gradIns;
  const ins: Tensor[] = [...gradIns];
  const outs: Record<string, Tensor> = {};
  const maps: StateMaps = { state: {}, update: {} };
  appendAdamW(trainable, params, grads, cfg, ins, outs, maps);
  const { groups: _g, gradScale: _s, ...exportOpts } = opts;
  const model = exportOnnx(ins, outs, { name: 'apply_step', ...exportOpts });
  return { model, ...maps, paramNames: trainable.map((tp) => tp.spec.name) };
}
