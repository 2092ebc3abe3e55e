/**
 * Point-E's image conditioning (pointe.ts `cond: 'image' | 'image-pooled'`, image.ts) and the
 * held-out combinations of attributes (data.ts):
 *  - patchify against index arithmetic written here: patch gy·g + gx, element (py, px, c) is pixel
 *    (gy·p + py, gx·p + px, c);
 *  - the grid: G = (S/p)² condition tokens for `image`, one for `image-pooled`;
 *  - the loss gradient through the encoder against central finite differences (float64
 *    interpreter), every image-encoder parameter, for the grid and the pooled variant;
 *  - a dropped condition (keep = 0) makes the output independent of the view;
 *  - the view's resampling against hand-computed box-filter means and alpha over white;
 *  - a file that is not a PNG is a usage error naming it;
 *  - the split: no held-out (colour, shape) pair on any training object, while each colour and
 *    shape of those pairs is trained on with other partners.
 */
import { describe, expect, it } from 'vitest';
import { betaSchedule, GaussianDiffusion } from '../../../src/diffusion/gaussian.ts';
import { diffusionFeeds } from '../../../src/diffusion/losses.ts';
import { grad } from '../../../src/engine/autodiff.ts';
import { type HostTensor, hostTensor } from '../../../src/engine/dtype.ts';
import { interpret } from '../../../src/engine/interpret.ts';
import { objective } from '../../../src/engine/step.ts';
import { input } from '../../../src/engine/tensor.ts';
import { TonyError } from '../../../src/errors.ts';
import {
  arrangementOf,
  HELD_OUT_ARRANGEMENTS,
  HELD_OUT_COMBOS,
  isHeldOut,
  isHeldOutArrangement,
  isHeldOutCombo,
  splitByScene,
} from '../../../src/models/pointe/data.ts';
import { decodeView, viewChannels } from '../../../src/models/pointe/image.ts';
import {
  CHANNELS,
  condTokens,
  PointE,
  type PointEConfig,
  patchify,
  pointeConfig,
  pointeInputs,
  pointeObjective,
} from '../../../src/models/pointe/pointe.ts';
import { prng } from '../../../src/random.ts';
import { encodePng } from '../../../src/shape/render.ts';
import { captionOf, generateScene, parseCaption } from '../../../src/shape/scenes.ts';
import { weights64 } from '../weights64.ts';

const B = 2;
const N = 4;
const S = 4;

function cfgOf(cond: 'image' | 'image-pooled'): Readonly<PointEConfig> {
  return pointeConfig({
    cond,
    points: N,
    width: 8,
    layers: 1,
    heads: 2,
    imageSize: S,
    patch: 2,
    imageLayers: 1,
    timesteps: 32,
    learnSigma: false,
  });
}

function feedsOf(cfg: Readonly<PointEConfig>, seed: number, keep = [1, 1], image?: Float64Array): Record<string, HostTensor> {
  const r = prng(seed);
  const d = new GaussianDiffusion(betaSchedule('cosine', cfg.timesteps));
  const x0 = Float64Array.from({ length: B * N * CHANNELS }, () => Math.tanh(r.normal()));
  const noise = Float64Array.from({ length: x0.length }, () => r.normal());
  const img = image ?? Float64Array.from({ length: B * S * S * 3 }, () => 2 * r.next() - 1);
  return {
    ...diffusionFeeds(d, x0, Int32Array.from([3, 20]), noise, [B, N, CHANNELS], false, '', 'float64'),
    image: hostTensor('float64', [B, S, S, 3], img),
    keep: hostTensor('float64', [B, 1], keep),
  };
}

describe('patchify', () => {
  it('puts pixel (gy·p + py, gx·p + px, c) at patch gy·g + gx, element (py·p + px)·3 + c', () => {
    const side = 6;
    const p = 3;
    const g = side / p;
    const img = input('img', [2, side, side, 3], 'float64');
    const vals = Float64Array.from({ length: 2 * side * side * 3 }, (_, i) => i);
    const [out] = interpret([patchify(img, p)], { img: hostTensor('float64', [2, side, side, 3], vals) });
    expect(out!.shape).toEqual([2, g * g, p * p * 3]);
    for (let b = 0; b < 2; b++)
      for (let gy = 0; gy < g; gy++)
        for (let gx = 0; gx < g; gx++)
          for (let py = 0; py < p; py++)
            for (let px = 0; px < p; px++)
              for (let c = 0; c < 3; c++) {
                const pixel = ((b * side + gy * p + py) * side + gx * p + px) * 3 + c;
                const at = (b * g * g + gy * g + gx) * p * p * 3 + (py * p + px) * 3 + c;
                expect(out!.data[at]).toBe(pixel);
              }
  });
});

