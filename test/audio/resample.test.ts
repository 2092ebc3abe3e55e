import { describe, expect, it } from 'vitest';
import { resample, resampleAudio } from '../../src/audio/resample.ts';

/** RMS level in dB relative to a full-scale sine, over the middle (edges have the filter's ramp). */
function levelDb(y: Float64Array, margin: number): number {
  let s = 0;
  for (let i = margin; i < y.length - margin; i++) s += y[i]! * y[i]!;
  return 20 * Math.log10(Math.sqrt(s / (y.length - 2 * margin)) / Math.SQRT1_2);
}

const tone = (f: number, rate: number, n: number) => Float64Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * f * i) / rate));

describe('resampling', () => {
  it('48 kHz → 16 kHz: stop band ≥ 120 dB down from 8.1 kHz, pass band flat to 7 kHz', () => {
    const n = 24000;
    for (const f of [8100, 8500, 9000, 12000, 16000, 20000, 23900]) {
      expect(levelDb(resample(tone(f, 48000, n), 48000, 16000), 1000)).toBeLessThan(-120);
    }
    for (const f of [100, 1000, 4000, 7000]) {
      expect(Math.abs(levelDb(resample(tone(f, 48000, n), 48000, 16000), 1000))).toBeLessThan(1e-3);
    }
  });

  // Against the analytic sine at the new rate: a max error < 1e-5 also bounds spectral images (from
  // upsampling) and aliases below −100 dB.
  it('a sine resampled is the same sine at the new rate (down, up, and by an odd ratio)', () => {
    for (const [from, to, f] of [
      [22050, 16000, 440],
      [16000, 24000, 3000],
      [8000, 44100, 1234.5],
    ] as const) {
      const n = Math.round(from / 2);
      const y = resample(tone(f, from, n), from, to);
      expect(y.length).toBe(Math.ceil((n * to) / from));
      const want = tone(f, to, y.length);
      let err = 0;
      const margin = Math.ceil(y.length / 10); // past the kernel's reach from the zero-padded ends
      for (let i = margin; i < y.length - margin; i++) err = Math.max(err, Math.abs(y[i]! - want[i]!));
      expect(err).toBeLessThan(1e-5);
    }
  });

  it('identity rate copies; multichannel keeps channels; bad rates error', () => {
    expect([...resample([1, 2, 3], 16000, 16000)]).toEqual([1, 2, 3]);
    const a = resampleAudio({ sampleRate: 16000, channels: [tone(100, 16000, 1600), tone(200, 16000, 1600)] }, 8000);
    expect(a.sampleRate).toBe(8000);
    expect(a.channels.map((c) => c.length)).toEqual([800, 800]);
    expect(() => resample([1], 0, 16000)).toThrow(/cannot resample from 0 Hz/);
  });
});
