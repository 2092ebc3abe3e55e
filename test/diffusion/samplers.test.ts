// Samplers driven by the closed-form optimal denoiser of Gaussian data: for x_0 ~ N(μ, Σ),
// E[x_0 | x_t] = μ + √ᾱ Σ (ᾱΣ + (1 − ᾱ) I)⁻¹ (x_t − √ᾱ μ). Every step of DDPM and DDIM is then
// linear in x_t along Σ's eigenvectors, so the covariance each sampler returns has a closed form
// (propagated per eigenvalue below, independently of the sampler code): DDPM's is Σ to < 5 %
// (β̃ is the reverse variance's lower bound);
// DDIM's is smaller than Σ at few steps — each deterministic step shrinks the variance by
// Cauchy–Schwarz — and reaches Σ as steps grow. The draws must match those within sampling error.
// The Karras sampler has no such short form (σ → t is truncated); it must recover Σ itself.
// With classifier-free guidance between two such Gaussians of equal Σ, ε (and x̂_0) are affine in
// μ, so guidance at scale s must produce N(μ_u + s(μ_c − μ_u), ·) — another closed form.
import { describe, expect, it } from 'vitest';
import { betaSchedule, type EpsModel, GaussianDiffusion } from '../../src/diffusion/gaussian.ts';
import { ddimSample, ddpmSample, karrasSample, POINT_E_KARRAS_UPSAMPLE, spacedTimesteps } from '../../src/diffusion/samplers.ts';

type Vec2 = [number, number];
type Mat2 = [number, number, number, number]; // row-major

/** The exact ε-model for 2-D data N(μ, Σ); rows of `xt` are 2 numbers. */
function gaussianEps(d: GaussianDiffusion, mu: Vec2, S: Mat2): EpsModel {
  return (xt, t) => {
    const eps = new Float64Array(xt.length);
    for (let b = 0; b < t.length; b++) {
      const a = d.alphasCumprod[t[b]!]!;
      const sa = Math.sqrt(a);
      // M = ᾱΣ + (1 − ᾱ)I, then K = √ᾱ Σ M⁻¹
      const m = [a * S[0] + 1 - a, a * S[1], a * S[2], a * S[3] + 1 - a];
      const det = m[0]! * m[3]! - m[1]! * m[2]!;
      const inv = [m[3]! / det, -m[1]! / det, -m[2]! / det, m[0]! / det];
      const K = [
        sa * (S[0] * inv[0]! + S[1] * inv[2]!),
        sa * (S[0] * inv[1]! + S[1] * inv[3]!),
        sa * (S[2] * inv[0]! + S[3] * inv[2]!),
        sa * (S[2] * inv[1]! + S[3] * inv[3]!),
      ];
      const r0 = xt[2 * b]! - sa * mu[0];
      const r1 = xt[2 * b + 1]! - sa * mu[1];
      const x00 = mu[0] + K[0]! * r0 + K[1]! * r1;
      const x01 = mu[1] + K[2]! * r0 + K[3]! * r1;
      eps[2 * b] = (xt[2 * b]! - sa * x00) / Math.sqrt(1 - a);
      eps[2 * b + 1] = (xt[2 * b + 1]! - sa * x01) / Math.sqrt(1 - a);
    }
    return { eps };
  };
}

/** Sample mean and covariance of B rows of 2. */
function moments(x: Float64Array): { mean: Vec2; cov: Mat2 } {
  const n = x.length / 2;
  let m0 = 0;
  let m1 = 0;
  for (let i = 0; i < n; i++) {
    m0 += x[2 * i]!;
    m1 += x[2 * i + 1]!;
  }
  m0 /= n;
  m1 /= n;
  let c00 = 0;
  let c01 = 0;
  let c11 = 0;
  for (let i = 0; i < n; i++) {
    const a = x[2 * i]! - m0;
    const b = x[2 * i + 1]! - m1;
    c00 += a * a;
    c01 += a * b;
    c11 += b * b;
  }
  return { mean: [m0, m1], cov: [c00 / (n - 1), c01 / (n - 1), c01 / (n - 1), c11 / (n - 1)] };
}

