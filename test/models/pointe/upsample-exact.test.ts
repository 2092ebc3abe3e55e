/**
 * The upsampler's sampling path (upsampleWith: Karras with POINT_E_KARRAS_UPSAMPLE on the linear
 * schedule, x̂_0 clipped, channels ↔ cloud, low-resolution points first) driven by the EXACT
 * denoiser of a known distribution: the new points are one of two fixed sets (the data is a
 * two-atom mixture in R^{N·6}), so E[x_0 | x_t] has a closed form — a softmax over the atoms of
 * −‖x_t − √ᾱ_t x_k‖² / 2(1 − ᾱ_t) — and ε = (x_t − √ᾱ_t E[x_0 | x_t]) / √(1 − ᾱ_t). Sampling with it
 * must land on one atom: every new point where the atom puts it, in cloud units (÷2), colours
 * (c + 1)/2, including points on the box's faces (y = ±0.5, where x̂_0 is clipped).
 */
import { describe, expect, it } from 'vitest';
import type { EpsModel } from '../../../src/diffusion/gaussian.ts';
import { CHANNELS, diffusionOf, pointeConfig } from '../../../src/models/pointe/pointe.ts';
import { upsampleWith } from '../../../src/models/pointe/upsample.ts';
import { prng } from '../../../src/random.ts';

const N = 12;
const cfg = pointeConfig({ stage: 'upsample', points: N, lowResPoints: 5, schedule: 'linear', timesteps: 1024 });
const d = diffusionOf(cfg);

/** The exact ε-model of a uniform mixture of point sets `atoms` (each N × 6 channels). */
function mixtureEps(atoms: Float64Array[]): EpsModel {
  return (xt, t) => {
    const a = d.alphasCumprod[t[0]!]!;
    const logw = atoms.map((x0) => {
      let s = 0;
      for (let i = 0; i < x0.length; i++) s += (xt[i]! - Math.sqrt(a) * x0[i]!) ** 2;
      return -s / (2 * (1 - a));
    });
    const m = Math.max(...logw);
    const w = logw.map((l) => Math.exp(l - m));
    const z = w.reduce((p, q) => p + q, 0);
    const eps = new Float64Array(xt.length);
    for (let i = 0; i < xt.length; i++) {
      let mean = 0;
      atoms.forEach((x0, k) => {
        mean += (w[k]! / z) * x0[i]!;
      });
      eps[i] = (xt[i]! - Math.sqrt(a) * mean) / Math.sqrt(1 - a);
    }
    return { eps };
  };
}

describe('upsampler sampling with the exact denoiser', () => {
  const r = prng(7);
  // Atom A: points on a cube's top and bottom faces (channel y = ±1, cloud y = ±0.5) and inside;
  // atom B: the same points mirrored in x. Colours in (−1, 1).
  const A = new Float64Array(N * CHANNELS);
  for (let p = 0; p < N; p++) {
    A[p * CHANNELS] = r.uniform(-0.8, 0.8);
    A[p * CHANNELS + 1] = p < 4 ? 1 : p < 8 ? -1 : r.uniform(-0.8, 0.8);
    A[p * CHANNELS + 2] = r.uniform(-0.8, 0.8);
    for (let k = 3; k < 6; k++) A[p * CHANNELS + k] = r.uniform(-0.9, 0.9);
  }
  const Bm = A.map((v, i) => (i % CHANNELS === 0 ? -v : v));
  const low = { xyz: Float32Array.from({ length: 15 }, (_, i) => (i % 7) / 10 - 0.3), rgb: new Float32Array(15).fill(0.25) };

  it('lands every new point on one atom, after the low-resolution points', async () => {
    const hits = new Set<string>();
    for (const seed of [0, 1, 2, 3]) {
      const cloud = await upsampleWith(d, mixtureEps([A, Bm]), low, N, { seed });
      expect(cloud.xyz.length).toBe(3 * (5 + N));
      expect(Array.from(cloud.xyz.subarray(0, 15))).toEqual(Array.from(low.xyz));
      expect(Array.from(cloud.rgb!.subarray(0, 15))).toEqual(Array.from(low.rgb));
      const near = (atom: Float64Array) => {
        let e = 0;
        for (let p = 0; p < N; p++)
          for (let k = 0; k < 3; k++) {
            e = Math.max(e, Math.abs(cloud.xyz[3 * (5 + p) + k]! - atom[p * CHANNELS + k]! / 2));
            e = Math.max(e, Math.abs(cloud.rgb![3 * (5 + p) + k]! - (atom[p * CHANNELS + 3 + k]! + 1) / 2));
          }
        return e;
      };
      const [ea, eb] = [near(A), near(Bm)];
      expect(Math.min(ea, eb)).toBeLessThan(1e-3);
      hits.add(ea < eb ? 'A' : 'B');
    }
    expect(hits.size).toBe(2); // both atoms are reached over the seeds: not a collapse onto one
  });
});
