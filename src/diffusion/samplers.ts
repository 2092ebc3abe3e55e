/**
 * Samplers for a GaussianDiffusion and any denoiser (gaussian.ts's EpsModel): ancestral DDPM (Ho et
 * al. 2020), DDIM (Song, Meng & Ermon 2021) on a subsequence of the timesteps, and the Karras et al.
 * (2022) Heun sampler driven through the ε-model the way Point-E drives it.
 *
 * Classifier-free guidance (Ho & Salimans 2021): with `guidance: s` the model is called with the
 * batch doubled — rows [0, B) conditioned, rows [B, 2B) unconditioned, the model function decides
 * what that means — and the two predictions are mixed as u + s·(c − u). DDPM and DDIM mix ε (GLIDE's
 * choice); the Karras sampler mixes the (clipped) x̂_0, as Point-E's `guided_denoiser` does. s = 1
 * (or none) is the plain conditional model, run on a single batch.
 *
 * Point-E's settings (openai/point-e, point_e/diffusion/sampler.py, PointCloudSampler defaults):
 * 64 Karras steps for both stages, σ_min 1e−3, σ_max 120 for the base model and 160 for the
 * upsampler, s_churn 3 for the base and 0 for the upsampler, ρ = 7, guidance 3 for the base,
 * x̂_0 clipped to [−1, 1]. (The upsampler's "160" is its σ_max, not a step count.)
 */
import type { Progress } from '../progress.ts';
import { prng, type Rng } from '../random.ts';
import type { EpsModel, GaussianDiffusion, ModelOutput } from './gaussian.ts';

export interface SampleOptions {
  /** Rows to draw, each of `dim` numbers. */
  batch: number;
  dim: number;
  seed?: number;
  /** Clip x̂_0 to [−1, 1] (data scaled to that box, as Point-E's are). */
  clip?: boolean;
  /** Classifier-free guidance scale (see the top of this file). */
  guidance?: number;
  onProgress?: (p: Progress) => void;
}

const randn = (rng: Rng, n: number, scale = 1): Float64Array => {
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) z[i] = rng.normal() * scale;
  return z;
};

const fill = (n: number, t: number) => new Int32Array(n).fill(t);

/** [x; x] — the conditioned and unconditioned halves of a guided call. */
const doubled = (x: Float64Array) => {
  const out = new Float64Array(2 * x.length);
  out.set(x);
  out.set(x, x.length);
  return out;
};

/** u + s·(c − u) over the two halves of a doubled array. */
function mixGuided(both: Float64Array, scale: number): Float64Array {
  const n = both.length / 2;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = both[n + i]! + scale * (both[i]! - both[n + i]!);
  return out;
}

const guided = (scale: number | undefined) => scale !== undefined && scale !== 1;

/** The model's ε (and v) at x_t for every row, guidance applied to ε. */
async function guidedEps(model: EpsModel, x: Float64Array, t: number, B: number, scale: number | undefined): Promise<ModelOutput> {
  if (!guided(scale)) return model(x, fill(B, t));
  const out = await model(doubled(x), fill(2 * B, t));
  // the learned variance comes from the conditioned half (GLIDE)
  return { eps: mixGuided(out.eps, scale!), ...(out.v ? { v: out.v.slice(0, x.length) } : {}) };
}

/**
 * Ancestral sampling over all T steps: x_{t−1} = μ_θ(x_t, t) + Σ_θ^{½} z (no noise at t = 0), with
 * the model's learned variance when it has one, else β̃_t.
 */
export async function ddpmSample(d: GaussianDiffusion, model: EpsModel, opts: SampleOptions): Promise<Float64Array> {
  const { batch: B, dim: D } = opts;
  const rng = prng(opts.seed ?? 0);
  let x = randn(rng, B * D);
  for (let t = d.T - 1; t >= 0; t--) {
    const out = await guidedEps(model, x, t, B, opts.guidance);
    const p = d.pMeanVariance(out, x, fill(B, t), opts.clip ?? false);
    const next = new Float64Array(B * D);
    for (let i = 0; i < next.length; i++) next[i] = p.mean[i]! + (t > 0 ? Math.exp(0.5 * p.logVariance[i]!) * rng.normal() : 0);
    x = next;
    opts.onProgress?.({ done: d.T - t, total: d.T });
  }
  return x;
}

/** `steps` timesteps spread evenly over [0, T − 1], rounded (the first is 0, the last T − 1). */
export function spacedTimesteps(T: number, steps: number): number[] {
  if (steps < 1 || steps > T) throw new RangeError(`steps must be in [1, ${T}], got ${steps}`);
  if (steps === 1) return [T - 1];
  const seq: number[] = [];
  for (let i = 0; i < steps; i++) seq.push(Math.round((i * (T - 1)) / (steps - 1)));
  return seq;
}