/** Σ = Q diag(λ) Qᵀ for a symmetric 2 × 2. */
function eigen(S: Mat2): { values: Vec2; Q: Mat2 } {
  const tr = S[0] + S[3];
  const disc = Math.sqrt(((S[0] - S[3]) / 2) ** 2 + S[1] * S[1]);
  const l1 = tr / 2 + disc;
  const l2 = tr / 2 - disc;
  const th = 0.5 * Math.atan2(2 * S[1], S[0] - S[3]);
  return { values: [l1, l2], Q: [Math.cos(th), -Math.sin(th), Math.sin(th), Math.cos(th)] };
}

/** Q diag(v) Qᵀ. */
const compose = (Q: Mat2, v: Vec2): Mat2 => {
  const c01 = Q[0] * v[0] * Q[2] + Q[1] * v[1] * Q[3];
  return [Q[0] ** 2 * v[0] + Q[1] ** 2 * v[1], c01, c01, Q[2] ** 2 * v[0] + Q[3] ** 2 * v[1]];
};

/**
 * The variance DDIM returns along an eigen-direction of data variance λ, from x_T ~ N(0, 1): each
 * step is x_s = k·x_t + σ z with k = (√(ᾱ_s ᾱ_t) λ + c √(1 − ᾱ_t)) / (ᾱ_t λ + 1 − ᾱ_t),
 * c = √(1 − ᾱ_s − σ²) (the derivation: x̂_0 = √ᾱ_t λ x_t / m_t, ε̂ = √(1 − ᾱ_t) x_t / m_t).
 */
function ddimVariance(d: GaussianDiffusion, lambda: number, seq: number[], eta: number): number {
  let v = 1;
  for (let i = seq.length - 1; i >= 0; i--) {
    const a = d.alphasCumprod[seq[i]!]!;
    const as = i > 0 ? d.alphasCumprod[seq[i - 1]!]! : 1;
    const sig = eta * Math.sqrt((1 - as) / (1 - a)) * Math.sqrt(1 - a / as);
    const c = Math.sqrt(Math.max(0, 1 - as - sig * sig));
    const k = (Math.sqrt(as * a) * lambda + c * Math.sqrt(1 - a)) / (a * lambda + 1 - a);
    v = k * k * v + sig * sig;
  }
  return v;
}

/** The same for DDPM: x_{t−1} = (c₁ √ᾱ_t λ / m_t + c₂) x_t + √β̃_t z, no noise at t = 0. */
function ddpmVariance(d: GaussianDiffusion, lambda: number): number {
  let v = 1;
  for (let t = d.T - 1; t >= 0; t--) {
    const a = d.alphasCumprod[t]!;
    const k = (d.posteriorMeanCoef1[t]! * Math.sqrt(a) * lambda) / (a * lambda + 1 - a) + d.posteriorMeanCoef2[t]!;
    v = k * k * v + (t > 0 ? d.posteriorVariance[t]! : 0);
  }
  return v;
}

const N = 4000;
const MU: Vec2 = [0.4, -0.3];
const SIGMA: Mat2 = [0.09, 0.03, 0.03, 0.04]; // std 0.3 and 0.2, correlation 0.5

/**
 * Mean within 4 standard errors (√(Σ_ii/N)); covariance entries within 4 standard errors of a
 * sample covariance (√((Σ_ii Σ_jj + Σ_ij²)/N)) plus `bias` for the sampler's discretisation.
 */
function expectMoments(x: Float64Array, mu: Vec2, S: Mat2, bias = 0) {
  const { mean, cov } = moments(x);
  for (let i = 0; i < 2; i++) expect(Math.abs(mean[i]! - mu[i]!)).toBeLessThan(4 * Math.sqrt(S[3 * i]! / N) + bias);
  const pairs = [
    [0, 0],
    [0, 1],
    [1, 1],
  ] as const;
  for (const [i, j] of pairs) {
    const se = Math.sqrt((S[3 * i]! * S[3 * j]! + S[2 * i + j]! ** 2) / N);
    expect(Math.abs(cov[2 * i + j]! - S[2 * i + j]!), `cov[${i}${j}] ${cov[2 * i + j]} vs ${S[2 * i + j]}`).toBeLessThan(4 * se + bias);
  }
}

