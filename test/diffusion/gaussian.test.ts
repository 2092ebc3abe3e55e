// The diffusion process against test/diffusion/fixtures/diffusion_reference.py (numpy/scipy,
// written from the papers): schedules, posterior tables, the Karras σ grid, σ → t, one Karras Heun
// step through an analytic ε-model, and the variational-bound term — host and in-graph (float64
// interpreter) — against numpy's Gaussian KL.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { betaSchedule, GaussianDiffusion } from '../../src/diffusion/gaussian.ts';
import { diffusionFeeds, diffusionInputs, diffusionLosses, vbTerm } from '../../src/diffusion/losses.ts';
import { heunStep, karrasDenoise, karrasSigmas, sigmaToT } from '../../src/diffusion/samplers.ts';
import { hostTensor } from '../../src/engine/dtype.ts';
import { interpret } from '../../src/engine/interpret.ts';
import { input } from '../../src/engine/tensor.ts';

const fx = JSON.parse(readFileSync(new URL('./fixtures/diffusion_reference.json', import.meta.url), 'utf8'));

/** |a − b| ≤ rtol·|b| + atol, elementwise, with the index of the first miss in the message. */
function close(a: ArrayLike<number>, b: readonly number[], rtol: number, atol = 0) {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) {
    const ok = Math.abs(a[i]! - b[i]!) <= rtol * Math.abs(b[i]!) + atol;
    if (!ok) expect.fail(`index ${i}: ${a[i]} vs reference ${b[i]}`);
  }
}

const TABLES = {
  betas: 'betas',
  alphas_cumprod: 'alphasCumprod',
  posterior_variance: 'posteriorVariance',
  posterior_log_variance_clipped: 'posteriorLogVarianceClipped',
  coef1: 'posteriorMeanCoef1',
  coef2: 'posteriorMeanCoef2',
} as const;

describe('schedules', () => {
  for (const [name, key, T] of [
    ['cosine', 'cosine1024', 1024],
    ['linear', 'linear1024', 1024],
  ] as const) {
    it(`${name} (T = ${T}) matches numpy at sampled steps`, () => {
      const d = new GaussianDiffusion(betaSchedule(name, T));
      for (const [py, ts] of Object.entries(TABLES)) {
        close(
          (fx.idx as number[]).map((i) => d[ts][i]!),
          fx[key][py],
          1e-10,
        );
      }
    });
  }

  it('cosine with T = 16 matches numpy at every step', () => {
    const d = new GaussianDiffusion(betaSchedule('cosine', 16));
    for (const [py, ts] of Object.entries(TABLES)) close(d[ts], fx.cosine16[py], 1e-10);
  });

  it('rejects an unknown schedule and a bad T with a config error', () => {
    expect(() => betaSchedule('quadratic' as 'linear', 10)).toThrow(/unknown schedule/);
    expect(() => betaSchedule('cosine', 0)).toThrow(/positive integer/);
  });
});

describe('Karras', () => {
  const d = new GaussianDiffusion(betaSchedule('cosine', 1024));

  it("σ grids for Point-E's base and upsampler match numpy", () => {
    close(karrasSigmas(64, 1e-3, 120), fx.karras_base, 1e-12);
    close(karrasSigmas(64, 1e-3, 160), fx.karras_upsample, 1e-12);
  });

  it("σ → t matches scipy's interpolation, truncated", () => {
    expect(fx.sigma_to_t.sigmas.map((s: number) => sigmaToT(d, s))).toEqual(fx.sigma_to_t.t);
  });

  // the ε-model of data N(μ, s²) per coordinate, exact at every integer t
  const { mu, s2 } = fx.heun;
  const epsModel = (xt: Float64Array, t: Int32Array) => {
    const D = xt.length / t.length;
    const eps = new Float64Array(xt.length);
    for (let i = 0; i < xt.length; i++) {
      const a = d.alphasCumprod[t[Math.floor(i / D)]!]!;
      const x0 = mu + ((Math.sqrt(a) * s2) / (a * s2 + 1 - a)) * (xt[i]! - Math.sqrt(a) * mu);
      eps[i] = (xt[i]! - Math.sqrt(a) * x0) / Math.sqrt(1 - a);
    }
    return { eps };
  };
  const x = Float64Array.from(fx.heun.x as number[]);
  const z = Float64Array.from(fx.heun.z as number[]);
  const sig = karrasSigmas(64, 1e-3, 120);
  const den = (clip: boolean) => (xx: Float64Array, s: number) => karrasDenoise(d, epsModel, xx, s, 1, { clip });

  it('the ε-model as a Karras denoiser (c_in, σ → t, clipping) matches numpy', async () => {
    close(await den(true)(x, fx.heun.denoise_at[0]), fx.heun.denoise_at[1], 1e-9, 1e-12);
  });

  it('one Heun step with churn 3 (Point-E base), one without, and the last Euler step match numpy', async () => {
    close(await heunStep(den(true), x, sig[20]!, sig[21]!, 64, z, { sChurn: 3 }), fx.heun.step20_churn3_clip, 1e-9, 1e-12);
    close(
      await heunStep(
        den(false),
        x.map((v) => v * 0.1),
        sig[40]!,
        sig[41]!,
        64,
        z,
      ),
      fx.heun.step40_nochurn,
      1e-9,
      1e-12,
    );
    const xl = Float64Array.from(fx.heun.x_last as number[]);
    close(await heunStep(den(false), xl, sig[63]!, sig[64]!, 64, z), fx.heun.step63_to_zero, 1e-9, 1e-12);
  });
});

describe('the variational-bound term (learned-range variance)', () => {
  const d = new GaussianDiffusion(betaSchedule('cosine', 1024));
  const vb = fx.vb;
  const flat = (a: number[][]) => Float64Array.from(a.flat());
  const t = Int32Array.from(vb.t as number[]);

  it('host: KL of the true posterior from p_θ, bits per dimension, 0 at t = 0 — as numpy', () => {
    const xt = d.qSample(flat(vb.x0), t, flat(vb.noise));
    close(xt, (vb.xt as number[][]).flat(), 1e-12, 1e-14);
    close(d.vbTerms({ eps: flat(vb.eps), v: flat(vb.v) }, flat(vb.x0), xt, t), vb.bits, 1e-9, 1e-15);
  });

  it('in the graph (float64 interpreter): the same numbers, and the weighted loss is λ·T', () => {
    const inp = diffusionInputs(3, 4, 1, true);
    const eps = input('eps', [3, 4, 1]);
    const v = input('v', [3, 4, 1]);
    const feeds = diffusionFeeds(d, flat(vb.x0), t, flat(vb.noise), [3, 4, 1], true, '', 'float64');
    feeds.eps = hostTensor('float64', [3, 4, 1], flat(vb.eps));
    feeds.v = hostTensor('float64', [3, 4, 1], flat(vb.v));
    const [bits] = interpret([vbTerm(eps, v, inp)], feeds);
    // 1e-7: the graph declares float32, so its constants (1/ln 2) are float32-rounded
    close(bits!.data as Float64Array, vb.bits, 1e-7, 1e-15);
    const losses = diffusionLosses(input('out', [3, 4, 2]), inp, d);
    expect((losses.vb as { weight: number }).weight).toBeCloseTo(0.001 * 1024, 12);
  });
});
