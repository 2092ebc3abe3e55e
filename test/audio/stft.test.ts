import { describe, expect, it } from 'vitest';
import { frameCount, fromPolar, istft, magnitude, makeWindow, padSignal, phase, type StftOptions, stft } from '../../src/audio/stft.ts';
import { fx, maxRelErr } from './fixtures.ts';

describe('STFT against scipy / numpy fixtures', () => {
  for (const c of fx.stft) {
    it(c.name, () => {
      const opts: StftOptions = {
        nFft: c.nFft,
        hop: c.hop,
        window: c.window,
        center: c.center,
        padMode: c.padMode,
        winLength: c.winLength,
      };
      const S = stft(fx.signal, opts);
      expect(S.frames).toBe(c.frames);
      expect(S.frames).toBe(frameCount(fx.signal.length, opts));
      expect(maxRelErr(S.re, c.re)).toBeLessThan(1e-9);
      expect(maxRelErr(S.im, c.im)).toBeLessThan(1e-9);
    });
  }

  it('iSTFT of an inconsistent spectrogram matches scipy.signal.istft', () => {
    const c = fx.istft;
    const y = istft(
      { frames: c.frames, bins: c.bins, re: Float64Array.from(c.re), im: Float64Array.from(c.im) },
      {
        nFft: c.nFft,
        hop: c.hop,
        window: c.window,
        center: true,
        length: c.length,
      },
    );
    expect(maxRelErr(y, c.y)).toBeLessThan(1e-9);
  });
});

describe('STFT analytic', () => {
  it("a sine's peak is at its bin with magnitude A·Σw/2", () => {
    const nFft = 1024,
      sr = 16000,
      k = 37,
      A = 0.8;
    const f = (k * sr) / nFft; // exactly on bin k
    const x = Float64Array.from({ length: 8000 }, (_, i) => A * Math.cos((2 * Math.PI * f * i) / sr + 0.3));
    const S = stft(x, { nFft, hop: 256 });
    const mag = magnitude(S);
    const ph = phase(S);
    const wsum = makeWindow('hann', nFft).reduce((a, b) => a + b, 0);
    for (const t of [5, 10, 20]) {
      const row = mag.subarray(t * S.bins, (t + 1) * S.bins);
      const peak = row.indexOf(Math.max(...row));
      expect(peak).toBe(k);
      expect(row[k]! / ((A * wsum) / 2)).toBeCloseTo(1, 10);
      // A periodic Hann leaks only into the two neighbouring bins, each at half the peak.
      expect(row[k - 1]! / row[k]!).toBeCloseTo(0.5, 10);
      expect(row[k + 2]! / row[k]!).toBeLessThan(1e-10);
      // Phase of frame t: 0.3 + 2π f (t·hop − nFft/2)/sr, wrapped.
      const want = 0.3 + (2 * Math.PI * f * (t * 256 - 512)) / sr;
      const d = Math.atan2(Math.sin(ph[t * S.bins + k]! - want), Math.cos(ph[t * S.bins + k]! - want));
      expect(Math.abs(d)).toBeLessThan(1e-9);
    }
  });

  it('perfect reconstruction with COLA/NOLA windows', () => {
    const x = Float64Array.from({ length: 5001 }, (_, i) => Math.sin(i * 0.01) + 0.3 * Math.sin(i * 0.37) * Math.cos(i * 0.002));
    const cases: StftOptions[] = [
      { nFft: 512, hop: 128 },
      { nFft: 512, hop: 256, padMode: 'reflect' },
      { nFft: 256, hop: 64, window: 'hamming', padMode: 'edge' },
      { nFft: 1024, hop: 160, winLength: 400 },
      { nFft: 256, hop: 64, window: 'blackman' },
    ];
    for (const o of cases) {
      const y = istft(stft(x, o), { ...o, length: x.length });
      expect(maxRelErr(y, x)).toBeLessThan(1e-12);
    }
    // Uncentred: exact wherever the window covers (everything but the first and last few samples).
    const o = { nFft: 256, hop: 64, center: false };
    const y = istft(stft(x, o), o);
    expect(maxRelErr(y.subarray(64, y.length - 64), x.subarray(64, y.length - 64))).toBeLessThan(1e-12);
  });

  it('magnitude and phase round trip through fromPolar', () => {
    const x = Float64Array.from({ length: 2000 }, (_, i) => Math.sin(i * 0.1) * Math.exp(-i / 900));
    const S = stft(x, { nFft: 256, hop: 64 });
    const T = fromPolar(magnitude(S), phase(S), S.frames, S.bins);
    expect(maxRelErr(T.re, S.re)).toBeLessThan(1e-13);
    expect(maxRelErr(T.im, S.im)).toBeLessThan(1e-13);
  });

  it('pads like numpy', () => {
    expect([...padSignal([1, 2, 3], 2, 'reflect')]).toEqual([3, 2, 1, 2, 3, 2, 1]);
    // np.pad([1, 2, 3], 5, 'reflect') bounces off both ends:
    expect([...padSignal([1, 2, 3], 5, 'reflect')]).toEqual([2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2]);
    expect([...padSignal([1, 2, 3], 2, 'edge')]).toEqual([1, 1, 1, 2, 3, 3, 3]);
    expect([...padSignal([1, 2, 3], 1, 'constant')]).toEqual([0, 1, 2, 3, 0]);
  });

  it('rejects sizes fft.js cannot do and bad options, with hints', () => {
    expect(() => stft(new Float64Array(100), { nFft: 300 })).toThrow(/power of two/);
    expect(() => stft(new Float64Array(100), { nFft: 256, winLength: 300 })).toThrow(/winLength/);
    expect(() => stft(new Float64Array(100), { nFft: 256, center: false })).toThrow(/shorter than nFft/);
  });
});
