/**
 * Point-E's upsampler (src/models/pointe/upsample.ts):
 *  - the L_simple gradient against central finite differences, every parameter tensor, float64
 *    interpreter;
 *  - no positional encoding: permuting the points being denoised permutes the output, and
 *    permuting the low-resolution cloud (a set of condition tokens) changes nothing;
 *  - the condition matters: another low-resolution cloud changes the output;
 *  - training pairs: the condition is exactly the base model's input (the first M farthest points),
 *    the target the next N, with no point in both.
 */
import { describe, expect, it } from 'vitest';
import { betaSchedule, GaussianDiffusion } from '../../../src/diffusion/gaussian.ts';
import { diffusionFeeds, diffusionInputs, diffusionLosses } from '../../../src/diffusion/losses.ts';
import { grad } from '../../../src/engine/autodiff.ts';
import { type HostTensor, hostTensor } from '../../../src/engine/dtype.ts';
import { interpret } from '../../../src/engine/interpret.ts';
import { Runtime } from '../../../src/engine/runtime.ts';
import { objective } from '../../../src/engine/step.ts';
import { input } from '../../../src/engine/tensor.ts';
import { CHANNELS, pointeConfig } from '../../../src/models/pointe/pointe.ts';
import { PointEUpsampler, PointEUpsamplerModel, upsamplePair } from '../../../src/models/pointe/upsample.ts';
import { prng } from '../../../src/random.ts';
import { farthestPointSample } from '../../../src/shape/pointcloud.ts';
import { weights64 } from '../weights64.ts';

const B = 2;
const N = 4;
const M = 3;
const cfg = pointeConfig({
  stage: 'upsample',
  points: N,
  lowResPoints: M,
  width: 8,
  layers: 1,
  heads: 2,
  timesteps: 32,
  schedule: 'linear',
  learnSigma: false,
});

function feeds(seed: number): Record<string, HostTensor> {
  const r = prng(seed);
  const d = new GaussianDiffusion(betaSchedule('linear', cfg.timesteps));
  const x0 = Float64Array.from({ length: B * N * CHANNELS }, () => Math.tanh(r.normal()));
  const noise = Float64Array.from({ length: x0.length }, () => r.normal());
  return {
    ...diffusionFeeds(d, x0, Int32Array.from([2, 25]), noise, [B, N, CHANNELS], false, '', 'float64'),
    low_res: hostTensor(
      'float64',
      [B, M, CHANNELS],
      Float64Array.from({ length: B * M * CHANNELS }, () => r.uniform(-1, 1)),
    ),
  };
}

const permuteRows = (x: Float64Array, rows: number, perm: number[]) => {
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++)
    for (let j = 0; j < rows; j++)
      out.set(x.subarray((b * rows + perm[j]!) * CHANNELS, (b * rows + perm[j]! + 1) * CHANNELS), (b * rows + j) * CHANNELS);
  return out;
};

