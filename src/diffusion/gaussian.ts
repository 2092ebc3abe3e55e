/**
 * Gaussian diffusion — the process, separate from any denoiser (Ho, Jain & Abbeel 2020, "DDPM";
 * Nichol & Dhariwal 2021, "Improved DDPM": the cosine schedule and the learned-range variance).
 * Names follow the papers and OpenAI's released code (q_sample, q_posterior, p_mean_variance) as
 * camelCase. Everything here runs on the host in float64: the samplers (samplers.ts) call a model
 * function — an ONNX graph in practice, a closed-form denoiser in the tests — so the process is
 * testable without a network. The training losses that need gradients live in losses.ts.
 *
 * Layout: a batch is one Float64Array of B rows of D numbers each (D = N points × C channels for a
 * point cloud); per-row timesteps are integers in [0, T).
 *
 *   const d = new GaussianDiffusion(betaSchedule('cosine', 1024));
 *   const xt = d.qSample(x0, t, noise);           // x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε
 */
import { TonyError } from '../errors.ts';

export type ScheduleName = 'linear' | 'cosine';

/**
 * β_1…β_T. `linear` is Ho et al.'s 1e-4…0.02 over 1,000 steps, rescaled by 1000/T so that other T
 * keep the same process; `cosine` is Nichol & Dhariwal's ᾱ(t) = cos²((t/T + s)/(1 + s) · π/2) with
 * s = 0.008, each β clipped at 0.999 so that the last step is not a singularity. Point-E uses
 * cosine for the base model and linear for the upsampler, both with T = 1,024.
 */
export function betaSchedule(name: ScheduleName, T: number): Float64Array {
  if (!Number.isInteger(T) || T < 1) throw new TonyError('config', `diffusion: timesteps must be a positive integer, got ${T}`);
  const betas = new Float64Array(T);
  if (name === 'linear') {
    const scale = 1000 / T;
    const lo = scale * 1e-4;
    const hi = scale * 0.02;
    for (let i = 0; i < T; i++) betas[i] = T === 1 ? lo : lo + ((hi - lo) * i) / (T - 1); // numpy.linspace
  } else if (name === 'cosine') {
    const S = 0.008; // the offset that keeps β small near t = 0 (Nichol & Dhariwal §3.2)
    const MAX_BETA = 0.999;
    const alphaBar = (u: number) => Math.cos(((u + S) / (1 + S)) * (Math.PI / 2)) ** 2;
    for (let i = 0; i < T; i++) betas[i] = Math.min(1 - alphaBar((i + 1) / T) / alphaBar(i / T), MAX_BETA);
  } else {
    throw new TonyError('config', `diffusion: unknown schedule ${JSON.stringify(name)}`, "use 'linear' or 'cosine'");
  }
  return betas;
}

/** KL(N(μ₁, e^{lv₁}) ‖ N(μ₂, e^{lv₂})) of one coordinate, in nats. */
const normalKl = (mean1: number, logVar1: number, mean2: number, logVar2: number): number =>
  0.5 * (-1 + logVar2 - logVar1 + Math.exp(logVar1 - logVar2) + (mean1 - mean2) ** 2 * Math.exp(-logVar2));

/** What a denoiser returns for a batch: ε̂, and with a learned variance v ∈ [−1, 1] per coordinate. */
export interface ModelOutput {
  eps: Float64Array;
  /** Learned-range variance values (same layout as eps): log σ² = ½(v + 1) log β + ½(1 − v) log β̃. */
  v?: Float64Array;
}

/** A denoiser: x_t (B rows) and each row's timestep → its prediction. */
export type EpsModel = (xt: Float64Array, t: Int32Array) => ModelOutput | Promise<ModelOutput>;

export interface MeanVariance {
  /** μ_θ(x_t, t): the mean of p(x_{t−1} | x_t). */
  mean: Float64Array;
  /** log Σ_θ per coordinate. */
  logVariance: Float64Array;
  /** x̂_0, clipped to [−1, 1] when asked. */
  predXstart: Float64Array;
}

export class GaussianDiffusion {
  readonly T: number;
  readonly betas: Float64Array;
  readonly alphasCumprod: Float64Array;
  readonly alphasCumprodPrev: Float64Array;
  /** β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t): the variance of q(x_{t−1} | x_t, x_0). */
  readonly posteriorVariance: Float64Array;
  /** log β̃_t with β̃_0 (which is 0) replaced by β̃_1, as the released code does. */
  readonly posteriorLogVarianceClipped: Float64Array;
  readonly posteriorMeanCoef1: Float64Array;
  readonly posteriorMeanCoef2: Float64Array;

  constructor(betas: Float64Array) {
    const T = betas.length;
    if (T === 0 || betas.some((b) => !(b > 0 && b <= 1)))
      throw new TonyError('config', 'diffusion: betas must be a non-empty list in (0, 1]', 'use betaSchedule(...)');
    this.T = T;
    this.betas = betas;
    this.alphasCumprod = new Float64Array(T);
    this.alphasCumprodPrev = new Float64Array(T);
    this.posteriorVariance = new Float64Array(T);
    this.posteriorLogVarianceClipped = new Float64Array(T);
    this.posteriorMeanCoef1 = new Float64Array(T);
    this.posteriorMeanCoef2 = new Float64Array(T);
    let ac = 1;
    for (let t = 0; t < T; t++) {
      const prev = ac;
      ac *= 1 - betas[t]!;
      this.alphasCumprod[t] = ac;
      this.alphasCumprodPrev[t] = prev;
      this.posteriorVariance[t] = (betas[t]! * (1 - prev)) / (1 - ac);
      this.posteriorMeanCoef1[t] = (betas[t]! * Math.sqrt(prev)) / (1 - ac);
      this.posteriorMeanCoef2[t] = ((1 - prev) * Math.sqrt(1 - betas[t]!)) / (1 - ac);
    }
    for (let t = 0; t < T; t++) this.posteriorLogVarianceClipped[t] = Math.log(this.posteriorVariance[t === 0 && T > 1 ? 1 : t]!);
  }

