/**
 * The Voice page in Chromium with a fake microphone fed from a WAV file made here (espeak-ng speech
 * between known silences): the page streams the microphone to /v1/realtime, the server's VAD ends
 * the turn, and the page shows the user's transcript and the spoken answer's transcript and plays
 * its audio. The model is the OmniModel test double (test/serve/realtime-double.ts), whose
 * "transcript" of a turn is its duration — known from the WAV: speech + 300 ms padding + 500 ms
 * silence.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resample } from '../../src/audio/resample.ts';
import { decodeWav, encodeWav, toMono } from '../../src/audio/wav.ts';
import { type StudioHandle, serveStudio } from '../../src/studio/serve.ts';
import { OmniDouble } from '../serve/realtime-double.ts';
import { ESPEAK_NG, requires } from '../system.ts';
import { CHROMIUM, gotoStudio } from './browser.ts';

const RATE = 48000;
let dir = '';
let studio: StudioHandle | undefined;
let browser: Browser | undefined;
let speechSeconds = 0;

beforeAll(async () => {
  if (CHROMIUM.missing() || ESPEAK_NG.missing()) return;
  dir = mkdtempSync(join(tmpdir(), 'tony-voice-'));
  execFileSync('espeak-ng', ['-v', 'en-us', '-w', join(dir, 'say.wav'), 'Is seven more than four?']);
  const { audio } = decodeWav(readFileSync(join(dir, 'say.wav')), 'espeak-ng output');
  const speech = resample(toMono(audio), audio.sampleRate, RATE);
  // The speech's own extent: first to last sample above −40 dBFS.
  let a = 0;
  let b = speech.length - 1;
  while (Math.abs(speech[a]!) < 0.01) a++;
  while (Math.abs(speech[b]!) < 0.01) b--;
  speechSeconds = (b - a) / RATE;
  // 1 s silence, the speech, 4 s silence: one turn per loop of the fake microphone.
  const x = new Float64Array(RATE * 5 + speech.length);
  x.set(speech, RATE);
  writeFileSync(join(dir, 'mic.wav'), encodeWav({ sampleRate: RATE, channels: [x] }, { encoding: 'pcm16' }));
  studio = await serveStudio({ port: 0, realtime: { model: new OmniDouble(), dir: 'test-double' } });
  browser = await puppeteer.launch({
    executablePath: process.env.TONY_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--autoplay-policy=no-user-gesture-required',
      '--mute-audio',
      '--use-fake-ui-for-media-stream', // grant the microphone without a prompt
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${join(dir, 'mic.wav')}`,
    ],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await studio?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the Voice page with a fake microphone', () => {
  it('hears a turn ended by the VAD, shows both transcripts and receives the spoken answer', async (ctx) => {
    requires(ctx, CHROMIUM);
    requires(ctx, ESPEAK_NG);
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push((e as Error).message));
    await page.goto(`${studio!.url}/`, { waitUntil: 'load' });
    await page.waitForSelector('a[data-page="voice"]', { timeout: 30_000 }); // in the menu: a realtime model is loaded
    await gotoStudio(page, studio!.url, 'voice');
    await page.click('#talk');
    await page.waitForFunction(() => document.querySelectorAll('#transcript li').length >= 2, { timeout: 30_000 });
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('#heard')?.dataset.seconds ?? 0) > 0, { timeout: 30_000 });
    await page.waitForFunction(
      () =>
        /you said/.test(document.querySelectorAll('#transcript li')[1]?.textContent ?? '') &&
        !/Answering/.test(document.querySelector('.status')?.textContent ?? ''),
      {
        timeout: 30_000,
      },
    );
    const rows = await page.$$eval('#transcript li', (lis) => lis.map((li) => li.textContent ?? ''));
    const you = /^You: (\d+\.\d\d) seconds at \d+ hertz$/.exec(rows[0]!);
    expect(you, rows[0]).not.toBeNull();
    // the turn the server committed: the speech, 300 ms of padding before, 500 ms of silence after
    // (± a few 10 ms frames for soft phoneme edges and the browser's audio processing)
    expect(Number(you![1])).toBeGreaterThan(speechSeconds + 0.8 - 0.25);
    expect(Number(you![1])).toBeLessThan(speechSeconds + 0.8 + 0.25);
    expect(rows[1]).toBe(`omni-double: you said ${you![1]} seconds at ${/at (\d+) hertz/.exec(rows[0]!)![1]} hertz`);
    // the answer's audio: 40 ms per word at 16 kHz, resampled to 24 kHz (⌈…⌉ samples)
    const words = rows[1]!.split(': ')[1]!.split(' ').length;
    const seconds = await page.$eval('#heard', (e) => Number((e as HTMLElement).dataset.seconds));
    expect(seconds).toBeCloseTo(Math.ceil(words * 640 * 1.5) / 24000, 3);
    await page.click('#stop');
    expect(await page.$eval('.status', (e) => e.textContent)).toBe('Stopped.');
    expect(errors).toEqual([]);
  }, 120_000);
});
