/**
 * Point-E's upsampler (Nichol et al. 2022, §5.2; openai/point-e's `base40M`-shaped upsampler and
 * `PointCloudSampler`): a second diffusion transformer that draws the points a low-resolution cloud
 * lacks — 3,072 given 1,024 in the paper, `points` given `lowResPoints` here — conditioned on the
 * low-resolution cloud, its points entering as extra tokens; the result is the two concatenated.
 *
 * As the paper and its released sampler:
 *  - the same transformer as the base model (pointe.ts: no positional encoding, time as a
 *    prepended token, pre-LN blocks, zero-initialised output of ε̂ and v), with the low-resolution
 *    points through their own linear projection as tokens between the time token and the points
 *    being denoised; the output reads only the latter;
 *  - the linear noise schedule (Point-E's upsampler; the base model's is cosine), 1,024 steps,
 *    the hybrid loss with a learned variance;
 *  - Karras sampling with the upsampler's settings (POINT_E_KARRAS_UPSAMPLE: σ_max 160, no churn);
 *  - no text: Point-E's text pipeline gives the upsampler no caption (its sampler's key filter
 *    passes texts to the base model only), so there is no guidance either.
 *
 * An option, off in the presets: `fourier` > 0 feeds the coordinates of both the low-resolution
 * points and the points being denoised through Fourier features (sdf.ts's `fourierFeatures`),
 * colours as they are — the fix that let the SDF model say "near" in attention. Tried here because a
 * new point's place is decided by the low-resolution points near it; on a tiny upsampler it trained
 * to a worse loss and Chamfer than Point-E's raw xyz (`fourier: 0`; docs/results/pointe.md).
 *
 * Training pairs from a dataset cloud: farthest-point sampling orders its points; the first
 * `lowResPoints` are the condition (what the base model is trained on: the same FPS prefix), the
 * next `points` the target — together a farthest-point subsample of lowResPoints + points.
 */

import type { EpsModel, ModelOutput } from '../../diffusion/gaussian.ts';
import { diffusionFeeds, diffusionInputs, diffusionLosses } from '../../diffusion/losses.ts';
import { karrasSample, POINT_E_KARRAS_UPSAMPLE } from '../../diffusion/samplers.ts';
import { hostTensor } from '../../engine/dtype.ts';
import { LayerNorm, Linear, MLP, ParamSet, timestepEmbedding } from '../../engine/nn.ts';
import { exportOnnx } from '../../engine/onnx.ts';
import * as T from '../../engine/ops/index.ts';
import type { Runtime, Session } from '../../engine/runtime.ts';
import { runOnWeights } from '../../engine/state.ts';
import { input, type Tensor } from '../../engine/tensor.ts';
import type { TrainTask } from '../../engine/trainer.ts';
import { TonyError } from '../../errors.ts';
import type { Progress } from '../../progress.ts';
import { prng } from '../../random.ts';
import { type PointCloud, pointCount } from '../../shape/mesh.ts';
import { farthestPointSample } from '../../shape/pointcloud.ts';
import type { LoadedModel, TrainSetup } from '../index.ts';
import { manifestClouds, splitByScene } from './data.ts';
import { Block, CHANNELS, checkPointCount, diffusionOf, fromChannels, type PointEConfig, toChannels } from './pointe.ts';
import { fourierFeatures } from './sdf.ts';

/** Points in model channels (B, N, 6) → the upsampler's input features: Fourier features of xyz, then rgb. */
function pointFeatures(x: Tensor, F: number): Tensor {
  return T.concat([fourierFeatures(T.slice(x, 2, 0, 3), F), T.slice(x, 2, 3, CHANNELS)], 2); // (B, N, 3(1 + 2F) + 3)
}

export class PointEUpsampler {
  readonly ps = new ParamSet();
  readonly lowResProj: Linear;
  readonly inputProj: Linear;
  readonly timeEmbed: MLP;
  readonly lnPre: LayerNorm;
  readonly blocks: Block[];
  readonly lnPost: LayerNorm;
  readonly outputProj: Linear;

  constructor(readonly cfg: Readonly<PointEConfig>) {
    const W = cfg.width;
    const std = 0.25 / Math.sqrt(W); // Point-E's init_scale · √(1/width)
    const inDim = 3 * (1 + 2 * cfg.fourier) + 3;
    this.lowResProj = new Linear(this.ps, 'low_res_proj', inDim, W, { std });
    this.inputProj = new Linear(this.ps, 'input_proj', inDim, W, { std });
    this.timeEmbed = new MLP(this.ps, 'time_embed', W, 4 * W, std);
    this.lnPre = new LayerNorm(this.ps, 'ln_pre', W);
    this.blocks = Array.from({ length: cfg.layers }, (_, i) => new Block(this.ps, `h.${i}`, W, cfg.heads, std));
    this.lnPost = new LayerNorm(this.ps, 'ln_post', W);
    this.outputProj = new Linear(this.ps, 'output_proj', W, cfg.learnSigma ? 2 * CHANNELS : CHANNELS, { std: 0 });
  }

