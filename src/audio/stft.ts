/**
 * Short-time Fourier transform and its inverse, with librosa's conventions (librosa ≥ 0.10
 * `stft`/`istft`, which scipy's `signal.stft`/`istft` also match up to a 1/sum(window) scale):
 *
 * - frame t covers samples [t·hop, t·hop + n_fft) of the (padded) signal; bin f is
 *   X[t, f] = Σ_n w[n] x[t·hop + n] e^{−2πi f n / n_fft}, f = 0 … n_fft/2 (unnormalized, like rfft);
 * - a window shorter than n_fft (winLength) is zero-padded on both sides to n_fft, centred;
 * - `center: true` pads n_fft/2 samples each side (mode 'constant' = zeros, librosa's default,
 *   'reflect' = numpy's reflect = scipy's 'even' boundary, or 'edge'), so frame t is centred on
 *   sample t·hop; frames = 1 + ⌊(len + 2·⌊n_fft/2⌋ − n_fft) / hop⌋;
 * - windows are periodic (DFT-even) by default, as scipy's `get_window(…, fftbins=True)`;
 * - the inverse overlap-adds the windowed inverse FFTs and divides by Σ_t w²[n − t·hop] (the
 *   least-squares inverse of Griffin & Lim 1984), so any window whose squared shifts never sum to
 *   zero (NOLA) — e.g. Hann at hop ≤ n_fft/2 — reconstructs exactly.
 *
 * Layout: a spectrogram is row-major (frames, bins) — the transpose of librosa's (bins, frames) —
 * so a frame is contiguous, the order an MCNN or a sequence model reads it in.
 */
import { TonyError } from '../errors.ts';
import { RealFFT } from './fft.ts';

export type WindowName = 'hann' | 'hamming' | 'blackman' | 'rect';
export type PadMode = 'constant' | 'reflect' | 'edge';

/** A complex spectrogram, (frames, bins) row-major: element [t·bins + f]. */
export interface Spectrogram {
  frames: number;
  bins: number;
  re: Float64Array;
  im: Float64Array;
}

export interface StftOptions {
  /** FFT size, a power of two. */
  nFft: number;
  /** Samples between frames (default nFft/4, as librosa). */
  hop?: number;
  /** Window length ≤ nFft (default nFft); zero-padded to nFft, centred. */
  winLength?: number;
  /** Default 'hann'. */
  window?: WindowName;
  /** Centre frames on t·hop by padding nFft/2 each side (default true). */
  center?: boolean;
  /** How `center` pads (default 'constant', librosa ≥ 0.10). */
  padMode?: PadMode;
}

interface Resolved {
  nFft: number;
  hop: number;
  winLength: number;
  window: WindowName;
  center: boolean;
  padMode: PadMode;
}

function resolve(o: StftOptions): Resolved {
  const nFft = o.nFft;
  const r: Resolved = {
    nFft,
    hop: o.hop ?? Math.floor(nFft / 4),
    winLength: o.winLength ?? nFft,
    window: o.window ?? 'hann',
    center: o.center ?? true,
    padMode: o.padMode ?? 'constant',
  };
  if (!Number.isInteger(r.hop) || r.hop < 1) throw new TonyError('config', `STFT hop ${r.hop} must be a positive integer`);
  if (!Number.isInteger(r.winLength) || r.winLength < 1 || r.winLength > nFft) {
    throw new TonyError('config', `STFT winLength ${r.winLength} must be an integer in [1, nFft = ${nFft}]`);
  }
  return r;
}

/**
 * A window of `length` samples. `periodic` (the default) drops the last point of a length+1
 * symmetric window — the DFT-even form spectral analysis wants; `periodic: false` is symmetric.
 */
export function makeWindow(name: WindowName, length: number, periodic = true): Float64Array {
  const w = new Float64Array(length);
  const m = periodic ? length : length - 1;
  if (length === 1) {
    w[0] = 1;
    return w;
  }
  for (let n = 0; n < length; n++) {
    const p = (2 * Math.PI * n) / m;
    switch (name) {
      case 'hann':
        w[n] = 0.5 - 0.5 * Math.cos(p);
        break;
      case 'hamming':
        w[n] = 0.54 - 0.46 * Math.cos(p);
        break;
      case 'blackman':
        w[n] = 0.42 - 0.5 * Math.cos(p) + 0.08 * Math.cos(2 * p);
        break;
      case 'rect':
        w[n] = 1;
        break;
      default:
        throw new TonyError('config', `unknown window '${name as string}'`, 'use hann, hamming, blackman or rect');
    }
  }
  return w;
}

/** The analysis window zero-padded (centred) to nFft, as librosa's util.pad_center. */
function paddedWindow(r: Resolved): Float64Array {
  const w = makeWindow(r.window, r.winLength);
  const out = new Float64Array(r.nFft);
  out.set(w, Math.floor((r.nFft - r.winLength) / 2));
  return out;
}

/** Pad `x` by `pad` samples on each side (numpy.pad semantics for the three modes). */
export function padSignal(x: ArrayLike<number>, pad: number, mode: PadMode): Float64Array {
  const n = x.length;
  const out = new Float64Array(n + 2 * pad);
  for (let i = 0; i < n; i++) out[pad + i] = x[i]!;
  if (mode === 'constant' || pad === 0) return out;
  if (mode === 'reflect' && n < 2) {
    throw new TonyError('shape', `cannot reflect-pad a signal of ${n} samples`, "use padMode 'constant' or a longer signal");
  }
  for (let i = 1; i <= pad; i++) {
    // numpy 'reflect' mirrors about the edge sample without repeating it, bouncing on long pads.
    out[pad - i] = mode === 'edge' ? x[0]! : x[reflectIndex(-i, n)]!;
    out[pad + n - 1 + i] = mode === 'edge' ? x[n - 1]! : x[reflectIndex(n - 1 + i, n)]!;
  }
  return out;
}

