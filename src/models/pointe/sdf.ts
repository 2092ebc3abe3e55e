/**
 * Point-E's SDF regression model (Nichol et al. 2022, §5.3 and openai/point-e's
 * `CrossAttentionPointCloudSDFModel`; PAPERS.md §7): a point cloud → the signed distance of its
 * surface at any query point, then marching cubes on a grid (128 by default, as the paper) and
 * vertex colours from the nearest cloud point → a coloured mesh.
 *
 * As Point-E's model:
 *  - the encoder: each cloud point's xyz through a linear projection, then residual self-attention
 *    blocks (no positional encoding: the cloud is a set) → one latent per point;
 *  - the decoder: each query point's xyz through its own linear projection, then blocks that
 *    cross-attend from the queries to the latents (Point-E's SimplePerceiver: x += attn(ln(x),
 *    ln(latents)); x += mlp(ln(x))) — every query independent of the others — then a layer norm
 *    and a linear map to one distance;
 *  - the encoder runs once per cloud; the decoder runs over the grid in chunks (`encode`, `predict`).
 *
 * Departures, and why:
 *  - Point-E never released how it trained this model. Here the targets are the procedural scenes'
 *    exact SDFs (src/shape/sdf.ts): half the queries near the surface (surface points + Gaussian
 *    noise of 0.02, 2 % of the cube), half uniform in the cube plus a margin; the loss is L1 on
 *    distances clamped to ±truncation (DeepSDF, Park et al. 2019), since meshing needs the sign and
 *    the near-surface values, not the far field.
 *  - Coordinates enter ×2 (the unit cube → [−1, 1]), as the base model's channels; distances come
 *    out in unit-cube units. Tony's SDFs are negative inside.
 *  - The cross-attention's projections use Tony's CrossAttention (N(0, 0.02²) init) rather than
 *    Point-E's init_scale; the other linear layers follow Point-E's 0.25/√width.
 *  - Coordinates (of cloud points and queries alike) enter through Fourier features
 *    [x, sin(2^k·π·x), cos(2^k·π·x)], k < `fourier` (NeRF's positional encoding; Shap-E's point
 *    encoder uses the same). Point-E feeds raw xyz; then the attention scores q·k are bilinear in
 *    the query's and the point's coordinates and cannot express "near"; with Fourier features
 *    q·k can approximate a shift-invariant kernel of (query − point) (random-features
 *    argument: cos(w·(x − p)) = cos w·x cos w·p + sin w·x sin w·p); docs/results/pointe.md has what
 *    the first runs with and without them showed. `fourier: 0` is Point-E's input.
 */
import { CrossAttention, LayerNorm, Linear, MLP, ParamSet } from '../../engine/nn.ts';
import * as T from '../../engine/ops/index.ts';
import { input, type Tensor } from '../../engine/tensor.ts';
import type { Progress } from '../../progress.ts';
import { type Grid, marchingCubes } from '../../shape/marching-cubes.ts';
import type { Mesh, PointCloud } from '../../shape/mesh.ts';
import { colorsFromPoints } from '../../shape/pointcloud.ts';
import { Block, type PointEConfig } from './pointe.ts';

/** Coordinates in the unit cube → model inputs (Point-E's channel scale for xyz). */
export const COORD_SCALE = 2;

/** x (…, 3) → (…, 3 + 6F): x, then sin and cos of 2^k·π·x for k < F (NeRF's positional encoding). */
export function fourierFeatures(x: Tensor, F: number): Tensor {
  if (F === 0) return x;
  const parts = [x];
  for (let k = 0; k < F; k++) {
    const wx = T.mul(x, 2 ** k * Math.PI);
    parts.push(T.sin(wx), T.cos(wx));
  }
  return T.concat(parts, x.rank - 1);
}

/** A decoder block: cross-attention from the queries to the cloud's latents, then an MLP. */
class CrossBlock {
  readonly ln1: LayerNorm;
  readonly lnData: LayerNorm;
  readonly attn: CrossAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;
  constructor(ps: ParamSet, name: string, width: number, heads: number, std: number) {
    this.ln1 = new LayerNorm(ps, `${name}.ln_1`, width);
    this.lnData = new LayerNorm(ps, `${name}.ln_2`, width);
    this.attn = new CrossAttention(ps, `${name}.attn`, width, width, heads);
    this.ln2 = new LayerNorm(ps, `${name}.ln_3`, width);
    this.mlp = new MLP(ps, `${name}.mlp`, width, 4 * width, std);
  }

  /** x (B, Q, C), latents (B, N, C) → (B, Q, C). */
  forward(x: Tensor, latents: Tensor): Tensor {
    const h = T.add(x, this.attn.forward(this.ln1.forward(x), this.lnData.forward(latents)));
    return T.add(h, this.mlp.forward(this.ln2.forward(h)));
  }
}

export class PointESdf {
  readonly ps = new ParamSet();
  readonly encoderInputProj: Linear;
  readonly encoder: Block[];
  readonly decoderInputProj: Linear;
  readonly decoder: CrossBlock[];
  readonly lnPost: LayerNorm;
  readonly outputProj: Linear;

