/**
 * The tokenizers' host-side pieces and the eval's measures. Oracles: a sinusoid centred on an STFT
 * bin (its magnitude peaks there, at amplitude·Σwindow/2 for a Hann window), exact inverses, pixel
 * positions written by hand, edit distances and DTW values worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { dtw, editDistance, normalise } from '../../../src/models/omni/eval.ts';
import { fromPatches, IMAGE_SIZE, PATCH, PATCHES, toPatches } from '../../../src/models/omni/images.ts';
import { logMagnitude, toMagnitude } from '../../../src/models/omni/speech-codec.ts';
import { decoderContextCodes, LOG_EPS, SPEECH_BINS, speechVQConfig } from '../../../src/models/omni/speech-vq.ts';

describe('speech frames', () => {
  it('are ln(|STFT| + ε) of MCNN’s analysis: a bin-centred sinusoid peaks at its bin with amplitude·N/4', () => {
    const k = 64; // 64 · 16000 / 1024 = 1000 Hz
    const x = Float32Array.from({ length: 16000 }, (_, t) => 0.5 * Math.sin((2 * Math.PI * k * t) / 1024));
    const { frames, data } = logMagnitude(x);
    expect(frames).toBe(Math.floor(16000 / 256) + 1);
    const t = 30; // a frame well inside the signal
    const row = Array.from(data.subarray(t * SPEECH_BINS, (t + 1) * SPEECH_BINS));
    expect(row.indexOf(Math.max(...row))).toBe(k);
    // Hann window sums to N/2; a sinusoid of amplitude A puts A/2 of it in its bin: 0.5 · 512 / 2 = 128.
    expect(Math.exp(row[k]!) - LOG_EPS).toBeCloseTo(128, 0);
  });

  it('come back to magnitudes exactly, floored at zero', () => {
    const m = Float32Array.from([0, 0.5, 3, 100]);
    const log = Float32Array.from(m, (v) => Math.log(v + LOG_EPS));
    const back = toMagnitude(log);
    m.forEach((v, i) => expect(back[i]).toBeCloseTo(v, 4));
    expect(toMagnitude(Float32Array.of(Math.log(LOG_EPS / 2)))[0]).toBe(0);
  });

  it('are decoded with a context that covers the decoder: 1 + 4 + 1 + ⌈5/2⌉ + 1 codes at depth 2', () => {
    expect(decoderContextCodes(speechVQConfig({ depth: 2 }))).toBe(1 + 4 + 1 + 3 + 1);
    expect(decoderContextCodes(speechVQConfig({ depth: 1 }))).toBe(1 + 1 + 1 + 1 + 1);
  });
});

describe('image patches', () => {
  it('cut 8 × 8 patches row by row and put them back', () => {
    const rgb = Float32Array.from({ length: IMAGE_SIZE * IMAGE_SIZE * 3 }, (_, i) => i);
    const p = toPatches(rgb);
    expect(p.length).toBe(PATCHES * PATCH * PATCH * 3);
    // Patch 5 is row 1, column 1 of the 4 × 4 grid: its first pixel is image pixel (8, 8).
    const dim = PATCH * PATCH * 3;
    expect(p[5 * dim]).toBe((8 * IMAGE_SIZE + 8) * 3);
    // Its pixel (2, 3), green: image pixel (10, 11).
    expect(p[5 * dim + (2 * PATCH + 3) * 3 + 1]).toBe((10 * IMAGE_SIZE + 11) * 3 + 1);
    expect(Array.from(fromPatches(p))).toEqual(Array.from(rgb));
  });
});

describe('eval measures', () => {
  it('edit distance and normalisation', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('five', 'five')).toBe(0);
    expect(normalise('  Seven.  ')).toBe('seven');
    expect(normalise("What's two, plus TWO?")).toBe('what s two plus two');
  });

  it('DTW aligns a stretched sequence at zero cost and sums frame distances on the best path', () => {
    const f = (xs: number[]) => xs.map((x) => Float64Array.of(x));
    expect(dtw(f([0, 1, 2]), f([0, 0, 1, 1, 2, 2]))).toBe(0);
    // [0, 3] vs [0, 1]: the diagonal path costs |0−0| + |3−1| = 2; normalised by n + m = 4.
    expect(dtw(f([0, 3]), f([0, 1]))).toBeCloseTo(0.5, 12);
    expect(dtw([], f([1]))).toBe(Number.POSITIVE_INFINITY);
  });
});
