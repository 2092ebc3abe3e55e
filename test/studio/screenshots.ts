/**
 * The screenshots in docs/studio/: each studio page after its main action, at a laptop's width (and
 * Home and Runs at a phone's). Run against a running studio:
 *
 *   tony studio --runs /path/to/runs --vocoder /path/to/mcnn-run --port 8765 &
 *   node --import tsx test/studio/screenshots.ts http://127.0.0.1:8765
 */
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import { gotoStudio, launch } from './browser.ts';

const url = process.argv[2] ?? 'http://127.0.0.1:8000';
const out = (name: string) => fileURLToPath(new URL(`../../docs/studio/${name}.png`, import.meta.url));
const browser = await launch();
const page = await browser.newPage();
const shot = async (name: string, p: Page = page) => {
  await p.screenshot({ path: out(name) as `${string}.png`, fullPage: false });
  process.stdout.write(`${out(name)}\n`);
};

await page.setViewport({ width: 1360, height: 860 });
await gotoStudio(page, url, 'home');
await shot('home');

await gotoStudio(page, url, 'code');
const frame = await (await page.waitForSelector('iframe.playground'))!.contentFrame();
await frame.waitForFunction(() => document.getElementById('model')?.textContent?.includes('code'));
await frame.$eval('#temperature', (e) => ((e as HTMLInputElement).value = '0'));
await frame.$eval('#max_tokens', (e) => ((e as HTMLInputElement).value = '48'));
await frame.click('#go');
await frame.waitForFunction(() => !(document.getElementById('go') as HTMLButtonElement).disabled, { timeout: 120_000 });
await shot('code');
await page.click('xpath/.//button[contains(., "Load the model")]');
await page.waitForSelector('main[data-in-page="ready"]', { timeout: 120_000 });
await page.click('xpath/.//button[contains(., "Complete in this tab")]');
await page.waitForSelector('#in-page-out[data-done="true"]', { timeout: 120_000 });
await page.$eval('h2', (e) => e.scrollIntoView());
await shot('code-in-tab');

await gotoStudio(page, url, 'train');
await page.click('xpath/.//button[contains(., "Train in this tab")]');
await page.waitForSelector('#train-chart[data-done="true"]', { timeout: 180_000 });
await shot('train-in-tab');

await gotoStudio(page, url, 'runs');
// Compare the sweep's sizes on one chart (a sweep folder, when the runs folder holds one).
const first = await page.$('#runs tbody tr input[type=checkbox]');
const sweepBoxes = await page.$$('#runs tbody tr[data-run^="sweep/"] input[type=checkbox]');
if (sweepBoxes.length) {
  await first?.click();
  for (const b of sweepBoxes) await b.click();
}
await new Promise((r) => setTimeout(r, 2000));
await shot('runs');

await gotoStudio(page, url, 'scaling');
await page.waitForSelector('#scaling-n[data-points]', { timeout: 60_000 });
const over = await page.$('#scaling-n .u-over');
const box = await over?.boundingBox();
if (box)
  for (let x = 0.05; x < 1 && !(await page.$eval('#hover', (e) => e.textContent)); x += 0.02)
    await page.mouse.move(box.x + box.width * x, box.y + box.height / 2);
await shot('scaling');

await gotoStudio(page, url, 'evals');
await page.click('#eval-rows tbody tr:nth-child(3)');
await shot('evals');

await gotoStudio(page, url, 'audio');
await page.waitForSelector('[data-player="original"]');
// A speech utterance, when the studio has a corpus: what a speech vocoder was trained for.
const utterance = await page.$eval('#f-source', (s) => (s as HTMLSelectElement).options[1]?.value);
if (utterance) {
  await page.select('#f-source', utterance);
  await page.waitForFunction(() => !(document.querySelector('button.primary') as HTMLButtonElement).disabled);
  await page.waitForSelector('[data-player="original"]');
}
const hasVocoder = await page.$('option[value="vocoder"]');
if (hasVocoder) await page.select('#f-method', 'vocoder');
await page.click('xpath/.//button[contains(., "Invert")]');
await page.waitForSelector('#inversion-result', { timeout: 60_000 });
await shot('audio');

await gotoStudio(page, url, '3d');
await page.waitForFunction(() => Number(document.getElementById('view3d')?.dataset.vertices ?? 0) > 0, { timeout: 60_000 });
await new Promise((r) => setTimeout(r, 1200));
await shot('3d');

await page.setViewport({ width: 390, height: 844 });
await gotoStudio(page, url, 'home');
await shot('phone-home');
await gotoStudio(page, url, 'runs');
await new Promise((r) => setTimeout(r, 1500));
await shot('phone-runs');
await browser.close();
