/**
 * The Math page in Chromium, over the bundled models/math: a held-out problem is drawn, N solutions
 * are sampled and ranked, and what the page shows is checked against the verifier loaded here, in
 * the test's own process — every candidate's score is the verifier's value at its last token, the
 * list is in descending order of score, every character carries the verifier's value after it (and
 * its colour on the red → green scale), and each ✓/✗ is GSM8K's answer rule applied to the text.
 */
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractAnswer } from '../../src/evals/gsm8k.ts';
import { BUNDLED_MATH } from '../../src/math/sample.ts';
import { loadVerifier, type VerifierModel } from '../../src/models/verifier/model.ts';
import { type StudioHandle, serveStudio } from '../../src/studio/serve.ts';
import { requires } from '../system.ts';
import { CHROMIUM, gotoStudio, launch, openPage } from './browser.ts';

let studio: StudioHandle;
let browser: Browser | undefined;
let verifier: VerifierModel;

beforeAll(async () => {
  studio = await serveStudio({ port: 0 });
  verifier = await loadVerifier(join(BUNDLED_MATH, 'verifier'), { threads: 1 });
});

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  await verifier?.close();
});

describe('math routes', () => {
  it('draw held-out problems, and refuse bad input with a 400 naming the field', async () => {
    const p = (await (await fetch(`${studio.url}/api/math/problem?seed=0&index=5`)).json()) as { question: string; answer: string };
    expect(Number(/ has (\d+) /.exec(p.question)![1])).toBeGreaterThanOrEqual(41); // held-out starting numbers
    expect(p.question).toMatch(/oranges|toy cars|buttons/); // held-out themes
    expect(p.answer.split('\n').filter((l) => l.includes('<<'))).toHaveLength(2);
    const bad = async (body: unknown) => {
      const r = await fetch(`${studio.url}/api/math/solve`, { method: 'POST', body: JSON.stringify(body) });
      return { status: r.status, error: ((await r.json()) as { error: { message: string; param: string } }).error };
    };
    expect(await bad({ question: 'q', n: 0 })).toMatchObject({ status: 400, error: { param: 'n' } });
    expect(await bad({ n: 4 })).toMatchObject({ status: 400, error: { param: 'question' } });
    expect(await bad({ question: 'q', answer: '42' })).toMatchObject({ status: 400, error: { param: 'answer' } });
    expect(await bad({ question: 'q', temperature: 5 })).toMatchObject({ status: 400, error: { param: 'temperature' } });
    expect((await fetch(`${studio.url}/api/math/problem?index=x`)).status).toBe(400);
  });
});

describe('Math page', () => {
  it('ranks N sampled solutions by the verifier and draws its value at every character', { timeout: 120_000 }, async (ctx) => {
    requires(ctx, CHROMIUM);
    browser = await launch();
    const { page, errors } = await openPage(browser);
    await gotoStudio(page, studio.url, 'math');
    // The button draws a random held-out problem; pin it (index 12, whose 8 samples differ) so the
    // test does not depend on the draw — on some problems all 8 samples are the same solution.
    await page.evaluate(() => {
      Math.random = () => 0.0125;
    });
    await page.click('#math-pick');
    await page.waitForFunction(() => document.querySelector('[role="status"]')?.textContent?.startsWith('reference answer'));
    const reference = (await page.$eval('[role="status"]', (e) => e.textContent!)).replace('reference answer: ', '');
    const question = await page.$eval('#math-question', (e) => (e as HTMLTextAreaElement).value);
    await page.select('#math-n', '8');
    await page.click('#math-solve');
    await page.waitForSelector('#math-candidates[data-done="true"]', { timeout: 100_000 });
    const shown = await page.$$eval('#math-candidates > li', (lis) =>
      lis.map((li) => ({
        score: Number((li as HTMLElement).dataset.score),
        head: li.querySelector('p')!.textContent!,
        spans: [...li.querySelectorAll('pre span')].map((s) => ({
          text: s.textContent!,
          value: Number((s as HTMLElement).dataset.value),
          style: s.getAttribute('style')!,
        })),
      })),
    );
    expect(shown).toHaveLength(8);
    const texts = shown.map((c) => c.spans.map((s) => s.text).join(''));
    const scores = await verifier.score(question, texts);
    const values = await verifier.values(question, texts);
    shown.forEach((c, i) => {
      // The ranking is by score, best first, and each score is the verifier's at the last token.
      if (i > 0) expect(c.score).toBeLessThanOrEqual(shown[i - 1]!.score);
      expect(c.score).toBeCloseTo(scores[i]!, 5);
      // The problems are ASCII: one byte, one token, one value per character.
      expect(c.spans.length).toBe(Math.min(texts[i]!.length, values[i]!.length));
      c.spans.forEach((s, j) => {
        expect(s.value).toBeCloseTo(values[i]![j]!, 5);
        expect(s.style).toContain(`hsl(${Math.round(120 * Math.min(1, Math.max(0, values[i]![j]!)))} `);
      });
      const right = extractAnswer(texts[i]!) === extractAnswer(reference);
      expect(c.head).toContain(right ? '✓ right' : '✗ wrong');
    });
    // Sampling at temperature 0.7 gives different solutions, and the verifier tells them apart.
    expect(new Set(scores).size).toBeGreaterThan(1);
    expect(errors).toEqual([]);
    await page.close();
  });
});
