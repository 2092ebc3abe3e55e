/**
 * The Math page's picture in docs/results/verifiers/math-page.png: a studio on the bundled
 * models/math, a held-out problem drawn (index 12 of seed 0: test-hi problem 12), 8 solutions ranked. Run:
 *
 *   node --import tsx test/studio/math-screenshot.ts
 */
import { fileURLToPath } from 'node:url';
import { serveStudio } from '../../src/studio/serve.ts';
import { gotoStudio, launch } from './browser.ts';

const out = fileURLToPath(new URL('../../docs/results/verifiers/math-page.png', import.meta.url));
const studio = await serveStudio({ port: 0 });
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1400 });
  await gotoStudio(page, studio.url, 'math');
  // The page draws a random held-out problem; a fixed one keeps the picture reproducible.
  await page.evaluateOnNewDocument(() => {
    Math.random = () => 0.0125;
  });
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('main[data-page="math"][data-ready="true"]');
  await page.click('#math-pick');
  await page.waitForFunction(() => document.querySelector('[role="status"]')?.textContent?.startsWith('reference answer'));
  await page.click('#math-solve');
  await page.waitForSelector('#math-candidates[data-done="true"]', { timeout: 120_000 });
  await page.screenshot({ path: out as `${string}.png`, fullPage: true });
  process.stdout.write(`${out}\n`);
} finally {
  await browser.close();
  await studio.close();
}
