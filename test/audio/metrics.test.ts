import { describe, expect, it } from 'vitest';
import { compareAudio, logSpectralDistance, realTimeFactor, snr, spectralConvergence, toDb } from '../../src/audio/metrics.ts';
import { fx } from './fixtures.ts';

describe('metrics', () => {
  it('match the numpy definitions', () => {
    const c = fx.metrics;
    const m = compareAudio(Float64Array.from(c.a), Float64Array.from(c.b), { nFft: c.nFft, hop: c.hop, padMode: 'reflect' });
    expect(m.spectralConvergenceDb).toBeCloseTo(c.scDb, 9);
    expect(m.logSpectralDistance).toBeCloseTo(c.lsd, 9);
    expect(m.snr).toBeCloseTo(c.snr, 9);
  });

  it('analytic values', () => {
    expect(spectralConvergence([3, 4], [3, 4])).toBe(0);
    expect(toDb(spectralConvergence([3, 4], [0, 0]))).toBe(0); // SC 1 = 0 dB
    expect(spectralConvergence([1, 0], [1.1, 0])).toBeCloseTo(0.1, 12);
    // A 10× amplitude error in every bin is 20 dB of LSD.
    expect(logSpectralDistance([1, 2, 3, 4], [10, 20, 30, 40], 2)).toBeCloseTo(20, 12);
    expect(snr([1, -1, 1, -1], [1.1, -1.1, 1.1, -1.1])).toBeCloseTo(20, 12);
    expect(realTimeFactor(0.5, 10)).toBe(0.05);
  });

  it('errors name the mismatch', () => {
    expect(() => snr([1, 2], [1])).toThrow(/2 values.*1/);
    expect(() => spectralConvergence([0, 0], [1, 1])).toThrow(/silent/);
  });
});
