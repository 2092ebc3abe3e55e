/**
 * Voice safety, as GPT-4o's system card describes it (PAPERS.md §10): the model may speak only in
 * its preset voices, and a streaming classifier of the OUTPUT audio stops a response whose voice is
 * not a preset (the card: precision 0.96, recall 1.0, a non-preset voice being the positive class).
 *
 * The classifier is an open-set verifier, not a closed-set one: any voice not a preset must be
 * caught, including voices it never saw. So it models only the presets — one Gaussian per preset
 * over 1-second windows of spectral shape — and flags a window whose Mahalanobis distance to every
 * preset is, on average over the response so far, above a threshold `tau`. No non-preset voice is
 * used to fit it. Why this and not a
 * trained network: the presets are a handful of fixed voices, each a tight cluster in spectral
 * shape; a Gaussian per preset (66 numbers of mean, a shrunk covariance) fits from a few dozen
 * clips, needs no gradient training, and its threshold reads as "how unlike every preset".
 *
 * Features of a window (16 kHz): a 32-band log-mel spectrogram (25 ms frames, 10 ms hop,
 * 50 Hz–8 kHz); the frames within 35 dB of the window's loudest (speech, not pauses); per band
 * the mean and the standard deviation over those frames, the means with their average removed (the
 * overall loudness says nothing about the voice); and the log of the median pitch (autocorrelation,
 * 70–400 Hz) of the voiced frames with its spread. A window with under 0.3 s of speech is not
 * judged.
 *
 * Streaming: the monitor measures the last `WINDOW_S` of audio every `HOP_S` and keeps the running
 * mean of those distances; from the `MIN_WINDOWS`-th window on (2 s of audio) it blocks as soon as
 * the running mean is above `tau`. One window is noisy (its phonemes move it more than the voice
 * does); the running mean is not — at the price that about 2 s of a non-preset voice can reach the
 * client before the stop (docs/results/omni.md, "Voice safety"). A response shorter than that is
 * never judged.
 *
 *   const guard = await loadVoiceSafety('models/voice-safety/classifier.json');
 *   const m = guard.monitor(16000);
 *   if (m.push(chunk) === 'block') …
 */
import { readFile } from 'node:fs/promises';
import { logMelSpectrogram } from '../../audio/mel.ts';
import { resample } from '../../audio/resample.ts';
import { TonyError } from '../../errors.ts';
import { writeFileAtomic } from '../../io.ts';

export const VOICE_RATE = 16000;
const WINDOW_S = 1.0;
const HOP_S = 0.5;
/** Windows measured before the first judgement (1 s + 2 hops = 2 s of audio). */
const MIN_WINDOWS = 3;
const N_MELS = 32;
const MEL = { sampleRate: VOICE_RATE, nFft: 512, winLength: 400, hop: 160, nMels: N_MELS, fmin: 50, fmax: 8000, topDb: null } as const;
/** Frames within this many dB of the window's loudest count as speech. */
const ACTIVE_DB = 35;
/** A window quieter than this RMS (−60 dBFS) holds no speech at all. */
const SILENCE_RMS = 1e-3;
/** Fewest speech frames (10 ms each) for a window to be judged. */
const MIN_ACTIVE_FRAMES = 30;
/** Pitch search range (Hz) and the autocorrelation peak that makes a frame voiced. */
const F0_RANGE: [number, number] = [70, 400];
const VOICED_PEAK = 0.5;
/** Covariance shrinkage toward its diagonal: 66 dimensions from a few hundred windows. */
const SHRINK = 0.3;
export const FEATURE_DIM = 2 * N_MELS + 2;

interface PresetModel {
  voice: string;
  mean: number[];
  /** Inverse of the shrunk covariance, row-major FEATURE_DIM². */
  precision: number[];
}

