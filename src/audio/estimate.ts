/**
 * Key and tempo of a music signal, estimated — what Jukebox's conditioning is measured with
 * (docs/results/jukebox.md: do samples asked for "D minor, 120 bpm" come out in D minor at 120?).
 *
 *  - Key: a chromagram (STFT magnitude folded onto the 12 pitch classes), summed over the clip and
 *    correlated with the 24 rotations of the Krumhansl–Kessler key profiles (Krumhansl & Kessler
 *    1982, probe-tone ratings; the numbers below are theirs); the best correlation wins.
 *  - Tempo: an onset-strength envelope (half-wave rectified spectral flux of log magnitudes) and its
 *    autocorrelation; the lag L of the highest peak between 40 and 200 bpm of acf(L) + acf(2L),
 *    weighted by a log-normal preference around 110 bpm (half an octave wide) so that a beat and
 *    its half or double are told apart, refined to a fraction of a frame by a parabola.
 * The constants were chosen on the first 80 clips of a procedural corpus (seed 13); the tests
 * measure on clips composed from other seeds.
 */
import { TonyError } from '../errors.ts';
import { magnitude, stft } from './stft.ts';

const PITCH_CLASSES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'] as const;
/** Other spellings people write, folded onto PITCH_CLASSES. */
const SPELLINGS: Record<string, number> = { Db: 1, 'D#': 3, Gb: 6, 'G#': 8, 'A#': 10, Cb: 11, 'E#': 5, Fb: 4, 'B#': 0 };

/** Krumhansl–Kessler probe-tone profiles, tonic first. */
const MAJOR_PROFILE = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
const MINOR_PROFILE = [6.33, 2.68, 3.52, 5.38, 2.6, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];

export interface Key {
  /** Pitch class of the tonic, 0 = C. */
  tonic: number;
  mode: 'major' | 'minor';
}

