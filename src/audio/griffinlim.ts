/**
 * Griffin-Lim phase reconstruction — the baseline the MCNN vocoder must beat (PAPERS.md §6).
 *
 * Plain Griffin-Lim (Griffin & Lim 1984) alternates two projections on complex spectrograms:
 *   P_mag(c)  = S · c / |c|           (keep the phase, impose the target magnitude S)
 *   P_cons(c) = STFT(iSTFT(c))        (nearest spectrogram of a real signal)
 * The fast variant (Perraudin, Balazs & Søndergaard 2013, "A fast Griffin-Lim algorithm") adds
 * momentum on the consistent iterates:
 *   t_n = P_cons(P_mag(c_{n−1})),   c_n = t_n + α (t_n − t_{n−1}),
 * with α = 0.99 as the paper recommends; α = 0 is plain Griffin-Lim. (librosa's `griffinlim`
 * implements the same method in an algebraically rearranged form.)
 *
 * The output is iSTFT(P_mag(c_N)). Spectral convergence of each iterate is free: |t_n| is the
 * magnitude of the current estimate's STFT, so it is reported per iteration.
 */
import { TonyError } from '../errors.ts';
import { spectralConvergence } from './metrics.ts';
import { Rng } from './random.ts';
import { istft, type Spectrogram, type StftOptions, stft } from './stft.ts';

/** Perraudin et al. 2013's recommended momentum. */
export const FAST_GRIFFIN_LIM_MOMENTUM = 0.99;

export interface GriffinLimOptions extends StftOptions {
  /** Iterations (default 32, as librosa). */
  iters?: number;
  /** 0 = plain Griffin-Lim (default); FAST_GRIFFIN_LIM_MOMENTUM for the fast variant. */
  momentum?: number;
  /** Initial phase: 'zeros' (deterministic, librosa's init=None) or 'random' (default). */
  init?: 'zeros' | 'random';
  /** Seed for init 'random' (default 0). */
  seed?: number;
  /** Output length in samples (default: what the frames cover). */
  length?: number;
  /** Called after each iteration with the SC in dB (the CLI draws a bar from it). */
  onProgress?: (p: { done: number; total: number; info?: Record<string, string> }) => void;
}

export interface GriffinLimResult {
  signal: Float64Array;
  /** Spectral convergence (plain ratio) of the estimate after each iteration. */
  convergence: number[];
}

/**
 * Reconstruct a signal from a (frames, bins) magnitude spectrogram.
 *
 *   const { signal } = griffinLim(magnitude(stft(x, o)), frames, { ...o, iters: 64, momentum: 0.99 });
 */
export function griffinLim(mag: Float64Array, frames: number, options: GriffinLimOptions): GriffinLimResult {
  const iters = options.iters ?? 32;
  const alpha = options.momentum ?? 0;
  if (!Number.isInteger(iters) || iters < 0) throw new TonyError('config', `Griffin-Lim iters = ${iters} must be a non-negative integer`);
  if (!(alpha >= 0 && alpha < 1.5))
    throw new TonyError('config', `Griffin-Lim momentum = ${alpha} is out of range`, 'use 0 (plain) or 0.99 (fast, Perraudin et al. 2013)');
  const bins = Math.floor(options.nFft / 2) + 1;
  if (mag.length !== frames * bins) {
    throw new TonyError(
      'shape',
      `magnitude has ${mag.length} values, expected frames × bins = ${frames} × ${bins}`,
      'pass the nFft the spectrogram was made with',
    );
  }
  const n = mag.length;
  // c: the current iterate; tPrev: the previous consistent spectrogram (t_{n−1}).
  const c: Spectrogram = { frames, bins, re: new Float64Array(n), im: new Float64Array(n) };
  if ((options.init ?? 'random') === 'random') {
    const rng = new Rng(options.seed ?? 0);
    for (let i = 0; i < n; i++) {
      const p = 2 * Math.PI * rng.next();
      c.re[i] = Math.cos(p);
      c.im[i] = Math.sin(p);
    }
  } else {
    c.re.fill(1);
  }
  let tPrev: Spectrogram = { frames, bins, re: c.re.slice(), im: c.im.slice() };
  const convergence: number[] = [];
  const length = options.length;
  const istftOptions = { ...options, length };
  for (let it = 0; it < iters; it++) {
    imposeMagnitude(c, mag);
    const x = istft(c, istftOptions);
    const t = stft(x, options);
    if (t.frames !== frames) {
      throw new TonyError(
        'shape',
        `re-analysis gave ${t.frames} frames, expected ${frames}`,
        'leave `length` unset or pass the original signal length',
      );
    }
    const tMag = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      tMag[i] = Math.sqrt(t.re[i]! * t.re[i]! + t.im[i]! * t.im[i]!);
      c.re[i] = t.re[i]! + alpha * (t.re[i]! - tPrev.re[i]!);
      c.im[i] = t.im[i]! + alpha * (t.im[i]! - tPrev.im[i]!);
    }
    tPrev = t;
    convergence.push(spectralConvergence(mag, tMag));
    options.onProgress?.({ done: it + 1, total: iters, info: { SC: `${(20 * Math.log10(convergence.at(-1)!)).toFixed(2)} dB` } });
  }
  imposeMagnitude(c, mag);
  return { signal: istft(c, istftOptions), convergence };
}

/** c ← S · c/|c| in place; a zero bin takes phase 0. */
function imposeMagnitude(c: Spectrogram, mag: Float64Array): void {
  for (let i = 0; i < mag.length; i++) {
    const r = Math.sqrt(c.re[i]! * c.re[i]! + c.im[i]! * c.im[i]!);
    if (r > 0) {
      const s = mag[i]! / r;
      c.re[i]! *= s;
      c.im[i]! *= s;
    } else {
      c.re[i] = mag[i]!;
      c.im[i] = 0;
    }
  }
}
