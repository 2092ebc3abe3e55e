/**
 * Point-E's base model (src/models/pointe):
 *  - the gradient of its training loss against central finite differences (float64 reference
 *    interpreter), with L_simple, and with the hybrid loss — where the stop-gradient must send
 *    L_vlb only into v: ε̂'s output columns get exactly L_simple's finite-difference gradient, v's
 *    columns the total's;
 *  - no positional encoding: permuting the input points permutes the output (and nothing else);
 *  - the condition drop: keep = 0 makes the output independent of the caption;
 *  - channels (×2, colours to [−1, 1]) and back; captions → ids and their errors.
 */
import { describe, expect, it } from 'vitest';
import { betaSchedule, GaussianDiffusion } from '../../../src/diffusion/gaussian.ts';
import { diffusionFeeds } from '../../../src/diffusion/losses.ts';
import { grad } from '../../../src/engine/autodiff.ts';
import { type HostTensor, hostTensor } from '../../../src/engine/dtype.ts';
import { interpret } from '../../../src/engine/interpret.ts';
import { objective } from '../../../src/engine/step.ts';
import { buildVocabulary, captionFeeds, encodeCaption } from '../../../src/models/pointe/captions.ts';
import {
  CHANNELS,
  fromChannels,
  PointE,
  type PointEConfig,
  pointeConfig,
  pointeInputs,
  pointeObjective,
  toChannels,
} from '../../../src/models/pointe/pointe.ts';
import { prng } from '../../../src/random.ts';
import { weights64 } from '../weights64.ts';

const VOCAB = buildVocabulary(['a red cube', 'a blue sphere on top of a green cone']);
const B = 2;
const N = 5;

function cfgOf(learnSigma: boolean): Readonly<PointEConfig> {
  return pointeConfig({ points: N, width: 8, layers: 1, heads: 2, textLayers: 1, maxWords: 10, timesteps: 32, learnSigma });
}

/** A batch of B examples as float64 feeds. */
function batchFeeds(
  cfg: Readonly<PointEConfig>,
  seed: number,
  keep = [1, 1],
  captions = ['a red cube', 'a blue sphere on top of a green cone'],
) {
  const r = prng(seed);
  const d = new GaussianDiffusion(betaSchedule('cosine', cfg.timesteps));
  const x0 = Float64Array.from({ length: B * N * CHANNELS }, () => Math.tanh(r.normal()));
  const noise = Float64Array.from({ length: x0.length }, () => r.normal());
  const t = Int32Array.from([3, 20]);
  const enc = captions.map((c) => encodeCaption(c, VOCAB, cfg.maxWords));
  return {
    ...diffusionFeeds(d, x0, t, noise, [B, N, CHANNELS], cfg.learnSigma, '', 'float64'),
    ...captionFeeds(enc, cfg.maxWords),
    keep: hostTensor('float64', [B, 1], keep),
  };
}

function setup(learnSigma: boolean) {
  const cfg = cfgOf(learnSigma);
  const model = new PointE(cfg, VOCAB.length);
  const inp = pointeInputs(cfg, B, N);
  const losses = pointeObjective(model, inp);
  const feeds: Record<string, HostTensor> = { ...weights64(model.ps, 5), ...batchFeeds(cfg, 6) };
  return { cfg, model, inp, losses, feeds };
}

const H = 1e-6;

/** Central differences of `loss` at entry i of parameter `name`. */
function fd(loss: Parameters<typeof interpret>[0][number], feeds: Record<string, HostTensor>, name: string, i: number): number {
  const at = (dx: number) => {
    const data = Float64Array.from(feeds[name]!.data as Float64Array);
    data[i]! += dx;
    return interpret([loss], { ...feeds, [name]: hostTensor('float64', feeds[name]!.shape, data) })[0]!.data[0] as number;
  };
  return (at(H) - at(-H)) / (2 * H);
}

