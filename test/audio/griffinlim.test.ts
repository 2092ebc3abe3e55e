import { describe, expect, it } from 'vitest';
import { FAST_GRIFFIN_LIM_MOMENTUM, griffinLim } from '../../src/audio/griffinlim.ts';
import { spectralConvergence } from '../../src/audio/metrics.ts';
import { magnitude, type StftOptions, stft } from '../../src/audio/stft.ts';
import { fx, maxRelErr } from './fixtures.ts';

describe('Griffin-Lim', () => {
  const g = fx.griffinLim;
  const opts: StftOptions = { nFft: g.nFft, hop: g.hop, window: g.window, padMode: 'reflect' };
  const S = stft(g.signal, opts);
  const mag = magnitude(S);

  for (const variant of ['plain', 'fast'] as const) {
    it(`${variant}: matches the numpy/scipy reference iterate for iterate`, () => {
      const ref = g[variant];
      const out = griffinLim(mag, S.frames, { ...opts, iters: g.iters, momentum: ref.momentum, init: 'zeros', length: g.signal.length });
      expect(maxRelErr(out.convergence, ref.sc)).toBeLessThan(1e-8);
      expect(maxRelErr(out.signal, ref.y)).toBeLessThan(1e-8);
    });
  }

  it('lowers spectral convergence over iterations; the fast variant gets lower sooner', () => {
    // Two harmonic tones with vibrato and an envelope: the kind of signal GL finds hard.
    const sr = 8000;
    const x = Float64Array.from({ length: sr }, (_, i) => {
      const t = i / sr;
      return (
        Math.sin(2 * Math.PI * 300 * t + 3 * Math.sin(2 * Math.PI * 5 * t)) * 0.5 +
        0.3 * Math.sin(2 * Math.PI * 1130 * t) * Math.exp(-2 * t)
      );
    });
    const o: StftOptions = { nFft: 512, hop: 128 };
    const T = stft(x, o);
    const m = magnitude(T);
    const plain = griffinLim(m, T.frames, { ...o, iters: 40, seed: 1, length: x.length });
    const fast = griffinLim(m, T.frames, { ...o, iters: 40, seed: 1, momentum: FAST_GRIFFIN_LIM_MOMENTUM, length: x.length });
    // Plain GL is monotone (Griffin & Lim 1984 prove the inconsistency never increases).
    for (let i = 1; i < plain.convergence.length; i++) expect(plain.convergence[i]!).toBeLessThanOrEqual(plain.convergence[i - 1]! + 1e-12);
    expect(plain.convergence.at(-1)!).toBeLessThan(plain.convergence[0]! * 0.5);
    expect(fast.convergence.at(-1)!).toBeLessThan(plain.convergence.at(-1)!);
    // The reported SC is the SC of the returned signal's own STFT (up to the final projection).
    const re = magnitude(stft(fast.signal, o));
    expect(spectralConvergence(m, re)).toBeLessThan(fast.convergence.at(-2)! * 1.001);
  });

  it('rejects a magnitude of the wrong shape', () => {
    expect(() => griffinLim(new Float64Array(10), 3, { nFft: 256 })).toThrow(/frames × bins/);
  });
});
