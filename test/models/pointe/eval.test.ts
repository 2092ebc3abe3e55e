/**
 * Point-E's evaluation against answers known in advance: a "model" whose sample is the caption's own
 * true surface (an independent draw from its exact mesh) must score what the floor scores — near-zero
 * Chamfer, F-score near 1 — and one that always answers another caption's shape must score the
 * wrong-caption reference; the held-out captions are exactly the held-out scenes of the split, and
 * the held-out combinations exactly the items with a held-out (colour, shape) pair or colour ×
 * arrangement pair; an upsampler chained after it is scored on the sample's farthest-point subsample
 * (recomputed here), and one adding true surface points lowers Chamfer, one adding far points raises it;
 * a run over a later part of a set (`first`) scores each scene exactly as a run over the whole set does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HELD_OUT_ARRANGEMENTS, HELD_OUT_COMBOS, isHeldOutCombo } from '../../../src/models/pointe/data.ts';
import { evaluatePointE, heldOutCaptions, heldOutScenes, mean, truthCloud } from '../../../src/models/pointe/eval.ts';
import { isHeldOut } from '../../../src/models/pointe/kind.ts';
import type { PointEModel } from '../../../src/models/pointe/model.ts';
import type { PointEUpsamplerModel } from '../../../src/models/pointe/upsample.ts';
import { generateDataset } from '../../../src/shape/dataset.ts';
import { meshField } from '../../../src/shape/marching-cubes.ts';
import type { PointCloud } from '../../../src/shape/mesh.ts';
import { chamferDistance } from '../../../src/shape/metrics.ts';
import { farthestPointSample, sampleSurface } from '../../../src/shape/pointcloud.ts';
import { buildScene, captionOf, parseCaption } from '../../../src/shape/scenes.ts';
import { compileShape } from '../../../src/shape/sdf.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-pointe-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const surface = (caption: string, n: number, seed: number) =>
  sampleSurface(meshField(compileShape(buildScene(parseCaption(caption))), 48), n, { seed });

describe('pointe eval', () => {
  it('scores the true shape at the floor and a wrong shape at the wrong-caption reference', async () => {
    const data = join(dir, 'shapes');
    const entries = await generateDataset(data, { count: 60, points: 64, grid: 16, views: 1, size: 8, supersample: 1 });
    const captions = await heldOutCaptions(data, 3);
    const held = entries.filter((e) => isHeldOut(captionOf(e.attributes, 0)));
    expect(captions.length).toBe(Math.min(3, new Set(held.map((e) => captionOf(e.attributes, 0))).size));
    for (const c of captions) expect(isHeldOut(captionOf(parseCaption(c), 0))).toBe(true);
    // the held-out combinations: every item has an object of a held-out (colour, shape) pair, with its render
    const combos = entries.filter((e) =>
      e.attributes.objects.some((o) => HELD_OUT_COMBOS.some(([c, s]) => o.color === c && o.shape === s)),
    );
    expect(combos.length).toBeGreaterThan(0); // 3 of these 60 items
    {
      const items = await heldOutScenes(data, 100, 'combos');
      expect(items.length).toBe(new Set(combos.map((e) => captionOf(e.attributes, 0))).size);
      for (const x of items) {
        expect(isHeldOutCombo(captionOf(parseCaption(x.caption), 0))).toBe(true);
        expect(x.render).toMatch(/renders\/.*_0\.png$/);
      }
    }
    {
      // the held-out colour × arrangement combinations: computed here from the attributes directly
      const arr = (a: (typeof entries)[number]['attributes']) =>
        a.objects.length === 1 ? 'one object' : a.objects.length === 3 ? 'a stack of three' : a.relations[0];
      const expected = entries.filter(
        (e) =>
          !combos.includes(e) &&
          e.attributes.objects.some((o) => HELD_OUT_ARRANGEMENTS.some(([c, a]) => o.color === c && arr(e.attributes) === a)),
      );
      expect(expected.length).toBeGreaterThan(0);
      const items = await heldOutScenes(data, 100, 'arrangements');
      expect(new Set(items.map((x) => captionOf(parseCaption(x.caption), 0)))).toEqual(
        new Set(expected.map((e) => captionOf(e.attributes, 0))),
      );
    }

    const N = 256;
    const fake = (answer: (caption: string) => string) =>
      ({
        cfg: { points: N, cond: 'text' },
        sample: async ({ caption, seed }: { caption: string; seed?: number }) => ({
          cloud: surface(answer(caption), N, 99 + (seed ?? 0)),
          seconds: 0,
        }),
      }) as unknown as PointEModel;
    const opts = { scenes: 3, guidance: [3], tau: 0.05, truthPoints: 2048 };
    const right = await evaluatePointE(
      fake((c) => c),
      captions,
      opts,
    );
    const g = right.byGuidance[0]!;
    // the same surface drawn twice: both are the floor up to sampling noise and mesh resolution
    expect(g.chamfer).toBeLessThan(2 * right.floor.chamfer + 1e-4);
    expect(g.fscore).toBeGreaterThan(right.floor.fscore - 0.1);
    expect(right.floor.fscore).toBeGreaterThan(0.8);
    if (captions.length > 1) {
      const next = (c: string) => captions[(captions.indexOf(c) + 1) % captions.length]!;
      const wrong = await evaluatePointE(fake(next), captions, opts);
      expect(wrong.byGuidance[0]!.chamfer).toBeGreaterThan(0.5 * wrong.wrongCaption.chamfer);
      expect(wrong.byGuidance[0]!.chamfer).toBeGreaterThan(5 * g.chamfer);
    }

    // an upsampler chained after the base model: its input is the sample farthest-point subsampled to
    // M, scored here independently; one adding true surface points lowers Chamfer, one adding points
    // far outside the shape raises it
    const M = 32;
    const stand = (extra: (low: PointCloud, caption: string) => PointCloud) => {
      let k = 0;
      return {
        cfg: { lowResPoints: M, points: 96 },
        upsample: async (low: PointCloud) => {
          expect(low.xyz.length / 3).toBe(M);
          const add = extra(low, captions[Math.floor(k++ / opts.guidance.length)]!);
          return { cloud: { xyz: Float32Array.from([...low.xyz, ...add.xyz]) }, seconds: 0 };
        },
      } as unknown as PointEUpsamplerModel;
    };
    const good = await evaluatePointE(
      fake((c) => c),
      captions,
      {
        ...opts,
        upsampler: stand((_low, c) => surface(c, 96, 3)),
      },
    );
    const bad = await evaluatePointE(
      fake((c) => c),
      captions,
      {
        ...opts,
        upsampler: stand(() => ({ xyz: new Float32Array(96 * 3).fill(0.9) })),
      },
    );
    for (const [i, c] of captions.entries()) {
      const truth = truthCloud(c, opts.truthPoints, 1000 + i).xyz;
      const low = farthestPointSample(surface(c, N, 99 + i), M).xyz;
      expect(good.rows[i]!.upsampled!.input.chamfer).toBeCloseTo(chamferDistance(low, truth).chamfer, 10);
    }
    const u = good.upsampled![0]!;
    expect(u.change.mean).toBeLessThan(0);
    expect(u.chamfer).toBeLessThan(u.inputChamfer);
    expect(bad.upsampled![0]!.change.mean).toBeGreaterThan(0.1); // 96 points 0.4+ from the unit cube's centre
  }, 120_000);

  it('scores a later part of a set (first = k) exactly as the whole run scores those scenes', async () => {
    const data = join(dir, 'parts');
    await generateDataset(data, { count: 120, points: 64, grid: 16, views: 1, size: 8, supersample: 1 });
    const all = await heldOutCaptions(data, 100);
    expect(all.length).toBeGreaterThanOrEqual(4);
    // the part is the list's tail from index 2, capped at the limit, and nothing past the end
    expect(await heldOutCaptions(data, 2, 'scenes', 2)).toEqual(all.slice(2, 4));
    expect(await heldOutCaptions(data, 100, 'scenes', 2)).toEqual(all.slice(2));
    await expect(heldOutCaptions(data, 5, 'scenes', all.length)).rejects.toThrow(`after the first ${all.length} (it holds ${all.length})`);
    const N = 64;
    // a "model" whose sample depends on its seed: the part's seeds must be the scenes' own indices
    const model = {
      cfg: { points: N, cond: 'text' },
      sample: async ({ caption, seed }: { caption: string; seed?: number }) => ({
        cloud: surface(caption, N, 99 + (seed ?? 0)),
        seconds: 0,
      }),
    } as unknown as PointEModel;
    const opts = { scenes: 100, guidance: [1], tau: 0.05, truthPoints: 1024 };
    const whole = await evaluatePointE(model, all, opts);
    const part = await evaluatePointE(model, all.slice(2), { ...opts, first: 2 });
    for (const [i, r] of part.rows.entries()) {
      expect(r.caption).toBe(whole.rows[i + 2]!.caption);
      expect(r.chamfer).toBe(whole.rows[i + 2]!.chamfer);
      expect(r.fscore).toBe(whole.rows[i + 2]!.fscore);
    }
    // and the seeds do move with the index: the part run from 0 would score its first scene differently
    const shifted = await evaluatePointE(model, all.slice(2), opts);
    expect(shifted.rows[0]!.chamfer).not.toBe(part.rows[0]!.chamfer);
    // another point count: the model is asked for it, and the floor is a draw of as many true points
    const asked: (number | undefined)[] = [];
    const counted = {
      cfg: { points: N, cond: 'text' },
      sample: async ({ caption, seed, points }: { caption: string; seed?: number; points?: number }) => {
        asked.push(points);
        return { cloud: surface(caption, points ?? N, 99 + (seed ?? 0)), seconds: 0 };
      },
    } as unknown as PointEModel;
    const more = await evaluatePointE(counted, all.slice(0, 2), { ...opts, points: 256 });
    expect(asked).toEqual([256, 256]);
    const floor256 = mean(
      all.slice(0, 2).map((c, i) => chamferDistance(truthCloud(c, 256, 5000 + i).xyz, truthCloud(c, 1024, 1000 + i).xyz).chamfer),
    );
    expect(more.floor.chamfer).toBeCloseTo(floor256, 10);
    const fewer = await evaluatePointE(counted, all.slice(0, 2), opts);
    expect(more.floor.chamfer).toBeLessThan(fewer.floor.chamfer); // 256 points cover the surface better than 64
  }, 120_000);
});
