/**
 * Chromium for the studio's browser tests: Debian's `chromium` driven by puppeteer-core through its
 * executable path (Puppeteer's own browser download needs the network). `requires(ctx, CHROMIUM)`
 * skips a test when it is absent (fails under CI).
 */
import puppeteer, { type Browser, type ConsoleMessage, type Page } from 'puppeteer-core';
import { program } from '../system.ts';

export const CHROMIUM = program('chromium', 'apt-get install chromium');

export function launch(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: process.env.TONY_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', // tests run as root in CI containers, where Chromium's sandbox cannot start
      '--autoplay-policy=no-user-gesture-required',
      '--use-angle=swiftshader', // WebGL without a GPU
      '--enable-unsafe-swiftshader',
      '--mute-audio',
    ],
  });
}

/** A page whose console errors and uncaught exceptions are collected in `errors`. */
export async function openPage(browser: Browser, width = 1280, height = 900): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width, height });
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${(e as Error).message}`));
  return { page, errors };
}

/** Open a studio page by its id and wait until it has drawn. */
export async function gotoStudio(page: Page, url: string, id: string): Promise<void> {
  await page.goto(`${url}/#/${id}`, { waitUntil: 'load' });
  await page.waitForSelector(`main[data-page="${id}"][data-ready="true"]`, { timeout: 30_000 });
}