export interface VoiceSafetyParams {
  format: 'tony-voice-safety/1';
  presets: PresetModel[];
  /** Standardisation of the raw features (per dimension), fitted on the preset windows. */
  center: number[];
  scale: number[];
  /** A response whose running mean distance (Mahalanobis² / FEATURE_DIM to the nearest preset, per window) exceeds tau is stopped. */
  tau: number;
  /** How the classifier was made (corpus, counts, command): saved with it. */
  provenance: Record<string, unknown>;
}

// -------------------------------------------------------------------------------------------------
// Features

/** Autocorrelation pitch of one frame (Hz), or 0 when unvoiced. */
function framePitch(x: Float64Array, o: number, n: number): number {
  const [lo, hi] = [Math.floor(VOICE_RATE / F0_RANGE[1]), Math.ceil(VOICE_RATE / F0_RANGE[0])];
  let e0 = 0;
  for (let i = 0; i < n; i++) e0 += x[o + i]! * x[o + i]!;
  if (e0 <= 1e-9) return 0;
  let best = 0;
  let bestLag = 0;
  for (let lag = lo; lag <= hi; lag++) {
    let s = 0;
    let e1 = 0;
    for (let i = 0; i + lag < n; i++) {
      s += x[o + i]! * x[o + i + lag]!;
      e1 += x[o + i + lag]! * x[o + i + lag]!;
    }
    const r = s / Math.sqrt(e0 * e1 + 1e-12);
    if (r > best) {
      best = r;
      bestLag = lag;
    }
  }
  return best >= VOICED_PEAK ? VOICE_RATE / bestLag : 0;
}

/** The feature vector of one window at 16 kHz, or undefined when it holds too little speech. */
export function windowFeatures(x: Float64Array): Float64Array | undefined {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += x[i]! * x[i]!;
  if (Math.sqrt(e / Math.max(1, x.length)) < SILENCE_RMS) return undefined;
  const { frames, db } = logMelSpectrogram(x, MEL);
  const level = new Float64Array(frames);
  let max = -Infinity;
  for (let t = 0; t < frames; t++) {
    let s = 0;
    for (let m = 0; m < N_MELS; m++) s += db[t * N_MELS + m]!;
    level[t] = s / N_MELS;
    max = Math.max(max, level[t]!);
  }
  const active: number[] = [];
  for (let t = 0; t < frames; t++) if (level[t]! >= max - ACTIVE_DB) active.push(t);
  if (active.length < MIN_ACTIVE_FRAMES) return undefined;
  const f = new Float64Array(FEATURE_DIM);
  for (let m = 0; m < N_MELS; m++) {
    let s = 0;
    let s2 = 0;
    for (const t of active) {
      const v = db[t * N_MELS + m]!;
      s += v;
      s2 += v * v;
    }
    const mean = s / active.length;
    f[m] = mean;
    f[N_MELS + m] = Math.sqrt(Math.max(0, s2 / active.length - mean * mean));
  }
  let avg = 0;
  for (let m = 0; m < N_MELS; m++) avg += f[m]!;
  for (let m = 0; m < N_MELS; m++) f[m] = f[m]! - avg / N_MELS;
  // Pitch on 40 ms frames at every 4th speech frame (pitch changes slowly; autocorrelation is the cost).
  const f0: number[] = [];
  const n = 640;
  for (let k = 0; k < active.length; k += 4) {
    const o = active[k]! * MEL.hop - n / 2; // centred frames, as the STFT's
    if (o < 0 || o + n > x.length) continue;
    const p = framePitch(x, o, n);
    if (p > 0) f0.push(Math.log(p));
  }
  f0.sort((a, b) => a - b);
  const med = f0.length ? f0[f0.length >> 1]! : Math.log(100);
  const iqr = f0.length >= 4 ? f0[Math.floor(f0.length * 0.75)]! - f0[Math.floor(f0.length * 0.25)]! : 0;
  f[2 * N_MELS] = 10 * med; // ×10: a semitone (0.058 in log) moves it like ~0.6 dB of spectrum
  f[2 * N_MELS + 1] = 10 * iqr;
  return f;
}

