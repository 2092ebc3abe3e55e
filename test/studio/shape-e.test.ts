/**
 * The studio's Shap-E page over the bundled models/shape-e, in Chromium:
 * - the route's sample is the library's: the same caption, guidance, steps and seed give, in this
 *   process, the same latent's NeRF render byte for byte (PNG) and the same mesh (vertex and face
 *   counts, and the GLB's positions as src/shape's reader finds them);
 * - the page shows both decoders side by side: the NeRF image is the PNG the route sends for that
 *   request, at the asked size, and the STF mesh canvas holds the mesh's vertices (three.js's count
 *   equals the GLB's), with its watertight flag;
 * - the NeRF turns: the latent the route returns, rendered by /api/shape-e/render from 120°, is the
 *   library's render of the library's latent from that camera, byte for byte, and the page's slider
 *   shows exactly that PNG;
 * - bad input is a 400 naming the field, over HTTP and on the page (the status line says which).
 */
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadShapeE } from '../../src/models/shape-e/model.ts';
import { readGlb } from '../../src/shape/glb.ts';
import { encodePng, orbitCameras } from '../../src/shape/render.ts';
import { type StudioHandle, serveStudio } from '../../src/studio/serve.ts';
import { requires } from '../system.ts';
import { CHROMIUM, gotoStudio, launch, openPage } from './browser.ts';

let studio: StudioHandle;
let browser: Browser | undefined;
/** A small request: four Karras steps, a 32³ grid, a 32² NeRF render (seconds, not minutes). */
const REQ = { caption: 'a large red torus', guidance: 3, steps: 4, seed: 5, grid: 32, size: 32 };
const BUNDLED = join(import.meta.dirname, '../../models/shape-e/diffusion');

