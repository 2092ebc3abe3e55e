/**
 * Scoring spectrogram inversion on whole held-out utterances: MCNN and Griffin-Lim side by side, on
 * the same magnitudes, with the same metrics (src/audio/metrics.ts: spectral convergence in dB and
 * log-spectral distance, both on a 1,024-point Hann STFT with hop 256 of the output against the
 * original), and the wall time each took. What `tony eval vocoder`, `npm run bench -- vocoder` and
 * docs/results/mcnn.md report.
 */
import { FAST_GRIFFIN_LIM_MOMENTUM, griffinLim } from '../../audio/griffinlim.ts';
import { compareAudio } from '../../audio/metrics.ts';
import { magnitude, stft } from '../../audio/stft.ts';
import type { MCNNConfig } from './mcnn.ts';
import { analysis } from './mcnn.ts';
import type { MCNNVocoder } from './vocoder.ts';

/** A clip to invert: samples at the vocoder's rate. */
export interface EvalClip {
  id: string;
  samples: ArrayLike<number>;
}

export interface InversionScore {
  method: string;
  clips: number;
  /** Audio inverted, seconds. */
  seconds: number;
  /** Wall time of the inversions alone (analysis and metrics excluded), seconds. */
  wallSeconds: number;
  /** Mean over clips of 20·log10 SC (dB, lower is better). */
  scDb: number;
  /** Mean over clips of the log-spectral distance (dB, lower is better). */
  lsd: number;
  /** Clips whose output held a NaN or ±∞ (counted as failures, left out of the means). */
  nonFinite: number;
}

/** The magnitude an inverter is given: the analysis STFT of the model (centred Hann frames). */
function analyse(cfg: Readonly<MCNNConfig>, x: ArrayLike<number>) {
  const S = stft(x, { ...analysis(cfg), window: 'hann' });
  return { mag: magnitude(S), frames: S.frames, bins: S.bins };
}

/** Score `invert` (magnitude → waveform) on each clip; the time counted is the inversion's. */
async function score(
  method: string,
  cfg: Readonly<MCNNConfig>,
  clips: readonly EvalClip[],
  invert: (m: ReturnType<typeof analyse>, length: number) => Promise<ArrayLike<number>> | ArrayLike<number>,
  onClip?: (done: number) => void,
): Promise<InversionScore> {
  let wall = 0;
  let seconds = 0;
  let scDb = 0;
  let lsd = 0;
  let finite = 0;
  for (const [i, c] of clips.entries()) {
    const m = analyse(cfg, c.samples);
    const t0 = performance.now();
    const y = await invert(m, c.samples.length);
    wall += (performance.now() - t0) / 1000;
    seconds += c.samples.length / cfg.sampleRate;
    const est = Float64Array.from({ length: c.samples.length }, (_, k) => y[k] ?? 0);
    if (est.every(Number.isFinite)) {
      const r = compareAudio(Float64Array.from(c.samples), est);
      scDb += r.spectralConvergenceDb;
      lsd += r.logSpectralDistance;
      finite++;
    }
    onClip?.(i + 1);
  }
  return {
    method,
    clips: clips.length,
    seconds,
    wallSeconds: wall,
    scDb: scDb / finite,
    lsd: lsd / finite,
    nonFinite: clips.length - finite,
  };
}

/** MCNN on each clip (whole utterance, one graph per length). */
export function scoreMcnn(v: MCNNVocoder, clips: readonly EvalClip[], onClip?: (done: number) => void): Promise<InversionScore> {
  return score('mcnn', v.cfg, clips, (m) => v.synthesize(m), onClip);
}

/**
 * Griffin-Lim on each clip: `iters` iterations, with the fast variant's momentum 0.99 (Perraudin et
 * al. 2013; plain Griffin-Lim with `momentum: 0`), from a seeded random phase.
 */
export function scoreGriffinLim(
  cfg: Readonly<MCNNConfig>,
  clips: readonly EvalClip[],
  iters: number,
  { momentum = FAST_GRIFFIN_LIM_MOMENTUM, seed = 0 } = {},
  onClip?: (done: number) => void,
): Promise<InversionScore> {
  const opts = { nFft: cfg.nFft, hop: cfg.hop, winLength: cfg.winLength };
  return score(
    `griffin-lim ${iters}${momentum ? '' : ' (plain)'}`,
    cfg,
    clips,
    (m, length) => griffinLim(m.mag, m.frames, { ...opts, iters, momentum, seed, length }).signal,
    onClip,
  );
}
