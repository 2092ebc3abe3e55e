/**
 * Tony Studio in a real Chromium: every page loads without console errors, and each page's main
 * action works against independent oracles —
 * - Code: the playground's greedy completion (streamed) equals the server's non-streamed one;
 * - Runs: the loss curve grows while a real `tony train gpt` writes metrics.jsonl, and ends with
 *   exactly the file's rows and last loss;
 * - Scaling: the exponent fitted to runs made from a known power law is that law's;
 * - Evals: a result opens with its program and the judge's reason from the file;
 * - Audio: Web Audio measures a non-silent buffer while the clip (and its Griffin-Lim
 *   reconstruction) plays;
 * - 3D: a GLB's vertex count in three.js equals what src/shape's GLB reader finds, and it turns.
 * And at a phone's width the menu folds and nothing overflows sideways.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTextModel } from '../../src/models/index.ts';
import { readGlb } from '../../src/shape/glb.ts';
import { meshField } from '../../src/shape/marching-cubes.ts';
import { faceCount } from '../../src/shape/mesh.ts';
import { writeObj } from '../../src/shape/obj.ts';
import { writePly } from '../../src/shape/ply.ts';
import { sampleSurface } from '../../src/shape/pointcloud.ts';
import { buildScene, parseCaption } from '../../src/shape/scenes.ts';
import { compileShape } from '../../src/shape/sdf.ts';
import { type StudioHandle, serveStudio } from '../../src/studio/serve.ts';
import { requires } from '../system.ts';
import { root, tony } from '../tony.ts';
import { CHROMIUM, gotoStudio, launch, openPage } from './browser.ts';

let dir: string;
let studio: StudioHandle;
let browser: Browser | undefined;
let closeModel: () => Promise<void>;

/** The synthetic sweep's law: L(N) = 1.5 + (2e5 / N)^0.3. */
const ALPHA = 0.3;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-studio-'));
  // A sweep of four sizes whose final losses follow the law exactly (learning curves decay to it).
  for (const n of [1e4, 3e4, 1e5, 3e5]) {
    const run = join(dir, 'sweep', `n${n}`);
    await mkdir(run, { recursive: true });
    await writeFile(join(run, 'config.json'), JSON.stringify({ kind: 'gpt', params: n * 1.2, nonembedding_params: n }));
    const lines = [1, 2, 4, 8].map((k) =>
      JSON.stringify({ step: k * 10, tokens: k * 1e6, val_loss: 1.5 + (2e5 / n) ** ALPHA + 1 / k - 1 / 8 }),
    );
    await writeFile(join(run, 'metrics.jsonl'), `${lines.join('\n')}\n`);
  }
  await mkdir(join(dir, 'he'));
  await writeFile(
    join(dir, 'he', 'greedy.jsonl_results.jsonl'),
    [
      { task_id: 'HumanEval/0', completion: '    return 1\n', result: 'passed', passed: true },
      {
        task_id: 'HumanEval/1',
        completion: '    return undefined_name\n',
        result: "failed: name 'undefined_name' is not defined",
        passed: false,
      },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  await writeFile(
    join(dir, 'problems.jsonl'),
    ['HumanEval/0', 'HumanEval/1']
      .map((task_id) =>
        JSON.stringify({
          task_id,
          prompt: 'def f():\n',
          entry_point: 'f',
          canonical_solution: '    return 1\n',
          test: 'assert f() == 1\n',
        }),
      )
      .join('\n') + '\n',
  );
  const model = await loadTextModel(join(root, 'models/code'), { threads: 1 });
  closeModel = () => model.close();
  studio = await serveStudio({
    port: 0,
    runsDir: dir,
    problems: join(dir, 'problems.jsonl'),
    model: { model, dir: join(root, 'models/code') },
  });
});

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  await closeModel?.();
  await rm(dir, { recursive: true, force: true });
});

const getBrowser = async () => (browser ??= await launch());