describe('Point-E gradients (float64 interpreter vs finite differences)', () => {
  it('L_simple: every parameter tensor, three entries each', () => {
    const { model, inp, losses, feeds } = setup(false);
    const obj = objective({ ps: model.ps, losses, data: [] });
    const params = model.ps.inputs;
    const grads = interpret(grad(obj.loss, params), feeds);
    let checked = 0;
    params.forEach((p, k) => {
      const n = p.size;
      for (const i of new Set([0, Math.floor(n / 2), n - 1])) {
        const f = fd(obj.loss, feeds, p.name!, i);
        const g = grads[k]!.data[i] as number;
        expect(Math.abs(g - f), `${p.name}[${i}]: autodiff ${g}, finite differences ${f}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(f)));
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(40);
    expect(inp.diffusion.coefs).toBeUndefined();
  });

  it('hybrid loss: ε̂ columns get ∂L_simple only, v columns ∂(L_simple + λT·L_vlb)', () => {
    const { model, losses, feeds } = setup(true);
    const obj = objective({ ps: model.ps, losses, data: [] });
    const w = model.outputProj.w; // (width, 12): columns 0–5 ε̂, 6–11 v
    const [gw] = interpret(grad(obj.loss, [w]), feeds);
    const mse = losses.mse as Parameters<typeof interpret>[0][number];
    const width = w.shape[0]!;
    let vbSeen = 0;
    for (const row of [0, width - 1]) {
      for (let col = 0; col < 12; col++) {
        const i = row * 12 + col;
        const g = gw!.data[i] as number;
        const f = col < CHANNELS ? fd(mse, feeds, w.name!, i) : fd(obj.loss, feeds, w.name!, i);
        expect(Math.abs(g - f), `output_proj[${row}, ${col}]: autodiff ${g}, finite differences ${f}`).toBeLessThan(
          1e-6 * Math.max(1, Math.abs(f)),
        );
        if (col >= CHANNELS && Math.abs(f) > 1e-6) vbSeen++;
      }
    }
    expect(vbSeen).toBeGreaterThan(0); // the v columns do learn from L_vlb
    // and the ε̂ columns would have a different gradient without the stop-gradient
    const i = 3;
    expect(Math.abs(fd(obj.loss, feeds, w.name!, i) - (gw!.data[i] as number))).toBeGreaterThan(1e-6);
  });
});

describe('Point-E forward', () => {
  const cfg = cfgOf(true);
  const model = new PointE(cfg, VOCAB.length);
  const inp = pointeInputs(cfg, B, N);
  const d = inp.diffusion;
  const out = model.forward(d.xt, d.t, inp.cond, inp.keep);
  const w = weights64(model.ps, 8);

  it('is equivariant to the order of the points (no positional encoding)', () => {
    const feeds: Record<string, HostTensor> = { ...w, ...batchFeeds(cfg, 9) };
    const [y] = interpret([out], feeds);
    const perm = [3, 0, 4, 1, 2];
    const xt = feeds.xt!.data as Float64Array;
    const px = new Float64Array(xt.length);
    for (let b = 0; b < B; b++)
      for (let j = 0; j < N; j++)
        px.set(xt.subarray((b * N + perm[j]!) * CHANNELS, (b * N + perm[j]! + 1) * CHANNELS), (b * N + j) * CHANNELS);
    const [py] = interpret([out], { ...feeds, xt: hostTensor('float64', [B, N, CHANNELS], px) });
    const C = 12;
    for (let b = 0; b < B; b++)
      for (let j = 0; j < N; j++)
        for (let c = 0; c < C; c++)
          expect(py!.data[(b * N + j) * C + c] as number).toBeCloseTo(y!.data[(b * N + perm[j]!) * C + c] as number, 10);
  });

  it('ignores the caption when the condition is dropped (keep = 0), and not otherwise', () => {
    const other = ['a green cone', 'a red sphere'];
    const run = (keep: number[], captions?: string[]) =>
      interpret([out], { ...w, ...batchFeeds(cfg, 9, keep, captions) })[0]!.data as Float64Array;
    const a = run([0, 0]);
    const b = run([0, 0], other);
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 12));
    const c = run([1, 1]);
    const e = run([1, 1], other);
    expect(Math.max(...c.map((v, i) => Math.abs(v - e[i]!)))).toBeGreaterThan(1e-6);
  });
});

describe('channels and captions', () => {
  it('maps xyz ×2 and colours [0, 1] → [−1, 1], and back', () => {
    const x = toChannels({ xyz: Float32Array.from([0.5, -0.25, 0]), rgb: Float32Array.from([1, 0, 0.5]) });
    expect(Array.from(x)).toEqual([1, -0.5, 0, 1, -1, 0]);
    const back = fromChannels([1, -0.5, 0, 3, -3, 0]); // colours out of range are clipped
    expect(Array.from(back.xyz)).toEqual([0.5, -0.25, 0]);
    expect(Array.from(back.rgb!)).toEqual([1, 0, 0.5]);
  });

  it('encodes a caption as ids + padding, and names empty, unknown and over-long captions', () => {
    expect(VOCAB).toEqual(['a', 'blue', 'cone', 'cube', 'green', 'of', 'on', 'red', 'sphere', 'top']);
    const e = encodeCaption('A red cube.', VOCAB, 5);
    expect(e.ids).toEqual([1, 8, 4, 0, 0]);
    expect(e.valid).toEqual([true, true, true, false, false]);
    expect(() => encodeCaption('  ', VOCAB, 5)).toThrow(/empty/);
    expect(() => encodeCaption('a purple cube', VOCAB, 5)).toThrow(/never saw: 'purple'/);
    expect(() => encodeCaption('a red cube on top of a blue sphere', VOCAB, 5)).toThrow(/9 words; this model reads at most 5/);
  });

  it('rejects unknown stages and bad configs', () => {
    expect(() => pointeConfig({ stage: 'upsampler' })).toThrow(/unknown stage 'upsampler'/);
    expect(() => pointeConfig({ width: 10, heads: 4 })).toThrow(/divisible/);
    expect(() => pointeConfig({ condDrop: 1 })).toThrow(/condDrop/);
    expect(() => pointeConfig({ widht: 8 })).toThrow(/unknown pointe config key 'widht'/);
  });
});
