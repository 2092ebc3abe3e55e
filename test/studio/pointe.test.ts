/**
 * The Point-E page and its routes, over tiny base models with random weights made here (no training) in a
 * runs folder made here, and the bundled SDF model (models/pointe/sdf):
 * - the models route lists the base-model run and not an SDF-stage run beside it;
 * - a sample from the route is the one the library draws in this process for the same caption,
 *   guidance, steps and seed (nothing lost on the way);
 * - the mesh route turns a cloud drawn from an exact torus into a watertight GLB whose every vertex
 *   colour (COLOR_0) is that of its nearest input point, found here by brute force;
 * - an image-conditioned run beside it: the models route says which run takes what, and its sample
 *   for a PNG view is the library's for the same decoded image, guidance, steps and seed;
 * - bad input is a 400 naming the field (a caption for the image run, an image for the text run,
 *   bytes that are not a PNG);
 * - in Chromium the page draws exactly the points the route sent, then the mesh the route makes of
 *   them (vertex count as src/shape's GLB reader finds it); picking the image run swaps the caption
 *   for a file input, and an uploaded PNG gives the route's cloud for that PNG; a studio with no
 *   base model says so and shows the training command.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../src/engine/checkpoint.ts';
import { type HostTensor, hostTensor } from '../../src/engine/dtype.ts';
import { truthCloud } from '../../src/models/pointe/eval.ts';
import { loadPointE } from '../../src/models/pointe/model.ts';
import { PointE, pointeConfig, pointeInputs } from '../../src/models/pointe/pointe.ts';
import { prng } from '../../src/random.ts';
import { POINTE_TRAIN_HINT } from '../../src/serve/routes/shapes.ts';
import { readGlb } from '../../src/shape/glb.ts';
import { isWatertight } from '../../src/shape/mesh.ts';
import { farthestPointSample } from '../../src/shape/pointcloud.ts';
import { decodePng, encodePng, type Image } from '../../src/shape/render.ts';
import { type StudioHandle, serveStudio } from '../../src/studio/serve.ts';
import { requires } from '../system.ts';
import { CHROMIUM, gotoStudio, launch, openPage } from './browser.ts';

let dir: string;
let studio: StudioHandle;
let empty: StudioHandle;
let browser: Browser | undefined;
const VOCAB = ['a', 'blue', 'cube', 'large', 'red', 'small', 'sphere', 'torus'];
const SAMPLE = { caption: 'a small red cube', guidance: 3, steps: 4, seed: 7 };
/** A 12 × 12 view, every pixel its own colour (the model resamples it to its 8 × 8). */
const VIEW: Image = {
  width: 12,
  height: 12,
  rgb: Uint8Array.from({ length: 12 * 12 * 3 }, (_, i) => (i * 37) % 256),
  alpha: new Uint8Array(144).fill(255),
};
const VIEW_PNG = join(tmpdir(), `tony-studio-pointe-view-${process.pid}.png`);