  /** x_t (B, N, 6), t (B), the low-resolution cloud (B, M, 6) in model channels → (B, N, 6 or 12). */
  forward(xt: Tensor, t: Tensor, lowRes: Tensor): Tensor {
    const [B, N] = xt.shape as [number, number];
    const M = lowRes.shape[1]!;
    const W = this.cfg.width;
    const temb = T.reshape(this.timeEmbed.forward(timestepEmbedding(t, W)), [B, 1, W]);
    const F = this.cfg.fourier;
    const h0 = T.concat([temb, this.lowResProj.forward(pointFeatures(lowRes, F)), this.inputProj.forward(pointFeatures(xt, F))], 1); // (B, 1 + M + N, C)
    let h = this.lnPre.forward(h0);
    for (const b of this.blocks) h = b.forward(h);
    h = T.slice(this.lnPost.forward(h), 1, 1 + M, 1 + M + N); // (B, N, C): the points being denoised
    return this.outputProj.forward(h);
  }
}

// ---------------------------------------------------------------------------------------------
// Training

interface UpsampleExample {
  id: string;
  scene: string;
  /** lowResPoints × 6 and points × 6, model channels. */
  low: Float32Array;
  high: Float32Array;
}

export interface UpsampleData {
  train: UpsampleExample[];
  val: UpsampleExample[];
  notes: string[];
}

/** Split a farthest-point ordering: its first `m` points (the condition) and the next `n` (the target). */
export function upsamplePair(cloud: PointCloud, m: number, n: number): { low: PointCloud; high: PointCloud } {
  const fps = farthestPointSample(cloud, m + n);
  const part = (a: number, b: number): PointCloud => ({
    xyz: fps.xyz.slice(3 * a, 3 * b),
    ...(fps.rgb ? { rgb: fps.rgb.slice(3 * a, 3 * b) } : {}),
  });
  return { low: part(0, m), high: part(m, m + n) };
}

export async function readUpsampleShapes(paths: readonly string[], cfg: Readonly<PointEConfig>): Promise<UpsampleData> {
  const all: UpsampleExample[] = [];
  const need = cfg.lowResPoints + cfg.points;
  for await (const { id, scene, cloud, file } of manifestClouds(paths)) {
    if (pointCount(cloud) < need)
      throw new TonyError(
        'data',
        `${file}: ${pointCount(cloud)} points, the upsampler needs ${need} (${cfg.lowResPoints} + ${cfg.points})`,
        `generate more points: tony shapes generate --points ${2 * need}`,
      );
    const { low, high } = upsamplePair(cloud, cfg.lowResPoints, cfg.points);
    all.push({ id, scene, low: toChannels(low), high: toChannels(high) });
  }
  const { train, val } = splitByScene(all);
  return {
    train,
    val,
    notes: [`${train.length} training and ${val.length} held-out pairs of ${cfg.lowResPoints} → +${cfg.points} points`],
  };
}