describe('Point-E upsampler', () => {
  const model = new PointEUpsampler(cfg);
  const dd = diffusionInputs(B, N, CHANNELS, false);
  const lowRes = input('low_res', [B, M, CHANNELS]);
  const out = model.forward(dd.xt, dd.t, lowRes);

  // L_simple: the hybrid loss's stop-gradient makes its autodiff differ from finite differences by
  // design (pointe.test.ts checks that split on the base model, whose blocks these are)
  it('L_simple gradient against central finite differences, every parameter tensor', () => {
    const losses = diffusionLosses(out, dd, new GaussianDiffusion(betaSchedule('linear', cfg.timesteps)));
    const obj = objective({ ps: model.ps, losses, data: [] });
    const f = { ...weights64(model.ps, 1), ...feeds(2) };
    const params = model.ps.inputs;
    const grads = interpret(grad(obj.loss, params), f);
    const H = 1e-6;
    let checked = 0;
    params.forEach((p, k) => {
      for (const i of new Set([0, Math.floor(p.size / 2), p.size - 1])) {
        const at = (dx: number) => {
          const data = Float64Array.from(f[p.name!]!.data as Float64Array);
          data[i] = data[i]! + dx;
          return interpret([obj.loss], { ...f, [p.name!]: hostTensor('float64', p.shape, data) })[0]!.data[0] as number;
        };
        const fd = (at(H) - at(-H)) / (2 * H);
        const g = grads[k]!.data[i] as number;
        expect(Math.abs(g - fd), `${p.name}[${i}]: autodiff ${g}, finite differences ${fd}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(30);
  });

  it('is equivariant in the new points, invariant in the low-resolution cloud, and depends on it', () => {
    const w = weights64(model.ps, 3);
    const f = feeds(4);
    const [y] = interpret([out], { ...w, ...f });
    const C = CHANNELS;
    const pn = [2, 0, 3, 1];
    const [yp] = interpret([out], {
      ...w,
      ...f,
      xt: hostTensor('float64', [B, N, CHANNELS], permuteRows(f.xt!.data as Float64Array, N, pn)),
    });
    for (let b = 0; b < B; b++)
      for (let j = 0; j < N; j++)
        for (let c = 0; c < C; c++)
          expect(yp!.data[(b * N + j) * C + c] as number).toBeCloseTo(y!.data[(b * N + pn[j]!) * C + c] as number, 10);
    const low = f.low_res!.data as Float64Array;
    const [yl] = interpret([out], { ...w, ...f, low_res: hostTensor('float64', [B, M, CHANNELS], permuteRows(low, M, [1, 2, 0])) });
    y!.data.forEach((v, i) => expect(yl!.data[i] as number).toBeCloseTo(v as number, 10));
    const [yo] = interpret([out], {
      ...w,
      ...f,
      low_res: hostTensor(
        'float64',
        [B, M, CHANNELS],
        low.map((v) => -v),
      ),
    });
    expect(Math.max(...(yo!.data as Float64Array).map((v, i) => Math.abs(v - (y!.data[i] as number))))).toBeGreaterThan(1e-3);
  });

  it('pairs the base model’s input (the first M farthest points) with the next N points', () => {
    const r = prng(7);
    const xyz = Float32Array.from({ length: 3 * 200 }, () => r.uniform(-0.5, 0.5));
    const rgb = Float32Array.from({ length: 3 * 200 }, () => r.next());
    const { low, high } = upsamplePair({ xyz, rgb }, 16, 48);
    expect(Array.from(low.xyz)).toEqual(Array.from(farthestPointSample({ xyz, rgb }, 16).xyz));
    expect(high.xyz.length).toBe(48 * 3);
    const key = (a: Float32Array, i: number) => `${a[3 * i]},${a[3 * i + 1]},${a[3 * i + 2]}`;
    const lows = new Set(Array.from({ length: 16 }, (_, i) => key(low.xyz, i)));
    for (let i = 0; i < 48; i++) expect(lows.has(key(high.xyz, i))).toBe(false);
    // colours travel with their points
    const index = new Map(Array.from({ length: 200 }, (_, i) => [key(xyz, i), i]));
    for (let i = 0; i < 48; i++) {
      const j = index.get(key(high.xyz, i))!;
      expect(Array.from(high.rgb!.subarray(3 * i, 3 * i + 3))).toEqual(Array.from(rgb.subarray(3 * j, 3 * j + 3)));
    }
  });
});

describe('the upsampler refuses an unsupported point count', () => {
  it.each([0, 2.5, 16385])('points = %s is a usage error naming the range', async (points) => {
    const rt = await Runtime.start({ threads: 1 });
    const up = new PointEUpsamplerModel('up', cfg, rt);
    const low = { xyz: new Float32Array(3 * 4), rgb: new Float32Array(3 * 4) };
    try {
      await expect(up.upsample(low, { points })).rejects.toThrow(/--points must be an integer in \[1, 16384\]/);
    } finally {
      await up.close();
    }
  });
});