function reflectIndex(i: number, n: number): number {
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/** Number of STFT frames for a signal of `length` samples. */
export function frameCount(length: number, options: StftOptions): number {
  const r = resolve(options);
  const padded = r.center ? length + 2 * Math.floor(r.nFft / 2) : length;
  if (padded < r.nFft) return 0;
  return 1 + Math.floor((padded - r.nFft) / r.hop);
}

/**
 * STFT of a mono signal → (frames, bins) complex spectrogram.
 *
 *   const S = stft(x, { nFft: 1024, hop: 256 });   // S.bins = 513
 */
export function stft(x: ArrayLike<number>, options: StftOptions): Spectrogram {
  const r = resolve(options);
  const fft = new RealFFT(r.nFft);
  const xp = r.center ? padSignal(x, Math.floor(r.nFft / 2), r.padMode) : Float64Array.from(x);
  if (xp.length < r.nFft) {
    throw new TonyError('shape', `signal of ${x.length} samples is shorter than nFft = ${r.nFft}`, 'use center: true or a smaller nFft');
  }
  const frames = 1 + Math.floor((xp.length - r.nFft) / r.hop);
  const bins = fft.bins;
  const S: Spectrogram = { frames, bins, re: new Float64Array(frames * bins), im: new Float64Array(frames * bins) };
  const w = paddedWindow(r);
  const frame = new Float64Array(r.nFft);
  for (let t = 0; t < frames; t++) {
    const start = t * r.hop;
    for (let n = 0; n < r.nFft; n++) frame[n] = xp[start + n]! * w[n]!;
    fft.forward(frame, S.re, S.im, t * bins);
  }
  return S;
}

export interface IstftOptions extends StftOptions {
  /** Output length in samples (trims or zero-pads); default: as many as the frames cover. */
  length?: number;
}

/** Squared windows below this are treated as zero coverage (librosa uses float tiny). */
const TINY = 1e-300;

/**
 * Inverse STFT (least-squares overlap-add). With the options used for `stft`, istft(stft(x)) = x
 * up to rounding for any NOLA window.
 */
export function istft(S: Spectrogram, options: IstftOptions): Float64Array {
  const r = resolve(options);
  const fft = new RealFFT(r.nFft);
  if (S.bins !== fft.bins) {
    throw new TonyError(
      'shape',
      `spectrogram has ${S.bins} bins, nFft = ${r.nFft} needs ${fft.bins}`,
      'pass the nFft the spectrogram was made with',
    );
  }
  const w = paddedWindow(r);
  const full = r.nFft + r.hop * (S.frames - 1);
  const y = new Float64Array(Math.max(full, 0));
  const wss = new Float64Array(y.length);
  const a = new Float64Array(r.nFft),
    b = new Float64Array(r.nFft);
  for (let t = 0; t < S.frames; t += 2) {
    const t2 = Math.min(t + 1, S.frames - 1); // an odd last frame pairs with itself
    fft.inverse2(S.re, S.im, t * S.bins, S.re, S.im, t2 * S.bins, a, b);
    addFrame(y, wss, a, w, t * r.hop);
    if (t2 !== t) addFrame(y, wss, b, w, t2 * r.hop);
  }
  for (let i = 0; i < y.length; i++) if (wss[i]! > TINY) y[i]! /= wss[i]!;
  const start = r.center ? Math.floor(r.nFft / 2) : 0;
  const natural = Math.max(0, y.length - (r.center ? 2 * start : 0));
  const length = options.length ?? natural;
  const out = new Float64Array(length);
  out.set(y.subarray(start, Math.min(y.length, start + length)));
  return out;
}

function addFrame(y: Float64Array, wss: Float64Array, frame: Float64Array, w: Float64Array, at: number): void {
  for (let n = 0; n < frame.length; n++) {
    y[at + n]! += frame[n]! * w[n]!;
    wss[at + n]! += w[n]! * w[n]!;
  }
}

/** |X|, (frames, bins). */
export function magnitude(S: Spectrogram): Float64Array {
  const out = new Float64Array(S.re.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(S.re[i]! * S.re[i]! + S.im[i]! * S.im[i]!); // not Math.hypot: 5–10× slower in V8
  return out;
}

/** arg X in (−π, π], (frames, bins). */
export function phase(S: Spectrogram): Float64Array {
  const out = new Float64Array(S.re.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.atan2(S.im[i]!, S.re[i]!);
  return out;
}

/** Build a spectrogram from magnitude and phase (both (frames, bins)). */
export function fromPolar(mag: Float64Array, ph: Float64Array, frames: number, bins: number): Spectrogram {
  if (mag.length !== frames * bins || ph.length !== frames * bins) {
    throw new TonyError(
      'shape',
      `magnitude (${mag.length}) and phase (${ph.length}) must both have frames × bins = ${frames * bins} values`,
    );
  }
  const S: Spectrogram = { frames, bins, re: new Float64Array(mag.length), im: new Float64Array(mag.length) };
  for (let i = 0; i < mag.length; i++) {
    S.re[i] = mag[i]! * Math.cos(ph[i]!);
    S.im[i] = mag[i]! * Math.sin(ph[i]!);
  }
  return S;
}