/**
 * DDIM on `steps` timesteps: x_{s} = √ᾱ_s x̂_0 + √(1 − ᾱ_s − σ²) ε̂ + σ z with
 * σ = η √((1 − ᾱ_s)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_s). η = 0 is deterministic; η = 1 on every step is
 * DDPM with the fixed variance β̃. The learned variance, if any, is not used.
 */
export async function ddimSample(
  d: GaussianDiffusion,
  model: EpsModel,
  opts: SampleOptions & { steps?: number; eta?: number },
): Promise<Float64Array> {
  const { batch: B, dim: D } = opts;
  const eta = opts.eta ?? 0;
  const seq = spacedTimesteps(d.T, opts.steps ?? 64);
  const rng = prng(opts.seed ?? 0);
  let x = randn(rng, B * D);
  for (let i = seq.length - 1; i >= 0; i--) {
    const t = seq[i]!;
    const tb = fill(B, t);
    const out = await guidedEps(model, x, t, B, opts.guidance);
    const x0 = d.predictXstartFromEps(x, tb, out.eps);
    if (opts.clip) for (let k = 0; k < x0.length; k++) x0[k] = Math.min(1, Math.max(-1, x0[k]!));
    const eps = d.epsFromXstart(x, tb, x0);
    const a = d.alphasCumprod[t]!;
    const aPrev = i > 0 ? d.alphasCumprod[seq[i - 1]!]! : 1;
    const sigma = eta * Math.sqrt((1 - aPrev) / (1 - a)) * Math.sqrt(1 - a / aPrev);
    const c = Math.sqrt(Math.max(0, 1 - aPrev - sigma * sigma));
    const next = new Float64Array(B * D);
    for (let k = 0; k < next.length; k++) next[k] = Math.sqrt(aPrev) * x0[k]! + c * eps[k]! + (sigma > 0 ? sigma * rng.normal() : 0);
    x = next;
    opts.onProgress?.({ done: seq.length - i, total: seq.length });
  }
  return x;
}

/** Karras et al.'s σ grid: (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, then a final 0. */
export function karrasSigmas(n: number, sigmaMin: number, sigmaMax: number, rho = 7): Float64Array {
  const out = new Float64Array(n + 1);
  const lo = sigmaMin ** (1 / rho);
  const hi = sigmaMax ** (1 / rho);
  for (let i = 0; i < n; i++) out[i] = (hi + (n === 1 ? 0 : i / (n - 1)) * (lo - hi)) ** rho;
  return out;
}

/**
 * The discrete timestep of a Karras σ (Point-E's GaussianToKarrasDenoiser.sigma_to_t): ᾱ = 1/(σ² + 1),
 * t linearly interpolated in the ᾱ table, then truncated to an integer (the released code casts
 * to long); 0 above ᾱ_0, T − 1 at or below ᾱ_{T−1}.
 */
export function sigmaToT(d: GaussianDiffusion, sigma: number): number {
  const a = 1 / (sigma * sigma + 1);
  const ac = d.alphasCumprod;
  if (a > ac[0]!) return 0;
  if (a <= ac[d.T - 1]!) return d.T - 1;
  // ᾱ decreases with t: find t with ac[t] ≥ a > ac[t + 1]
  let lo = 0;
  let hi = d.T - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (ac[mid]! >= a) lo = mid;
    else hi = mid;
  }
  return Math.trunc(lo + (ac[lo]! - a) / (ac[lo]! - ac[hi]!));
}

export interface KarrasOptions extends SampleOptions {
  steps?: number;
  sigmaMin?: number;
  sigmaMax?: number;
  rho?: number;
  sChurn?: number;
  sTmin?: number;
  sTmax?: number;
  sNoise?: number;
}

/** Point-E's base-model settings (the upsampler: sigmaMax 160, sChurn 0). */
export const POINT_E_KARRAS = { steps: 64, sigmaMin: 1e-3, sigmaMax: 120, rho: 7, sChurn: 3 } as const;
export const POINT_E_KARRAS_UPSAMPLE = { steps: 64, sigmaMin: 1e-3, sigmaMax: 160, rho: 7, sChurn: 0 } as const;

/**
 * D(x, σ): the ε-model as a Karras denoiser (Point-E's GaussianToKarrasDenoiser). x lives at noise
 * level σ around the data (x = x_0 + σ n); the ε-model expects x_t = √ᾱ (x_0 + σ n) with
 * ᾱ = 1/(σ² + 1), hence the input scaling c_in = 1/√(σ² + 1); its x̂_0 (clipped when asked) is D.
 */