/** "D minor", "Eb major", "f# minor" → a Key; anything else is a clear error. */
export function parseKey(s: string): Key {
  const m = /^\s*([A-Ga-g])([#b]?)\s+(major|minor)\s*$/.exec(s);
  if (!m) throw new TonyError('usage', `'${s}' is not a key`, 'write a tonic and a mode, e.g. "D minor" or "Eb major"');
  const name = m[1]!.toUpperCase() + m[2]!;
  const tonic = PITCH_CLASSES.indexOf(name as (typeof PITCH_CLASSES)[number]);
  return { tonic: tonic >= 0 ? tonic : SPELLINGS[name]!, mode: m[3] as Key['mode'] };
}

export const keyName = (k: Key) => `${PITCH_CLASSES[k.tonic]} ${k.mode}`;

/**
 * Frequencies folded into the chroma: from just under C2 (65 Hz) to 1 kHz. Above 1 kHz most energy
 * is upper harmonics of the melody (the 3rd harmonic sounds the fifth, the 5th the major third),
 * which pulls the chroma off the key; on the procedural corpus 1 kHz scored 64 % against 54 % for
 * 2.1 kHz (80 clips, seed 13).
 */
const CHROMA_RANGE_HZ: [number, number] = [60, 1000];

/** 12-bin chroma of x (summed magnitude per pitch class over the whole clip), normalised to sum 1. */
function chroma(x: ArrayLike<number>, sampleRate: number): Float64Array {
  const nFft = 2 ** Math.ceil(Math.log2(sampleRate / 2)); // ~2 Hz bins: semitones apart even at 65 Hz
  const S = stft(x, { nFft, hop: nFft / 4 });
  const mag = magnitude(S);
  const pc = new Int32Array(S.bins).fill(-1);
  for (let b = 1; b < S.bins; b++) {
    const f = (b * sampleRate) / nFft;
    if (f >= CHROMA_RANGE_HZ[0] && f <= CHROMA_RANGE_HZ[1]) pc[b] = (((Math.round(12 * Math.log2(f / 440)) + 69) % 12) + 12) % 12;
  }
  const c = new Float64Array(12);
  for (let t = 0; t < S.frames; t++) for (let b = 0; b < S.bins; b++) if (pc[b]! >= 0) c[pc[b]!]! += mag[t * S.bins + b]!;
  const total = c.reduce((a, v) => a + v, 0);
  if (total > 0) for (let i = 0; i < 12; i++) c[i]! /= total;
  return c;
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) [ma, mb] = [ma + a[i]! / n, mb + b[i]! / n];
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (a[i]! - ma) * (b[i]! - mb);
    da += (a[i]! - ma) ** 2;
    db += (b[i]! - mb) ** 2;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : 0;
}

/** The key of x: the best of the 24 rotated profiles, with its correlation. */
export function estimateKey(x: ArrayLike<number>, sampleRate: number): Key & { score: number } {
  const c = chroma(x, sampleRate);
  let best: Key & { score: number } = { tonic: 0, mode: 'major', score: -Infinity };
  for (const [mode, profile] of [
    ['major', MAJOR_PROFILE],
    ['minor', MINOR_PROFILE],
  ] as const) {
    for (let tonic = 0; tonic < 12; tonic++) {
      const rotated = Array.from({ length: 12 }, (_, i) => profile[(i - tonic + 12) % 12]!);
      const score = pearson(c, rotated);
      if (score > best.score) best = { tonic, mode, score };
    }
  }
  return best;
}

/** Onset envelope frame rate: ~10 ms frames, the usual resolution for beat tracking. */
const ONSET_FRAME_SECONDS = 0.01;
const TEMPO_RANGE_BPM: [number, number] = [40, 200];
/** Log-normal tempo preference: centre (bpm) and width (octaves). */
const TEMPO_PRIOR = { centre: 110, octaves: 0.5 };

/** Onset strength per frame: Σ_bins max(0, log(1 + γ|S_t|) − log(1 + γ|S_{t−1}|)); also its frame rate. */
function onsetEnvelope(x: ArrayLike<number>, sampleRate: number): { envelope: Float64Array; frameRate: number } {
  const hop = Math.max(1, Math.round(sampleRate * ONSET_FRAME_SECONDS));
  const nFft = 2 ** Math.ceil(Math.log2(4 * hop));
  const S = stft(x, { nFft, hop });
  const mag = magnitude(S);
  const GAMMA = 100; // log compression: onsets of quiet notes count too
  const env = new Float64Array(S.frames);
  for (let t = 1; t < S.frames; t++) {
    let s = 0;
    for (let b = 0; b < S.bins; b++) {
      const d = Math.log1p(GAMMA * mag[t * S.bins + b]!) - Math.log1p(GAMMA * mag[(t - 1) * S.bins + b]!);
      if (d > 0) s += d;
    }
    env[t] = s;
  }
  return { envelope: env, frameRate: sampleRate / hop };
}

/** The tempo of x in beats per minute (onset autocorrelation), with the peak's normalised height. */
export function estimateTempo(x: ArrayLike<number>, sampleRate: number): { bpm: number; score: number } {
  const { envelope, frameRate } = onsetEnvelope(x, sampleRate);
  const n = envelope.length;
  const mean = envelope.reduce((a, v) => a + v, 0) / Math.max(1, n);
  const e = envelope.map((v) => v - mean);
  const lagOf = (bpm: number) => (60 * frameRate) / bpm;
  const [lo, hi] = [Math.floor(lagOf(TEMPO_RANGE_BPM[1])), Math.ceil(lagOf(TEMPO_RANGE_BPM[0]))];
  if (hi >= n)
    throw new TonyError('data', `${(x.length / sampleRate).toFixed(2)} s of audio is too short to estimate a tempo`, 'pass at least 3 s');
  const acf = new Float64Array(2 * hi + 2);
  for (let lag = 0; lag <= Math.min(n - 1, 2 * hi + 1); lag++) {
    let s = 0;
    for (let t = lag; t < n; t++) s += e[t]! * e[t - lag]!;
    acf[lag] = s / (n - lag); // unbiased: long lags are not penalised for their fewer terms
  }
  let best = lo;
  let bestW = -Infinity;
  for (let lag = lo; lag <= hi; lag++) {
    const bpm = (60 * frameRate) / lag;
    // A beat recurs at its period and at twice it (the half-note); an off-beat subdivision (⅔ or
    // ½ of the beat) has the first without the second.
    const w = (acf[lag]! + (acf[2 * lag] ?? 0)) * Math.exp(-0.5 * (Math.log2(bpm / TEMPO_PRIOR.centre) / TEMPO_PRIOR.octaves) ** 2);
    if (w > bestW && acf[lag]! >= acf[lag - 1]! && acf[lag]! >= acf[lag + 1]!) [best, bestW] = [lag, w];
  }
  // Parabola through the peak and its neighbours: the lag to a fraction of a frame.
  const [a, b, c] = [acf[best - 1]!, acf[best]!, acf[best + 1]!];
  const denom = a - 2 * b + c;
  const lag = best + (denom !== 0 ? (0.5 * (a - c)) / denom : 0);
  return { bpm: (60 * frameRate) / lag, score: acf[0]! > 0 ? b / acf[0]! : 0 };
}