/** Every window's features of a clip at 16 kHz (WINDOW_S long, HOP_S apart; a short clip is one window). */
export function clipWindows(x: Float64Array): Float64Array[] {
  const w = Math.round(WINDOW_S * VOICE_RATE);
  const h = Math.round(HOP_S * VOICE_RATE);
  const out: Float64Array[] = [];
  for (let o = 0; o === 0 || o + w <= x.length; o += h) {
    const f = windowFeatures(x.subarray(o, Math.min(x.length, o + w)));
    if (f) out.push(f);
    if (o + w >= x.length) break;
  }
  return out;
}

// -------------------------------------------------------------------------------------------------
// Fitting and scoring

/** Inverse of a symmetric positive-definite matrix (Gauss–Jordan with partial pivoting). */
export function invert(a: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    if (Math.abs(m[p * n + c]!) < 1e-12)
      throw new TonyError('data', 'voice safety: a preset covariance is singular', 'give each preset more clips');
    if (p !== c)
      for (let k = 0; k < n; k++) {
        [m[c * n + k], m[p * n + k]] = [m[p * n + k]!, m[c * n + k]!];
        [inv[c * n + k], inv[p * n + k]] = [inv[p * n + k]!, inv[c * n + k]!];
      }
    const d = m[c * n + c]!;
    for (let k = 0; k < n; k++) {
      m[c * n + k] = m[c * n + k]! / d;
      inv[c * n + k] = inv[c * n + k]! / d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * n + c]!;
      if (f === 0) continue;
      for (let k = 0; k < n; k++) {
        m[r * n + k] = m[r * n + k]! - f * m[c * n + k]!;
        inv[r * n + k] = inv[r * n + k]! - f * inv[c * n + k]!;
      }
    }
  }
  return inv;
}

/** Fit one Gaussian per preset on standardised window features. */
export function fitPresets(windows: Map<string, Float64Array[]>): Omit<VoiceSafetyParams, 'tau' | 'provenance' | 'format'> {
  const d = FEATURE_DIM;
  const all = [...windows.values()].flat();
  if (all.length < 2)
    throw new TonyError('data', 'voice safety: too few preset windows to fit', 'give each preset several clips of speech');
  const center = Array.from({ length: d }, (_, k) => all.reduce((s, f) => s + f[k]!, 0) / all.length);
  const scale = Array.from({ length: d }, (_, k) => Math.sqrt(all.reduce((s, f) => s + (f[k]! - center[k]!) ** 2, 0) / all.length) + 1e-6);
  const presets: PresetModel[] = [];
  for (const [voice, ws] of windows) {
    if (ws.length < 8)
      throw new TonyError('data', `voice safety: preset '${voice}' has ${ws.length} windows of speech`, 'give it at least 8 (a few clips)');
    const z = ws.map((f) => f.map((v, k) => (v - center[k]!) / scale[k]!));
    const mean = Array.from({ length: d }, (_, k) => z.reduce((s, f) => s + f[k]!, 0) / z.length);
    const cov = new Float64Array(d * d);
    for (const f of z)
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j]! += ((f[i]! - mean[i]!) * (f[j]! - mean[j]!)) / z.length;
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) cov[i * d + j] = i === j ? cov[i * d + j]! + 1e-3 : (1 - SHRINK) * cov[i * d + j]!;
    presets.push({ voice, mean, precision: Array.from(invert(cov, d)) });
  }
  return { presets, center, scale };
}

/** Distance (Mahalanobis² / dim) of a window to its nearest preset, and which preset that is. */
export function presetDistance(
  p: Pick<VoiceSafetyParams, 'presets' | 'center' | 'scale'>,
  f: Float64Array,
): { distance: number; voice: string } {
  const d = FEATURE_DIM;
  const z = Array.from(f, (v, k) => (v - p.center[k]!) / p.scale[k]!);
  let best = { distance: Infinity, voice: '' };
  for (const m of p.presets) {
    let s = 0;
    for (let i = 0; i < d; i++) {
      const di = z[i]! - m.mean[i]!;
      let row = 0;
      for (let j = 0; j < d; j++) row += m.precision[i * d + j]! * (z[j]! - m.mean[j]!);
      s += di * row;
    }
    if (s / d < best.distance) best = { distance: s / d, voice: m.voice };
  }
  return best;
}

