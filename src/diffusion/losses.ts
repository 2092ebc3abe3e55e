/**
 * Diffusion training losses inside the traced graph (they need gradients), with the per-example
 * numbers that depend only on t computed on the host (gaussian.ts) and fed in.
 *
 *  - L_simple = ‖ε − ε̂‖² averaged over coordinates (Ho et al. 2020, eq. 14).
 *  - The hybrid loss of Nichol & Dhariwal (2021, §3.1): L_simple + λ·L_vlb, where the model also
 *    outputs v ∈ [−1, 1] and log Σ_θ = ½(v + 1) log β_t + ½(1 − v) log β̃_t. Only Σ_θ learns from
 *    L_vlb — the mean goes through a stop-gradient — and L_vlb is estimated by T·L_{t−1} at a
 *    uniformly drawn t, so its weight per drawn term is λ·T (λ = 0.001, the paper's). L_{t−1} is
 *    the KL of the true posterior q(x_{t−1} | x_t, x_0) from p_θ(x_{t−1} | x_t) in bits per
 *    dimension, and 0 at t = 0 (continuous data: no discretized decoder, as Point-E).
 *
 * Shapes: x_0, ε, x_t and the model's outputs are [B, N, C]; per-row coefficients are [B, 1, 1].
 */
import { type HostTensor, hostTensor } from '../engine/dtype.ts';
import * as T from '../engine/ops/index.ts';
import { input, type Tensor } from '../engine/tensor.ts';
import type { GaussianDiffusion } from './gaussian.ts';

/** Nichol & Dhariwal's λ: L_vlb's weight relative to L_simple. */
const HYBRID_LAMBDA = 0.001;

/** The per-row numbers of the variational-bound term, as [B, 1, 1] graph inputs. */
const COEFS = ['sqrtRecipAc', 'sqrtRecipm1Ac', 'postCoef1', 'postCoef2', 'minLog', 'maxLog', 'vbMask'] as const;
type Coef = (typeof COEFS)[number];

export interface DiffusionInputs {
  /** x_t, the model's input. */
  xt: Tensor;
  /** ε, the target. */
  noise: Tensor;
  /** The timestep per row (float, for the timestep embedding). */
  t: Tensor;
  /** The true posterior mean μ̃(x_t, x_0) (only with a learned variance). */
  qMean?: Tensor;
  coefs?: Record<Coef, Tensor>;
}

/** Graph inputs for a batch of B examples of shape [N, C]: `prefix` names them. */
export function diffusionInputs(B: number, N: number, C: number, learnSigma: boolean, prefix = ''): DiffusionInputs {
  const shape = [B, N, C];
  const base = { xt: input(`${prefix}xt`, shape), noise: input(`${prefix}noise`, shape), t: input(`${prefix}t`, [B]) };
  if (!learnSigma) return base;
  const coefs = Object.fromEntries(COEFS.map((k) => [k, input(`${prefix}${k}`, [B, 1, 1])])) as Record<Coef, Tensor>;
  return { ...base, qMean: input(`${prefix}qMean`, shape), coefs };
}

/**
 * The host side of diffusionInputs: q_sample at timesteps t with noise ε, and the coefficients.
 * x0 and noise are [B, N, C] flattened; float64 feeds are for the float64 interpreter (tests).
 */
export function diffusionFeeds(
  d: GaussianDiffusion,
  x0: Float64Array,
  t: Int32Array,
  noise: Float64Array,
  shape: readonly [number, number, number],
  learnSigma: boolean,
  prefix = '',
  dtype: 'float32' | 'float64' = 'float32',
): Record<string, HostTensor> {
  const xt = d.qSample(x0, t, noise);
  const feeds: Record<string, HostTensor> = {
    [`${prefix}xt`]: hostTensor(dtype, shape, xt),
    [`${prefix}noise`]: hostTensor(dtype, shape, noise),
    [`${prefix}t`]: hostTensor(dtype, [shape[0]], t),
  };
  if (!learnSigma) return feeds;
  feeds[`${prefix}qMean`] = hostTensor(dtype, shape, d.qPosteriorMean(x0, xt, t));
  const per = (f: (s: number) => number) => hostTensor(dtype, [shape[0], 1, 1], Array.from(t, f));
  const ac = d.alphasCumprod;
  const values: Record<Coef, (s: number) => number> = {
    sqrtRecipAc: (s) => Math.sqrt(1 / ac[s]!),
    sqrtRecipm1Ac: (s) => Math.sqrt(1 / ac[s]! - 1),
    postCoef1: (s) => d.posteriorMeanCoef1[s]!,
    postCoef2: (s) => d.posteriorMeanCoef2[s]!,
    minLog: (s) => d.posteriorLogVarianceClipped[s]!,
    maxLog: (s) => Math.log(d.betas[s]!),
    vbMask: (s) => (s > 0 ? 1 : 0),
  };
  for (const k of COEFS) feeds[`${prefix}${k}`] = per(values[k]);
  return feeds;
}

/** L_simple: mean over everything of (ε̂ − ε)². */
function simpleLoss(eps: Tensor, noise: Tensor): Tensor {
  const e = T.sub(eps, noise);
  return T.mean(T.mul(e, e));
}

/**
 * L_{t−1} per row, in bits per dimension ([B]), with the mean's path cut (stop-gradient on ε̂):
 * KL(N(μ̃, β̃) ‖ N(μ_θ, Σ_θ)) = ½(−1 + log Σ_θ − log β̃ + β̃/Σ_θ + (μ̃ − μ_θ)²/Σ_θ).
 */
export function vbTerm(eps: Tensor, v: Tensor, inp: DiffusionInputs): Tensor {
  const c = inp.coefs!;
  const epsFrozen = T.stopGradient(eps);
  const x0 = T.sub(T.mul(c.sqrtRecipAc, inp.xt), T.mul(c.sqrtRecipm1Ac, epsFrozen)); // [B, N, C]
  const mean = T.add(T.mul(c.postCoef1, x0), T.mul(c.postCoef2, inp.xt));
  const frac = T.mul(T.add(v, 1), 0.5);
  const logVar = T.add(T.mul(frac, c.maxLog), T.mul(T.sub(1, frac), c.minLog));
  const dm = T.sub(inp.qMean!, mean);
  const kl = T.mul(
    T.add(T.add(T.sub(T.sub(logVar, c.minLog), 1), T.exp(T.sub(c.minLog, logVar))), T.mul(T.mul(dm, dm), T.exp(T.neg(logVar)))),
    0.5,
  );
  const perRow = T.mean(kl, [1, 2], true); // [B, 1, 1]
  return T.reshape(T.mul(T.mul(perRow, c.vbMask), 1 / Math.LN2), [perRow.shape[0]!]);
}

/**
 * The named losses for the training step: `mse` alone, or `mse` + `vb` weighted λ·T. `out` is the
 * model's [B, N, C] ε̂, or [B, N, 2C] (ε̂ then v) with a learned variance.
 */
export function diffusionLosses(
  out: Tensor,
  inp: DiffusionInputs,
  d: GaussianDiffusion,
  lambda = HYBRID_LAMBDA,
): Record<string, Tensor | { value: Tensor; weight: number }> {
  if (!inp.coefs) return { mse: simpleLoss(out, inp.noise) };
  const C = inp.xt.shape[2]!;
  const [eps, v] = T.split(out, [C, C], 2);
  return { mse: simpleLoss(eps!, inp.noise), vb: { value: T.mean(vbTerm(eps!, v!, inp)), weight: lambda * d.T } };
}
