/**
 * Shap-E's two decoders of one latent through the real graphs (ShapeEModel: the implicit-function
 * graph on ONNX Runtime), with weights set by hand so that the implicit function is known in closed
 * form: SiLU(u) + SiLU(−u) = u·tanh(u/2) = u²/2 + O(u⁴), so a first layer of ±s·x, ±s·y, ±s·z and a
 * second that sums them (shifted by +20, where SiLU is the identity to 1e−7) give
 * Σ = s²|p|²/2 (1 + O(s²|p|²)); the head reads sdf = (2/s²)(Σ + 20) − 40/s² − r² ≈ |p|² − r²,
 * raw density ∝ r² − |p|², and a constant colour. So:
 *  - STF: the mesh is closed, its area and volume are the sphere's 4πr² and 4/3·πr³ within 1 %, every
 *    vertex carries the head's colour, and the GLB written from it reads back the same;
 *  - NeRF: the render's silhouette is the sphere's — IoU ≥ 0.95 against the mesh render from the
 *    same camera — and its colour is the head's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../../src/engine/runtime.ts';
import { loadWeights } from '../../../src/engine/state.ts';
import { ShapeEModel } from '../../../src/models/shape-e/model.ts';
import { latentRows } from '../../../src/models/shape-e/shape-e.ts';
import { readShapeFile, writeMeshFile } from '../../../src/shape/files.ts';
import { isWatertight, meshArea, meshVolume } from '../../../src/shape/mesh.ts';
import { orbitCameras, renderMesh } from '../../../src/shape/render.ts';
import { COLOR, cfg, R, S, sphereWeights } from './sphere.ts';

describe('one latent, two decoders (the real graphs, hand-set weights: the implicit function is |p|² − r²)', () => {
  let m: ShapeEModel;
  let dir: string;
  const latent = new Float32Array(latentRows(cfg) * cfg.latentWidth); // zeros: the weights are the learned bias rows

  beforeAll(async () => {
    const rt = await Runtime.start({ threads: 1 });
    await loadWeights(rt, sphereWeights());
    m = new ShapeEModel('sphere', cfg, rt);
    dir = await mkdtemp(join(tmpdir(), 'shape-e-stf-'));
  });
  afterAll(async () => {
    await m.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the implicit function is (2/s²) Σ s·x·tanh(s·x/2) − r² exactly (float32), ≈ |p|² − r², coloured (0.2, 0.5, 0.8)', async () => {
    const p = Float32Array.from([0, 0, 0, 0.3, 0, 0, 0.1, -0.2, 0.4, -0.5, 0.5, 0.5]);
    const v = await m.query(latent, p);
    for (let i = 0; i < 4; i++) {
      const x = [p[3 * i]!, p[3 * i + 1]!, p[3 * i + 2]!];
      const exact = (2 / (S * S)) * x.reduce((a, c) => a + S * c * Math.tanh((S * c) / 2), 0) - R * R;
      expect(Math.abs(v.sdf[i]! - exact)).toBeLessThan(1e-4);
      // the series' first neglected term, Σ s²x⁴/12, bounds the distance to |p|² − r²
      const r2 = x.reduce((a, c) => a + c * c, 0);
      expect(Math.abs(v.sdf[i]! - (r2 - R * R))).toBeLessThanOrEqual(x.reduce((a, c) => a + (S * S * c ** 4) / 12, 0) + 1e-4);
      for (let k = 0; k < 3; k++) expect(v.rgb[3 * i + k]!).toBeCloseTo(COLOR[k]!, 5);
    }
  });

  it('STF: a closed mesh with the sphere’s area and volume, vertex colours from the head, written to GLB and read back', async () => {
    const mesh = await m.mesh(latent, { grid: 48 });
    expect(isWatertight(mesh)).toBe(true);
    expect(meshArea(mesh) / (4 * Math.PI * R * R)).toBeCloseTo(1, 2);
    expect(meshVolume(mesh) / ((4 / 3) * Math.PI * R ** 3)).toBeCloseTo(1, 2);
    for (let i = 0; i < mesh.colors!.length; i++) expect(mesh.colors![i]!).toBeCloseTo(COLOR[i % 3]!, 5);
    const file = join(dir, 'sphere.glb');
    await writeMeshFile(file, mesh);
    const back = await readShapeFile(file);
    if (back.kind !== 'mesh') throw new Error('expected a mesh');
    expect(back.mesh.positions).toEqual(mesh.positions);
    expect(Array.from(back.mesh.colors!).every((c, i) => Math.abs(c - COLOR[i % 3]!) < 1e-5)).toBe(true);
  });

  it("NeRF: the render's silhouette matches the mesh's from the same camera (IoU ≥ 0.95), in the head's colour", async () => {
    const cam = orbitCameras(1, { size: 48 })[0]!;
    const nerf = await m.renderNerf(latent, cam, { coarse: 32, fine: 64 });
    const mesh = renderMesh(await m.mesh(latent, { grid: 48 }), cam);
    let inter = 0;
    let union = 0;
    for (let p = 0; p < nerf.alpha.length; p++) {
      const a = nerf.alpha[p]! > 127;
      const b = mesh.alpha[p]! > 127;
      if (a && b) inter++;
      if (a || b) union++;
      if (nerf.alpha[p] === 255)
        for (let k = 0; k < 3; k++) expect(Math.abs(nerf.rgb[3 * p + k]! - 255 * COLOR[k]!)).toBeLessThanOrEqual(1);
    }
    expect(union).toBeGreaterThan(100);
    expect(inter / union).toBeGreaterThanOrEqual(0.95);
  });
});
