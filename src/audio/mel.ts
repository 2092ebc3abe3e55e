/**
 * Mel filterbanks and log-mel spectrograms, with librosa's formulas (`filters.mel`,
 * `feature.melspectrogram`, `power_to_db`):
 *
 * - the HTK mel scale, m = 2595·log10(1 + f/700), and the Slaney (Auditory Toolbox) scale, linear
 *   below 1 kHz (m = 3f/200) and logarithmic above with 27 steps per factor 6.4 — librosa's default;
 * - n_mels triangular filters whose edges are n_mels + 2 points equally spaced in mel between
 *   fmin and fmax, evaluated at the FFT bin centre frequencies f_k = k·sr/n_fft;
 * - norm 'slaney' scales each triangle to unit area in Hz (2 / (f_{i+2} − f_i)), `none` leaves
 *   peaks at 1.
 *
 * Filterbanks are (nMels, bins) row-major; a mel spectrogram is (frames, nMels).
 */
import { TonyError } from '../errors.ts';
import { magnitude, type StftOptions, stft } from './stft.ts';

export type MelScale = 'slaney' | 'htk';
export type MelNorm = 'slaney' | 'none';

const HTK_SCALE = 2595;
const HTK_CORNER_HZ = 700;
/** Slaney scale: 200/3 Hz per mel below 1 kHz, then log steps of ln(6.4)/27 per mel. */
const SLANEY_HZ_PER_MEL = 200 / 3;
const SLANEY_BREAK_HZ = 1000;
const SLANEY_BREAK_MEL = SLANEY_BREAK_HZ / SLANEY_HZ_PER_MEL; // 15
const SLANEY_LOG_STEP = Math.log(6.4) / 27;

/** Hertz → mel. */
export function hzToMel(f: number, scale: MelScale = 'slaney'): number {
  if (scale === 'htk') return HTK_SCALE * Math.log10(1 + f / HTK_CORNER_HZ);
  if (f < SLANEY_BREAK_HZ) return f / SLANEY_HZ_PER_MEL;
  return SLANEY_BREAK_MEL + Math.log(f / SLANEY_BREAK_HZ) / SLANEY_LOG_STEP;
}

/** Mel → hertz. */
export function melToHz(m: number, scale: MelScale = 'slaney'): number {
  if (scale === 'htk') return HTK_CORNER_HZ * (10 ** (m / HTK_SCALE) - 1);
  if (m < SLANEY_BREAK_MEL) return m * SLANEY_HZ_PER_MEL;
  return SLANEY_BREAK_HZ * Math.exp(SLANEY_LOG_STEP * (m - SLANEY_BREAK_MEL));
}

export interface MelOptions {
  sampleRate: number;
  nFft: number;
  /** Default 128, as librosa. */
  nMels?: number;
  /** Lowest edge in Hz (default 0). */
  fmin?: number;
  /** Highest edge in Hz (default sampleRate/2). */
  fmax?: number;
  /** Default 'slaney' (librosa's htk=False). */
  scale?: MelScale;
  /** Default 'slaney'. */
  norm?: MelNorm;
}

/** A mel filterbank: `weights` is (nMels, bins) row-major. */
export interface MelFilterbank {
  nMels: number;
  bins: number;
  weights: Float64Array;
  /** The nMels + 2 edge frequencies in Hz. */
  edgesHz: Float64Array;
}

/**
 * Triangular mel filterbank for an n_fft-point FFT.
 *
 *   const fb = melFilterbank({ sampleRate: 16000, nFft: 1024, nMels: 80 });
 */