describe('samplers recover a Gaussian from its exact denoiser', () => {
  for (const schedule of ['cosine', 'linear'] as const) {
    const d = new GaussianDiffusion(betaSchedule(schedule, 1024));
    const model = gaussianEps(d, MU, SIGMA);

    const { values, Q } = eigen(SIGMA);

    it(`DDPM, all 1,024 steps: Σ's eigenvalues within 5 %, and the draws match (${schedule})`, async () => {
      const v: Vec2 = [ddpmVariance(d, values[0]), ddpmVariance(d, values[1])];
      // the fixed variance β̃ is the reverse process's lower bound: slightly under-dispersed
      for (let i = 0; i < 2; i++) expect(Math.abs(v[i]! / values[i]! - 1)).toBeLessThan(0.05);
      const expected = compose(Q, v);
      expectMoments(await ddpmSample(d, model, { batch: N, dim: 2, seed: 1 }), MU, expected);
    });

    it(`DDIM at 64 steps (η 0) and 256 (η 1): the closed-form covariance (${schedule})`, async () => {
      for (const [steps, eta, seed] of [
        [64, 0, 2],
        [256, 1, 3],
      ] as const) {
        const seq = spacedTimesteps(d.T, steps);
        const expected = compose(Q, [ddimVariance(d, values[0], seq, eta), ddimVariance(d, values[1], seq, eta)]);
        expectMoments(await ddimSample(d, model, { batch: N, dim: 2, seed, steps, eta }), MU, expected);
      }
      // the shrinkage is a discretisation error: it vanishes as the steps grow
      const full = ddimVariance(d, values[0], spacedTimesteps(d.T, 1024), 0);
      expect(Math.abs(full / values[0] - 1)).toBeLessThan(0.02);
    });

    it(`Karras Heun with Point-E's base settings, and with the upsampler's (${schedule})`, async () => {
      expectMoments(await karrasSample(d, model, { batch: N, dim: 2, seed: 4 }), MU, SIGMA);
      expectMoments(await karrasSample(d, model, { ...POINT_E_KARRAS_UPSAMPLE, batch: N, dim: 2, seed: 5 }), MU, SIGMA);
    });
  }

  it('fails loudly on a wrong denoiser: the same test catches a mean off by 0.05', async () => {
    const d = new GaussianDiffusion(betaSchedule('cosine', 1024));
    const x = await karrasSample(d, gaussianEps(d, [MU[0] + 0.05, MU[1]], SIGMA), { batch: N, dim: 2, seed: 4 });
    expect(() => expectMoments(x, MU, SIGMA)).toThrow();
  });
});

describe('classifier-free guidance', () => {
  const d = new GaussianDiffusion(betaSchedule('cosine', 1024));
  const muC: Vec2 = [0.3, 0.1];
  const muU: Vec2 = [0.0, 0.0];
  const cond = gaussianEps(d, muC, SIGMA);
  const uncond = gaussianEps(d, muU, SIGMA);
  // rows [0, B) conditioned, [B, 2B) not: what a guided sampler asks of the model
  const both: EpsModel = (xt, t) => {
    const h = xt.length / 2;
    const c = cond(xt.subarray(0, h), t.subarray(0, t.length / 2)) as { eps: Float64Array };
    const u = uncond(xt.subarray(h), t.subarray(t.length / 2)) as { eps: Float64Array };
    const eps = new Float64Array(xt.length);
    eps.set(c.eps);
    eps.set(u.eps, h);
    return { eps };
  };
  const s = 3;
  const target: Vec2 = [muU[0] + s * (muC[0] - muU[0]), muU[1] + s * (muC[1] - muU[1])];

  it('DDIM mixing ε at scale 3 draws from N(μ_u + 3(μ_c − μ_u), ·)', async () => {
    const { values, Q } = eigen(SIGMA);
    const seq = spacedTimesteps(d.T, 64);
    const expected = compose(Q, [ddimVariance(d, values[0], seq, 0), ddimVariance(d, values[1], seq, 0)]);
    expectMoments(await ddimSample(d, both, { batch: N, dim: 2, seed: 6, steps: 64, guidance: s }), target, expected);
  });

  it('Karras mixing x̂_0 at scale 3 draws from the same', async () => {
    expectMoments(await karrasSample(d, both, { batch: N, dim: 2, seed: 7, guidance: s }), target, SIGMA);
  });
});

describe('spacedTimesteps', () => {
  it('spans [0, T − 1] evenly', () => {
    expect(spacedTimesteps(1024, 4)).toEqual([0, 341, 682, 1023]);
    expect(spacedTimesteps(10, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
