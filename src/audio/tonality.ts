/**
 * Are there notes in a clip? Frame-level measures that tell pitched sound from noise, for the
 * Jukebox diagnosis (docs/results/jukebox.md, session 4): the key estimator sums chroma over a
 * whole clip and names a key even for noise, so it cannot say whether a sample has notes at all.
 *
 * Per STFT frame (~0.26 s at any rate, hop a quarter of it), frames quieter than 30 dB under the
 * loudest are skipped (silence says nothing either way):
 *  - peak share: the largest of the frame's 12 chroma bins (magnitudes 60 Hz–1 kHz, as the key
 *    estimator folds them) over their sum. One note with its harmonics ≈ 0.5–1, a triad ≈ 1/3,
 *    noise ≈ 1/12 plus its fluctuation.
 *  - strong frames: the fraction whose peak share is ≥ 0.25 (three times uniform).
 *  - pitch classes: how many pitch classes are the peak of ≥ 5 % of the strong frames — a steady
 *    tone or a decoder's comb gives 1, a melody or a chord progression several.
 *  - flatness: geometric over arithmetic mean of the power spectrum, 60 Hz–2 kHz (Wiener
 *    entropy). White noise gives e^−γ ≈ 0.56 (each bin's power is exponential, E[ln P] = ln E[P] − γ);
 *    a few sinusoids give nearly 0.
 * Each is averaged over the frames kept.
 */
import { TonyError } from '../errors.ts';
import { magnitude, stft } from './stft.ts';

export interface Tonality {
  /** Mean over kept frames of the largest chroma bin's share. */
  peakShare: number;
  /** Fraction of kept frames whose peak share is ≥ STRONG. */
  strongFrames: number;
  /** Pitch classes that are the peak of ≥ 5 % of the strong frames. */
  pitchClasses: number;
  /** Mean spectral flatness of kept frames. */
  flatness: number;
  /** Frames kept (not silent) and frames in all. */
  frames: number;
  totalFrames: number;
}

const STRONG = 0.25;
const SILENCE_DB = 30;
const CHROMA_HZ: [number, number] = [60, 1000];
const FLATNESS_HZ: [number, number] = [60, 2000];

export function tonality(x: ArrayLike<number>, sampleRate: number): Tonality {
  const nFft = 2 ** Math.ceil(Math.log2(sampleRate / 4)); // ~4 Hz bins: a semitone apart from ~70 Hz up
  if (x.length < nFft)
    throw new TonyError('data', `${(x.length / sampleRate).toFixed(3)} s of audio is too short to judge`, `pass at least ${nFft} samples`);
  const S = stft(x, { nFft, hop: nFft / 4 });
  const mag = magnitude(S);
  const hz = (b: number) => (b * sampleRate) / nFft;
  const pc = new Int32Array(S.bins).fill(-1);
  for (let b = 1; b < S.bins; b++)
    if (hz(b) >= CHROMA_HZ[0] && hz(b) <= CHROMA_HZ[1]) pc[b] = (((Math.round(12 * Math.log2(hz(b) / 440)) + 69) % 12) + 12) % 12;
  const energy = new Float64Array(S.frames);
  for (let t = 0; t < S.frames; t++) for (let b = 0; b < S.bins; b++) energy[t]! += mag[t * S.bins + b]! ** 2;
  const loudest = Math.max(...energy);
  if (!(loudest > 0)) return { peakShare: 0, strongFrames: 0, pitchClasses: 0, flatness: 0, frames: 0, totalFrames: S.frames };
  const floor = loudest * 10 ** (-SILENCE_DB / 10);
  let [kept, shareSum, strong, flatSum] = [0, 0, 0, 0];
  const peaks = new Float64Array(12);
  for (let t = 0; t < S.frames; t++) {
    if (energy[t]! < floor) continue;
    kept++;
    const c = new Float64Array(12);
    let [logSum, powSum, n] = [0, 0, 0];
    for (let b = 0; b < S.bins; b++) {
      const m = mag[t * S.bins + b]!;
      if (pc[b]! >= 0) c[pc[b]!]! += m;
      if (hz(b) >= FLATNESS_HZ[0] && hz(b) <= FLATNESS_HZ[1]) {
        logSum += Math.log(m * m + 1e-30);
        powSum += m * m;
        n++;
      }
    }
    const total = c.reduce((a, v) => a + v, 0);
    const top = c.indexOf(Math.max(...c));
    const share = total > 0 ? c[top]! / total : 0;
    shareSum += share;
    if (share >= STRONG) {
      strong++;
      peaks[top]!++;
    }
    flatSum += powSum > 0 ? Math.exp(logSum / n) / (powSum / n) : 0;
  }
  return {
    peakShare: shareSum / kept,
    strongFrames: strong / kept,
    pitchClasses: strong ? peaks.filter((v) => v >= 0.05 * strong).length : 0,
    flatness: flatSum / kept,
    frames: kept,
    totalFrames: S.frames,
  };
}
