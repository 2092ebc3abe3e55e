import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { spectrogramPng } from '../../src/audio/plot.ts';
import { Rng } from '../../src/audio/random.ts';
import { encodeWav, readWav } from '../../src/audio/wav.ts';
import { tony as run } from '../tony.ts';

const sr = 16000;
const tone = (hz: number, seconds: number, amp = 0.5) =>
  Float64Array.from({ length: seconds * sr }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / sr));

describe('spectrogram picture', () => {
  it('a 2 kHz tone draws a bright line at 2 kHz of the frequency axis', () => {
    const png = PNG.sync.read(Buffer.from(spectrogramPng(tone(2000, 1), { sampleRate: sr, title: 'Spectrogram' })));
    // Layout: plot area 512 px tall (bins 513 → 512 rows) starting 30 px from the top, 64 from the left.
    const H = 512,
      y0 = 30,
      x0 = 64;
    expect(png.height).toBe(H + 30 + 44);
    const bright = (x: number, y: number) => {
      const i = 4 * (y * png.width + x);
      return png.data[i]! + png.data[i + 1]! + png.data[i + 2]!;
    };
    const col = x0 + 30;
    let best = 0,
      bestY = 0;
    for (let y = y0; y < y0 + H; y++) if (bright(col, y) > best) [best, bestY] = [bright(col, y), y];
    const want = y0 + H - 1 - Math.floor(((2000 / 8000) * 512 * H) / 513);
    expect(Math.abs(bestY - want)).toBeLessThanOrEqual(2);
    // Axes are drawn: the frame's left edge is dark ink along the whole plot height.
    for (let y = y0; y < y0 + H; y += 37) expect(bright(x0 - 1, y)).toBeLessThan(100);
  });
});

describe('tony audio (CLI)', () => {
  const tony = (...args: string[]) => run(['audio', ...args]);

  it('metrics, invert and spectrogram end to end', async () => {
    const d = mkdtempSync(join(tmpdir(), 'tony-cli-'));
    const x = tone(440, 1);
    // Plus noise, so every bin is far above LSD's power floor and the LSD is exact.
    const rng = new Rng(4);
    for (let i = 0; i < x.length; i++) x[i]! += 0.2 * Math.sin((2 * Math.PI * 1250 * i) / sr) + 0.05 * rng.uniform(-1, 1);
    writeFileSync(join(d, 'ref.wav'), encodeWav({ sampleRate: sr, channels: [x] }, { encoding: 'float64' }));
    writeFileSync(join(d, 'soft.wav'), encodeWav({ sampleRate: sr, channels: [x.map((v) => 0.9 * v)] }, { encoding: 'float64' }));
    // 0.9·x against x: SNR = 20 dB, SC = 20·log10 0.1 = −20 dB, LSD = 20·log10(1/0.9) dB in every bin.
    const full = await tony('metrics', join(d, 'ref.wav'), join(d, 'soft.wav'), '--json');
    const m = JSON.parse(full.stdout);
    expect(m.snr).toBeCloseTo(20, 9);
    expect(m.spectralConvergenceDb).toBeCloseTo(-20, 9);
    expect(m.logSpectralDistance).toBeCloseTo(20 * Math.log10(1 / 0.9), 6);
    expect(full.stderr).not.toMatch(/warning/);
    // A shorter test file is compared over the common length — and the user is told so.
    writeFileSync(
      join(d, 'short.wav'),
      encodeWav({ sampleRate: sr, channels: [x.subarray(0, 12000).map((v) => 0.9 * v)] }, { encoding: 'float64' }),
    );
    const short = await tony('metrics', join(d, 'ref.wav'), join(d, 'short.wav'), '--json');
    expect(short.status, short.stderr).toBe(0);
    expect(short.stderr).toMatch(
      /warning: the files differ in length — .*ref\.wav: 16000 samples \(1\.000 s\), .*short\.wav: 12000 samples \(0\.750 s\); only the first 12000 samples/,
    );
    const ms = JSON.parse(short.stdout);
    expect([ms.samples, ms.refSamples, ms.testSamples]).toEqual([12000, 16000, 12000]);
    expect(ms.snr).toBeCloseTo(20, 9); // 0.9·x against x over any common stretch

    const inv = await tony(
      'invert',
      join(d, 'ref.wav'),
      '--method',
      'fast-griffin-lim',
      '--iters',
      '16',
      '--n-fft',
      '512',
      '--out',
      join(d, 'gl.wav'),
    );
    expect(inv.status).toBe(0);
    expect(inv.stdout).toMatch(/spectral convergence -\d+\.\d+ dB.*× real time/);
    const sc = Number(/convergence (-\d+\.\d+) dB/.exec(inv.stdout)![1]);
    expect(sc).toBeLessThan(-15);

    const sp = await tony('spectrogram', join(d, 'gl.wav'), '--mel', '64', '--out', join(d, 's.png'));
    expect(sp.status).toBe(0);
    const png = PNG.sync.read(readFileSync(join(d, 's.png')));
    expect(png.width).toBeGreaterThan(100);
    expect(png.height).toBe(256 + 30 + 44); // 64 mel rows stretched to the 256-px minimum height
  });

  it('errors print a message and a hint and exit 2', async () => {
    const r = await tony('invert', '/nonexistent.wav', '--out', '/tmp/x.wav');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot read '\/nonexistent.wav'.*\n.*hint/);
    const d = mkdtempSync(join(tmpdir(), 'tony-cli-'));
    writeFileSync(join(d, 'a.wav'), encodeWav({ sampleRate: 8000, channels: [tone(100, 0.1)] }));
    const r2 = await tony('resample', join(d, 'a.wav'), '--rate', '12000', '--out', join(d, 'b.wav'));
    expect(r2.status).toBe(0);
    expect((await readWav(join(d, 'b.wav'))).sampleRate).toBe(12000);
  });
});
