/**
 * The notes measures (src/audio/tonality.ts) against signals whose answers are known by hand:
 * white noise's spectral flatness is e^−γ (each bin's power is exponential, so E[ln P] = ln E[P] − γ),
 * one sine's chroma is one pitch class, three equal sines' is a third each, a four-note melody
 * peaks on its four pitch classes, and silence is skipped.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/audio/random.ts';
import { tonality } from '../../src/audio/tonality.ts';
import { TonyError } from '../../src/errors.ts';

const SR = 8000;
const EULER_GAMMA = 0.5772156649;
const midiHz = (m: number) => 440 * 2 ** ((m - 69) / 12);
const sines = (seconds: number, hz: number[]) =>
  Float64Array.from({ length: seconds * SR }, (_, i) => hz.reduce((a, f) => a + Math.sin((2 * Math.PI * f * i) / SR), 0));

describe('tonality', () => {
  it('white noise: flatness e^−γ ≈ 0.561, no strong frames', () => {
    const r = new Rng(3);
    const t = tonality(
      Float64Array.from({ length: 8 * SR }, () => r.normal()),
      SR,
    );
    expect(t.flatness).toBeGreaterThan(Math.exp(-EULER_GAMMA) - 0.03);
    expect(t.flatness).toBeLessThan(Math.exp(-EULER_GAMMA) + 0.03);
    expect(t.peakShare).toBeLessThan(0.16);
    expect(t.strongFrames).toBe(0);
    expect(t.pitchClasses).toBe(0);
  });

  it('one sine (A4): one pitch class holds nearly all of every frame, flatness near 0', () => {
    const t = tonality(sines(3, [440]), SR);
    expect(t.peakShare).toBeGreaterThan(0.9);
    expect(t.strongFrames).toBe(1);
    expect(t.pitchClasses).toBe(1);
    expect(t.flatness).toBeLessThan(0.01);
  });

  it('a C major triad of equal sines: the peak holds a third', () => {
    const t = tonality(sines(3, [60, 64, 67].map(midiHz)), SR);
    expect(t.peakShare).toBeGreaterThan(0.3);
    expect(t.peakShare).toBeLessThan(0.37);
  });

  it('a melody C4 E4 G4 B4, 0.75 s each: four pitch classes', () => {
    const x = Float64Array.from([60, 64, 67, 71].flatMap((m) => Array.from(sines(0.75, [midiHz(m)]))));
    const t = tonality(x, SR);
    expect(t.pitchClasses).toBe(4);
    expect(t.strongFrames).toBeGreaterThan(0.9);
  });

  it('silent frames are skipped; too little audio is a clear error', () => {
    const x = new Float64Array(4 * SR);
    x.set(sines(2, [440]));
    const t = tonality(x, SR);
    // 2 s of 4 s sound (frames every 0.064 s, centred, so a frame or two of the edge count too)
    expect(t.frames / t.totalFrames).toBeGreaterThan(0.45);
    expect(t.frames / t.totalFrames).toBeLessThan(0.6);
    expect(t.peakShare).toBeGreaterThan(0.9);
    expect(() => tonality(new Float64Array(100), SR)).toThrow(TonyError);
    expect(() => tonality(new Float64Array(100), SR)).toThrow(/too short/);
  });
});
