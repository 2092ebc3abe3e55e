/**
 * Shap-E's implicit function, encoder objective and latent diffusion model (src/models/shape-e/shape-e.ts):
 *  - the implicit-function graph (latent rows → the first layers' weights → SDF, density, colour)
 *    against a plain float64 loop written from the paper's description, at random weights;
 *  - the gradient of the full encoder objective (SDF + colour + rendering losses) and of the
 *    diffusion objective against central finite differences (float64 interpreter), every
 *    parameter tensor;
 *  - the rendering loss's opacity against 1 − exp(−Σ σδ) computed by hand;
 *  - the same through the encoder's view input (patch tokens joined to the point tokens);
 *  - the diffusion model ignores the caption when it is dropped (keep = 0), whatever the words.
 */
import { describe, expect, it } from 'vitest';
import { grad } from '../../../src/engine/autodiff.ts';
import { type HostTensor, hostTensor } from '../../../src/engine/dtype.ts';
import { interpret } from '../../../src/engine/interpret.ts';
import type { ParamSet } from '../../../src/engine/nn.ts';
import { objective } from '../../../src/engine/step.ts';
import { input } from '../../../src/engine/tensor.ts';
import {
  DENSITY_SCALE,
  DENSITY_SHIFT,
  encoderInputs,
  encoderObjective,
  LatentDiffusion,
  latentDiffusionInputs,
  latentDiffusionObjective,
  latentRows,
  rayOpacity,
  SHAPEE_PRESETS,
  ShapeEAutoencoder,
  shapeEConfig,
  viewTokenShape,
} from '../../../src/models/shape-e/shape-e.ts';
import { prng } from '../../../src/random.ts';
import { weights64 } from '../weights64.ts';

const cfg = shapeEConfig({ ...SHAPEE_PRESETS.tiny });

const rand = (r: ReturnType<typeof prng>, n: number, lo = -1, hi = 1) => Float64Array.from({ length: n }, () => r.uniform(lo, hi));
const silu = (x: number) => x / (1 + Math.exp(-x));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const softplus = (x: number) => Math.log1p(Math.exp(x));

/**
 * The implicit function of one latent at one point, by plain loops: the positional encoding, then
 * meta layer ℓ with W[j][i] = Σ_k z[ℓH + j][k]·A_ℓ[j][k][i] + B_ℓ[j][i], SiLU(W·h + bias), then the
 * plain layers (weights stored [in, out]) and the head.
 */
function reference(w: Record<string, HostTensor>, z: Float64Array, p: number[]) {
  const H = cfg.hidden;
  const d = cfg.latentWidth;
  const get = (k: string) => w[k]!.data as Float64Array;
  // [x, sin(2^0 πx), cos(2^0 πx), sin(2^1 πx), …], each a 3-vector; the graph stores 2^k·π as a float32 constant
  const pe: number[] = [...p];
  for (let k = 0; k < cfg.fourier; k++) {
    const f = Math.fround(2 ** k * Math.PI);
    for (let a = 0; a < 3; a++) pe.push(Math.sin(f * p[a]!));
    for (let a = 0; a < 3; a++) pe.push(Math.cos(f * p[a]!));
  }
  let h = pe;
  for (let l = 0; l < cfg.metaLayers; l++) {
    const nIn = h.length;
    const A = get(`implicit.meta.${l}.proj`);
    const Bw = get(`implicit.meta.${l}.weight_bias`);
    const bias = get(`implicit.meta.${l}.bias`);
    const next: number[] = [];
    for (let j = 0; j < H; j++) {
      let s = bias[j]!;
      for (let i = 0; i < nIn; i++) {
        let wji = Bw[j * nIn + i]!;
        for (let k = 0; k < d; k++) wji += z[(l * H + j) * d + k]! * A[(j * d + k) * nIn + i]!;
        s += wji * h[i]!;
      }
      next.push(silu(s));
    }
    h = next;
  }
  const dense = (name: string, x: number[], nOut: number) => {
    const W = get(`${name}.weight`);
    const b = get(`${name}.bias`);
    return Array.from({ length: nOut }, (_, o) => x.reduce((s, v, i) => s + v * W[i * nOut + o]!, b[o]!));
  };
  for (let l = cfg.metaLayers; l < cfg.mlpLayers; l++) h = dense(`implicit.fc.${l}`, h, H).map(silu);
  const o = dense('implicit.out', h, 5);
  return { sdf: o[0]!, density: DENSITY_SCALE * softplus(o[1]! + DENSITY_SHIFT), rgb: [sigmoid(o[2]!), sigmoid(o[3]!), sigmoid(o[4]!)] };
}

