import { describe, expect, it } from 'vitest';
import { hzToMel, logMelSpectrogram, melFilterbank, melToHz, powerToDb } from '../../src/audio/mel.ts';
import { fx, maxRelErr } from './fixtures.ts';

describe('mel scales', () => {
  it('match the numpy reference of librosa.hz_to_mel', () => {
    const m = fx.melScale;
    m.hz.forEach((f: number, i: number) => {
      expect(hzToMel(f, 'slaney')).toBeCloseTo(m.slaney[i], 9);
      expect(hzToMel(f, 'htk')).toBeCloseTo(m.htk[i], 8);
    });
  });

  it('hit the defining points and invert', () => {
    expect(hzToMel(1000, 'slaney')).toBeCloseTo(15, 12); // the Slaney break point
    expect(hzToMel(1000 * 6.4, 'slaney')).toBeCloseTo(15 + 27, 12); // 27 mels per factor 6.4
    expect(hzToMel(700, 'htk')).toBeCloseTo(2595 * Math.log10(2), 12);
    for (const f of [0, 50, 999.9, 1000, 1234.5, 8000, 22050]) {
      expect(melToHz(hzToMel(f, 'slaney'), 'slaney')).toBeCloseTo(f, 8);
      expect(melToHz(hzToMel(f, 'htk'), 'htk')).toBeCloseTo(f, 8);
    }
  });
});

describe('mel filterbanks', () => {
  for (const c of fx.mel) {
    it(`${c.scale} scale, norm ${c.norm}, sr ${c.sampleRate}, n_fft ${c.nFft}, ${c.nMels} mels`, () => {
      const fb = melFilterbank({
        sampleRate: c.sampleRate,
        nFft: c.nFft,
        nMels: c.nMels,
        fmin: c.fmin,
        fmax: c.fmax,
        scale: c.scale,
        norm: c.norm,
      });
      expect(fb.weights.length).toBe(c.weights.length);
      expect(maxRelErr(fb.weights, c.weights)).toBeLessThan(1e-9);
    });
  }

  it('slaney-normalized triangles have unit area in Hz (away from the band edges)', () => {
    const sr = 16000,
      nFft = 8192; // fine bins so the Riemann sum approximates the integral
    const fb = melFilterbank({ sampleRate: sr, nFft, nMels: 20 });
    const df = sr / nFft;
    for (let m = 1; m < 19; m++) {
      let area = 0;
      for (let k = 0; k < fb.bins; k++) area += fb.weights[m * fb.bins + k]! * df;
      expect(area).toBeCloseTo(1, 2);
    }
  });
});

describe('log-mel', () => {
  it('matches power_to_db(mel · |STFT|²) from the numpy reference', () => {
    const c = fx.logMel;
    const lm = logMelSpectrogram(fx.signal, { sampleRate: c.sampleRate, nFft: c.nFft, hop: c.hop, nMels: c.nMels });
    expect(lm.frames).toBe(c.frames);
    expect(maxRelErr(lm.db, c.db)).toBeLessThan(1e-8);
    const lr = logMelSpectrogram(fx.signal, {
      sampleRate: c.sampleRate,
      nFft: c.nFft,
      hop: c.hop,
      nMels: c.nMels,
      ref: c.ref,
      topDb: null,
    });
    expect(maxRelErr(lr.db, c.dbRef)).toBeLessThan(1e-8);
  });

  it('powerToDb floors, references and clips', () => {
    expect([...powerToDb(Float64Array.from([1, 10, 100, 0]), { topDb: null })]).toEqual([0, 10, 20, -100]);
    expect([...powerToDb(Float64Array.from([1, 10, 100, 0]), { topDb: 15 })]).toEqual([5, 10, 20, 5]);
    expect([...powerToDb(Float64Array.from([1, 100]), { ref: 100 })]).toEqual([-20, 0]);
  });
});
