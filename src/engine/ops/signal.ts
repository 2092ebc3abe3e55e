/**
 * Signal ops for audio models: reflect padding, an in-graph STFT magnitude, and the spectral losses
 * of Jukebox (multi-resolution ‖|STFT x| − |STFT y|‖₂, PAPERS.md §5) and MCNN (spectral convergence
 * and log-STFT-magnitude L1, §6).
 *
 * The STFT follows src/audio/stft.ts's conventions (librosa's): frame t covers samples
 * [t·hop, t·hop + nFft) of the padded signal, X[t, f] = Σₙ w[n] x[t·hop + n] e^{−2πi f n / nFft}
 * for f = 0 … nFft/2, a window shorter than nFft is zero-padded to nFft and centred, and `center`
 * pads ⌊nFft/2⌋ samples on each side. Frames come from one strided convolution whose 2·bins output
 * channels are the window times the DFT's cosines and sines, so the gradient is the convolution's own.
 * (The engine does not import src/audio; test/engine/ops.test.ts checks this STFT against it.)
 */
import { defineOp, strides } from '../op.ts';
import { constant, fmt, normAxis, shapeErrorAt, type Tensor } from '../tensor.ts';
import { conv1d } from './conv.ts';
import { abs, add, div, log, mul, sqrt, sub } from './elementwise.ts';
import { mean } from './reduce.ts';
import { flip, pad, reshape, slice, sum, transpose } from './shape.ts';

// ---------------------------------------------------------------------------------------------
// reflect padding (numpy.pad mode 'reflect': mirror about the edge sample, without repeating it)

interface PadAttrs extends Record<string, unknown> {
  axis: number;
  before: number;
  after: number;
}

/** numpy's 'reflect' source index for position i of an axis of n (no bounce: |i| ≤ n − 1 here). */
const reflect = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);

const padReflectOp = defineOp<PadAttrs>({
  name: 'padReflect',
  infer: ([x], { axis, before, after }, fail) => {
    const n = x!.shape[axis]!;
    if (!Number.isInteger(before) || !Number.isInteger(after) || before < 0 || after < 0) fail(`bad padding ${before}/${after}`);
    // numpy bounces off the far edge for longer pads; ONNX Pad's reflect mode does not.
    if (before > n - 1 || after > n - 1) {
      fail(
        `reflect padding ${before}/${after} needs at most ${n - 1} on each side (axis ${axis} has ${n} elements)`,
        'use a longer input or constant padding',
      );
    }
    return { shape: x!.shape.map((d, i) => (i === axis ? d + before + after : d)), dtype: x!.dtype };
  },
  // The mirrored borders send their gradient back to the elements they copied: x[1..before]
  // (reversed) and x[n−1−after..n−2] (reversed).
  vjp: (g, [x], _o, { axis, before, after }) => {
    const n = x!.shape[axis]!;
    let gx = slice(g, axis, before, before + n);
    if (before > 0) gx = add(gx, pad(flip(slice(g, axis, 0, before), axis), axis, 1, n - 1 - before));
    if (after > 0) gx = add(gx, pad(flip(slice(g, axis, before + n, before + n + after), axis), axis, n - 1 - after, 1));
    return [gx];
  },
  lower: (ctx, [x], { axis, before, after }, node) => {
    const pads = new Array<number>(2 * node.rank).fill(0);
    pads[axis] = before;
    pads[node.rank + axis] = after;
    return ctx.emit('Pad', [x!, ctx.int64s(pads)], { mode: { str: 'reflect' } });
  },
  ref: ([x], { axis, before }, out) => {
    const n = x!.shape[axis]!;
    const m = out.shape[axis]!;
    const inner = strides(x!.shape)[axis]!;
    const res = new Float64Array(out.shape.reduce((a, b) => a * b, 1));
    for (let o = 0; o < res.length; o++) {
      const k = Math.floor(o / inner) % m;
      const outer = Math.floor(o / (inner * m));
      res[o] = x!.data[(outer * n + reflect(k - before, n)) * inner + (o % inner)]!;
    }
    return res;
  },
});

/** Pad `before`/`after` elements along `axis` by mirroring about the edge (numpy.pad 'reflect'). */
export const padReflect = (x: Tensor, axis: number, before: number, after: number): Tensor =>
  before === 0 && after === 0 ? x : padReflectOp([x], { axis: normAxis(axis, x.rank, 'padReflect'), before, after });

// ---------------------------------------------------------------------------------------------
// STFT magnitude

