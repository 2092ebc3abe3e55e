/**
 * The Realtime protocol's audio: `pcm16` is 16-bit signed little-endian mono at 24 kHz, base64 in a
 * JSON string. Decoding checks what Node's `Buffer.from(s, 'base64')` would silently skip (stray
 * characters, a truncated quad, an odd byte count), so a bad `audio` field is the client's error and
 * never a half-decoded buffer.
 *
 * `StreamResampler` resamples a stream chunk by chunk with src/audio/resample.ts and gives exactly
 * the samples that resampling the whole signal at once gives: audio in is resampled as it is
 * appended (so a commit costs nothing more), audio out as the model yields it (no clicks at the
 * chunk seams that resampling each chunk alone would put there).
 */
import { resample } from '../../audio/resample.ts';

/** The protocol's PCM16 rate, in and out. */
export const PROTOCOL_RATE = 24000;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Why a base64 PCM16 string cannot be decoded, or undefined when it can. */
export function pcm16Problem(b64: string): string | undefined {
  if (b64.length % 4 !== 0 || !BASE64.test(b64)) return 'is not valid base64 (standard alphabet, padded with =)';
  const bytes = (b64.length / 4) * 3 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
  if (bytes % 2 !== 0) return `holds ${bytes} bytes, not whole 16-bit samples`;
  return undefined;
}

/** base64 PCM16 LE → samples in [-1, 1). Call `pcm16Problem` first: this trusts its input. */
export function decodePcm16(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  const n = buf.length >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readInt16LE(2 * i) / 32768;
  return out;
}

/** Samples → base64 PCM16 LE; clipped to [-1, 1], rounded to the nearest step. */
export function encodePcm16(x: ArrayLike<number>): string {
  const buf = Buffer.allocUnsafe(2 * x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.max(-1, Math.min(1, x[i]!));
    buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32768))), 2 * i);
  }
  return buf.toString('base64');
}

/**
 * Chunked resampling equal to `resample(wholeSignal, from, to)`. The resampler's output sample i sits
 * at input time i·from/to and reads inputs within `REACH` of it; an output is emitted once every
 * input it reads has arrived, so `push` lags the input by about REACH samples and `flush` (end of
 * stream: later inputs are zeros, as `resample` treats samples past the end) gives the rest.
 *
 * Each emitted block is one `resample` call on a window of the history whose first sample is a
 * multiple of from/gcd(from, to): there the window's output grid coincides with the whole
 * signal's, so the window's outputs are the whole signal's outputs, sample for sample.
 */
export class StreamResampler {
  /** Inputs kept before the first pending output's reach (history the kernel still reads). */
  private history = new Float64Array(0);
  /** Absolute input index of history[0]. */
  private start = 0;
  /** Absolute index of the next output to emit. */
  private next = 0;
  private readonly ratio: number;
  private readonly period: number;
  private readonly reach: number;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    this.ratio = toRate / fromRate;
    this.period = fromRate / gcd(fromRate, toRate);
    // resample.ts reads inputs within 64 zero crossings of its kernel: 64 / cutoff input samples,
    // the cutoff being min(1, to/from) · 0.94. One more sample covers the rounding of t ± reach.
    this.reach = Math.ceil(64 / (Math.min(1, this.ratio) * 0.94)) + 1;
  }

  /** Append input; returns the outputs now complete (possibly none). */
  push(x: ArrayLike<number>): Float32Array {
    if (this.fromRate === this.toRate) return Float32Array.from(x);
    const merged = new Float64Array(this.history.length + x.length);
    merged.set(this.history);
    merged.set(Float64Array.from(x), this.history.length);
    this.history = merged;
    const end = this.start + merged.length; // inputs known: [0, end)
    // Outputs whose reach ends before `end`: i / ratio + reach < end.
    const ready = Math.max(this.next, Math.ceil((end - this.reach) * this.ratio));
    return this.emit(ready, false);
  }

  /** End of stream: the remaining outputs, up to ⌈inputs · to/from⌉ in all. */
  flush(): Float32Array {
    if (this.fromRate === this.toRate) return new Float32Array(0);
    const end = this.start + this.history.length;
    return this.emit(Math.ceil(end * this.ratio), true);
  }

  /** Outputs [next, upto) from one window; drops history no later output reads. */
  private emit(upto: number, final: boolean): Float32Array {
    if (upto <= this.next) return new Float32Array(0);
    // The window starts at a grid-aligned input at or before the first output's reach.
    const firstT = this.next / this.ratio;
    // History is trimmed by the same rule (below), so w0 ≥ start.
    const w0 = Math.floor(Math.max(0, firstT - this.reach) / this.period) * this.period;
    const window = this.history.subarray(w0 - this.start);
    const y = final
      ? resample(window, this.fromRate, this.toRate)
      : resample(
          window.subarray(0, Math.min(window.length, Math.floor(upto / this.ratio + this.reach) + 1 - w0)),
          this.fromRate,
          this.toRate,
        );
    const o0 = Math.round(w0 * this.ratio); // the window's output 0 is the signal's output o0
    const out = Float32Array.from(y.subarray(this.next - o0, upto - o0));
    this.next = upto;
    // Keep history from an aligned index at or before the next output's reach.
    const keep = Math.floor(Math.max(0, this.next / this.ratio - this.reach) / this.period) * this.period;
    if (keep > this.start) {
      this.history = this.history.slice(keep - this.start);
      this.start = keep;
    }
    return out;
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
