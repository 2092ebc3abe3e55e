/**
 * Volume rendering of a density + colour field along camera rays (Mildenhall et al. 2020, "NeRF",
 * §4 and §5.2) — how Shap-E renders one of its latents as a NeRF (Jun & Nichol 2023, §3.1: 64
 * coarse and 128 fine samples per ray).
 *
 * Along a ray, samples t_0 < … < t_{S−1} each own an interval of length δ_i (the intervals tile
 * [t_near, t_far] exactly: the first starts at t_near, the last ends at t_far, neighbours meet
 * half-way between samples). With optical depth τ_i = σ_i δ_i the transmittance before sample i is
 * T_i = exp(−Σ_{j<i} τ_j) — a cumulative sum in log space, which never multiplies many numbers
 * near 1 — and the sample's weight is w_i = T_i (1 − e^{−τ_i}); colour = Σ w_i c_i + (1 − Σ w_i)·bg
 * and opacity = Σ w_i = 1 − exp(−Σ τ_i). Because the intervals tile the ray, a uniform density gives
 * exactly 1 − exp(−σ·(t_far − t_near)) whatever the samples.
 *
 * Coarse samples are stratified over the ray's stretch inside the bounding box; the fine samples
 * are drawn from the coarse weights by inverse transform sampling (NeRF's hierarchical sampling)
 * and rendered together with the coarse ones. The field is queried in large batches (`VolumeField`
 * takes all points of many rays at once), so a network answers it with few graph runs.
 *
 *   const img = await renderVolume((p) => myField(p), orbitCameras(1, { size: 64 })[0]!);
 */