describe('Shap-E implicit function', () => {
  it('the graph equals a plain float64 loop of the paper’s construction, at random weights', () => {
    const B = 2;
    const Q = 5;
    const L = latentRows(cfg);
    const model = new ShapeEAutoencoder(cfg);
    const z = input('latent', [B, L, cfg.latentWidth]);
    const q = input('queries', [B, Q, 3]);
    const out = model.decoder.forward(z, q);
    const r = prng(11);
    const w = weights64(model.ps, 12, 0.5);
    const zv = rand(r, B * L * cfg.latentWidth);
    const qv = rand(r, B * Q * 3, -0.5, 0.5);
    const [sdf, density, rgb] = interpret([out.sdf, out.density, out.rgb], {
      ...w,
      latent: hostTensor('float64', [B, L, cfg.latentWidth], zv),
      queries: hostTensor('float64', [B, Q, 3], qv),
    });
    for (let b = 0; b < B; b++) {
      const zb = zv.subarray(b * L * cfg.latentWidth, (b + 1) * L * cfg.latentWidth);
      for (let i = 0; i < Q; i++) {
        const ref = reference(w, zb, Array.from(qv.subarray((b * Q + i) * 3, (b * Q + i + 1) * 3)));
        expect(sdf!.data[b * Q + i] as number).toBeCloseTo(ref.sdf, 12);
        expect(density!.data[b * Q + i] as number).toBeCloseTo(ref.density, 11);
        for (let k = 0; k < 3; k++) expect(rgb!.data[(b * Q + i) * 3 + k] as number).toBeCloseTo(ref.rgb[k]!, 12);
      }
    }
    // and the latent matters: another latent, another function
    const [sdf2] = interpret([out.sdf], {
      ...w,
      latent: hostTensor('float64', [B, L, cfg.latentWidth], rand(prng(99), B * L * cfg.latentWidth)),
      queries: hostTensor('float64', [B, Q, 3], qv),
    });
    expect(Math.abs((sdf2!.data[0] as number) - (sdf!.data[0] as number))).toBeGreaterThan(1e-6);
  });

  it('opacity along a ray is 1 − exp(−Σ σ_i δ_i), computed by hand', () => {
    const dens = input('density', [1, 1, 4]);
    const del = input('deltas', [1, 1, 4]);
    const sigma = [0.5, 3, 0, 10];
    const delta = [0.1, 0.2, 0.3, 0.05];
    const [a] = interpret([rayOpacity(dens, del)], {
      density: hostTensor('float64', [1, 1, 4], sigma),
      deltas: hostTensor('float64', [1, 1, 4], delta),
    });
    // Σ σδ = 0.05 + 0.6 + 0 + 0.5 = 1.15
    expect(a!.data[0] as number).toBeCloseTo(1 - Math.exp(-1.15), 12);
  });
});