export function melFilterbank(o: MelOptions): MelFilterbank {
  const nMels = o.nMels ?? 128;
  const fmin = o.fmin ?? 0;
  const fmax = o.fmax ?? o.sampleRate / 2;
  const scale = o.scale ?? 'slaney';
  const norm = o.norm ?? 'slaney';
  if (!(fmin >= 0 && fmax > fmin && fmax <= o.sampleRate / 2 + 1e-9)) {
    throw new TonyError(
      'config',
      `mel range fmin = ${fmin}, fmax = ${fmax} is invalid at sample rate ${o.sampleRate}`,
      'need 0 ≤ fmin < fmax ≤ sampleRate/2',
    );
  }
  if (!Number.isInteger(nMels) || nMels < 1) throw new TonyError('config', `nMels = ${nMels} must be a positive integer`);
  const bins = Math.floor(o.nFft / 2) + 1;
  const fftFreqs = Float64Array.from({ length: bins }, (_, k) => (k * o.sampleRate) / o.nFft);
  const mlo = hzToMel(fmin, scale),
    mhi = hzToMel(fmax, scale);
  const edges = Float64Array.from({ length: nMels + 2 }, (_, i) => melToHz(mlo + ((mhi - mlo) * i) / (nMels + 1), scale));
  const weights = new Float64Array(nMels * bins);
  for (let i = 0; i < nMels; i++) {
    const lo = edges[i]!,
      mid = edges[i + 1]!,
      hi = edges[i + 2]!;
    const enorm = norm === 'slaney' ? 2 / (hi - lo) : 1;
    for (let k = 0; k < bins; k++) {
      const f = fftFreqs[k]!;
      const rising = (f - lo) / (mid - lo);
      const falling = (hi - f) / (hi - mid);
      weights[i * bins + k] = Math.max(0, Math.min(rising, falling)) * enorm;
    }
  }
  return { nMels, bins, weights, edgesHz: edges };
}

/**
 * Apply a filterbank to a (frames, bins) magnitude or power spectrogram → (frames, nMels).
 * librosa's melspectrogram is this applied to |STFT|^2 (power = 2).
 */
export function applyFilterbank(spec: Float64Array, frames: number, fb: MelFilterbank): Float64Array {
  if (spec.length !== frames * fb.bins) {
    throw new TonyError(
      'shape',
      `spectrogram has ${spec.length} values, expected frames × bins = ${frames} × ${fb.bins}`,
      'the filterbank must be built for the same nFft',
    );
  }
  const out = new Float64Array(frames * fb.nMels);
  for (let t = 0; t < frames; t++) {
    for (let m = 0; m < fb.nMels; m++) {
      let s = 0;
      const row = m * fb.bins,
        col = t * fb.bins;
      for (let k = 0; k < fb.bins; k++) s += fb.weights[row + k]! * spec[col + k]!;
      out[t * fb.nMels + m] = s;
    }
  }
  return out;
}

export interface DbOptions {
  /** Reference power: 0 dB (default 1). */
  ref?: number;
  /** Floor on power before the log (default 1e-10, librosa's amin). */
  amin?: number;
  /** Clip to max − topDb (default 80 dB; `null` for no clipping). */
  topDb?: number | null;
}

/** 10·log10(max(amin, S) / max(amin, ref)), clipped at max − topDb (librosa power_to_db). */
export function powerToDb(S: Float64Array, o: DbOptions = {}): Float64Array {
  const amin = o.amin ?? 1e-10;
  const ref = o.ref ?? 1;
  const topDb = o.topDb === undefined ? 80 : o.topDb;
  const out = new Float64Array(S.length);
  const refDb = 10 * Math.log10(Math.max(amin, ref));
  let max = -Infinity;
  for (let i = 0; i < S.length; i++) {
    out[i] = 10 * Math.log10(Math.max(amin, S[i]!)) - refDb;
    if (out[i]! > max) max = out[i]!;
  }
  if (topDb !== null) for (let i = 0; i < out.length; i++) out[i] = Math.max(out[i]!, max - topDb);
  return out;
}

/**
 * Log-mel spectrogram of a mono signal: power_to_db(mel · |STFT|²), (frames, nMels).
 *
 *   const lm = logMelSpectrogram(x, { sampleRate: 16000, nFft: 1024, hop: 256, nMels: 80 });
 */
export function logMelSpectrogram(
  x: ArrayLike<number>,
  o: MelOptions & Omit<StftOptions, 'nFft'> & DbOptions,
): { frames: number; nMels: number; db: Float64Array } {
  const S = stft(x, o);
  const power = magnitude(S).map((m) => m * m);
  const fb = melFilterbank(o);
  const db = powerToDb(applyFilterbank(power, S.frames, fb), o);
  return { frames: S.frames, nMels: fb.nMels, db };
}