  constructor(readonly cfg: Readonly<PointEConfig>) {
    const W = cfg.width;
    const std = 0.25 / Math.sqrt(W); // Point-E's init_scale · √(1/width)
    const inDim = 3 * (1 + 2 * cfg.fourier);
    this.encoderInputProj = new Linear(this.ps, 'encoder_input_proj', inDim, W, { std });
    this.encoder = Array.from({ length: cfg.layers }, (_, i) => new Block(this.ps, `encoder.h.${i}`, W, cfg.heads, std));
    this.decoderInputProj = new Linear(this.ps, 'decoder_input_proj', inDim, W, { std });
    this.decoder = Array.from({ length: cfg.decoderLayers }, (_, i) => new CrossBlock(this.ps, `decoder.h.${i}`, W, cfg.heads, std));
    this.lnPost = new LayerNorm(this.ps, 'ln_post', W);
    this.outputProj = new Linear(this.ps, 'output_proj', W, 1, { std });
  }

  /** cloud (B, N, 3), coordinates ×2 → latents (B, N, C). */
  encode(cloud: Tensor): Tensor {
    let h = this.encoderInputProj.forward(fourierFeatures(cloud, this.cfg.fourier));
    for (const b of this.encoder) h = b.forward(h);
    return h;
  }

  /** queries (B, Q, 3), coordinates ×2, and the cloud's latents (B, N, C) → signed distances (B, Q). */
  predict(queries: Tensor, latents: Tensor): Tensor {
    const [B, Q] = queries.shape as [number, number];
    let x = this.decoderInputProj.forward(fourierFeatures(queries, this.cfg.fourier));
    for (const b of this.decoder) x = b.forward(x, latents);
    return T.reshape(this.outputProj.forward(this.lnPost.forward(x)), [B, Q]);
  }
}

/** The training graph's batch inputs: B clouds of N points, Q queries each and their true distances. */
export function sdfInputs(cfg: Readonly<PointEConfig>, B: number, N = cfg.points, Q = cfg.queries) {
  return {
    cloud: input('cloud', [B, N, 3]),
    queries: input('queries', [B, Q, 3]),
    target: input('target', [B, Q]),
  };
}

/**
 * The loss: mean |clamp(ŝ) − clamp(s)| with clamp to ±truncation; and, logged, the fraction of
 * queries within ±truncation whose sign is wrong (what decides where the surface goes).
 */
export function sdfObjective(model: PointESdf, inp: ReturnType<typeof sdfInputs>) {
  const d = model.cfg.truncation;
  const clamp = (x: Tensor) => T.minimum(T.maximum(x, -d), d);
  const pred = model.predict(inp.queries, model.encode(inp.cloud)); // (B, Q)
  const target = clamp(inp.target);
  const near = T.cast(T.less(T.abs(inp.target), d), 'float32');
  const wrong = T.mul(T.cast(T.less(T.mul(pred, inp.target), 0), 'float32'), near);
  return {
    losses: { l1: T.mean(T.abs(T.sub(clamp(pred), target))) },
    metrics: { sign_error: T.div(T.sum(wrong), T.maximum(T.sum(near), 1)) },
  };
}

// ---------------------------------------------------------------------------------------------
// Meshing: any signed-distance function of query points → marching cubes → vertex colours

/** Signed distances at Q query points (Q × 3, unit-cube coordinates) → Q values. */
export type SdfFunction = (queries: Float32Array) => Promise<Float32Array>;

export interface MeshOptions {
  /** Grid cells per axis (Point-E: 128). */
  grid?: number;
  /** Queries per call of `sdf` (bounds the memory of one model run). */
  chunk?: number;
  onProgress?: (p: Progress) => void;
}

/**
 * Mesh a cloud through a signed-distance function: sample it on a grid over the unit cube plus a
 * two-cell margin (as src/shape meshes exact shapes), run marching cubes at level 0, and colour
 * each vertex with its nearest cloud point's colour (Point-E's colouring). Whether the result is
 * closed depends on the distances at the grid's border: nothing forces them positive here, so
 * watertightness is something to measure (src/shape/mesh.ts isWatertight), not an assumption.
 *
 *   const mesh = await meshFromSdf((q) => model.predict(cloud, q), cloud, { grid: 128 });
 */
export async function meshFromSdf(sdf: SdfFunction, cloud: PointCloud, opts: MeshOptions = {}): Promise<Mesh> {
  const res = opts.grid ?? 128;
  const chunk = opts.chunk ?? 8192;
  const margin = 2 / res;
  const lo = -0.5 - margin;
  const step = (1 + 2 * margin) / res;
  const n = res + 1;
  const total = n * n * n;
  const values = new Float32Array(total);
  const q = new Float32Array(3 * chunk);
  for (let start = 0; start < total; start += chunk) {
    const m = Math.min(chunk, total - start);
    for (let j = 0; j < m; j++) {
      const idx = start + j; // values[i + n·(j + n·k)], as marching-cubes.ts's Grid
      q[3 * j] = lo + (idx % n) * step;
      q[3 * j + 1] = lo + (Math.floor(idx / n) % n) * step;
      q[3 * j + 2] = lo + Math.floor(idx / (n * n)) * step;
    }
    values.set((await sdf(q.subarray(0, 3 * m))).subarray(0, m), start);
    opts.onProgress?.({ done: Math.min(start + m, total), total });
  }
  const grid: Grid = { values, dims: [n, n, n], origin: [lo, lo, lo], spacing: [step, step, step] };
  const mesh = marchingCubes(grid);
  if (cloud.rgb && mesh.positions.length > 0) mesh.colors = colorsFromPoints(mesh.positions, cloud);
  return mesh;
}