export async function karrasDenoise(
  d: GaussianDiffusion,
  model: EpsModel,
  x: Float64Array,
  sigma: number,
  B: number,
  opts: { clip?: boolean; guidance?: number },
): Promise<Float64Array> {
  const t = sigmaToT(d, sigma);
  const cIn = 1 / Math.sqrt(sigma * sigma + 1);
  const xt = x.map((v) => v * cIn);
  const rows = guided(opts.guidance) ? 2 * B : B;
  const input = rows === B ? xt : doubled(xt);
  const tb = fill(rows, t);
  const out = await model(input, tb);
  const x0 = d.predictXstartFromEps(input, tb, out.eps);
  if (opts.clip) for (let k = 0; k < x0.length; k++) x0[k] = Math.min(1, Math.max(-1, x0[k]!));
  return rows === B ? x0 : mixGuided(x0, opts.guidance!);
}

/**
 * One Heun step of Karras et al.'s Algorithm 2 from σ_i to σ_{i+1}: churn (γ = min(s_churn/n, √2 − 1)
 * when σ_i ∈ [s_tmin, s_tmax]; x += √(σ̂² − σ_i²)·s_noise·z), an Euler step with d = (x − D(x, σ̂))/σ̂,
 * and the trapezoid correction unless σ_{i+1} = 0. `n` is the number of steps. `z` is the churn
 * noise (drawn by the caller, so the step is a pure function for tests).
 */
export async function heunStep(
  denoise: (x: Float64Array, sigma: number) => Promise<Float64Array> | Float64Array,
  x: Float64Array,
  sigma: number,
  sigmaNext: number,
  n: number,
  z: Float64Array,
  o: { sChurn?: number; sTmin?: number; sTmax?: number; sNoise?: number } = {},
): Promise<Float64Array> {
  const sTmin = o.sTmin ?? 0;
  const sTmax = o.sTmax ?? Number.POSITIVE_INFINITY;
  const gamma = sTmin <= sigma && sigma <= sTmax ? Math.min((o.sChurn ?? 0) / n, Math.SQRT2 - 1) : 0;
  const sigmaHat = sigma * (gamma + 1);
  let xh = x;
  if (gamma > 0) {
    const s = Math.sqrt(sigmaHat * sigmaHat - sigma * sigma) * (o.sNoise ?? 1);
    xh = x.map((v, i) => v + s * z[i]!);
  }
  const den = await denoise(xh, sigmaHat);
  const dx = xh.map((v, i) => (v - den[i]!) / sigmaHat);
  const dt = sigmaNext - sigmaHat;
  const x2 = xh.map((v, i) => v + dx[i]! * dt);
  if (sigmaNext === 0) return x2;
  const den2 = await denoise(x2, sigmaNext);
  return xh.map((v, i) => v + ((dx[i]! + (x2[i]! - den2[i]!) / sigmaNext) / 2) * dt);
}

/**
 * Karras Heun sampling: x ~ N(0, σ_max²) then `steps` Heun steps down the σ grid (the last, to 0,
 * an Euler step), 2·steps − 1 model calls. Defaults are Point-E's base-model settings.
 */
export async function karrasSample(d: GaussianDiffusion, model: EpsModel, opts: KarrasOptions): Promise<Float64Array> {
  const { batch: B, dim: D } = opts;
  const o = { ...POINT_E_KARRAS, sTmin: 0, sTmax: Number.POSITIVE_INFINITY, sNoise: 1, ...stripUndefined(opts) };
  const sigmas = karrasSigmas(o.steps, o.sigmaMin, o.sigmaMax, o.rho);
  const rng = prng(opts.seed ?? 0);
  let x = randn(rng, B * D, o.sigmaMax);
  const denoise = (xx: Float64Array, s: number) => karrasDenoise(d, model, xx, s, B, { clip: opts.clip, guidance: opts.guidance });
  for (let i = 0; i < o.steps; i++) {
    // Point-E draws the churn noise on every step, used or not; drawing it only when used keeps
    // the stream shorter and changes nothing in distribution.
    const churns = o.sChurn > 0 && o.sTmin <= sigmas[i]! && sigmas[i]! <= o.sTmax;
    const z = churns ? randn(rng, B * D) : new Float64Array(0);
    x = await heunStep(denoise, x, sigmas[i]!, sigmas[i + 1]!, sigmas.length - 1, z, o);
    opts.onProgress?.({ done: i + 1, total: o.steps });
  }
  return x;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
