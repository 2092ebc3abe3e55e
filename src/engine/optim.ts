/**
 * The training step as one graph: forward, backward, global-norm gradient clipping, the warmup +
 * cosine learning-rate schedule and AdamW with decoupled weight decay (Loshchilov & Hutter), all
 * in ONNX. Parameters and moments go in as inputs and come back as outputs; the step count and the
 * base learning rate are inputs, so one graph serves the whole run.
 */
import { resolveConfig } from '../config.ts';
import { grad } from './autodiff.ts';
import { exportOnnx, type ExportOptions, type OnnxModel } from './onnx.ts';
import * as T from './ops/index.ts';
import type { ParamSet } from './nn.ts';
import { type Tensor, input } from './tensor.ts';

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

/** State keys in the runtime: parameters and the two AdamW moments. */
export const stateKey = {
  param: (name: string) => `param:${name}`,
  m: (name: string) => `m:${name}`,
  v: (name: string) => `v:${name}`,
};

/**
 * The learning rate at (1-based) step t: linear warmup to lr, then cosine decay to minLrRatio·lr
 * over decaySteps, then constant. Traced, so it runs in the graph; `lrAt` is the same in JS.
 */
export function scheduledLr(cfg: AdamWConfig, t: Tensor, lr: Tensor): Tensor {
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

export interface TrainStepGraph {
  model: OnnxModel;
  /** Input name → runtime state key (parameters and moments). */
  state: Record<string, string>;
  /** Output name → runtime state key. */
  update: Record<string, string>;
  /** Names of the per-parameter squared-gradient-norm entries, in order (for NaN reports). */
  paramNames: string[];
}

/**
 * Build the whole training step. `ps` holds the model's parameters, `loss` the traced scalar loss,
 * `data` the batch inputs. Outputs: loss, grad_norm (before clipping), lr (scheduled), grad_sq
 * (per-parameter squared norms), and the new parameters and moments.
 */
export function buildTrainStep(
  ps: ParamSet,
  loss: Tensor,
  data: readonly Tensor[],
  cfg: AdamWConfig,
  opts: ExportOptions = {},
): TrainStepGraph {
  const params = ps.inputs;
  const grads = grad(loss, params);
  const t = input('step', [], 'float32'); // 1-based
  const lr = input('lr', [], 'float32');

  // Global-norm clipping (torch.nn.utils.clip_grad_norm_): scale all gradients by clip/‖g‖ when above.
  const sq = grads.map((g) => T.reshape(T.sumAll(T.mul(g, g)), [1]));
  const gradSq = T.concat(sq, 0); // (P,)
  const gradNorm = T.sqrt(T.sumAll(gradSq));
  const scale = cfg.gradClip > 0 ? T.minimum(T.div(cfg.gradClip, T.add(gradNorm, 1e-6)), 1) : undefined;
  const lrT = scheduledLr(cfg, t, lr);
  // Per-step scalars, folded once so the per-element update is a handful of ops:
  //   p ← p·(1 − lr_t·wd) − (lr_t / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)
  const stepSize = T.div(lrT, T.sub(1, T.pow(T.scalar(cfg.beta1), t)));
  const invSqrtBias2 = T.div(1, T.sqrt(T.sub(1, T.pow(T.scalar(cfg.beta2), t))));
  const decayFactor = T.sub(1, T.mul(lrT, cfg.weightDecay));

  const ins: Tensor[] = [...data, t, lr];
  const outs: Record<string, Tensor> = { loss, grad_norm: gradNorm, lr_t: lrT, grad_sq: gradSq };
  const state: Record<string, string> = {};
  const update: Record<string, string> = {};
  ps.specs.forEach((spec, i) => {
    const p = params[i]!;
    const g = scale ? T.mul(grads[i]!, scale) : grads[i]!;
    const m = input(`m.${spec.name}`, spec.shape);
    const v = input(`v.${spec.name}`, spec.shape);
    const m2 = T.add(T.mul(m, cfg.beta1), T.mul(g, 1 - cfg.beta1));
    const v2 = T.add(T.mul(v, cfg.beta2), T.mul(T.mul(g, g), 1 - cfg.beta2));
    const denom = T.add(T.mul(T.sqrt(v2), invSqrtBias2), cfg.eps);
    const decayed = spec.decay && cfg.weightDecay > 0 ? T.mul(p, decayFactor) : p;
    const p2 = T.sub(decayed, T.mul(T.div(m2, denom), stepSize));
    ins.push(p, m, v);
    state[p.name!] = stateKey.param(spec.name);
    state[m.name!] = stateKey.m(spec.name);
    state[v.name!] = stateKey.v(spec.name);
    for (const [suffix, value, key] of [
      ['param', p2, stateKey.param(spec.name)],
      ['m', m2, stateKey.m(spec.name)],
      ['v', v2, stateKey.v(spec.name)],
    ] as const) {
      outs[`new.${suffix}.${spec.name}`] = value;
      update[`new.${suffix}.${spec.name}`] = key;
    }
  });
  const model = exportOnnx(ins, outs, { name: 'train_step', ...opts });
  return { model, state, update, paramNames: ps.specs.map((s) => s.name) };
}
