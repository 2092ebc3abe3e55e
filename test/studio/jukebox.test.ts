/**
 * The Jukebox page and its routes over tiny levels and priors initialised here (no training) in a
 * runs folder made here:
 * - the models route finds the model directories and which have priors;
 * - encoding a procedural clip gives ⌈L / hop⌉ codes per level, the codes this process's own
 *   VQ-VAE levels give for the same clip rendered here, and each level's WAV is that level's decode
 *   of them (to 16-bit PCM's step);
 * - sampling gives ⌈L / hop⌉ codes per level inside the codebook, the top row being the one the
 *   top prior draws here under the same conditions and seed;
 * - bad input is a 400 naming the field;
 * - in Chromium the page draws every level's codes as sent, encodes an uploaded 16 kHz WAV at the
 *   models' 8 kHz, samples where there are priors and says to train them where not, and without a
 *   model shows the training command.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeClip, renderClip } from '../../src/audio/music.ts';
import { decodeWav, encodeWav } from '../../src/audio/wav.ts';
import { saveCheckpoint } from '../../src/engine/checkpoint.ts';
import { input } from '../../src/engine/tensor.ts';
import { TOP_TEMPERATURE, UPSAMPLER_TEMPERATURE } from '../../src/models/jukebox/bundled.ts';
import { closeLevels, type Levels, loadLevels } from '../../src/models/jukebox/levels.ts';
import { conditionIds, Prior, priorConfig } from '../../src/models/jukebox/prior.ts';
import { loadPrior, sampleCodes } from '../../src/models/jukebox/sample.ts';
import { LEVELS, VQVAE, vqvaeConfig } from '../../src/models/jukebox/vqvae.ts';
import { prng } from '../../src/random.ts';
import { BUNDLED_NAME, JUKEBOX_TRAIN_HINT } from '../../src/serve/routes/jukebox.ts';
import { type StudioHandle, serveStudio } from '../../src/studio/serve.ts';
import { requires } from '../system.ts';
import { CHROMIUM, gotoStudio, launch, openPage } from './browser.ts';

let dir: string;
let studio: StudioHandle;
let empty: StudioHandle;
let browser: Browser | undefined;
let levels: Levels;
const HOPS = { bottom: 8, middle: 32, top: 128 } as const;
const CODES = 8;

async function makeLevels(model: string): Promise<void> {
  for (const level of LEVELS) {
    const cfg = vqvaeConfig({ level, width: 4, depth: 1, codes: CODES, codeWidth: 3, segment: 512 });
    const m = new VQVAE(cfg);
    m.objective(input('wav', [1, cfg.segment]), input('restart_idx', [cfg.codes], 'int64')); // declares every weight
    await saveCheckpoint(join(model, level), {
      config: { kind: 'vqvae', model: { ...cfg } },
      state: { step: 0 },
      params: { ...m.ps.initialize(1), ...m.buffers.initialize(1) },
    });
  }
}

async function makePriors(model: string): Promise<void> {
  for (const level of LEVELS) {
    const cfg = priorConfig({ level, codes: CODES, context: 16, dModel: 16, nHead: 2, nLayer: 1, condDepth: 1 });
    const p = new Prior(cfg);
    const ids = input('ids', [1, cfg.context], 'int64');
    p.forward(
      ids,
      // every level reads the conditions (upsamplers: labels, the default); upsamplers the codes above too
      {
        cond: input('cond', [1, 3], 'int64'),
        ...(level === 'top' ? {} : { upper: input('upper', [1, cfg.context / cfg.ratio], 'int64') }),
      },
    );
    await saveCheckpoint(join(model, `prior-${level}`), {
      config: { kind: 'jukebox-prior', model: { ...cfg } },
      state: { step: 0 },
      params: p.ps.initialize(2),
    });
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-studio-jukebox-'));
  await makeLevels(join(dir, 'jb', 'full'));
  await makePriors(join(dir, 'jb', 'full'));
  await makeLevels(join(dir, 'jb', 'codec'));
  await mkdir(join(dir, 'other'), { recursive: true });
  // The bundled chain stands in as the tiny jb/full: the list names it first, by its own name.
  studio = await serveStudio({ port: 0, runsDir: dir, jukebox: join(dir, 'jb', 'full') });
  empty = await serveStudio({ port: 0, jukebox: false });
  levels = await loadLevels(join(dir, 'jb', 'full'), { threads: 1 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  await empty?.close();
  if (levels) await closeLevels(levels);
  await rm(dir, { recursive: true, force: true });
});

const post = (path: string, body: unknown) => fetch(`${studio.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
const pcm = (b64: string) => decodeWav(Buffer.from(b64, 'base64')).audio;

describe('Jukebox routes', () => {
  it('list the model directories and which have priors; say what to train when there are none', async () => {
    const r = (await (await fetch(`${studio.url}/api/jukebox/models`)).json()) as { models: unknown };
    expect(r.models).toEqual([
      { name: BUNDLED_NAME, priors: true },
      { name: 'jb/codec', priors: false },
      { name: 'jb/full', priors: true },
    ]);
    expect(await (await fetch(`${empty.url}/api/jukebox/models`)).json()).toMatchObject({ models: [], train: JUKEBOX_TRAIN_HINT });
  });

  it('encode a clip to the codes of every level and decode each back', { timeout: 60_000 }, async () => {
    const r = (await (await post('/api/jukebox/encode', { model: 'jb/full', source: 'music:3', seconds: 1 })).json()) as {
      samples: number;
      sampleRate: number;
      levels: Record<string, { codes: number[]; wav: string }>;
    };
    const rng = prng(3);
    const x = Float32Array.from(renderClip(composeClip(rng, 1), 8000, rng).subarray(0, 8000));
    expect([r.sampleRate, r.samples]).toEqual([8000, 8000]);
    for (const l of LEVELS) {
      const codes = r.levels[l]!.codes;
      expect(codes).toHaveLength(Math.ceil(8000 / HOPS[l]));
      expect(codes).toEqual(Array.from(await levels[l].encode(x)));
      const y = (await levels[l].decode(Int32Array.from(codes))).subarray(0, 8000);
      const got = pcm(r.levels[l]!.wav).channels[0]!;
      expect(got.length).toBe(8000);
      for (let i = 0; i < y.length; i += 37) expect(Math.abs(got[i]! - Math.max(-1, Math.min(1, y[i]!)))).toBeLessThan(1.5 / 32768);
    }
  });

  it('sample codes at every level under conditions, the top row as the top prior draws it', { timeout: 60_000 }, async () => {
    const body = { model: 'jb/full', timbre: 'organ', key: 'D minor', tempo: 120, seconds: 0.5, temperature: 1, seed: 5 };
    const r = (await (await post('/api/jukebox/sample', body)).json()) as { codes: Record<string, number[]>; wav: string };
    for (const l of LEVELS) {
      expect(r.codes[l]).toHaveLength(Math.ceil(4000 / HOPS[l]));
      expect(r.codes[l]!.every((c) => Number.isInteger(c) && c >= 0 && c < CODES)).toBe(true);
    }
    expect(pcm(r.wav).channels[0]!.length).toBe(4000);
    const top = await loadPrior(join(dir, 'jb', 'full', 'prior-top'), { threads: 1 });
    try {
      const cond = Int32Array.from(conditionIds({ timbre: 'organ', key: 'D minor', tempo: 120 }));
      const [row] = await sampleCodes(top, { length: Math.ceil(4000 / 128), batch: 1, cond, temperature: 1, seed: 5 });
      expect(r.codes.top).toEqual(Array.from(row!));
    } finally {
      await top.close();
    }
  });

  it('sample with the upsamplers at their own temperature: greedy upsamplers under a sampled top', { timeout: 60_000 }, async () => {
    // Top greedy (temperature 0): every seed draws the same top codes. Upsamplers greedy too: the
    // seed changes nothing; upsamplers at 1: the seed changes the lower levels only.
    const codes = async (seed: number, upsamplerTemperature: number) =>
      (
        (await (
          await post('/api/jukebox/sample', { model: 'jb/full', seconds: 0.5, temperature: 0, upsamplerTemperature, seed })
        ).json()) as {
          codes: Record<string, number[]>;
        }
      ).codes;
    const [a0, b0, a1, b1] = [await codes(1, 0), await codes(2, 0), await codes(1, 1), await codes(2, 1)];
    expect(b0).toEqual(a0);
    expect(a1.top).toEqual(a0.top);
    expect(b1.top).toEqual(a0.top);
    expect(b1.bottom).not.toEqual(a1.bottom);
  });

  it('sample the bundled chain by its name, at the temperatures it was judged at by default', { timeout: 60_000 }, async () => {
    const sampled = async (body: Record<string, unknown>) =>
      ((await (await post('/api/jukebox/sample', { seconds: 0.5, seed: 4, ...body })).json()) as { codes: Record<string, number[]> }).codes;
    const byDefault = await sampled({ model: BUNDLED_NAME });
    // The same directory under the runs folder, with the temperatures spelled out, draws the same codes…
    expect(await sampled({ model: 'jb/full', temperature: TOP_TEMPERATURE, upsamplerTemperature: UPSAMPLER_TEMPERATURE })).toEqual(
      byDefault,
    );
    // …and the old default (the upsamplers at the top's temperature, 1) draws other lower codes.
    expect((await sampled({ model: 'jb/full', temperature: TOP_TEMPERATURE, upsamplerTemperature: 1 })).bottom).not.toEqual(
      byDefault.bottom,
    );
  });

  it('refuse bad input with a 400 naming the field', async () => {
    const bad = async (path: string, body: unknown) => {
      const r = await post(path, body);
      return { status: r.status, error: ((await r.json()) as { error: { param: string | null; message: string } }).error };
    };
    expect(await bad('/api/jukebox/encode', { model: '../x', source: 'music:1' })).toMatchObject({
      status: 400,
      error: { param: 'model' },
    });
    expect(await bad('/api/jukebox/encode', { model: 'other', source: 'music:1' })).toMatchObject({
      status: 400,
      error: { param: 'model' },
    });
    expect(await bad('/api/jukebox/encode', { model: 'jb/full', source: 'speech:1' })).toMatchObject({
      status: 400,
      error: { param: 'source' },
    });
    expect(await bad('/api/jukebox/encode', { model: 'jb/full', source: 'music:1', seconds: 60 })).toMatchObject({
      status: 400,
      error: { param: 'seconds' },
    });
    expect(await bad('/api/jukebox/encode', { model: 'jb/full', wav: 'bm90IGEgd2F2' })).toMatchObject({ status: 400 });
    expect(await bad('/api/jukebox/sample', { model: 'jb/codec' })).toMatchObject({ status: 400, error: { param: 'model' } });
    expect(await bad('/api/jukebox/sample', { model: 'jb/full', tempo: -3 })).toMatchObject({ status: 400, error: { param: 'tempo' } });
    expect(await bad('/api/jukebox/sample', { model: 'jb/full', upsamplerTemperature: -1 })).toMatchObject({
      status: 400,
      error: { param: 'upsamplerTemperature' },
    });
    const kazoo = await bad('/api/jukebox/sample', { model: 'jb/full', timbre: 'kazoo' });
    expect(kazoo.status).toBe(400);
    expect(kazoo.error.message).toContain("unknown timbre 'kazoo'");
  });
});

describe('Jukebox page', () => {
  it('draws each level’s codes, encodes an uploaded WAV, samples where there are priors', { timeout: 120_000 }, async (ctx) => {
    requires(ctx, CHROMIUM);
    browser = await launch();
    const { page, errors } = await openPage(browser);
    await gotoStudio(page, empty.url, 'jukebox');
    expect(await page.$eval('#jukebox-none pre', (e) => e.textContent)).toBe(JUKEBOX_TRAIN_HINT);

    await gotoStudio(page, studio.url, 'jukebox');
    await page.select('#jukebox-model', 'jb/full');
    await page.$eval('#jukebox-seconds', (e) => ((e as HTMLInputElement).value = '1'));
    await page.$eval('#jukebox-seed', (e) => ((e as HTMLInputElement).value = '3'));
    await page.click('#jukebox-encode');
    await page.waitForSelector('#jukebox-encoded canvas[data-level="top"]', { timeout: 60_000 });
    const sent = (await (await post('/api/jukebox/encode', { model: 'jb/full', source: 'music:3', seconds: 1 })).json()) as {
      levels: Record<string, { codes: number[] }>;
    };
    const drawn = await page.$$eval('#jukebox-encoded canvas.codes', (cs) => cs.map((c) => ({ ...(c as HTMLElement).dataset })));
    expect(drawn.map((d) => [d.level, Number(d.codes), Number(d.sum)])).toEqual(
      LEVELS.map((l) => [l, sent.levels[l]!.codes.length, sent.levels[l]!.codes.reduce((a, v) => a + v, 0)]),
    );
    expect(await page.$$eval('#jukebox-encoded [data-player] img.spec', (is) => is.length)).toBe(4); // the original and three levels

    // An uploaded 0.75 s WAV at 16 kHz is resampled to the models' 8 kHz: 6,000 samples, 750 bottom codes.
    const wavPath = join(dir, 'up.wav');
    await writeFile(
      wavPath,
      encodeWav({ sampleRate: 16000, channels: [Float64Array.from({ length: 12000 }, (_, i) => 0.4 * Math.sin(0.07 * i))] }),
    );
    const [chooser] = await Promise.all([page.waitForFileChooser(), page.click('#jukebox-file')]);
    await chooser.accept([wavPath]);
    await page.waitForFunction(
      () => document.querySelector('#jukebox-encoded canvas[data-level="bottom"]')?.getAttribute('data-codes') === '750',
      { timeout: 60_000 },
    );
    expect(await page.$eval('#jukebox-encoded p.muted', (e) => e.textContent)).toContain('resampled to 8000 Hz');

    expect(await page.$eval('#jukebox-no-priors', (e) => (e as HTMLElement).hidden)).toBe(true);
    await page.select('#jukebox-timbre', 'organ');
    await page.$eval('#jukebox-seconds', (e) => ((e as HTMLInputElement).value = '0.5'));
    await page.click('#jukebox-sample');
    await page.waitForSelector('#jukebox-sampled canvas[data-level="bottom"]', { timeout: 60_000 });
    expect(await page.$$eval('#jukebox-sampled canvas.codes', (cs) => cs.map((c) => Number((c as HTMLElement).dataset.codes)))).toEqual(
      LEVELS.map((l) => Math.ceil(4000 / HOPS[l])),
    );
    if (process.env.TONY_SHOT) await page.screenshot({ path: process.env.TONY_SHOT, fullPage: true });

    await page.select('#jukebox-model', 'jb/codec');
    expect(await page.$eval('#jukebox-no-priors', (e) => (e as HTMLElement).hidden)).toBe(false);
    expect(await page.$eval('#jukebox-sample', (e) => (e.parentElement as HTMLElement).hidden)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });
});
