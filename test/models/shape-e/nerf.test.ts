/**
 * NeRF volume rendering (src/shape/nerf.ts), the renderer of Shap-E's decoder (a), against analytic
 * answers and against src/shape's sphere tracer:
 *  - a density uniform over the whole box: opacity = 1 − exp(−σ·(t_far − t_near)) to 1e−12 on every
 *    pixel, whatever the samples (the intervals tile the ray), and the colour is the field's over white;
 *  - a uniform-density sphere: transmittance exp(−σ·chord) with the chord 2√(r² − b²) known exactly
 *    from the ray's distance b to the centre, within the bound 2σh that misplacing each boundary by
 *    one interval allows (h the coarse spacing), and the fine samples bring the error down;
 *  - an opaque scene (density high inside its exact SDF): the silhouette agrees with renderField's;
 *  - inverse-transform sampling puts samples where the weight is.
 */
import { describe, expect, it } from 'vitest';
import { importanceSamples, rayBox, renderVolume, traceVolume } from '../../../src/shape/nerf.ts';
import { orbitCameras, pixelRays, renderField } from '../../../src/shape/render.ts';
import { generateScene } from '../../../src/shape/scenes.ts';
import { compileShape, type Vec3 } from '../../../src/shape/sdf.ts';

const LO: Vec3 = [-0.55, -0.55, -0.55];
const HI: Vec3 = [0.55, 0.55, 0.55];
const cam = orbitCameras(1, { size: 24 })[0]!;

function constantField(inside: (x: number, y: number, z: number) => boolean, sigma: number, color: Vec3) {
  let points = 0;
  const field = (p: Float32Array) => {
    const n = p.length / 3;
    points += n;
    const density = new Float64Array(n);
    const rgb = new Float64Array(3 * n);
    for (let i = 0; i < n; i++) {
      density[i] = inside(p[3 * i]!, p[3 * i + 1]!, p[3 * i + 2]!) ? sigma : 0;
      rgb.set(color, 3 * i);
    }
    return { density, rgb };
  };
  return { field, count: () => points };
}

describe('NeRF volume rendering', () => {
  it('a density uniform over the box: opacity 1 − exp(−σ·(t_far − t_near)) on every pixel, colour over white', async () => {
    const sigma = 1.7;
    const c: Vec3 = [0.2, 0.6, 0.9];
    const f = constantField(() => true, sigma, c);
    const v = await traceVolume(f.field, cam, { lo: LO, hi: HI, coarse: 16, fine: 32 });
    const { eye, dirs } = pixelRays(cam);
    let hits = 0;
    for (let p = 0; p < v.opacity.length; p++) {
      const hit = rayBox(eye, dirs.subarray(3 * p, 3 * p + 3), LO, HI);
      const want = hit ? 1 - Math.exp(-sigma * (hit[1] - hit[0])) : 0;
      if (hit) hits++;
      expect(v.opacity[p]!).toBeCloseTo(want, 12);
      for (let k = 0; k < 3; k++) expect(v.rgb[3 * p + k]!).toBeCloseTo(want * c[k]! + (1 - want), 12);
    }
    expect(hits).toBeGreaterThan(100);
    expect(f.count()).toBe(hits * (16 + 32)); // every hit ray queried 16 coarse + 32 fine points, misses none
  });

  it('a uniform-density sphere: opacity 1 − exp(−σ·2√(r² − b²)) within 2σh, better with fine samples', async () => {
    const sigma = 4;
    const r = 0.4;
    const f = constantField((x, y, z) => x * x + y * y + z * z < r * r, sigma, [1, 0, 0]);
    const withFine = await traceVolume(f.field, cam, { lo: LO, hi: HI });
    const coarseOnly = await traceVolume(f.field, cam, { lo: LO, hi: HI, fine: 0 });
    const { eye, dirs } = pixelRays(cam);
    let errFine = 0;
    let errCoarse = 0;
    let inside = 0;
    for (let p = 0; p < withFine.opacity.length; p++) {
      const d = dirs.subarray(3 * p, 3 * p + 3);
      const hit = rayBox(eye, d, LO, HI);
      if (!hit) continue;
      // distance b from the centre (the origin) to the ray's line
      const tc = -(eye[0] * d[0]! + eye[1] * d[1]! + eye[2] * d[2]!);
      const b2 = eye[0] ** 2 + eye[1] ** 2 + eye[2] ** 2 - tc * tc;
      const chord = b2 < r * r ? 2 * Math.sqrt(r * r - b2) : 0;
      const want = 1 - Math.exp(-sigma * chord);
      const h = (hit[1] - hit[0]) / 64;
      expect(Math.abs(withFine.opacity[p]! - want)).toBeLessThanOrEqual(2 * sigma * h);
      errFine += Math.abs(withFine.opacity[p]! - want);
      errCoarse += Math.abs(coarseOnly.opacity[p]! - want);
      if (chord > 0) inside++;
    }
    expect(inside).toBeGreaterThan(50);
    expect(errFine).toBeLessThan(errCoarse);
  });

  it("an opaque scene's silhouette matches the sphere tracer's (IoU ≥ 0.97)", async () => {
    const scene = compileShape(generateScene(0, 3).scene);
    const c = orbitCameras(1, { size: 48 })[0]!;
    const field = (p: Float32Array) => {
      const n = p.length / 3;
      const density = new Float64Array(n);
      const rgb = new Float64Array(3 * n);
      const col = [0, 0, 0];
      for (let i = 0; i < n; i++) {
        density[i] = scene.sdf(p[3 * i]!, p[3 * i + 1]!, p[3 * i + 2]!) < 0 ? 2000 : 0;
        scene.color(p[3 * i]!, p[3 * i + 1]!, p[3 * i + 2]!, col);
        rgb.set(col, 3 * i);
      }
      return { density, rgb };
    };
    const nerf = await renderVolume(field, c, { lo: LO, hi: HI });
    const traced = renderField(scene, c, { lo: LO, hi: HI });
    let inter = 0;
    let union = 0;
    for (let p = 0; p < nerf.alpha.length; p++) {
      const a = nerf.alpha[p]! > 127;
      const b = traced.alpha[p]! > 127;
      if (a && b) inter++;
      if (a || b) union++;
    }
    expect(union).toBeGreaterThan(100);
    expect(inter / union).toBeGreaterThanOrEqual(0.97);
  });

  it('inverse-transform sampling follows the weights: all samples in the one weighted interval', () => {
    const edges = [0, 1, 2, 3, 4];
    const s = importanceSamples(edges, [0, 0, 1, 0], 8);
    for (const t of s) expect(t >= 2 && t <= 3).toBe(true);
    // equal weights: the quantiles (k + ½)/n of a uniform on [0, 4]
    const u = importanceSamples(edges, [1, 1, 1, 1], 4);
    expect(Array.from(u)).toEqual([0.5, 1.5, 2.5, 3.5]);
  });
});