/** Central finite differences of a scalar graph output against autodiff, three entries per parameter tensor. */
function checkGradients(loss: ReturnType<typeof objective>['loss'], ps: ParamSet, feeds: Record<string, HostTensor>): number {
  const params = ps.inputs;
  const grads = interpret(grad(loss, params), feeds);
  const h = 1e-6;
  let checked = 0;
  params.forEach((p, k) => {
    for (const i of new Set([0, Math.floor(p.size / 2), p.size - 1])) {
      const at = (dx: number) => {
        const data = Float64Array.from(feeds[p.name!]!.data as Float64Array);
        data[i]! += dx;
        return interpret([loss], { ...feeds, [p.name!]: hostTensor('float64', p.shape, data) })[0]!.data[0] as number;
      };
      const f = (at(h) - at(-h)) / (2 * h);
      const g = grads[k]!.data[i] as number;
      expect(Math.abs(g - f), `${p.name}[${i}]: autodiff ${g}, finite differences ${f}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(f)));
      checked++;
    }
  });
  return checked;
}

describe('Shap-E objectives: gradients against finite differences', () => {
  it('the encoder objective (SDF + colour + rendering), every parameter tensor', () => {
    const B = 2;
    const model = new ShapeEAutoencoder(cfg);
    const inp = encoderInputs(cfg, B);
    const { losses } = encoderObjective(model, inp);
    const obj = objective({ ps: model.ps, losses, data: [] });
    const r = prng(5);
    const { points: N, queries: Q, rays: R, raySamples: S } = cfg;
    const feeds: Record<string, HostTensor> = {
      ...weights64(model.ps, 6, 0.4),
      cloud: hostTensor('float64', [B, N, 6], rand(r, B * N * 6)),
      queries: hostTensor('float64', [B, Q, 3], rand(r, B * Q * 3, -0.5, 0.5)),
      // distances inside ±truncation, so the clamp does not zero the loss's gradient
      sdf: hostTensor('float64', [B, Q], rand(r, B * Q, -0.08, 0.08)),
      rgb: hostTensor('float64', [B, Q, 3], rand(r, B * Q * 3, 0, 1)),
      ray_points: hostTensor('float64', [B, R * S, 3], rand(r, B * R * S * 3, -0.5, 0.5)),
      ray_deltas: hostTensor('float64', [B, R, S], rand(r, B * R * S, 0.01, 0.1)),
      alpha: hostTensor('float64', [B, R], rand(r, B * R, 0, 1)),
    };
    expect(checkGradients(obj.loss, model.ps, feeds)).toBeGreaterThan(60);
  });

  it('the encoder objective through the view-input path (inputViews = 2): every parameter tensor, the patch projection included', () => {
    const vcfg = shapeEConfig({ ...SHAPEE_PRESETS.tiny, inputViews: 2, viewSize: 4, patch: 2 });
    const B = 2;
    const model = new ShapeEAutoencoder(vcfg);
    expect(model.ps.specs.map((s) => s.name)).toEqual(expect.arrayContaining(['encoder.view_proj.weight', 'encoder.view_pos']));
    const inp = encoderInputs(vcfg, B);
    const { losses } = encoderObjective(model, inp);
    const obj = objective({ ps: model.ps, losses, data: [] });
    const r = prng(15);
    const { points: N, queries: Q, rays: R, raySamples: S } = vcfg;
    const [P, C] = viewTokenShape(vcfg);
    expect([P, C]).toEqual([2 * (4 / 2) ** 2, 2 * 2 * 4]); // 2 views × 4 patches of 2×2 RGBA pixels
    const feeds: Record<string, HostTensor> = {
      ...weights64(model.ps, 16, 0.4),
      cloud: hostTensor('float64', [B, N, 6], rand(r, B * N * 6)),
      queries: hostTensor('float64', [B, Q, 3], rand(r, B * Q * 3, -0.5, 0.5)),
      sdf: hostTensor('float64', [B, Q], rand(r, B * Q, -0.08, 0.08)),
      rgb: hostTensor('float64', [B, Q, 3], rand(r, B * Q * 3, 0, 1)),
      ray_points: hostTensor('float64', [B, R * S, 3], rand(r, B * R * S * 3, -0.5, 0.5)),
      ray_deltas: hostTensor('float64', [B, R, S], rand(r, B * R * S, 0.01, 0.1)),
      alpha: hostTensor('float64', [B, R], rand(r, B * R, 0, 1)),
      views: hostTensor('float64', [B, P, C], rand(r, B * P * C)),
    };
    expect(checkGradients(obj.loss, model.ps, feeds)).toBeGreaterThan(66);
  });

  it('the x̂_0 diffusion objective, every parameter tensor', () => {
    const B = 2;
    const V = 5;
    const model = new LatentDiffusion(cfg, V);
    const inp = latentDiffusionInputs(cfg, B);
    const obj = objective({ ps: model.ps, losses: latentDiffusionObjective(model, inp), data: [] });
    const r = prng(8);
    const shape = [B, latentRows(cfg), cfg.latentWidth];
    const n = shape.reduce((a, b) => a * b, 1);
    const feeds: Record<string, HostTensor> = {
      ...weights64(model.ps, 9, 0.4),
      xt: hostTensor('float64', shape, rand(r, n)),
      t: hostTensor('float64', [B], [3, 11]),
      x0: hostTensor('float64', shape, rand(r, n)),
      ids: hostTensor('int64', [B, cfg.maxWords], [1, 2, 3, 0, 0, 0, 4, 5, 0, 0, 0, 0]),
      valid: hostTensor('bool', [B, cfg.maxWords], [1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0]),
      keep: hostTensor('float64', [B, 1], [1, 1]),
    };
    expect(checkGradients(obj.loss, model.ps, feeds)).toBeGreaterThan(40);
  });

  it('a dropped caption (keep = 0) is invisible: other words give the same x̂_0', () => {
    const model = new LatentDiffusion(cfg, 5);
    const inp = latentDiffusionInputs(cfg, 1);
    const out = model.forward(inp.xt, inp.t, inp.ids, inp.valid, inp.keep);
    const r = prng(3);
    const shape = [1, latentRows(cfg), cfg.latentWidth];
    const base = {
      ...weights64(model.ps, 4, 0.5),
      xt: hostTensor(
        'float64',
        shape,
        rand(
          r,
          shape.reduce((a, b) => a * b, 1),
        ),
      ),
      t: hostTensor('float64', [1], [7]),
    };
    const run = (ids: number[], valid: number[], keep: number) =>
      interpret([out], {
        ...base,
        ids: hostTensor('int64', [1, cfg.maxWords], ids),
        valid: hostTensor('bool', [1, cfg.maxWords], valid),
        keep: hostTensor('float64', [1, 1], [keep]),
      })[0]!.data as Float64Array;
    const a = run([1, 2, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], 0);
    const b = run([5, 4, 3, 2, 1, 0], [1, 1, 1, 1, 1, 0], 0);
    const c = run([5, 4, 3, 2, 1, 0], [1, 1, 1, 1, 1, 0], 1);
    a.forEach((v, i) => expect(b[i]!).toBeCloseTo(v, 12));
    expect(Math.max(...a.map((v, i) => Math.abs(v - c[i]!)))).toBeGreaterThan(1e-6);
  });
});