  /** x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, row by row. */
  qSample(x0: Float64Array, t: Int32Array, noise: Float64Array): Float64Array {
    const D = rowSize(x0, t);
    const out = new Float64Array(x0.length);
    for (let b = 0; b < t.length; b++) {
      const a = this.alphasCumprod[t[b]!]!;
      const sa = Math.sqrt(a);
      const sn = Math.sqrt(1 - a);
      for (let i = b * D; i < (b + 1) * D; i++) out[i] = sa * x0[i]! + sn * noise[i]!;
    }
    return out;
  }

  /** x̂_0 = (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t. */
  predictXstartFromEps(xt: Float64Array, t: Int32Array, eps: Float64Array): Float64Array {
    const D = rowSize(xt, t);
    const out = new Float64Array(xt.length);
    for (let b = 0; b < t.length; b++) {
      const a = this.alphasCumprod[t[b]!]!;
      const r = Math.sqrt(1 / a);
      const rm1 = Math.sqrt(1 / a - 1);
      for (let i = b * D; i < (b + 1) * D; i++) out[i] = r * xt[i]! - rm1 * eps[i]!;
    }
    return out;
  }

  /** ε from x̂_0: the inverse of predictXstartFromEps (DDIM needs it after clipping). */
  epsFromXstart(xt: Float64Array, t: Int32Array, x0: Float64Array): Float64Array {
    const D = rowSize(xt, t);
    const out = new Float64Array(xt.length);
    for (let b = 0; b < t.length; b++) {
      const a = this.alphasCumprod[t[b]!]!;
      for (let i = b * D; i < (b + 1) * D; i++) out[i] = (Math.sqrt(1 / a) * xt[i]! - x0[i]!) / Math.sqrt(1 / a - 1);
    }
    return out;
  }

  /** The mean of q(x_{t−1} | x_t, x_0) (its variance is posteriorVariance[t]). */
  qPosteriorMean(x0: Float64Array, xt: Float64Array, t: Int32Array): Float64Array {
    const D = rowSize(xt, t);
    const out = new Float64Array(xt.length);
    for (let b = 0; b < t.length; b++) {
      const c1 = this.posteriorMeanCoef1[t[b]!]!;
      const c2 = this.posteriorMeanCoef2[t[b]!]!;
      for (let i = b * D; i < (b + 1) * D; i++) out[i] = c1 * x0[i]! + c2 * xt[i]!;
    }
    return out;
  }

  /**
   * p_θ(x_{t−1} | x_t) from a model's output: x̂_0 from ε̂ (clipped to [−1, 1] when `clip`), the
   * posterior mean at x̂_0, and the variance — learned-range when the model gives v, else the
   * fixed β̃_t ("fixed small", what ε-prediction without a learned variance uses).
   */
  pMeanVariance(out: ModelOutput, xt: Float64Array, t: Int32Array, clip: boolean): MeanVariance {
    const D = rowSize(xt, t);
    const predXstart = this.predictXstartFromEps(xt, t, out.eps);
    if (clip) for (let i = 0; i < predXstart.length; i++) predXstart[i] = Math.min(1, Math.max(-1, predXstart[i]!));
    const mean = this.qPosteriorMean(predXstart, xt, t);
    const logVariance = new Float64Array(xt.length);
    for (let b = 0; b < t.length; b++) {
      const minLog = this.posteriorLogVarianceClipped[t[b]!]!;
      const maxLog = Math.log(this.betas[t[b]!]!);
      for (let i = b * D; i < (b + 1) * D; i++) {
        const frac = out.v ? (out.v[i]! + 1) / 2 : 0;
        logVariance[i] = frac * maxLog + (1 - frac) * minLog;
      }
    }
    return { mean, logVariance, predXstart };
  }

  /**
   * The variational-bound term L_{t−1} of each row in bits per dimension: the mean over the row of
   * KL(q(x_{t−1} | x_t, x_0) ‖ p_θ(x_{t−1} | x_t)); 0 at t = 0, where point clouds (continuous
   * data) have no discretized decoder term — Point-E's `discretized_t0 = False`.
   */
  vbTerms(out: ModelOutput, x0: Float64Array, xt: Float64Array, t: Int32Array): Float64Array {
    const D = rowSize(xt, t);
    const p = this.pMeanVariance(out, xt, t, false);
    const q = this.qPosteriorMean(x0, xt, t);
    const bits = new Float64Array(t.length);
    for (let b = 0; b < t.length; b++) {
      if (t[b] === 0) continue;
      const lv = this.posteriorLogVarianceClipped[t[b]!]!;
      let s = 0;
      for (let i = b * D; i < (b + 1) * D; i++) s += normalKl(q[i]!, lv, p.mean[i]!, p.logVariance[i]!);
      bits[b] = s / D / Math.LN2;
    }
    return bits;
  }
}

/** Numbers per row, checking that x holds whole rows for t's batch. */
function rowSize(x: Float64Array, t: Int32Array): number {
  if (t.length === 0 || x.length % t.length !== 0)
    throw new TonyError('shape', `diffusion: ${x.length} numbers do not split into ${t.length} rows`);
  return x.length / t.length;
}