/** A run as the trainer leaves it: config.json and metrics.jsonl at the top, the weights in ckpt-1/. */
async function run(name: string, model: Record<string, unknown>): Promise<void> {
  const cfg = pointeConfig(model);
  const config = { kind: 'pointe', model: { ...cfg }, vocab: VOCAB };
  await mkdir(join(dir, name), { recursive: true });
  await writeFile(join(dir, name, 'config.json'), JSON.stringify(config));
  await writeFile(join(dir, name, 'metrics.jsonl'), `${JSON.stringify({ step: 1, loss: 1 })}\n`);
  const params: Record<string, HostTensor> = {};
  if (cfg.stage === 'base') {
    const m = new PointE(cfg, VOCAB.length);
    const inp = pointeInputs(cfg, 1, cfg.points);
    m.forward(inp.diffusion.xt, inp.diffusion.t, inp.cond, inp.keep); // declares every weight
    // every weight random, the zero-initialised output too: an initialised model predicts ε̂ = 0
    // whatever its condition, and a sample that ignores the caption or view would test nothing
    const g = prng(3);
    for (const spec of m.ps.specs) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      params[spec.name] = hostTensor(
        'float32',
        spec.shape,
        Float32Array.from({ length: n }, () => (spec.init.kind === 'ones' ? 1 : 0) + 0.3 * g.normal()),
      );
    }
  }
  await saveCheckpoint(join(dir, name, 'ckpt-1'), { config, state: { step: 1 }, params });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-studio-pointe-'));
  await run('pointe-tiny', { stage: 'base', points: 16, width: 16, layers: 1, heads: 2, textLayers: 1, timesteps: 64 });
  await run('pointe-sdf', { stage: 'sdf', points: 16, width: 16, layers: 1, heads: 2, decoderLayers: 1 });
  await run('pointe-view', {
    stage: 'base',
    cond: 'image',
    imageSize: 8,
    patch: 4,
    imageLayers: 1,
    points: 16,
    width: 16,
    layers: 1,
    heads: 2,
    timesteps: 64,
  });
  await writeFile(VIEW_PNG, encodePng(VIEW));
  studio = await serveStudio({ port: 0, runsDir: dir });
  empty = await serveStudio({ port: 0 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  await empty?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(VIEW_PNG, { force: true });
});

const post = (path: string, body: unknown) => fetch(`${studio.url}${path}`, { method: 'POST', body: JSON.stringify(body) });

