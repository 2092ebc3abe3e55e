/**
 * Real FFTs for the audio code, on top of fft.js (a radix-4 FFT; see bench/audio.ts for how it
 * compares with numpy's pocketfft). Only power-of-two sizes: every n_fft the MCNN and Jukebox rows
 * use (512 … 2048) is one, and a window shorter than n_fft is zero-padded (as librosa does).
 *
 * Spectra are split into `re` and `im` arrays of n/2 + 1 bins (the non-negative frequencies), the
 * layout numpy's `rfft` returns.
 */
import FFT from 'fft.js';
import { TonyError } from '../errors.ts';

/** True when n is a power of two ≥ 2 (the sizes fft.js supports). */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0;
}

/**
 * A reusable real FFT of one size with its scratch buffers. Not re-entrant: one instance per
 * concurrent user (JavaScript is single-threaded, so one per call site is enough).
 */
export class RealFFT {
  readonly n: number;
  readonly bins: number;
  private readonly fft: FFT;
  private readonly out: Float64Array; // interleaved complex, length 2n
  private readonly spec: Float64Array; // interleaved complex, length 2n

  constructor(n: number) {
    if (!isPowerOfTwo(n)) {
      throw new TonyError(
        'config',
        `FFT size ${n} is not a power of two ≥ 2`,
        'use n_fft = 256, 512, 1024, 2048 …; a shorter window is zero-padded to n_fft',
      );
    }
    this.n = n;
    this.bins = n / 2 + 1;
    this.fft = new FFT(n);
    this.out = new Float64Array(2 * n);
    this.spec = new Float64Array(2 * n);
  }

  /** Forward real FFT of `x` (length n) into re/im (length n/2 + 1 each, at `offset`). */
  forward(x: ArrayLike<number>, re: Float64Array, im: Float64Array, offset = 0): void {
    this.fft.realTransform(this.out, x);
    const out = this.out;
    for (let k = 0; k < this.bins; k++) {
      re[offset + k] = out[2 * k]!;
      im[offset + k] = out[2 * k + 1]!;
    }
  }

  /**
   * Inverse real FFTs of two Hermitian half-spectra at once (numpy's `irfft`, scaled by 1/n): the
   * spectrum A + iB of two real signals a, b inverts to a + ib, so one complex FFT does two frames.
   * The imaginary parts of the DC and Nyquist bins are ignored, as irfft ignores them.
   */
  inverse2(
    reA: Float64Array,
    imA: Float64Array,
    offA: number,
    reB: Float64Array,
    imB: Float64Array,
    offB: number,
    a: Float64Array,
    b: Float64Array,
  ): void {
    const { n, spec, out } = this;
    const half = n / 2;
    // Bin k of A + iB is (ReA − ImB) + i(ImA + ReB); bin n − k is conj(A_k) + i·conj(B_k).
    for (let k = 0; k <= half; k++) {
      let ar = reA[offA + k]!,
        ai = imA[offA + k]!,
        br = reB[offB + k]!,
        bi = imB[offB + k]!;
      if (k === 0 || k === half) ai = bi = 0;
      spec[2 * k] = ar - bi;
      spec[2 * k + 1] = ai + br;
      if (k > 0 && k < half) {
        spec[2 * (n - k)] = ar + bi;
        spec[2 * (n - k) + 1] = -ai + br;
      }
    }
    this.fft.inverseTransform(out, spec);
    for (let i = 0; i < n; i++) {
      a[i] = out[2 * i]!;
      b[i] = out[2 * i + 1]!;
    }
  }
}