export function upsampleTask(cfg: Readonly<PointEConfig>, data: UpsampleData, setup: TrainSetup): TrainTask {
  const B = setup.batch;
  const N = cfg.points;
  const M = cfg.lowResPoints;
  const d = diffusionOf(cfg);
  return {
    trace() {
      const model = new PointEUpsampler(cfg);
      const dd = diffusionInputs(B, N, CHANNELS, cfg.learnSigma);
      const lowRes = input('low_res', [B, M, CHANNELS]);
      const losses = diffusionLosses(model.forward(dd.xt, dd.t, lowRes), dd, d);
      return { ps: model.ps, losses, data: [dd.xt, dd.noise, dd.t, ...(dd.qMean ? [dd.qMean, ...Object.values(dd.coefs!)] : []), lowRes] };
    },
    batch(split, index) {
      const r = prng(split === 'train' ? Math.imul(setup.seed + 1, 0x9e3779b1) ^ index : 0x5eed ^ Math.imul(index + 1, 0x85ebca6b));
      const x0 = new Float64Array(B * N * CHANNELS);
      const low = new Float32Array(B * M * CHANNELS);
      const t = new Int32Array(B);
      for (let j = 0; j < B; j++) {
        const ex = split === 'train' ? data.train[r.int(0, data.train.length - 1)]! : data.val[(index * B + j) % data.val.length]!;
        x0.set(ex.high, j * N * CHANNELS);
        low.set(ex.low, j * M * CHANNELS);
        t[j] = r.int(0, d.T - 1);
      }
      const noise = Float64Array.from({ length: x0.length }, () => r.normal());
      return {
        ...diffusionFeeds(d, x0, t, noise, [B, N, CHANNELS], cfg.learnSigma),
        low_res: hostTensor('float32', [B, M, CHANNELS], low),
      };
    },
    tokensPerStep: B * (N + M),
    config: {
      kind: 'pointe',
      model: { ...cfg },
      batch: B,
      seed: setup.seed,
      ...(setup.preset ? { preset: setup.preset } : {}),
      data: { train: data.train.length, val: data.val.length, val_ids: data.val.map((x) => x.id).slice(0, 500) },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Sampling

export class PointEUpsamplerModel implements LoadedModel {
  readonly kind = 'pointe';
  readonly capabilities = ['upsample-points'] as const;
  private readonly model: PointEUpsampler;
  private sessions = new Map<string, Promise<Session>>();

  constructor(
    readonly id: string,
    readonly cfg: Readonly<PointEConfig>,
    private readonly rt: Runtime,
  ) {
    this.model = new PointEUpsampler(cfg);
  }

  get provider(): string {
    return this.rt.description;
  }

  /**
   * The low-resolution cloud plus `points` new ones (default: the trained count; any number), drawn
   * with Point-E's upsampler settings. The low-resolution cloud is read as is (any M).
   */
  async upsample(
    low: PointCloud,
    opts: { points?: number; steps?: number; seed?: number; sigmaMax?: number; onProgress?: (p: Progress) => void } = {},
  ): Promise<{ cloud: PointCloud; seconds: number }> {
    const N = checkPointCount(opts.points ?? this.cfg.points, this.cfg.points);
    const t0 = performance.now();
    const cloud = await upsampleWith(diffusionOf(this.cfg), await this.denoiser(low, N), low, N, opts);
    return { cloud, seconds: (performance.now() - t0) / 1000 };
  }

  /** The ε-model of `n` new points given `low` (x_t and t as the sampler passes them; batch 1). */
  async denoiser(low: PointCloud, n: number): Promise<EpsModel> {
    const N = n;
    const M = pointCount(low);
    const key = `${M}x${N}`;
    let s = this.sessions.get(key);
    if (!s) {
      const m = new PointEUpsampler(this.cfg);
      const xt = input('xt', [1, N, CHANNELS]);
      const t = input('t', [1]);
      const lowRes = input('low_res', [1, M, CHANNELS]);
      s = this.rt.load(exportOnnx([xt, t, lowRes, ...m.ps.inputs], { out: m.forward(xt, t, lowRes) }, { name: `pointe_upsample_${key}` }));
      this.sessions.set(key, s);
    }
    const session = await s;
    const lowFeed = hostTensor('float32', [1, M, CHANNELS], toChannels(low));
    return async (x, tt): Promise<ModelOutput> => {
      const res = await runOnWeights(this.rt, session, this.model.ps, {
        xt: hostTensor('float32', [1, N, CHANNELS], x),
        t: hostTensor('float32', [1], tt),
        low_res: lowFeed,
      });
      const o = res.out!.data as Float32Array;
      const C = o.length / N;
      const eps = new Float64Array(N * CHANNELS);
      const v = C > CHANNELS ? new Float64Array(N * CHANNELS) : undefined;
      for (let p = 0; p < N; p++)
        for (let k = 0; k < CHANNELS; k++) {
          eps[p * CHANNELS + k] = o[p * C + k]!;
          if (v) v[p * CHANNELS + k] = o[p * C + CHANNELS + k]!;
        }
      return v ? { eps, v } : { eps };
    };
  }

  async close(): Promise<void> {
    await this.rt.close();
  }
}

/**
 * Point-E's upsampling stage with any ε-model of the `n` new points (the trained network, or an
 * exact denoiser in tests): Karras sampling with the upsampler's settings, x̂_0 clipped to the
 * model box, and the low-resolution cloud first in the result, then the new points (Point-E's
 * sampler concatenates low_res before the samples).
 */
export async function upsampleWith(
  d: ReturnType<typeof diffusionOf>,
  model: EpsModel,
  low: PointCloud,
  n: number,
  opts: { steps?: number; seed?: number; sigmaMax?: number; onProgress?: (p: Progress) => void } = {},
): Promise<PointCloud> {
  const M = pointCount(low);
  const x = await karrasSample(d, model, {
    ...POINT_E_KARRAS_UPSAMPLE,
    steps: opts.steps ?? POINT_E_KARRAS_UPSAMPLE.steps,
    sigmaMax: opts.sigmaMax ?? POINT_E_KARRAS_UPSAMPLE.sigmaMax,
    batch: 1,
    dim: n * CHANNELS,
    seed: opts.seed ?? 0,
    clip: true,
    guidance: 1,
    onProgress: opts.onProgress,
  });
  const high = fromChannels(x);
  return {
    xyz: Float32Array.from([...low.xyz, ...high.xyz]),
    rgb: Float32Array.from([...(low.rgb ?? new Float32Array(3 * M).fill(0.5)), ...high.rgb!]),
  };
}