describe('the image condition', () => {
  it('is a grid of (S/p)² tokens, or one token pooled', () => {
    for (const [cond, K] of [
      ['image', (S / 2) ** 2],
      ['image-pooled', 1],
    ] as const) {
      const cfg = cfgOf(cond);
      expect(condTokens(cfg)).toBe(K);
      const model = new PointE(cfg, 0);
      const inp = pointeInputs(cfg, B, N);
      expect(model.condition(inp.cond, inp.keep).shape).toEqual([B, K, cfg.width]);
      expect(model.forward(inp.diffusion.xt, inp.diffusion.t, inp.cond, inp.keep).shape).toEqual([B, N, CHANNELS]);
      expect(model.ps.specs.some((s) => s.name.startsWith('text.'))).toBe(false);
    }
    expect(() => pointeConfig({ cond: 'image', imageSize: 30, patch: 4 })).toThrow(/not divisible by patch/);
    expect(() => pointeConfig({ cond: 'picture' })).toThrow(/unknown cond 'picture'/);
  });

  const H = 1e-6;
  for (const cond of ['image', 'image-pooled'] as const) {
    it(`${cond}: the loss gradient through the encoder matches finite differences`, () => {
      const cfg = cfgOf(cond);
      const model = new PointE(cfg, 0);
      const inp = pointeInputs(cfg, B, N);
      const obj = objective({ ps: model.ps, losses: pointeObjective(model, inp), data: [] });
      const feeds = { ...weights64(model.ps, 11), ...feedsOf(cfg, 12) };
      const params = model.ps.inputs.filter((p) => p.name!.startsWith('image.') || p.name!.startsWith('cond_proj'));
      expect(params.length).toBeGreaterThan(8);
      const grads = interpret(grad(obj.loss, params), feeds);
      params.forEach((p, k) => {
        for (const i of new Set([0, Math.floor(p.size / 2), p.size - 1])) {
          const at = (dx: number) => {
            const data = Float64Array.from(feeds[p.name!]!.data as Float64Array);
            data[i]! += dx;
            return interpret([obj.loss], { ...feeds, [p.name!]: hostTensor('float64', p.shape, data) })[0]!.data[0] as number;
          };
          const f = (at(H) - at(-H)) / (2 * H);
          const g = grads[k]!.data[i] as number;
          expect(Math.abs(g - f), `${p.name}[${i}]: autodiff ${g}, finite differences ${f}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(f)));
        }
      });
    });

    it(`${cond}: a dropped condition makes the output independent of the view`, () => {
      const cfg = cfgOf(cond);
      const model = new PointE(cfg, 0);
      const inp = pointeInputs(cfg, B, N);
      const out = model.forward(inp.diffusion.xt, inp.diffusion.t, inp.cond, inp.keep);
      const w = weights64(model.ps, 3);
      const r = prng(4);
      const other = Float64Array.from({ length: B * S * S * 3 }, () => 2 * r.next() - 1);
      const run = (keep: number[], img?: Float64Array) =>
        interpret([out], { ...w, ...feedsOf(cfg, 5, keep, img) })[0]!.data as Float64Array;
      const a = run([0, 0]);
      const b = run([0, 0], other);
      for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 12);
      const c = run([1, 1]);
      const d = run([1, 1], other);
      expect(Math.max(...c.map((x, i) => Math.abs(x - d[i]!)))).toBeGreaterThan(1e-3);
    });
  }
});

describe('the view', () => {
  const image = (w: number, h: number, rgb: number[], alpha?: number[]) => ({
    width: w,
    height: h,
    rgb: Uint8Array.from(rgb),
    alpha: Uint8Array.from(alpha ?? new Array(w * h).fill(255)),
  });

  it('halves by 2 × 2 means, composites alpha over white, maps to [−1, 1]', () => {
    // 2 × 2 → 1: red channel 0, 255, 51, 204 → mean 127.5; the transparent pixel counts as white
    const img = image(2, 2, [0, 0, 0, 255, 0, 0, 51, 0, 0, 204, 0, 0], [255, 255, 255, 255]);
    const x = viewChannels(img, 1);
    expect(x[0]).toBeCloseTo((2 * 127.5) / 255 - 1, 6);
    expect(x[1]).toBeCloseTo(-1, 6);
    const clear = viewChannels(image(2, 2, new Array(12).fill(0), [0, 0, 0, 255]), 1);
    expect(clear[0]).toBeCloseTo(2 * 0.75 - 1, 6); // three white pixels and one black
  });

  it('weights partly covered pixels by area (3 → 2 pixels)', () => {
    // a 3 × 1 row of red 0, 90, 180 to 2 pixels: [0, 1.5) = (0 + 0.5·90)/1.5, [1.5, 3) = (0.5·90 + 180)/1.5
    const img = image(3, 1, [0, 0, 0, 90, 0, 0, 180, 0, 0]);
    const x = viewChannels(img, 2); // rows stretch from 1 to 2: both rows the same
    expect(x[0]).toBeCloseTo((2 * 30) / 255 - 1, 5);
    expect(x[3]).toBeCloseTo((2 * 150) / 255 - 1, 5);
    expect(x[6]).toBeCloseTo(x[0]!, 6);
  });

  it('refuses a file that is not a PNG, naming it', () => {
    const bytes = new TextEncoder().encode('a red cube\n');
    expect(() => decodeView(bytes, 'view.txt')).toThrow(TonyError);
    expect(() => decodeView(bytes, 'view.txt')).toThrow(/view\.txt is not a PNG image/);
    const png = encodePng(image(2, 2, new Array(12).fill(10)));
    expect(decodeView(png, 'ok.png').width).toBe(2);
    expect(() => decodeView(png.slice(0, 20), 'cut.png')).toThrow(/cut\.png: a damaged PNG/);
  });
});

describe('held-out combinations of attributes', () => {
  const scenes = Array.from({ length: 3000 }, (_, i) => ({ scene: captionOf(generateScene(0, i).attributes, 0) }));
  const { train, val, combo, arrangement } = splitByScene(scenes);
  const pairs = (xs: { scene: string }[]) => xs.flatMap((x) => parseCaption(x.scene).objects.map((o) => `${o.color} ${o.shape}`));

  it('trains on no held-out (colour, shape) pair, but on each colour and shape of them', () => {
    const trained = new Set(pairs(train));
    for (const [c, s] of HELD_OUT_COMBOS) {
      expect(trained.has(`${c} ${s}`), `${c} ${s}`).toBe(false);
      expect(
        [...trained].some((p) => p.startsWith(`${c} `) && p !== `${c} ${s}`),
        c,
      ).toBe(true);
      expect(
        [...trained].some((p) => p.endsWith(` ${s}`) && p !== `${c} ${s}`),
        s,
      ).toBe(true);
      expect(pairs(combo)).toContain(`${c} ${s}`);
    }
    // by hand: "a small red torus on top of a blue sphere" has a held-out pair, "a blue torus" none
    expect(isHeldOutCombo('a small red torus on top of a blue sphere')).toBe(true);
    expect(isHeldOutCombo('a blue torus')).toBe(false);
  });

  it('trains on no held-out (colour, arrangement) pair, but on each colour and arrangement of them', () => {
    // pairs written from the parsed caption here, not through arrangementOf: n objects, relation[0]
    const colourArr = (xs: { scene: string }[]) =>
      xs.flatMap((x) => {
        const a = parseCaption(x.scene);
        const arr = a.objects.length === 1 ? 'one object' : a.objects.length === 3 ? 'a stack of three' : a.relations[0];
        return a.objects.map((o) => `${o.color}|${arr}`);
      });
    const trained = new Set(colourArr(train));
    const held = colourArr(arrangement);
    for (const [c, a] of HELD_OUT_ARRANGEMENTS) {
      expect(trained.has(`${c}|${a}`), `${c} in ${a}`).toBe(false);
      expect(
        [...trained].some((p) => p.startsWith(`${c}|`)),
        c,
      ).toBe(true);
      expect(
        [...trained].some((p) => p.endsWith(`|${a}`)),
        a,
      ).toBe(true);
      expect(held).toContain(`${c}|${a}`);
    }
    // every held-out item has such a pair and no held-out (colour, shape) pair
    for (const x of arrangement) {
      expect(HELD_OUT_ARRANGEMENTS.some(([c, a]) => colourArr([x]).includes(`${c}|${a}`))).toBe(true);
      expect(isHeldOutCombo(x.scene)).toBe(false);
    }
    // by hand: the second object's colour counts too; a stack is its own arrangement
    expect(isHeldOutArrangement('a purple cube')).toBe(true);
    expect(isHeldOutArrangement('a purple cube next to a gray sphere')).toBe(false);
    expect(isHeldOutArrangement('a gray sphere next to a small pink cone')).toBe(true);
    expect(isHeldOutArrangement('a cyan cube on top of a gray sphere')).toBe(false);
    expect(isHeldOutArrangement('a purple torus')).toBe(true);
    expect(isHeldOutArrangement('a red torus on top of an orange sphere')).toBe(false); // a (colour, shape) combination first
    expect(arrangementOf(parseCaption('a cyan cube on top of a gray sphere on top of a white cone'))).toBe('a stack of three');
  });

  it('keeps the four sets disjoint, and the held-out scenes a tenth of the rest', () => {
    expect(train.length + val.length + combo.length + arrangement.length).toBe(scenes.length);
    const t = new Set(train.map((x) => x.scene));
    for (const x of [...val, ...combo, ...arrangement]) expect(t.has(x.scene)).toBe(false);
    for (const x of val) expect(isHeldOutCombo(x.scene) || isHeldOutArrangement(x.scene)).toBe(false);
    for (const x of combo) expect(isHeldOut(x.scene) || isHeldOutArrangement(x.scene)).toBe(false);
    for (const x of arrangement) expect(isHeldOut(x.scene)).toBe(false);
    expect(arrangement.length / scenes.length).toBeGreaterThan(0.05);
    expect(arrangement.length / scenes.length).toBeLessThan(0.15);
    expect(combo.length / scenes.length).toBeGreaterThan(0.03);
    expect(combo.length / scenes.length).toBeLessThan(0.15);
    expect(val.length / (train.length + val.length)).toBeGreaterThan(0.05);
    expect(val.length / (train.length + val.length)).toBeLessThan(0.2);
  });
});