describe('Point-E routes', () => {
  it('list the base-model runs only, and say how to train one when there is none', async () => {
    const r = (await (await fetch(`${studio.url}/api/pointe/models`)).json()) as { runs: string[]; sdf: boolean; train: string };
    expect(r).toMatchObject({ sdf: true, conds: { 'pointe-tiny': 'text', 'pointe-view': 'image' } });
    expect([...r.runs].sort()).toEqual(['pointe-tiny', 'pointe-view']);
    const e = (await (await fetch(`${empty.url}/api/pointe/models`)).json()) as { runs: string[]; train: string };
    expect(e).toMatchObject({ runs: [], train: POINTE_TRAIN_HINT });
  });

  it('sample the cloud the library draws for the same caption, guidance, steps and seed', { timeout: 60_000 }, async () => {
    const r = (await (await post('/api/pointe/sample', { run: 'pointe-tiny', ...SAMPLE })).json()) as { xyz: number[]; rgb: number[] };
    const m = await loadPointE(join(dir, 'pointe-tiny'), { threads: 1 });
    try {
      const { cloud } = await m.sample(SAMPLE);
      expect(r.xyz).toHaveLength(16 * 3);
      expect(r.xyz).toEqual(Array.from(cloud.xyz));
      expect(r.rgb).toEqual(Array.from(cloud.rgb!));
      const other = (await (await post('/api/pointe/sample', { run: 'pointe-tiny', ...SAMPLE, caption: 'a large blue torus' })).json()) as {
        xyz: number[];
      };
      expect(other.xyz).not.toEqual(r.xyz); // the caption reaches the model
    } finally {
      await m.close();
    }
  });

  it('sample, for an image run, the cloud the library draws from the same view', { timeout: 60_000 }, async () => {
    const png = readFileSync(VIEW_PNG);
    const body = { run: 'pointe-view', image: png.toString('base64'), guidance: 3, steps: 4, seed: 7 };
    const r = (await (await post('/api/pointe/sample', body)).json()) as { xyz: number[]; rgb: number[] };
    const m = await loadPointE(join(dir, 'pointe-view'), { threads: 1 });
    try {
      const { cloud } = await m.sample({ image: decodePng(new Uint8Array(png)), guidance: 3, steps: 4, seed: 7 });
      expect(r.xyz).toEqual(Array.from(cloud.xyz));
      expect(r.rgb).toEqual(Array.from(cloud.rgb!));
      // another view is another cloud (the view reaches the model)
      const other = { ...VIEW, rgb: VIEW.rgb.map((v) => 255 - v) };
      const r2 = (await (
        await post('/api/pointe/sample', { ...body, image: Buffer.from(encodePng(other)).toString('base64') })
      ).json()) as {
        xyz: number[];
      };
      expect(r2.xyz).not.toEqual(r.xyz);
    } finally {
      await m.close();
    }
  });

  it('mesh a torus cloud watertight, every vertex coloured as its nearest point', { timeout: 60_000 }, async () => {
    const cloud = farthestPointSample(truthCloud('a large red torus', 2048, 1), 256);
    // A colour of its own for every point, so a vertex coloured from the wrong point shows.
    const rgb = Array.from({ length: 256 * 3 }, (_, i) => ((i * 0.618034) % 1) * 0.9 + 0.05);
    const res = await post('/api/pointe/mesh', { xyz: Array.from(cloud.xyz), rgb, grid: 32 });
    expect(res.status).toBe(200);
    const mesh = await readGlb(new Uint8Array(await res.arrayBuffer()));
    expect(isWatertight(mesh)).toBe(true);
    expect(res.headers.get('X-Watertight')).toBe('true');
    expect(Number(res.headers.get('X-Vertices'))).toBe(mesh.positions.length / 3);
    const p = mesh.positions;
    for (let v = 0; v < p.length; v += 3) {
      let best = -1;
      let bestD = Infinity;
      for (let j = 0; j < 256; j++) {
        const d = (p[v]! - cloud.xyz[3 * j]!) ** 2 + (p[v + 1]! - cloud.xyz[3 * j + 1]!) ** 2 + (p[v + 2]! - cloud.xyz[3 * j + 2]!) ** 2;
        if (d < bestD) [best, bestD] = [j, d];
      }
      for (let k = 0; k < 3; k++) expect(mesh.colors![v + k]!).toBeCloseTo(rgb[3 * best + k]!, 3);
    }
  });

  it('refuse bad input with a 400 naming the field', async () => {
    const bad = async (path: string, body: unknown) => {
      const r = await post(path, body);
      return { status: r.status, param: ((await r.json()) as { error: { param: string } }).error.param };
    };
    expect(await bad('/api/pointe/sample', { run: 'pointe-sdf', caption: 'a red cube' })).toEqual({ status: 400, param: 'run' });
    expect(await bad('/api/pointe/sample', { run: '../x', caption: 'a red cube' })).toEqual({ status: 400, param: 'run' });
    expect(await bad('/api/pointe/sample', { run: 'pointe-tiny', caption: ' ' })).toEqual({ status: 400, param: 'caption' });
    expect(await bad('/api/pointe/sample', { run: 'pointe-tiny', caption: 'a cube', steps: 0 })).toEqual({ status: 400, param: 'steps' });
    const view = readFileSync(VIEW_PNG).toString('base64');
    expect(await bad('/api/pointe/sample', { run: 'pointe-view', caption: 'a red cube' })).toEqual({ status: 400, param: 'caption' });
    expect(await bad('/api/pointe/sample', { run: 'pointe-view' })).toEqual({ status: 400, param: 'image' });
    expect(await bad('/api/pointe/sample', { run: 'pointe-view', image: Buffer.from('GIF89a not a png').toString('base64') })).toEqual({
      status: 400,
      param: 'image',
    });
    expect(await bad('/api/pointe/sample', { run: 'pointe-tiny', image: view })).toEqual({ status: 400, param: 'image' });
    expect(await bad('/api/pointe/mesh', { xyz: [0, 0], rgb: [0, 0] })).toEqual({ status: 400, param: 'xyz' });
    expect(await bad('/api/pointe/mesh', { xyz: [0, 0, 0], rgb: [0, 0, 2] })).toEqual({ status: 400, param: 'rgb' });
    expect(await bad('/api/pointe/mesh', { xyz: [0, 0, 0], rgb: [0, 0, 0], grid: 4 })).toEqual({ status: 400, param: 'grid' });
    // A word the model never saw: the library's message, as a 400.
    const r = await post('/api/pointe/sample', { run: 'pointe-tiny', caption: 'a green cone' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { message: string } }).error.message).toContain("'green'");
  });
});