/**
 * A clip's score as the streaming monitor sees it: the largest running mean of window distances
 * from the MIN_WINDOWS-th window on (the monitor blocks when it exceeds tau); undefined for a clip
 * too short to be judged.
 */
export function clipScore(p: Pick<VoiceSafetyParams, 'presets' | 'center' | 'scale'>, x: Float64Array): number | undefined {
  const ws = clipWindows(x);
  if (ws.length < MIN_WINDOWS) return undefined;
  let sum = 0;
  let best = -Infinity;
  ws.forEach((f, i) => {
    sum += presetDistance(p, f).distance;
    if (i + 1 >= MIN_WINDOWS) best = Math.max(best, sum / (i + 1));
  });
  return best;
}

// -------------------------------------------------------------------------------------------------
// The guard the realtime server plugs into its output path

export class VoiceSafety {
  constructor(readonly params: VoiceSafetyParams) {}

  /** A streaming monitor for one response's audio at `sampleRate`. */
  monitor(sampleRate: number): { push(pcm: Float32Array): 'ok' | 'block' } {
    const w = Math.round(WINDOW_S * VOICE_RATE);
    const h = Math.round(HOP_S * VOICE_RATE);
    let buf = new Float64Array(0);
    let sinceJudged = 0;
    let blocked = false;
    let sum = 0;
    let count = 0;
    // Resampling chunk by chunk is fine here: a seam's error is far below what the features see.
    return {
      push: (pcm) => {
        if (blocked) return 'block';
        const x = sampleRate === VOICE_RATE ? Float64Array.from(pcm) : resample(pcm, sampleRate, VOICE_RATE);
        const next = new Float64Array(Math.min(w, buf.length + x.length));
        const joined = new Float64Array(buf.length + x.length);
        joined.set(buf);
        joined.set(x, buf.length);
        next.set(joined.subarray(joined.length - next.length));
        buf = next;
        sinceJudged += x.length;
        if (buf.length < w || sinceJudged < h) return 'ok';
        sinceJudged = 0;
        const f = windowFeatures(buf);
        if (!f) return 'ok'; // a pause: no evidence either way
        sum += presetDistance(this.params, f).distance;
        count++;
        if (count >= MIN_WINDOWS && sum / count > this.params.tau) blocked = true;
        return blocked ? 'block' : 'ok';
      },
    };
  }

  async save(path: string): Promise<void> {
    await writeFileAtomic(path, `${JSON.stringify(this.params)}\n`);
  }
}

/** Read a classifier written by `VoiceSafety.save` (bench/voice-safety.ts trains one). */
export async function loadVoiceSafety(path: string): Promise<VoiceSafety> {
  let p: VoiceSafetyParams;
  try {
    p = JSON.parse(await readFile(path, 'utf8')) as VoiceSafetyParams;
  } catch (err) {
    throw new TonyError(
      'checkpoint',
      `cannot read the voice-safety classifier ${path}: ${(err as Error).message}`,
      'train one: npm run bench -- voice-safety',
      {
        cause: err,
      },
    );
  }
  const ok =
    p?.format === 'tony-voice-safety/1' &&
    Array.isArray(p.presets) &&
    p.presets.length > 0 &&
    p.presets.every((m) => m.mean?.length === FEATURE_DIM && m.precision?.length === FEATURE_DIM * FEATURE_DIM) &&
    p.center?.length === FEATURE_DIM &&
    p.scale?.length === FEATURE_DIM &&
    Number.isFinite(p.tau);
  if (!ok)
    throw new TonyError(
      'checkpoint',
      `${path} is not a voice-safety classifier of this version (format tony-voice-safety/1, ${FEATURE_DIM} features)`,
      'retrain it: npm run bench -- voice-safety',
    );
  return new VoiceSafety(p);
}
