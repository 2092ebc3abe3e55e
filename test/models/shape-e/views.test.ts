/**
 * The encoder's view input (`inputViews`, src/models/shape-e/shape-e.ts and task.ts):
 *  - views → patch tokens in the order and scale written down by hand for a 4×4 image;
 *  - the encoder's latent has the same shape with views, and depends on them (a changed patch
 *    changes it), and an encoder that reads views refuses to run without them;
 *  - the bundled encoder (trained before the key existed) still loads as a point-only encoder:
 *    inputViews = 0, exactly its checkpoint's parameters, and it still encodes a true torus to a
 *    mesh near the exact torus (the bundled-model test's bound).
 * The gradient through the view path is checked by finite differences in implicit.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hostTensor } from '../../../src/engine/dtype.ts';
import { interpret } from '../../../src/engine/interpret.ts';
import { input } from '../../../src/engine/tensor.ts';
import { TonyError } from '../../../src/errors.ts';
import { truthCloud } from '../../../src/models/pointe/eval.ts';
import { loadShapeE } from '../../../src/models/shape-e/model.ts';
import {
  latentRows,
  POINT_CHANNELS,
  SHAPEE_PRESETS,
  ShapeEAutoencoder,
  shapeEConfig,
  viewTokenShape,
} from '../../../src/models/shape-e/shape-e.ts';
import { inputCameras, viewPatches } from '../../../src/models/shape-e/task.ts';
import { prng } from '../../../src/random.ts';
import { chamferDistance } from '../../../src/shape/metrics.ts';
import { sampleSurface } from '../../../src/shape/pointcloud.ts';

describe('Shap-E encoder: rendered views as input', () => {
  it('a 4×4 view → four 2×2 patches in raster order, RGBA scaled to [−1, 1] (by hand)', () => {
    const cfg = shapeEConfig({ ...SHAPEE_PRESETS.tiny, inputViews: 1, viewSize: 4, patch: 2 });
    // pixel (x, y) has red = 16·y + x, green 255, blue 0, alpha 255 on the left half and 0 on the right
    const rgb = new Uint8Array(48);
    const alpha = new Uint8Array(16);
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 4; x++) {
        rgb.set([16 * y + x, 255, 0], 3 * (4 * y + x));
        alpha[4 * y + x] = x < 2 ? 255 : 0;
      }
    const p = viewPatches(cfg, [{ width: 4, height: 4, rgb, alpha }]);
    expect(p.length).toBe(4 * 16);
    const s = (v: number) => (2 * v) / 255 - 1;
    // patch 1 is the top-right one: pixels (2,0) (3,0) (2,1) (3,1), transparent
    const expected = [2, 3, 18, 19].flatMap((red) => [s(red), 1, -1, -1]);
    expect(Array.from(p.subarray(16, 32))).toEqual(expected.map((v) => Math.fround(v)));
    // patch 2 is the bottom-left one: pixels (0,2) (1,2) (0,3) (1,3), opaque
    expect(Array.from(p.subarray(32, 48))).toEqual([32, 33, 48, 49].flatMap((red) => [s(red), 1, -1, 1]).map((v) => Math.fround(v)));
    expect(() => viewPatches(cfg, [])).toThrow(TonyError);
    expect(() => viewPatches(cfg, [{ width: 8, height: 8, rgb: new Uint8Array(192), alpha: new Uint8Array(64) }])).toThrow(/4×4/);
  });

  it('the latent keeps its shape with views, depends on them, and an encoder with views refuses to run without', () => {
    const cfg = shapeEConfig({ ...SHAPEE_PRESETS.tiny, inputViews: 2, viewSize: 4, patch: 2 });
    const m = new ShapeEAutoencoder(cfg);
    const B = 2;
    const [P, C] = viewTokenShape(cfg);
    const cloud = input('cloud', [B, cfg.points, POINT_CHANNELS]);
    const views = input('views', [B, P, C]);
    const z = m.encode(cloud, views);
    expect(z.shape).toEqual([B, latentRows(cfg), cfg.latentWidth]);
    expect(() => m.encode(cloud)).toThrow(/reads 2 views/);
    const r = prng(1);
    const w = Object.fromEntries(
      m.ps.specs.map((s) => {
        const n = s.shape.reduce((a, b) => a * b, 1);
        return [
          s.name,
          hostTensor(
            'float64',
            s.shape,
            Float64Array.from({ length: n }, () => (s.init.kind === 'ones' ? 1 : 0) + 0.5 * r.normal()),
          ),
        ];
      }),
    );
    const c = Float64Array.from({ length: B * cfg.points * POINT_CHANNELS }, () => r.uniform(-1, 1));
    const v = Float64Array.from({ length: B * P * C }, () => r.uniform(-1, 1));
    const run = (vv: Float64Array) =>
      interpret([z], {
        ...w,
        cloud: hostTensor('float64', [B, cfg.points, POINT_CHANNELS], c),
        views: hostTensor('float64', [B, P, C], vv),
      })[0]!.data as Float64Array;
    const a = run(v);
    const v2 = Float64Array.from(v);
    v2[P * C + 3] = -v2[P * C + 3]!; // one number of the second shape's first patch
    const b = run(v2);
    const per = latentRows(cfg) * cfg.latentWidth;
    for (let i = 0; i < per; i++) expect(b[i]).toBe(a[i]); // the first shape is untouched
    expect(Math.max(...Array.from({ length: per }, (_, i) => Math.abs(b[per + i]! - a[per + i]!)))).toBeGreaterThan(1e-9);
    for (const x of a) expect(Math.abs(x)).toBeLessThanOrEqual(1); // tanh bottleneck
  });

  it('the cameras of the input views are fixed (the same for every shape) at viewSize', () => {
    const cfg = shapeEConfig({ inputViews: 3, viewSize: 16, patch: 8 });
    const a = inputCameras(cfg);
    const b = inputCameras(cfg);
    expect(a.length).toBe(3);
    expect(a.map((c) => [c.width, c.height])).toEqual([
      [16, 16],
      [16, 16],
      [16, 16],
    ]);
    expect(a).toEqual(b);
    expect(() => shapeEConfig({ inputViews: 1, viewSize: 30, patch: 8 })).toThrow(/not divisible by patch/);
    expect(() => shapeEConfig({ inputViews: -1 })).toThrow(/inputViews/);
  });

  it('the bundled encoder, trained before views existed, loads as point-only (inputViews = 0) with exactly its parameters and still encodes', async () => {
    const dir = new URL('../../../models/shape-e/encoder', import.meta.url).pathname;
    const saved = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')) as { model: Record<string, unknown> };
    expect(saved.model.inputViews).toBeUndefined();
    // the safetensors header: an 8-byte little-endian length, then JSON naming every tensor
    const st = readFileSync(`${dir}/model.safetensors`);
    const header = JSON.parse(st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString('utf8')) as Record<string, unknown>;
    const m = await loadShapeE(dir, { threads: 1 });
    try {
      expect(m.cfg.inputViews).toBe(0);
      const names = new ShapeEAutoencoder(m.cfg).ps.specs.map((s) => s.name).sort();
      expect(names.some((n) => n.startsWith('encoder.view_'))).toBe(false);
      // the parameters the model declares are exactly the tensors of the checkpoint's weights file
      expect(names).toEqual(
        Object.keys(header)
          .filter((k) => k !== '__metadata__')
          .sort(),
      );
      const latent = await m.encode(truthCloud('a large red torus', 2048, 1));
      const mesh = await m.mesh(latent, { grid: 48 });
      const pts = sampleSurface(mesh, 4096, { seed: 0 }).xyz;
      expect(chamferDistance(pts, truthCloud('a large red torus', 4096, 2).xyz).chamfer).toBeLessThan(0.005);
    } finally {
      await m.close();
    }
  }, 60_000);
});