describe('Point-E page', () => {
  it('draws the points it was sent, then a mesh; without a model it shows the training command', { timeout: 120_000 }, async (ctx) => {
    requires(ctx, CHROMIUM);
    browser = await launch();
    const { page, errors } = await openPage(browser);
    await gotoStudio(page, empty.url, 'pointe');
    expect(await page.$eval('#pointe-none pre', (e) => e.textContent)).toBe(POINTE_TRAIN_HINT);

    await gotoStudio(page, studio.url, 'pointe');
    await page.select('#pointe-run', 'pointe-tiny');
    await page.$eval('#pointe-caption', (e) => ((e as HTMLInputElement).value = 'a small red cube'));
    await page.$eval('#pointe-steps', (e) => ((e as HTMLInputElement).value = '4'));
    await page.$eval('#pointe-seed', (e) => ((e as HTMLInputElement).value = '7'));
    await page.click('#pointe-go');
    await page.waitForSelector('#pointe-cloud[data-sum]', { timeout: 60_000 });
    const sent = (await (await post('/api/pointe/sample', { run: 'pointe-tiny', ...SAMPLE })).json()) as { xyz: number[]; rgb: number[] };
    const drawn = await page.$eval('#pointe-cloud', (e) => ({ ...(e as HTMLElement).dataset }));
    expect(drawn.kind).toBe('points');
    expect(Number(drawn.vertices)).toBe(16);
    expect(Number(drawn.sum)).toBeCloseTo(
      sent.xyz.reduce((a, v) => a + v, 0),
      6,
    );
    // Then the mesh of that cloud: three.js holds the vertices src/shape's GLB reader finds in the
    // route's GLB for the same cloud, and the page's watertight flag is that mesh's.
    await page.waitForSelector('#pointe-mesh[data-watertight]', { timeout: 60_000 });
    const res = await post('/api/pointe/mesh', { xyz: sent.xyz, rgb: sent.rgb, grid: 64 });
    const mesh = await readGlb(new Uint8Array(await res.arrayBuffer()));
    const shown = await page.$eval('#pointe-mesh', (e) => ({ ...(e as HTMLElement).dataset }));
    expect(shown.kind).toBe('mesh');
    expect(Number(shown.vertices)).toBe(mesh.positions.length / 3);
    expect(shown.watertight).toBe(String(isWatertight(mesh)));
    if (process.env.TONY_SHOT) await page.screenshot({ path: process.env.TONY_SHOT });

    // The image run: the caption gives way to a file input; an uploaded PNG gives the route's cloud for it.
    await page.select('#pointe-run', 'pointe-view');
    const shownField = (id: string) => page.$eval(`#${id}`, (e) => (e.closest('.field') as HTMLElement).style.display !== 'none');
    expect([await shownField('pointe-caption'), await shownField('pointe-image')]).toEqual([false, true]);
    const input = await page.$('#pointe-image');
    await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(VIEW_PNG);
    await page.waitForSelector('#pointe-image-preview[src^="data:image/png"]', { timeout: 10_000 });
    await page.$eval('#pointe-cloud', (e) => delete (e as HTMLElement).dataset.sum);
    await page.click('#pointe-go');
    await page.waitForSelector('#pointe-cloud[data-sum]', { timeout: 60_000 });
    const fromView = (await (
      await post('/api/pointe/sample', {
        run: 'pointe-view',
        image: readFileSync(VIEW_PNG).toString('base64'),
        guidance: 3,
        steps: 4,
        seed: 7,
      })
    ).json()) as { xyz: number[] };
    expect(Number(await page.$eval('#pointe-cloud', (e) => (e as HTMLElement).dataset.sum))).toBeCloseTo(
      fromView.xyz.reduce((a, v) => a + v, 0),
      6,
    );
    if (process.env.TONY_SHOT_VIEW) await page.screenshot({ path: process.env.TONY_SHOT_VIEW });
    expect(errors).toEqual([]);
    await page.close();
  });
});