import { shapeError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import { type Camera, type Image, pixelRays } from './render.ts';
import type { Vec3 } from './sdf.ts';

/** Density σ (per world unit) and colour (sRGB in [0, 1]) at each queried point. */
interface VolumeSample {
  density: Float32Array | Float64Array;
  rgb: Float32Array | Float64Array;
}

/** A field answering M points (M × 3, world units) at once. */
export type VolumeField = (points: Float32Array) => Promise<VolumeSample> | VolumeSample;

export interface VolumeOptions {
  /** Stratified samples per ray (Shap-E: 64). */
  coarse?: number;
  /** Importance samples per ray drawn from the coarse weights (Shap-E: 128; 0 = coarse only). */
  fine?: number;
  /** The box the field lives in; rays are sampled only inside it (default the unit cube + 5 %). */
  lo?: Vec3;
  hi?: Vec3;
  background?: Vec3;
  /** Rays per field call (bounds memory: rays × samples × 3 floats). */
  chunk?: number;
  onProgress?: (p: Progress) => void;
}

const NERF_COARSE = 64;
const NERF_FINE = 128;
const DEFAULT_LO: Vec3 = [-0.55, -0.55, -0.55];
const DEFAULT_HI: Vec3 = [0.55, 0.55, 0.55];

/** The stretch [tNear, tFar] of the ray eye + t·dir inside the box [lo, hi], or null if it misses (slab test). */
export function rayBox(eye: ArrayLike<number>, dir: ArrayLike<number>, lo: Vec3, hi: Vec3): [number, number] | null {
  let tNear = 0;
  let tFar = Infinity;
  for (let k = 0; k < 3; k++) {
    const inv = 1 / dir[k]!;
    let t0 = (lo[k]! - eye[k]!) * inv;
    let t1 = (hi[k]! - eye[k]!) * inv;
    if (t0 > t1) [t0, t1] = [t1, t0];
    tNear = Math.max(tNear, t0);
    tFar = Math.min(tFar, t1);
  }
  return tNear < tFar ? [tNear, tFar] : null;
}

/**
 * The intervals owned by sorted samples ts on [tNear, tFar]: δ_i from the midpoint before to the
 * midpoint after (tNear and tFar at the ends), so Σ δ_i = tFar − tNear.
 */
function sampleIntervals(ts: ArrayLike<number>, tNear: number, tFar: number, out = new Float64Array(ts.length)): Float64Array {
  const S = ts.length;
  for (let i = 0; i < S; i++) {
    const a = i === 0 ? tNear : (ts[i - 1]! + ts[i]!) / 2;
    const b = i === S - 1 ? tFar : (ts[i]! + ts[i + 1]!) / 2;
    out[i] = b - a;
  }
  return out;
}

/**
 * Weights w_i = T_i (1 − e^{−τ_i}) with log T_i = −Σ_{j<i} τ_j (the exclusive cumulative sum), written
 * to `w`; returns the opacity Σ w_i.
 */
function volumeWeights(density: ArrayLike<number>, deltas: ArrayLike<number>, w: Float64Array, offset = 0): number {
  let logT = 0;
  let opacity = 0;
  for (let i = 0; i < deltas.length; i++) {
    const tau = Math.max(0, density[offset + i]!) * deltas[i]!;
    const wi = Math.exp(logT) * -Math.expm1(-tau);
    w[i] = wi;
    opacity += wi;
    logT -= tau;
  }
  return opacity;
}

/**
 * n samples from the piecewise-constant density over intervals (edges e_0 … e_S, weights w_0 … w_{S−1})
 * by inverse transform at the stratified quantiles (k + ½)/n — deterministic, so renders repeat.
 * A ray with (almost) no weight gets uniform samples.
 */
export function importanceSamples(edges: ArrayLike<number>, w: ArrayLike<number>, n: number): Float64Array {
  const S = w.length;
  let total = 0;
  for (let i = 0; i < S; i++) total += w[i]!;
  const out = new Float64Array(n);
  const uniform = !(total > 1e-8);
  let i = 0;
  let below = 0; // cumulative weight before interval i
  for (let k = 0; k < n; k++) {
    const u = ((k + 0.5) / n) * (uniform ? S : total);
    if (uniform) {
      const j = Math.min(S - 1, Math.floor(u));
      out[k] = edges[j]! + (u - j) * (edges[j + 1]! - edges[j]!);
      continue;
    }
    while (i < S - 1 && below + w[i]! < u) below += w[i++]!;
    const frac = w[i]! > 0 ? Math.min(1, Math.max(0, (u - below) / w[i]!)) : 0.5;
    out[k] = edges[i]! + frac * (edges[i + 1]! - edges[i]!);
  }
  return out;
}

/** Per-pixel results of volume rendering, before 8-bit rounding: opacity (H·W) and colour over the background (H·W × 3). */
export interface VolumeRender {
  opacity: Float64Array;
  rgb: Float64Array;
}

/**
 * Volume-render a field along every pixel ray of `cam`: coarse stratified samples (at interval
 * centres), then fine samples from their weights, composited together. Pixels whose ray misses
 * the box show the background with zero opacity.
 */
export async function traceVolume(field: VolumeField, cam: Camera, opts: VolumeOptions = {}): Promise<VolumeRender> {
  const nc = opts.coarse ?? NERF_COARSE;
  const nf = opts.fine ?? NERF_FINE;
  if (!Number.isInteger(nc) || nc < 1) throw shapeError(`coarse samples must be a positive integer, got ${nc}`);
  if (!Number.isInteger(nf) || nf < 0) throw shapeError(`fine samples must be an integer ≥ 0, got ${nf}`);
  const lo = opts.lo ?? DEFAULT_LO;
  const hi = opts.hi ?? DEFAULT_HI;
  const bg = opts.background ?? [1, 1, 1];
  const { eye, dirs } = pixelRays(cam);
  const nRays = dirs.length / 3;
  const rays: Array<{ index: number; near: number; far: number }> = [];
  for (let r = 0; r < nRays; r++) {
    const hit = rayBox(eye, dirs.subarray(3 * r, 3 * r + 3), lo, hi);
    if (hit) rays.push({ index: r, near: hit[0], far: hit[1] });
  }
  const rgb = new Float64Array(3 * nRays);
  const opacityOut = new Float64Array(nRays);
  for (let r = 0; r < nRays; r++) for (let k = 0; k < 3; k++) rgb[3 * r + k] = bg[k]!;
  const chunk = opts.chunk ?? 1024;
  const S = nc + nf;
  const place = (ts: ArrayLike<number>, r: { index: number }, pts: Float32Array, at: number) => {
    for (let i = 0; i < ts.length; i++) for (let k = 0; k < 3; k++) pts[3 * (at + i) + k] = eye[k]! + ts[i]! * dirs[3 * r.index + k]!;
  };
  for (let start = 0; start < rays.length; start += chunk) {
    const group = rays.slice(start, start + chunk);
    // Coarse: one sample at the centre of each of nc equal intervals.
    const tc = group.map((r) => Float64Array.from({ length: nc }, (_, i) => r.near + ((i + 0.5) / nc) * (r.far - r.near)));
    const pc = new Float32Array(3 * nc * group.length);
    group.forEach((r, g) => place(tc[g]!, r, pc, g * nc));
    const coarse = await field(pc);
    // Fine: nf samples from the coarse weights; all nc + nf samples are then rendered together.
    const tFine = group.map((r, g) => {
      if (nf === 0) return new Float64Array(0);
      const edges = Float64Array.from({ length: nc + 1 }, (_, i) => r.near + (i / nc) * (r.far - r.near));
      const w = new Float64Array(nc);
      volumeWeights(coarse.density, sampleIntervals(tc[g]!, r.near, r.far), w, g * nc);
      return importanceSamples(edges, w, nf);
    });
    const fine = nf > 0 ? await fieldAt(field, group, tFine, nf, place) : undefined;
    const w = new Float64Array(S);
    const delta = new Float64Array(S);
    const sigma = new Float64Array(S);
    const col = new Float64Array(3 * S);
    const ts = new Float64Array(S);
    group.forEach((r, g) => {
      // Merge coarse and fine samples by t, carrying their answers along.
      const tOf = (i: number) => (i < nc ? tc[g]![i]! : tFine[g]![i - nc]!);
      const n = nc + nf;
      const ord = Array.from({ length: n }, (_, i) => i).sort((a, b) => tOf(a) - tOf(b));
      ord.forEach((src, i) => {
        ts[i] = tOf(src);
        const [ans, j] = src < nc ? [coarse, g * nc + src] : [fine!, g * nf + src - nc];
        sigma[i] = ans.density[j]!;
        for (let k = 0; k < 3; k++) col[3 * i + k] = ans.rgb[3 * j + k]!;
      });
      sampleIntervals(ts.subarray(0, n), r.near, r.far, delta.subarray(0, n));
      const opacity = volumeWeights(sigma, delta.subarray(0, n), w);
      for (let k = 0; k < 3; k++) {
        let c = 0;
        for (let i = 0; i < n; i++) c += w[i]! * col[3 * i + k]!;
        rgb[3 * r.index + k] = c + (1 - opacity) * bg[k]!;
      }
      opacityOut[r.index] = opacity;
    });
    opts.onProgress?.({ done: Math.min(start + chunk, rays.length), total: rays.length });
  }
  return { opacity: opacityOut, rgb };
}

/** traceVolume as an 8-bit image (alpha = opacity), like the other renderers' output. */
export async function renderVolume(field: VolumeField, cam: Camera, opts: VolumeOptions = {}): Promise<Image> {
  const v = await traceVolume(field, cam, opts);
  const byte = (x: number) => Math.round(255 * Math.min(1, Math.max(0, x)));
  return { width: cam.width, height: cam.height, rgb: Uint8Array.from(v.rgb, byte), alpha: Uint8Array.from(v.opacity, byte) };
}

/** The field at each ray's fine samples (nf per ray), in one call. */
async function fieldAt(
  field: VolumeField,
  group: Array<{ index: number }>,
  ts: Float64Array[],
  nf: number,
  place: (ts: ArrayLike<number>, r: { index: number }, pts: Float32Array, at: number) => void,
): Promise<VolumeSample> {
  const p = new Float32Array(3 * nf * group.length);
  group.forEach((r, g) => place(ts[g]!, r, p, g * nf));
  return field(p);
}
