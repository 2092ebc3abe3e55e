/**
 * Point-E end to end at test size: a `tony shapes generate` folder → the registry row's data reader
 * (held out by scene, FPS to N points) → a few training steps through the one recipe → the run
 * loaded by `loadModel` → a guided Karras sample, and one of 4,608 points (beyond Point-E's 4,096). Checked: the held-out validation loss falls below
 * its value at initialisation (whose ε̂ is exactly 0, so its L_simple is E[ε²] = 1 — the analytic
 * start); the split never puts a scene on both sides; samples have the asked number of points, all
 * inside the unit cube (x̂_0 is clipped to [−1, 1] in model channels, i.e. ±½ in the world).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../../src/engine/runtime.ts';
import { loadModel } from '../../../src/models/index.ts';
import { readViewFile } from '../../../src/models/pointe/image.ts';
import { pointeKind, readShapes } from '../../../src/models/pointe/kind.ts';
import type { PointEModel } from '../../../src/models/pointe/model.ts';
import { trainWithRecipe } from '../../../src/models/recipe.ts';
import { generateDataset } from '../../../src/shape/dataset.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-pointe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pointe: data → train → sample', () => {
  it('trains on held-out-split shapes and samples clouds inside the unit cube', async () => {
    const data = join(dir, 'shapes');
    await generateDataset(data, { count: 40, points: 128, grid: 24, views: 1, size: 16, supersample: 1 });
    const cfg = pointeKind.config({ preset: 'tiny' });
    const shapes = await readShapes([data], cfg);
    const scenes = (xs: { scene: string }[]) => new Set(xs.map((x) => x.scene));
    const trainScenes = scenes(shapes.train);
    for (const s of scenes(shapes.val)) expect(trainScenes.has(s), s).toBe(false);
    expect(shapes.train[0]!.x0.length).toBe(cfg.points * 6);

    const rt = await Runtime.start({ threads: 1 });
    const out = join(dir, 'run');
    let result: Awaited<ReturnType<typeof trainWithRecipe>>;
    try {
      const task = pointeKind.task(cfg, shapes, { batch: 8, seed: 0 });
      result = await trainWithRecipe(rt, task, {
        steps: 60,
        lr: 3e-3,
        warmup: 5,
        seed: 0,
        evalEvery: 60,
        evalBatches: 2,
        checkpointEvery: 60,
        out,
        resume: false,
      });
    } finally {
      await rt.close();
    }
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const first = rows.find((r) => 'loss_mse' in r);
    expect(first.loss_mse).toBeGreaterThan(0.9); // ε̂ = 0 at initialisation: E[ε²] = 1 up to the batch's draw
    expect(first.loss_mse).toBeLessThan(1.1);
    const val = rows.filter((r) => 'val_loss' in r).at(-1);
    expect(val.val_loss).toBeLessThan(first.loss_mse - 0.05);
    expect(result!.finalStep).toBe(60);

    const m = (await loadModel(out, { threads: 1 })) as PointEModel;
    try {
      expect(m.kind).toBe('pointe');
      const { cloud } = await m.sample({ caption: shapes.val[0]!.caption, points: 40, guidance: 3, steps: 6, seed: 1 });
      expect(cloud.xyz.length).toBe(40 * 3);
      for (const v of cloud.xyz) expect(Math.abs(v)).toBeLessThanOrEqual(0.5 + 1e-6);
      for (const v of cloud.rgb!) expect(v >= 0 && v <= 1).toBe(true);
      // beyond Point-E's 4,096 (its upsampler's fixed output): no positional encoding, so the same
      // network draws any N; 4,608 points, every one inside the cube and (a continuous draw) distinct
      const big = (await m.sample({ caption: shapes.val[0]!.caption, points: 4608, guidance: 1, steps: 6, seed: 2 })).cloud;
      expect(big.xyz.length).toBe(4608 * 3);
      for (const v of big.xyz) expect(Math.abs(v)).toBeLessThanOrEqual(0.5 + 1e-6);
      const distinct = new Set(Array.from({ length: 4608 }, (_, i) => big.xyz.subarray(3 * i, 3 * i + 3).join()));
      expect(distinct.size).toBeGreaterThan(4600);
      // bad input, at the library: each a usage error saying what is wrong
      const caption = shapes.val[0]!.caption;
      await expect(m.sample({ caption: ' ' })).rejects.toThrow(/the caption is empty/);
      for (const points of [0, 2.5, 20000])
        await expect(m.sample({ caption, points })).rejects.toThrow(/--points must be an integer in \[1, 16384\]/);
      const view = await readViewFile(join(data, 'renders', `${shapes.val[0]!.id}_0.png`));
      await expect(m.sample({ image: view })).rejects.toThrow(/conditioned on text: give it a caption, not an image/);
    } finally {
      await m.close();
    }
  }, 120_000);

  it('an image-conditioned model trains on the renders and samples from a view, and refuses a caption', async () => {
    const data = join(dir, 'shapes-img');
    await generateDataset(data, { count: 40, points: 128, grid: 24, views: 1, size: 16, supersample: 1 });
    const cfg = pointeKind.config({ preset: 'tiny', cond: 'image', imageSize: 8, patch: 4 });
    const shapes = await readShapes([data], cfg);
    expect(shapes.train[0]!.image!.length).toBe(8 * 8 * 3);
    const rt = await Runtime.start({ threads: 1 });
    const out = join(dir, 'run-img');
    try {
      const task = pointeKind.task(cfg, shapes, { batch: 8, seed: 0 });
      await trainWithRecipe(rt, task, {
        steps: 30,
        lr: 3e-3,
        warmup: 5,
        seed: 0,
        evalEvery: 30,
        evalBatches: 1,
        checkpointEvery: 30,
        out,
        resume: false,
      });
    } finally {
      await rt.close();
    }
    const val = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => 'val_loss' in r)
      .at(-1);
    expect(val.val_loss).toBeLessThan(0.95); // from E[ε²] = 1 at initialisation
    const m = (await loadModel(out, { threads: 1 })) as PointEModel;
    try {
      const view = await readViewFile(join(data, 'renders', `${shapes.val[0]!.id}_0.png`));
      const { cloud } = await m.sample({ image: view, points: 24, guidance: 3, steps: 4, seed: 1 });
      expect(cloud.xyz.length).toBe(24 * 3);
      for (const v of cloud.xyz) expect(Math.abs(v)).toBeLessThanOrEqual(0.5 + 1e-6);
      await expect(m.sample({ caption: 'a red cube' })).rejects.toThrow(/conditioned on an image .* not a caption/);
    } finally {
      await m.close();
    }
  }, 120_000);
});
