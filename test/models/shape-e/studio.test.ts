/**
 * The Shap-E page's routes (src/serve/routes/shape-e.ts) over a model made here: a tiny diffusion
 * model (random weights) beside an encoder whose implicit-function weights are hand-set so that
 * every latent decodes to the sphere |p| = r (sphere.ts) — so whatever latent the sampler draws,
 * the route's mesh has an analytic answer:
 *  - the GLB the route sends reads back with the vertex count it reports, closed, with the area of
 *    the sphere (4πr², within 1 %) and the head's colour at every vertex; the NeRF PNG decodes to the
 *    asked size with the sphere's silhouette (its coverage against the projected disc's);
 *  - bad input is a 400 naming the field; no model is a 503 saying how to train one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../../src/engine/checkpoint.ts';
import { LatentDiffusion, latentDiffusionInputs } from '../../../src/models/shape-e/shape-e.ts';
import { createServer, type Server } from '../../../src/serve/core/server.ts';
import { SHAPE_E_TRAIN_HINT, shapeERoutes } from '../../../src/serve/routes/shape-e.ts';
import { readGlb } from '../../../src/shape/glb.ts';
import { isWatertight, meshArea } from '../../../src/shape/mesh.ts';
import { decodePng } from '../../../src/shape/render.ts';
import { COLOR, cfg, R, sphereWeights } from './sphere.ts';

const VOCAB = ['a', 'cube', 'large', 'red', 'torus'];
let dir: string;
let server: Server;
let url: string;
let none: Server;
let noneUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-shape-e-studio-'));
  const enc = { kind: 'shape-e', model: { ...cfg } };
  await saveCheckpoint(join(dir, 'encoder'), { config: enc, state: { step: 1 }, params: sphereWeights() });
  const dcfg = {
    ...cfg,
    stage: 'diffusion',
    encoder: '../encoder',
    diffusionWidth: 8,
    diffusionLayers: 1,
    diffusionHeads: 2,
    maxWords: 6,
    timesteps: 16,
  };
  const m = new LatentDiffusion(dcfg, VOCAB.length);
  const inp = latentDiffusionInputs(dcfg, 1);
  m.forward(inp.xt, inp.t, inp.ids, inp.valid, inp.keep); // declares every weight
  await saveCheckpoint(join(dir, 'diffusion'), {
    config: { kind: 'shape-e', model: dcfg, vocab: VOCAB },
    state: { step: 1 },
    params: m.ps.initialize(1),
  });
  server = createServer({ port: 0 });
  server.mount(shapeERoutes({ modelDir: join(dir, 'diffusion') }));
  url = await server.listen();
  none = createServer({ port: 0 });
  none.mount(shapeERoutes({ modelDir: join(dir, 'missing') }));
  noneUrl = await none.listen();
}, 60_000);

afterAll(async () => {
  await server?.close();
  await none?.close();
  await rm(dir, { recursive: true, force: true });
});

const post = (base: string, body: unknown) => fetch(`${base}/api/shape-e/sample`, { method: 'POST', body: JSON.stringify(body) });

describe('Shap-E routes', () => {
  it('a caption → the NeRF render and the STF mesh of one latent (here always the sphere |p| = r)', async () => {
    const res = await post(url, { caption: 'a large red torus', steps: 4, seed: 3, grid: 48, size: 48 });
    expect(res.status).toBe(200);
    const r = (await res.json()) as { nerf: string; glb: string; vertices: number; faces: number; watertight: boolean };
    const mesh = await readGlb(new Uint8Array(Buffer.from(r.glb, 'base64')));
    expect(mesh.positions.length / 3).toBe(r.vertices);
    expect(mesh.indices.length / 3).toBe(r.faces);
    expect(r.watertight).toBe(true);
    expect(isWatertight(mesh)).toBe(true);
    expect(meshArea(mesh) / (4 * Math.PI * R * R)).toBeCloseTo(1, 2);
    for (let i = 0; i < mesh.colors!.length; i++) expect(mesh.colors![i]!).toBeCloseTo(COLOR[i % 3]!, 4);
    const img = decodePng(new Uint8Array(Buffer.from(r.nerf, 'base64')));
    expect([img.width, img.height]).toEqual([48, 48]);
    // the default camera (orbitCameras: fovY 40°, 5 % margin around the unit cube's sphere) sees a disc of angular radius asin(r/d)
    const d = (1.05 * (Math.sqrt(3) / 2)) / Math.sin((40 * Math.PI) / 360);
    const discPx = Math.PI * (((Math.tan(Math.asin(R / d)) / Math.tan((20 * Math.PI) / 180)) * 48) / 2) ** 2;
    // the PNG is opaque on white: a pixel is covered (opacity > ½) when its red channel is below 255·(1 − ½·(1 − 0.2))
    let covered = 0;
    for (let p = 0; p < 48 * 48; p++) if (img.rgb[3 * p]! < 255 * (1 - 0.5 * (1 - COLOR[0]!))) covered++;
    expect(Math.abs(covered - discPx) / discPx).toBeLessThan(0.1);
  }, 60_000);

  it('bad input is a 400 naming the field; no model is a 503 with the training command', async () => {
    for (const [body, field] of [
      [{ caption: ' ' }, 'caption'],
      [{ caption: 'a red cube', guidance: -1 }, 'guidance'],
      [{ caption: 'a red cube', grid: 1000 }, 'grid'],
      [{ caption: 'a red cube', size: 7 }, 'size'],
      [{ caption: 'a red cube', steps: 1.5 }, 'steps'],
    ] as const) {
      const res = await post(url, body);
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toContain(field);
    }
    const res = await post(noneUrl, { caption: 'a red cube' });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(SHAPE_E_TRAIN_HINT);
    const info = (await (await fetch(`${noneUrl}/api/shape-e/model`)).json()) as { available: boolean; train: string };
    expect(info).toMatchObject({ available: false, train: SHAPE_E_TRAIN_HINT });
  });
});