export interface StftMagnitudeOptions {
  /** FFT size (any integer ≥ 2; src/audio needs a power of two, this does not). */
  nFft: number;
  /** Samples between frames (default nFft/4, as librosa). */
  hop?: number;
  /** Window length ≤ nFft (default nFft), zero-padded to nFft and centred. */
  winLength?: number;
  /**
   * 'hann' (periodic, the default) or 'rect', or the window's winLength samples (e.g. src/audio's
   * makeWindow for hamming or blackman).
   */
  window?: 'hann' | 'rect' | ArrayLike<number>;
  /** Centre frame t on sample t·hop by padding ⌊nFft/2⌋ each side (default true). */
  center?: boolean;
  /**
   * How `center` pads: 'reflect' (the default here, as torch.stft, which Jukebox uses) or
   * 'constant' (zeros; src/audio's and librosa ≥ 0.10's default).
   */
  padMode?: 'reflect' | 'constant';
}

/**
 * Keeps the magnitude's gradient finite where re = im = 0 (0/0 otherwise); it moves a magnitude by
 * at most √1e-14 = 1e-7.
 */
const MAGNITUDE_EPS = 1e-14;

/** The window's winLength samples: named (periodic, as scipy's get_window) or given. */
function windowSamples(window: StftMagnitudeOptions['window'], winLength: number): Float64Array {
  const given = window ?? 'hann';
  const w =
    typeof given === 'string'
      ? Float64Array.from({ length: winLength }, (_, n) => (given === 'rect' ? 1 : 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / winLength)))
      : Float64Array.from(given);
  if (w.length !== winLength) throw shapeErrorAt(`stft: the window has ${w.length} samples, winLength is ${winLength}`);
  return w;
}

/**
 * The DFT kernels (2·bins, 1, winLength): channel f holds w[m]·cos(2πf(off + m)/N), channel
 * bins + f holds −w[m]·sin(2πf(off + m)/N), where off = ⌊(N − winLength)/2⌋ is where the centred
 * window starts inside the N-sample frame. Only the window's support is convolved: the zero-padded
 * taps outside it cost work and contribute nothing (41 % of Jukebox's largest resolution).
 * Cached per setting so that a graph taking |STFT| of a target and an estimate holds them once.
 */
const kernelCache = new Map<string, Tensor>();
function dftKernels(window: StftMagnitudeOptions['window'], winLength: number, nFft: number): Tensor {
  const key = typeof window === 'object' ? undefined : `${window ?? 'hann'}:${winLength}:${nFft}`;
  const cached = key && kernelCache.get(key);
  if (cached) return cached;
  const w = windowSamples(window, winLength);
  const off = Math.floor((nFft - winLength) / 2);
  const bins = Math.floor(nFft / 2) + 1;
  const k = new Float64Array(2 * bins * winLength);
  for (let f = 0; f < bins; f++) {
    for (let m = 0; m < winLength; m++) {
      // reduce f·n mod N in integers first: the angle keeps full precision at large f·n
      const angle = (2 * Math.PI * ((f * (off + m)) % nFft)) / nFft;
      k[f * winLength + m] = w[m]! * Math.cos(angle);
      k[(bins + f) * winLength + m] = -w[m]! * Math.sin(angle);
    }
  }
  // float64 storage in a float32 constant: float32 graphs round it, the float64 checking mode and
  // the reference keep every digit (what the 1e-6 agreement with src/audio needs at large nFft).
  const kernel = constant({ dtype: 'float32', shape: [2 * bins, 1, winLength], data: k });
  if (key) kernelCache.set(key, kernel);
  return kernel;
}

/**
 * The complex STFT of x (B, L): real and imaginary parts, each (B, frames, bins) with
 * bins = ⌊nFft/2⌋ + 1 and frames = 1 + ⌊(L′ − nFft)/hop⌋, L′ = L + 2⌊nFft/2⌋ when centred. Equal to
 * src/audio's `stft(x)` (re, im) for one row. Phase losses (MCNN's) need both parts.
 *
 *   const { re, im } = stft(x, { nFft: 512, hop: 128 });   // each (B, frames, 257)
 */
