/**
 * Objective measures for reconstructed audio — what the MCNN and Jukebox rows report:
 *
 * - spectral convergence, SC = ‖|S| − |Ŝ|‖_F / ‖|S|‖_F (Arık et al. 2018, MCNN; Jukebox reports it
 *   in dB as 20·log10 SC, an amplitude ratio, lower is better);
 * - log-spectral distance, LSD = mean over frames of sqrt(mean over bins of
 *   (10·log10 P − 10·log10 P̂)²) in dB, with P = |S|² floored at `LSD_FLOOR`;
 * - signal-to-noise ratio, SNR = 10·log10(Σ x² / Σ (x − x̂)²) in dB (only meaningful when the phase
 *   is the reference's — Griffin-Lim output has its own phase and a low SNR by construction);
 * - real-time factor, processing seconds per second of audio (RTF < 1 is faster than real time;
 *   ×real-time = 1/RTF).
 */
import { TonyError } from '../errors.ts';
import { magnitude, type StftOptions, stft } from './stft.ts';

/** Power floor for the log in LSD, so silent bins give a finite distance (−100 dB). */
const LSD_FLOOR = 1e-10;

function sameLength(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) {
    throw new TonyError(
      'shape',
      `${what}: reference has ${a.length} values, estimate has ${b.length}`,
      'trim both to the same length first (see alignLengths)',
    );
  }
}

/** Trim two signals to their common length. */
export function alignLengths(a: Float64Array, b: Float64Array): [Float64Array, Float64Array] {
  const n = Math.min(a.length, b.length);
  return [a.subarray(0, n), b.subarray(0, n)];
}

/** SC between two magnitude spectrograms of equal shape, as a plain ratio. */
export function spectralConvergence(refMag: ArrayLike<number>, estMag: ArrayLike<number>): number {
  sameLength(refMag, estMag, 'spectral convergence');
  let num = 0,
    den = 0;
  for (let i = 0; i < refMag.length; i++) {
    const d = refMag[i]! - estMag[i]!;
    num += d * d;
    den += refMag[i]! * refMag[i]!;
  }
  if (den === 0)
    throw new TonyError('data', 'spectral convergence of a silent reference is undefined', 'the reference spectrogram is all zeros');
  return Math.sqrt(num / den);
}

/** Ratio → dB of amplitude (20·log10). */
export function toDb(ratio: number): number {
  return 20 * Math.log10(ratio);
}

/** LSD in dB between two (frames, bins) magnitude spectrograms. */
export function logSpectralDistance(refMag: ArrayLike<number>, estMag: ArrayLike<number>, bins: number): number {
  sameLength(refMag, estMag, 'log-spectral distance');
  const frames = refMag.length / bins;
  if (!Number.isInteger(frames) || frames === 0)
    throw new TonyError('shape', `${refMag.length} values are not whole frames of ${bins} bins`);
  let total = 0;
  for (let t = 0; t < frames; t++) {
    let s = 0;
    for (let k = 0; k < bins; k++) {
      const a = refMag[t * bins + k]!,
        b = estMag[t * bins + k]!;
      const d = 10 * Math.log10(Math.max(a * a, LSD_FLOOR)) - 10 * Math.log10(Math.max(b * b, LSD_FLOOR));
      s += d * d;
    }
    total += Math.sqrt(s / bins);
  }
  return total / frames;
}

/** SNR in dB of an estimate against a reference waveform. */
export function snr(ref: ArrayLike<number>, est: ArrayLike<number>): number {
  sameLength(ref, est, 'SNR');
  let sig = 0,
    noise = 0;
  for (let i = 0; i < ref.length; i++) {
    sig += ref[i]! * ref[i]!;
    const d = ref[i]! - est[i]!;
    noise += d * d;
  }
  return 10 * Math.log10(sig / noise);
}

/** Processing seconds per second of audio. */
export function realTimeFactor(processingSeconds: number, audioSeconds: number): number {
  return processingSeconds / audioSeconds;
}

export interface AudioMetrics {
  /** 20·log10 SC, dB (lower is better). */
  spectralConvergenceDb: number;
  /** dB (lower is better). */
  logSpectralDistance: number;
  /** dB (higher is better). */
  snr: number;
  /** Samples compared (the shorter signal's length). */
  samples: number;
}

/** The STFT the metrics use unless told otherwise: 1024-point Hann, hop 256. */
export const METRIC_STFT: StftOptions = { nFft: 1024, hop: 256 };

/**
 * All waveform metrics of `est` against `ref` (trimmed to the common length), with magnitudes
 * from one STFT setting.
 */
export function compareAudio(ref: Float64Array, est: Float64Array, stftOptions: StftOptions = METRIC_STFT): AudioMetrics {
  const [a, b] = alignLengths(ref, est);
  const A = stft(a, stftOptions),
    B = stft(b, stftOptions);
  const ma = magnitude(A),
    mb = magnitude(B);
  return {
    spectralConvergenceDb: toDb(spectralConvergence(ma, mb)),
    logSpectralDistance: logSpectralDistance(ma, mb, A.bins),
    snr: snr(a, b),
    samples: a.length,
  };
}