describe('Tony Studio in Chromium', () => {
  it('every page loads with no console errors, and the Home page lists the registry', async (ctx) => {
    requires(ctx, CHROMIUM);
    const { page, errors } = await openPage(await getBrowser());
    for (const id of ['home', 'code', 'train', 'runs', 'scaling', 'evals', 'audio', '3d', 'pointe', 'jukebox'])
      await gotoStudio(page, studio.url, id);
    await gotoStudio(page, studio.url, 'home');
    const kinds = await page.$$eval('#kinds tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.kind));
    expect(kinds).toEqual(studio.info.kinds.map((k) => k.name));
    expect(await page.$eval('[data-model="code"]', (e) => e.textContent)).toContain('complete');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('Code: the playground streams the same greedy completion the server gives', async (ctx) => {
    requires(ctx, CHROMIUM);
    const { page, errors } = await openPage(await getBrowser());
    await gotoStudio(page, studio.url, 'code');
    const frame = await (await page.waitForSelector('iframe.playground'))!.contentFrame();
    await frame.waitForFunction(() => document.getElementById('model')?.textContent?.includes('code'));
    const prompt = 'def add(a, b):\n';
    await frame.$eval('#prompt', (e, p) => ((e as HTMLTextAreaElement).value = p), prompt);
    const settings: Array<[string, string]> = [
      ['temperature', '0'],
      ['max_tokens', '24'],
    ];
    for (const [id, v] of settings) await frame.$eval(`#${id}`, (e, x) => ((e as HTMLInputElement).value = x), v);
    await frame.click('#go');
    await frame.waitForFunction(() => !(document.getElementById('go') as HTMLButtonElement).disabled, { timeout: 60_000 });
    const shown = await frame.$eval('#out .gen', (e) => e.textContent);
    const r = (await (
      await fetch(`${studio.url}/v1/completions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: 'code', prompt, max_tokens: 24, temperature: 0 }),
      })
    ).json()) as { choices: Array<{ text: string }> };
    expect(shown).toBe(r.choices[0]!.text);
    expect(shown!.length).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('Runs: the curve grows while a model trains, and ends with the rows of metrics.jsonl', async (ctx) => {
    requires(ctx, CHROMIUM);
    const { page, errors } = await openPage(await getBrowser());
    const out = join(dir, 'live');
    // Long enough (~4 s here) that the page opens well before the end, even on a faster machine.
    const steps = 250;
    const flags = ['--preset', 'tiny', '--batch', '4', '--steps', String(steps), '--eval-every', '100', '--threads', '1'];
    const training = tony(['train', 'gpt', '--data', 'src/studio', ...flags, '--out', out]);
    // Wait for the run's first step, then follow it.
    for (let t = 0; t < 600; t++) {
      await new Promise((r) => setTimeout(r, 100));
      if ((await readFile(join(out, 'metrics.jsonl'), 'utf8').catch(() => '')).includes('"loss"')) break;
    }
    await gotoStudio(page, studio.url, 'runs');
    await page.click('button[aria-label="open live"]');
    const points = () => page.$eval('#loss-chart', (e) => Number((e as HTMLElement).dataset.points ?? 0));
    await page.waitForFunction(() => Number(document.getElementById('loss-chart')?.dataset.points ?? 0) > 0);
    const early = await points();
    const run = await training;
    expect(run.status, run.stderr).toBe(0);
    const rows = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { loss?: number });
    const losses = rows.filter((r) => typeof r.loss === 'number');
    await page.waitForFunction(
      (n) => Number(document.getElementById('loss-chart')?.dataset.points) === n,
      { timeout: 20_000 },
      losses.length,
    );
    expect(early).toBeLessThan(losses.length); // it grew while training
    expect(Number(await page.$eval('#loss-chart', (e) => (e as HTMLElement).dataset.lastLoss))).toBe(losses.at(-1)!.loss);
    await page.waitForFunction(() => /ckpt-\d+/.test(document.getElementById('run-detail')?.textContent ?? ''), { timeout: 10_000 });
    // A run started after the page opened joins the list.
    await mkdir(join(dir, 'later'));
    await writeFile(join(dir, 'later', 'metrics.jsonl'), '{"step":1,"tokens":8,"loss":3}\n');
    await page.waitForSelector('tr[data-run="later"]', { timeout: 10_000 });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('Scaling: the fitted exponent of a sweep made from a known law is that law’s', async (ctx) => {
    requires(ctx, CHROMIUM);
    const { page, errors } = await openPage(await getBrowser());
    await gotoStudio(page, studio.url, 'scaling');
    await page.waitForFunction(() => document.getElementById('scaling-n')?.dataset.points === '4');
    const text = await page.$eval('#scaling-n + p', (e) => e.textContent ?? '');
    const alpha = Number(/\^([\d.]+)/.exec(text)?.[1]);
    expect(alpha).toBeCloseTo(ALPHA, 2);
    // Hovering over the chart names a run.
    const box = (await (await page.$('#scaling-n .u-over'))!.boundingBox())!;
    for (let x = 0.05; x < 1; x += 0.05) await page.mouse.move(box.x + box.width * x, box.y + box.height / 2);
    expect(await page.$eval('#hover', (e) => e.textContent)).toMatch(/^n\d/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('Evals: a failed result opens with its program and the reason', async (ctx) => {
    requires(ctx, CHROMIUM);
    const { page, errors } = await openPage(await getBrowser());
    await gotoStudio(page, studio.url, 'evals');
    await page.waitForSelector('tr[data-task="HumanEval/1"]');
    await page.click('tr[data-task="HumanEval/1"]');
    expect(await page.$eval('#eval-detail .verdict', (e) => e.textContent)).toBe("failed: name 'undefined_name' is not defined");
    expect(await page.$eval('#eval-detail pre.program .completion', (e) => e.textContent)).toBe('    return undefined_name\n');
    // With the problems file, the program is the task's prompt + the completion, and its test is there.
    expect(await page.$eval('#eval-detail pre.program', (e) => e.textContent)).toBe('def f():\n    return undefined_name\n');
    expect(await page.$eval('#eval-detail details pre', (e) => e.textContent)).toBe('assert f() == 1\n');
    expect(await page.$eval('.status', (e) => e.textContent)).toBe('1 of 2 passed');
    // The keyboard moves through the list.
    await page.focus('tr[data-task="HumanEval/0"]');
    await page.keyboard.press('ArrowDown');
    expect(await page.$eval('#eval-detail h2', (e) => e.textContent)).toContain('HumanEval/1');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('Audio: a clip and its Griffin-Lim reconstruction play, and Web Audio hears them', async (ctx) => {
    requires(ctx, CHROMIUM);
    const { page, errors } = await openPage(await getBrowser());
    await gotoStudio(page, studio.url, 'audio');
    // 3 s, not 1: the meter samples on animation frames, which a loaded machine's headless Chromium
    // can starve for a whole second (the full suite once heard nothing in 20 s of a 1-s clip).
    await page.$eval('#f-seconds', (e) => ((e as HTMLInputElement).value = '3'));
    await page.click('button.primary'); // Make clip
    await page.waitForSelector('[data-player="original"] button:not([disabled])');
    await page.click('[data-player="original"] button');
    // While it plays, the analyser hears it: music.ts normalises clips to a peak of 0.9.
    const heard = (player: string, level: number) =>
      page.waitForFunction(
        (p, l) => Number(document.querySelector<HTMLElement>(`[data-player="${p}"]`)?.dataset.peak ?? 0) > l,
        { timeout: 20_000 },
        player,
        level,
      );
    await heard('original', 0.1);
    expect(Number(await page.$eval('[data-player="original"]', (e) => (e as HTMLElement).dataset.peak))).toBeLessThanOrEqual(1);
    await page.$eval('#f-iterations', (e) => ((e as HTMLInputElement).value = '16'));
    await page.click('xpath/.//button[contains(., "Invert")]');
    await page.waitForSelector('#inversion-result', { timeout: 30_000 });
    const sc = Number(/convergence (-?[\d.]+) dB/.exec((await page.$eval('#inversion-result', (e) => e.textContent)) ?? '')?.[1]);
    expect(sc).toBeLessThan(-3); // Griffin-Lim brought the magnitude close
    await page.click('[data-player="reconstructed"] button');
    await heard('reconstructed', 0.05);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('3D: a GLB from a caption loads with every vertex and turns; PLY points and OBJ meshes open from disk', async (ctx) => {
    requires(ctx, CHROMIUM);
    const { page, errors } = await openPage(await getBrowser());
    await gotoStudio(page, studio.url, '3d');
    const caption = 'a red torus next to a small green cube';
    await page.$eval('#f-caption', (e, c) => ((e as HTMLInputElement).value = c), caption);
    await page.$eval('#f-grid', (e) => ((e as HTMLSelectElement).value = '32'));
    await page.click('xpath/.//button[contains(., "Mesh it")]');
    await page.waitForFunction((c) => document.querySelector('.status')?.textContent?.startsWith(c), {}, caption);
    const glb = await fetch(`${studio.url}/api/shapes/mesh`, { method: 'POST', body: JSON.stringify({ caption, grid: 32 }) });
    const mesh = await readGlb(new Uint8Array(await glb.arrayBuffer()));
    expect(Number(await page.$eval('#view3d', (e) => (e as HTMLElement).dataset.vertices))).toBe(mesh.positions.length / 3);
    const shot = async () => page.$eval('#view3d', (c) => (c as HTMLCanvasElement).toDataURL());
    const angle = async () => Number(await page.$eval('#view3d', (e) => (e as HTMLElement).dataset.angle));
    const [a0, s0] = [await angle(), await shot()];
    await page.waitForFunction((a) => Number(document.getElementById('view3d')?.dataset.angle) > a + 0.3, {}, a0);
    expect(await shot()).not.toBe(s0); // the picture changed as it turned

    // Files from disk: a PLY point cloud and an OBJ mesh, written by src/shape.
    const cube = meshField(compileShape(buildScene(parseCaption('a red cube'))), 12);
    const cloud = sampleSurface(cube, 500, { seed: 1 });
    await writeFile(join(dir, 'cloud.ply'), writePly(cloud));
    await writeFile(join(dir, 'cube.obj'), writeObj(cube));
    const input = (await page.$('input[type=file]'))!;
    const loaded = (name: string) => page.waitForFunction((n) => document.querySelector('.status')?.textContent?.startsWith(n), {}, name);
    await input.uploadFile(join(dir, 'cloud.ply'));
    await loaded('cloud.ply');
    expect(await page.$eval('#view3d', (e) => [(e as HTMLElement).dataset.kind, (e as HTMLElement).dataset.vertices])).toEqual([
      'points',
      '500',
    ]);
    await input.uploadFile(join(dir, 'cube.obj'));
    await loaded('cube.obj');
    // OBJLoader un-indexes: three vertices per face.
    expect(await page.$eval('#view3d', (e) => [(e as HTMLElement).dataset.kind, (e as HTMLElement).dataset.vertices])).toEqual([
      'mesh',
      String(faceCount(cube) * 3),
    ]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a page that needs a capability shows only when a loaded model has it', async (ctx) => {
    requires(ctx, CHROMIUM);
    const bare = await serveStudio({ port: 0 });
    try {
      const { page, errors } = await openPage(await getBrowser());
      await gotoStudio(page, bare.url, 'home');
      const ids = await page.$$eval('#nav-links a', (as) => as.map((a) => (a as HTMLElement).dataset.page));
      expect(ids).not.toContain('code'); // needs 'complete'
      expect(ids).toEqual(expect.arrayContaining(['home', 'train', 'runs', 'audio', '3d']));
      expect(await page.$eval('[data-kind="lm"]', (e) => e.textContent)).toContain('no model loaded');
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await bare.close();
    }
  });

  it("at a phone's width the menu folds, opens by keyboard, and nothing overflows", async (ctx) => {
    requires(ctx, CHROMIUM);
    const { page, errors } = await openPage(await getBrowser(), 390, 844);
    for (const id of ['home', 'runs', 'audio']) {
      await gotoStudio(page, studio.url, id);
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    }
    expect(await page.$eval('#nav-links', (e) => getComputedStyle(e).display)).toBe('none');
    await page.focus('nav .menu');
    await page.keyboard.press('Enter');
    expect(await page.$eval('#nav-links', (e) => getComputedStyle(e).display)).toBe('flex');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('Train in tab: the training-step graph runs on onnxruntime-web and the loss falls from ln V', async (ctx) => {
    requires(ctx, CHROMIUM);
    const { page, errors } = await openPage(await getBrowser());
    await gotoStudio(page, studio.url, 'train');
    await page.$eval('#f-steps', (e) => ((e as HTMLInputElement).value = '40'));
    await page.click('xpath/.//button[contains(., "Train in this tab")]');
    await page.waitForSelector('#train-chart[data-done="true"]', { timeout: 90_000 });
    const losses = JSON.parse(await page.$eval('#train-chart', (e) => (e as HTMLElement).dataset.losses ?? '[]')) as number[];
    expect(losses).toHaveLength(40);
    // At initialisation the model guesses about uniformly over its 260 tokens: loss ≈ ln 260.
    expect(losses[0]).toBeGreaterThan(Math.log(260) - 0.3);
    expect(losses[0]).toBeLessThan(Math.log(260) + 0.3);
    const tail = losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
    expect(tail).toBeLessThan(losses[0]! - 2); // it learned the text's bytes
    expect(errors).toEqual([]);
    await page.close();
  });

  // Last: it stops the server.
  it('Code in the tab: onnxruntime-web runs the server’s graphs and, with the server stopped, completes as the server did', async (ctx) => {
    requires(ctx, CHROMIUM);
    const { page, errors } = await openPage(await getBrowser());
    await gotoStudio(page, studio.url, 'code');
    await page.click('xpath/.//button[contains(., "Load the model")]');
    await page.waitForSelector('main[data-in-page="ready"]', { timeout: 90_000 });
    // The page says which provider runs it (headless Chromium here has no WebGPU adapter).
    expect(await page.$eval('#in-page-status', (e) => e.textContent)).toMatch(/onnxruntime-web on (WebGPU|WebAssembly \(.+\)) runs it/);
    // The last three prompts end in whitespace: the server token-heals them, and so must the page.
    // The third's tail ("\n        ") is re-written by more than one token (the model writes
    // "\n       " + " return": the space before a word belongs to the word's token).
    const prompts = [
      'def fibonacci(n):',
      'class Stack:\n    def push(self, item):\n',
      'def mean(xs):\n    if not xs:\n        ',
      'class Point:\n    def __init__(self, x, y):\n        ',
    ];
    const server: string[] = [];
    for (const prompt of prompts) {
      const r = (await (
        await fetch(`${studio.url}/v1/completions`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ model: 'code', prompt, max_tokens: 24, temperature: 0 }),
        })
      ).json()) as { choices: Array<{ text: string }> };
      server.push(r.choices[0]!.text);
    }
    await studio.close();
    expect((await fetch(`${studio.url}/api/studio`).catch(() => undefined))?.ok).toBeFalsy(); // the server is gone
    for (const [i, prompt] of prompts.entries()) {
      await page.$eval('#f-prompt', (e, p) => ((e as HTMLTextAreaElement).value = p), prompt);
      await page.$eval('#f-max-tokens', (e) => ((e as HTMLInputElement).value = '24'));
      await page.$eval('#in-page-out', (e) => delete (e as HTMLElement).dataset.done);
      await page.click('xpath/.//button[contains(., "Complete in this tab")]');
      await page.waitForSelector('#in-page-out[data-done="true"]', { timeout: 60_000 });
      expect(await page.$eval('#in-page-out', (e) => e.textContent)).toBe(server[i]);
      expect(server[i]!.length).toBeGreaterThan(0);
    }
    expect(errors).toEqual([]);
    await page.close();
  });
});