export function stft(x: Tensor, opts: StftMagnitudeOptions): { re: Tensor; im: Tensor } {
  const nFft = opts.nFft;
  const hop = opts.hop ?? Math.floor(nFft / 4);
  const winLength = opts.winLength ?? nFft;
  if (x.rank !== 2) throw shapeErrorAt(`stft: x must be (B, L), got ${fmt(x.shape)}`, 'reshape a single signal to [1, L]');
  if (!Number.isInteger(nFft) || nFft < 2) throw shapeErrorAt(`stft: nFft ${nFft} must be an integer ≥ 2`);
  if (!Number.isInteger(hop) || hop < 1) throw shapeErrorAt(`stft: hop ${hop} must be a positive integer`);
  if (!Number.isInteger(winLength) || winLength < 1 || winLength > nFft) {
    throw shapeErrorAt(`stft: winLength ${winLength} must be an integer in [1, nFft = ${nFft}]`);
  }
  const half = Math.floor(nFft / 2);
  let xp = reshape(x, [x.shape[0]!, 1, x.shape[1]!]); // (B, 1, L)
  if (opts.center ?? true) xp = (opts.padMode ?? 'reflect') === 'reflect' ? padReflect(xp, 2, half, half) : pad(xp, 2, half, half);
  if (xp.shape[2]! < nFft)
    throw shapeErrorAt(`stft: a signal of ${x.shape[1]} samples is shorter than nFft = ${nFft}`, 'use center: true or a smaller nFft');

  // Frame t is samples [t·hop + off, t·hop + off + winLength) of the padded signal (the window's support).
  const bins = half + 1;
  const frames = 1 + Math.floor((xp.shape[2]! - nFft) / hop);
  const off = Math.floor((nFft - winLength) / 2);
  const support = slice(xp, 2, off, off + (frames - 1) * hop + winLength); // (B, 1, ·)
  const spec = conv1d(support, dftKernels(opts.window, winLength, nFft), null, { stride: hop }); // (B, 2·bins, frames)
  const re = transpose(slice(spec, 1, 0, bins), [0, 2, 1]); // (B, frames, bins)
  const im = transpose(slice(spec, 1, bins, 2 * bins), [0, 2, 1]); // (B, frames, bins)
  return { re, im };
}

/**
 * |STFT x|: x (B, L) → (B, frames, bins), frames and bins as in `stft`. Equal to src/audio's
 * `magnitude(stft(x))` for one row.
 *
 *   const S = stftMagnitude(x, { nFft: 512, hop: 128 });   // (B, frames, 257)
 */
export function stftMagnitude(x: Tensor, opts: StftMagnitudeOptions): Tensor {
  const { re, im } = stft(x, opts);
  return complexMagnitude(re, im);
}

/** |re + i·im|, with a floor that keeps the gradient finite at 0 (MAGNITUDE_EPS). */
export const complexMagnitude = (re: Tensor, im: Tensor): Tensor => sqrt(add(add(mul(re, re), mul(im, im)), MAGNITUDE_EPS));

// ---------------------------------------------------------------------------------------------
// Spectral losses over magnitudes (B, frames, bins)

/** Keeps ‖·‖'s gradient finite when the two spectrograms are equal. */
const NORM_EPS = 1e-12;

/** Per-example Frobenius norm over (frames, bins): (B, frames, bins) → (B). */
const frobenius = (d: Tensor) => sqrt(add(sum(mul(d, d), [1, 2]), NORM_EPS));

/**
 * MCNN's spectral convergence ‖|S| − |Ŝ|‖_F / ‖|S|‖_F, per example, averaged over the batch.
 * `target` is |S| (B, frames, bins), `estimate` is |Ŝ|.
 */
export function spectralConvergence(target: Tensor, estimate: Tensor): Tensor {
  return mean(div(frobenius(sub(target, estimate)), frobenius(target)));
}

/** MCNN's log-STFT-magnitude loss: mean |log(|S| + eps) − log(|Ŝ| + eps)| over all elements. */
export function logMagnitudeL1(target: Tensor, estimate: Tensor, eps = 1e-7): Tensor {
  return mean(abs(sub(log(add(target, eps)), log(add(estimate, eps)))));
}

/** One STFT resolution: FFT size, hop and window length in samples. */
export interface StftResolution {
  nFft: number;
  hop: number;
  winLength: number;
}

/** Jukebox's three resolutions (PAPERS.md §5), for 44.1 kHz audio. */
export const JUKEBOX_RESOLUTIONS: readonly StftResolution[] = [
  { nFft: 2048, hop: 240, winLength: 1200 },
  { nFft: 1024, hop: 120, winLength: 600 },
  { nFft: 512, hop: 50, winLength: 240 },
];

/**
 * Jukebox's multi-resolution spectral loss: Σ over resolutions of ‖|STFT x| − |STFT y|‖₂ (the
 * Frobenius norm per example), averaged over the batch. x and y are (B, L) signals.
 */
export function multiResolutionStftLoss(
  x: Tensor,
  y: Tensor,
  resolutions: readonly StftResolution[] = JUKEBOX_RESOLUTIONS,
  opts: Pick<StftMagnitudeOptions, 'center' | 'padMode'> = {},
): Tensor {
  if (resolutions.length === 0) throw shapeErrorAt('multiResolutionStftLoss: needs at least one resolution');
  const terms = resolutions.map((r) => mean(frobenius(sub(stftMagnitude(x, { ...opts, ...r }), stftMagnitude(y, { ...opts, ...r })))));
  return terms.reduce((a, b) => add(a, b));
}
