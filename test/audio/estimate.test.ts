/**
 * Key and tempo estimation (src/audio/estimate.ts), checked against ground truth the estimators
 * never see: analytic signals (a click train at a known rate, a cadence in a known key) and the
 * metadata of procedural music composed here from seeds other than the one the constants were
 * chosen on (13).
 */
import { describe, expect, it } from 'vitest';
import { estimateKey, estimateTempo, keyName, parseKey } from '../../src/audio/estimate.ts';
import { composeClip, renderClip } from '../../src/audio/music.ts';
import { Rng } from '../../src/audio/random.ts';
import { TonyError } from '../../src/errors.ts';

const SR = 8000;

describe('parseKey', () => {
  it('reads tonics with sharps and flats and both modes, and names what it cannot read', () => {
    expect(parseKey('D minor')).toEqual({ tonic: 2, mode: 'minor' });
    expect(parseKey('Eb major')).toEqual({ tonic: 3, mode: 'major' });
    expect(parseKey('f# minor')).toEqual({ tonic: 6, mode: 'minor' });
    expect(parseKey('Db major')).toEqual({ tonic: 1, mode: 'major' });
    expect(keyName(parseKey('C# minor'))).toBe('C# minor');
    expect(() => parseKey('H dorian')).toThrow(TonyError);
    expect(() => parseKey('H dorian')).toThrow(/'H dorian' is not a key/);
  });
});

describe('on analytic signals', () => {
  it('a click train at 120 bpm is 120 bpm (±1 %)', () => {
    const x = new Float64Array(10 * SR);
    for (let t = 0; t < x.length; t += SR / 2) for (let i = 0; i < 40; i++) x[t + i] = Math.exp(-i / 8) * Math.sin(i);
    expect(estimateTempo(x, SR).bpm).toBeGreaterThan(118.8);
    expect(estimateTempo(x, SR).bpm).toBeLessThan(121.2);
  });

  it('a I–IV–V–I cadence of sine triads in A major is A major, and in its parallel minor A minor', () => {
    const hz = (midi: number) => 440 * 2 ** ((midi - 69) / 12);
    const cadence = (chords: number[][]) => {
      const x = new Float64Array(chords.length * SR);
      chords.forEach((chord, c) => {
        for (let i = 0; i < SR; i++) for (const m of chord) x[c * SR + i]! += Math.sin((2 * Math.PI * hz(m) * i) / SR) / 3;
      });
      return x;
    };
    // A3 = 57: A–C#–E, D–F#–A, E–G#–B, A–C#–E
    const major = estimateKey(
      cadence([
        [57, 61, 64],
        [62, 66, 69],
        [64, 68, 71],
        [57, 61, 64],
      ]),
      SR,
    );
    expect(keyName(major)).toBe('A major');
    // A–C–E, D–F–A, E–G#–B, A–C–E
    const minor = estimateKey(
      cadence([
        [57, 60, 64],
        [62, 65, 69],
        [64, 68, 71],
        [57, 60, 64],
      ]),
      SR,
    );
    expect(keyName(minor)).toBe('A minor');
  });
});

describe("on the music corpus's ground truth (clips composed from seeds 1000–1023)", () => {
  const clips = Array.from({ length: 24 }, (_, i) => {
    const rng = new Rng(1000 + i);
    const spec = composeClip(rng, 8);
    return { spec, x: renderClip(spec, SR, rng) };
  });

  it('names the key far above chance (1 in 24): ≥ 45 % exactly, ≥ 70 % up to the relative major/minor', () => {
    let exact = 0;
    let relative = 0;
    for (const { spec, x } of clips) {
      const got = estimateKey(x, SR);
      const want = parseKey(spec.key);
      if (got.tonic === want.tonic && got.mode === want.mode) exact++;
      // the relative key shares the scale: C major ↔ A minor (tonics 3 semitones apart)
      const rel = want.mode === 'major' ? { tonic: (want.tonic + 9) % 12, mode: 'minor' } : { tonic: (want.tonic + 3) % 12, mode: 'major' };
      if ((got.tonic === want.tonic && got.mode === want.mode) || (got.tonic === rel.tonic && got.mode === rel.mode)) relative++;
    }
    expect(exact / clips.length).toBeGreaterThanOrEqual(0.45);
    expect(relative / clips.length).toBeGreaterThanOrEqual(0.7);
  });

  it('finds the tempo within 4 % in ≥ 60 % of clips, and a metrical level of it (½, ⅔, 1, 3⁄2, 2×) in ≥ 90 %', () => {
    let exact = 0;
    let metrical = 0;
    for (const { spec, x } of clips) {
      const ratio = estimateTempo(x, SR).bpm / spec.tempo;
      if (Math.abs(ratio - 1) < 0.04) exact++;
      if ([0.5, 2 / 3, 1, 1.5, 2].some((r) => Math.abs(ratio / r - 1) < 0.04)) metrical++;
    }
    expect(exact / clips.length).toBeGreaterThanOrEqual(0.6);
    expect(metrical / clips.length).toBeGreaterThanOrEqual(0.9);
  });
});