beforeAll(async () => {
  studio = await serveStudio({ port: 0 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await studio?.close();
});

interface Sample {
  nerf: string;
  glb: string;
  vertices: number;
  faces: number;
  watertight: boolean;
  latent: string;
}
const post = (body: unknown) => fetch(`${studio.url}/api/shape-e/sample`, { method: 'POST', body: JSON.stringify(body) });

describe('Shap-E route against the library', () => {
  it('the same latent: NeRF PNG byte for byte, the same mesh', { timeout: 120_000 }, async () => {
    const res = await post(REQ);
    expect(res.status).toBe(200);
    const r = (await res.json()) as Sample;
    const m = await loadShapeE(BUNDLED, { threads: 1 });
    try {
      const { latent } = await m.sample(REQ);
      const nerf = await m.renderNerf(latent, orbitCameras(1, { size: REQ.size })[0]!);
      expect(r.nerf).toBe(Buffer.from(encodePng(nerf)).toString('base64'));
      const mesh = await m.mesh(latent, { grid: REQ.grid });
      expect(r.vertices).toBe(mesh.positions.length / 3);
      expect(r.faces).toBe(mesh.indices.length / 3);
      const sent = await readGlb(new Uint8Array(Buffer.from(r.glb, 'base64')));
      expect(Array.from(sent.positions)).toEqual(Array.from(mesh.positions));
      // the latent it returns is the library's, and renders from another side as the library does
      expect(r.latent).toBe(Buffer.from(latent.buffer, latent.byteOffset, latent.byteLength).toString('base64'));
      const turned = await fetch(`${studio.url}/api/shape-e/render`, {
        method: 'POST',
        body: JSON.stringify({ latent: r.latent, azimuth: 120, size: REQ.size }),
      });
      expect(turned.status).toBe(200);
      const side = await m.renderNerf(latent, orbitCameras(1, { size: REQ.size, azimuth0: 120 })[0]!);
      const png = Buffer.from(encodePng(side)).toString('base64');
      expect(((await turned.json()) as { nerf: string }).nerf).toBe(png);
      expect(png).not.toBe(r.nerf); // another side of a torus is another picture
    } finally {
      await m.close();
    }
  });

  it('bad input is a 400 naming the field', async () => {
    const bad = async (body: unknown) => {
      const r = await post(body);
      return { status: r.status, param: ((await r.json()) as { error: { param: string } }).error.param };
    };
    expect(await bad({ ...REQ, caption: '  ' })).toEqual({ status: 400, param: 'caption' });
    expect(await bad({ ...REQ, steps: 0 })).toEqual({ status: 400, param: 'steps' });
    expect(await bad({ ...REQ, grid: 8 })).toEqual({ status: 400, param: 'grid' });
    expect(await bad({ ...REQ, size: 'big' })).toEqual({ status: 400, param: 'size' });
    expect(await bad({ ...REQ, guidance: -1 })).toEqual({ status: 400, param: 'guidance' });
    const render = async (body: unknown) => {
      const r = await fetch(`${studio.url}/api/shape-e/render`, { method: 'POST', body: JSON.stringify(body) });
      const e = ((await r.json()) as { error: { param: string; message: string } }).error;
      return { status: r.status, param: e.param, message: e.message };
    };
    expect(await render({ latent: 'AAAA', azimuth: 0 })).toMatchObject({
      status: 400,
      param: 'latent',
      message: expect.stringMatching(/bytes for this model/),
    });
    expect(await render({ azimuth: 0 })).toMatchObject({ status: 400, param: 'latent' });
    expect(await render({ latent: 'AAAA', azimuth: 'left' })).toMatchObject({ status: 400, param: 'azimuth' });
    const nan = Buffer.from(new Float32Array(1024).fill(Number.NaN).buffer).toString('base64');
    expect((await render({ latent: nan })).param).toBe('latent');
  });
});

describe('Shap-E page', () => {
  it('shows the NeRF render and the mesh of one latent side by side; bad input is named', { timeout: 180_000 }, async (ctx) => {
    requires(ctx, CHROMIUM);
    browser = await launch();
    const { page, errors } = await openPage(browser);
    await gotoStudio(page, studio.url, 'shape-e');
    const set = (id: string, v: string) =>
      page.$eval(
        `#${id}`,
        (e, value) => {
          (e as HTMLInputElement).value = value as string;
        },
        v,
      );
    await set('shape-e-caption', REQ.caption);
    await set('shape-e-steps', String(REQ.steps));
    await set('shape-e-seed', String(REQ.seed));
    await set('shape-e-grid', String(REQ.grid));
    await set('shape-e-size', String(REQ.size));
    await page.click('#shape-e-go');
    await page.waitForSelector('#shape-e-mesh[data-watertight]', { timeout: 120_000 });
    const sent = (await (await post(REQ)).json()) as Sample;
    // the NeRF image is the route's PNG for this request, decoded by the browser at the asked size
    const img = await page.$eval('#shape-e-nerf', (e) => {
      const i = e as HTMLImageElement;
      return { src: i.getAttribute('src'), w: i.naturalWidth, h: i.naturalHeight };
    });
    expect(img.src).toBe(`data:image/png;base64,${sent.nerf}`);
    expect([img.w, img.h]).toEqual([REQ.size, REQ.size]);
    // the mesh: three.js holds the GLB's vertices (src/shape's reader counts them), drawn at least once
    const glb = await readGlb(new Uint8Array(Buffer.from(sent.glb, 'base64')));
    const shown = await page.$eval('#shape-e-mesh', (e) => ({ ...(e as HTMLElement).dataset }));
    expect(shown.kind).toBe('mesh');
    expect(Number(shown.vertices)).toBe(glb.positions.length / 3);
    expect(shown.watertight).toBe(String(sent.watertight));
    expect(Number(shown.frames)).toBeGreaterThan(0);
    if (process.env.TONY_SHOT) await page.screenshot({ path: process.env.TONY_SHOT });
    expect(errors).toEqual([]);

    // the slider turns the NeRF: the image becomes the route's render of the sent latent from 120°
    const side = (await (
      await fetch(`${studio.url}/api/shape-e/render`, {
        method: 'POST',
        body: JSON.stringify({ latent: sent.latent, azimuth: 120, size: REQ.size }),
      })
    ).json()) as { nerf: string };
    await page.$eval('#shape-e-azimuth', (e) => {
      const i = e as HTMLInputElement;
      i.value = '120';
      i.dispatchEvent(new Event('change'));
    });
    await page.waitForSelector('#shape-e-nerf[data-azimuth="120"]', { timeout: 60_000 });
    expect(await page.$eval('#shape-e-nerf', (e) => e.getAttribute('src'))).toBe(`data:image/png;base64,${side.nerf}`);

    // an empty caption: the route's 400 message, naming the field, in the status line
    await set('shape-e-caption', ' ');
    await page.click('#shape-e-go');
    await page.waitForSelector('p.status.error', { timeout: 30_000 });
    expect(await page.$eval('p.status.error', (e) => e.textContent)).toMatch(/'caption' must be a non-empty string/);
    await page.close();
  });
});
