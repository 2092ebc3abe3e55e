/**
 * A Point-E checkpoint as a shape generator: caption or rendered view → coloured point cloud, with
 * the Karras Heun sampler at Point-E's settings and classifier-free guidance
 * (src/diffusion/samplers.ts).
 *
 *   const m = await loadPointE('runs/pointe', { threads: 2 });
 *   const { cloud } = await m.sample({ caption: 'a red cube', guidance: 3 });
 *   // an image-conditioned model: { image: await readViewFile('view.png'), guidance: 3 }
 *   await m.close();
 */
import { basename, resolve } from 'node:path';
import type { EpsModel, ModelOutput } from '../../diffusion/gaussian.ts';
import { ddimSample, karrasSample, POINT_E_KARRAS } from '../../diffusion/samplers.ts';
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import { type HostTensor, hostTensor } from '../../engine/dtype.ts';
import { exportOnnx } from '../../engine/onnx.ts';
import { Runtime, type Session } from '../../engine/runtime.ts';
import { loadWeights, runOnWeights } from '../../engine/state.ts';
import { input } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';
import type { Progress } from '../../progress.ts';
import { type Mesh, type PointCloud, pointCount } from '../../shape/mesh.ts';
import { farthestPointSample } from '../../shape/pointcloud.ts';
import type { Image } from '../../shape/render.ts';
import type { LoadedModel, LoadOptions } from '../index.ts';
import { captionFeeds, encodeCaption } from './captions.ts';
import { PointNetModel } from './classifier.ts';
import { viewChannels } from './image.ts';
import {
  CHANNELS,
  checkPointCount,
  condInputList,
  diffusionOf,
  fromChannels,
  PointE,
  type PointEConfig,
  pointeConfig,
  pointeInputs,
} from './pointe.ts';
import { COORD_SCALE, type MeshOptions, meshFromSdf, PointESdf, type SdfFunction } from './sdf.ts';
import { PointEUpsamplerModel } from './upsample.ts';

export { MAX_POINTS } from './pointe.ts';

/**
 * Which sampler draws the cloud: Point-E's Karras Heun (its settings by default; any of them
 * overridden) or DDIM on evenly spaced steps (η = 0 deterministic). x̂_0 is clipped either way.
 */
export type PointESampler = { kind: 'karras'; sChurn?: number; sigmaMin?: number; sigmaMax?: number } | { kind: 'ddim'; eta?: number };

export interface PointESampleOptions {
  /** The caption, for a text-conditioned model. */
  caption?: string;
  /** The view (any size; resampled to the model's imageSize), for an image-conditioned model. */
  image?: Image;
  /** Points to draw (default: the training N; the network takes any N). */
  points?: number;
  /** Classifier-free guidance scale (Point-E: 3; 1 = none). */
  guidance?: number;
  /** Sampler steps (Point-E: 64 Karras steps). */
  steps?: number;
  /** Default: Point-E's Karras settings for the base model. */
  sampler?: PointESampler;
  seed?: number;
  onProgress?: (p: Progress) => void;
}

export class PointEModel implements LoadedModel {
  readonly kind = 'pointe';
  readonly capabilities = ['generate-shape'] as const;
  private graphs = new Map<string, { model: PointE; session: Promise<Session> }>();

  constructor(
    readonly id: string,
    readonly cfg: Readonly<PointEConfig>,
    readonly vocab: readonly string[],
    private readonly rt: Runtime,
  ) {}

  get provider(): string {
    return this.rt.description;
  }

  /** The inference graph for B rows of N points (one per shape, kept). */
  private graph(B: number, N: number) {
    const key = `${B}x${N}`;
    let g = this.graphs.get(key);
    if (!g) {
      const model = new PointE(this.cfg, this.vocab.length);
      const inp = pointeInputs(this.cfg, B, N, false);
      const d = inp.diffusion;
      const out = model.forward(d.xt, d.t, inp.cond, inp.keep);
      const onnx = exportOnnx([d.xt, d.t, ...condInputList(inp.cond), inp.keep, ...model.ps.inputs], { out }, { name: `pointe_${key}` });
      g = { model, session: this.rt.load(onnx) };
      this.graphs.set(key, g);
    }
    return g;
  }

  /**
   * The condition's feeds for B rows from the sample's options: a caption (text models) or a view
   * (image models); the other one, or neither, is a usage error.
   */
  private condFeeds(opts: PointESampleOptions): (B: number) => Record<string, HostTensor> {
    if (this.cfg.cond === 'text') {
      if (opts.image || opts.caption === undefined)
        throw new TonyError('usage', `${this.id} is conditioned on text: give it a caption, not an image`, 'e.g. --caption "a red cube"');
      const enc = encodeCaption(opts.caption, this.vocab, this.cfg.maxWords);
      return (B) => captionFeeds(new Array(B).fill(enc), this.cfg.maxWords);
    }
    if (!opts.image || opts.caption !== undefined)
      throw new TonyError(
        'usage',
        `${this.id} is conditioned on an image ('${this.cfg.cond}'): give it a rendered view, not a caption`,
        'e.g. --image renders/0-1_0.png (tony shapes generate --views 1)',
      );
    const S = this.cfg.imageSize;
    const view = viewChannels(opts.image, S);
    return (B) => {
      const x = new Float32Array(B * S * S * 3);
      for (let j = 0; j < B; j++) x.set(view, j * S * S * 3);
      return { image: hostTensor('float32', [B, S, S, 3], x) };
    };
  }

  /**
   * The denoiser for one condition as the samplers want it: rows of N × 6; with a doubled batch
   * (guidance) the second half runs with the condition dropped.
   */
  private denoiser(cond: (B: number) => Record<string, HostTensor>, N: number, guided: boolean): EpsModel {
    return async (xt, t): Promise<ModelOutput> => {
      const B = t.length;
      const g = this.graph(B, N);
      const half = guided ? B / 2 : B;
      const res = await runOnWeights(this.rt, await g.session, g.model.ps, {
        xt: hostTensor('float32', [B, N, CHANNELS], xt),
        t: hostTensor('float32', [B], t),
        ...cond(B),
        keep: hostTensor(
          'float32',
          [B, 1],
          Array.from({ length: B }, (_, i) => (i < half ? 1 : 0)),
        ),
      });
      const o = res.out!.data as Float32Array; // (B, N, 6 or 12)
      const C = o.length / (B * N);
      const eps = new Float64Array(B * N * CHANNELS);
      const v = C > CHANNELS ? new Float64Array(B * N * CHANNELS) : undefined;
      for (let p = 0; p < B * N; p++) {
        for (let k = 0; k < CHANNELS; k++) {
          eps[p * CHANNELS + k] = o[p * C + k]!;
          if (v) v[p * CHANNELS + k] = o[p * C + CHANNELS + k]!;
        }
      }
      return v ? { eps, v } : { eps };
    };
  }

  /** One coloured cloud for a caption or a view (coordinates in the unit cube, colours in [0, 1]). */
  async sample(opts: PointESampleOptions): Promise<{ cloud: PointCloud; seconds: number }> {
    const cond = this.condFeeds(opts);
    const N = checkPointCount(opts.points ?? this.cfg.points, this.cfg.points);
    const guidance = opts.guidance ?? 3;
    if (!(guidance >= 0 && Number.isFinite(guidance))) throw new TonyError('usage', `guidance must be a number ≥ 0, got ${guidance}`);
    const guided = guidance !== 1;
    const model = this.denoiser(cond, N, guided);
    const t0 = performance.now();
    const common = {
      steps: opts.steps ?? POINT_E_KARRAS.steps,
      batch: 1,
      dim: N * CHANNELS,
      seed: opts.seed ?? 0,
      clip: true,
      guidance,
      onProgress: opts.onProgress,
    };
    const s = opts.sampler ?? { kind: 'karras' };
    const x =
      s.kind === 'ddim'
        ? await ddimSample(diffusionOf(this.cfg), model, { ...common, eta: s.eta ?? 0 })
        : await karrasSample(diffusionOf(this.cfg), model, {
            ...POINT_E_KARRAS,
            ...(s.sChurn !== undefined ? { sChurn: s.sChurn } : {}),
            ...(s.sigmaMin !== undefined ? { sigmaMin: s.sigmaMin } : {}),
            ...(s.sigmaMax !== undefined ? { sigmaMax: s.sigmaMax } : {}),
            ...common,
          });
    return { cloud: fromChannels(x), seconds: (performance.now() - t0) / 1000 };
  }

  async close(): Promise<void> {
    await this.rt.close();
  }
}

/** A pointe checkpoint's config and weights, with its kind checked. */
async function readPointE(dir: string) {
  const ck = await loadCheckpoint<{ kind?: string; model?: Record<string, unknown>; vocab?: unknown }>(
    (await latestCheckpoint(dir))?.dir ?? dir,
  );
  if (ck.config.kind !== 'pointe')
    throw new TonyError('checkpoint', `${dir} holds a '${String(ck.config.kind)}' model, not pointe`, 'pass a run of tony train pointe');
  return { ck, cfg: pointeConfig(ck.config.model ?? {}) };
}

/** A pointe run directory (its latest checkpoint) or exported model of either stage, as the registry loads it. */
export async function loadPointEStage(
  dir: string,
  opts: LoadOptions = {},
): Promise<PointEModel | PointEUpsamplerModel | PointESdfModel | PointNetModel> {
  const { cfg } = await readPointE(dir);
  if (cfg.stage === 'upsample') return loadPointEUpsampler(dir, opts);
  return cfg.stage === 'sdf' ? loadPointESdf(dir, opts) : cfg.stage === 'classifier' ? loadPointNet(dir, opts) : loadPointE(dir, opts);
}

/** An upsampler run (tony train pointe --stage upsample), loaded for sampling. */
export async function loadPointEUpsampler(dir: string, opts: LoadOptions = {}): Promise<PointEUpsamplerModel> {
  const { ck, cfg } = await readPointE(dir);
  if (cfg.stage !== 'upsample')
    throw new TonyError(
      'checkpoint',
      `${dir} holds Point-E's ${cfg.stage} model, not the upsampler`,
      'pass a run of tony train pointe --stage upsample',
    );
  const rt = await Runtime.start({ device: opts.device, threads: opts.threads });
  await loadWeights(rt, ck.params);
  return new PointEUpsamplerModel(opts.id ?? basename(resolve(dir)), cfg, rt);
}

/** A classifier run (tony train pointe --stage classifier), loaded for the P-FID/P-IS metrics. */
export async function loadPointNet(dir: string, opts: LoadOptions = {}): Promise<PointNetModel> {
  const { ck, cfg } = await readPointE(dir);
  if (cfg.stage !== 'classifier')
    throw new TonyError(
      'checkpoint',
      `${dir} holds Point-E's ${cfg.stage} model, not the classifier`,
      'pass a run of tony train pointe --stage classifier',
    );
  const rt = await Runtime.start({ device: opts.device, threads: opts.threads });
  await loadWeights(rt, ck.params);
  return new PointNetModel(opts.id ?? basename(resolve(dir)), cfg, rt);
}

/** A base-model run directory (its latest checkpoint) or exported model, loaded for sampling. */
export async function loadPointE(dir: string, opts: LoadOptions = {}): Promise<PointEModel> {
  const { ck, cfg } = await readPointE(dir);
  if (cfg.stage !== 'base')
    throw new TonyError(
      'checkpoint',
      `${dir} holds Point-E's ${cfg.stage} model, not the base model`,
      'pass a run of tony train pointe --stage base (an SDF model goes to --sdf)',
    );
  const vocab = ck.config.vocab;
  if (!Array.isArray(vocab) || vocab.some((w) => typeof w !== 'string'))
    throw new TonyError('checkpoint', `${dir}: config.json has no caption vocabulary`, 'retrain with tony train pointe');
  const rt = await Runtime.start({ device: opts.device, threads: opts.threads });
  await loadWeights(rt, ck.params);
  return new PointEModel(opts.id ?? basename(resolve(dir)), cfg, vocab as string[], rt);
}

// ---------------------------------------------------------------------------------------------
// The SDF model: cloud → signed distances → coloured mesh (sdf.ts)

/** Queries per run of the SDF decoder graph (its scores are heads × chunk × N floats). */
const SDF_CHUNK = 4096;

export class PointESdfModel implements LoadedModel {
  readonly kind = 'pointe';
  readonly capabilities = ['mesh-points'] as const;
  private readonly model: PointESdf;
  private encoders = new Map<number, Promise<Session>>();
  private decoders = new Map<number, Promise<Session>>();

  constructor(
    readonly id: string,
    readonly cfg: Readonly<PointEConfig>,
    private readonly rt: Runtime,
  ) {
    this.model = new PointESdf(cfg);
  }

  get provider(): string {
    return this.rt.description;
  }

  /** The encoder graph for one cloud of N points and the decoder graph over its N latents (kept per N). */
  private graphs(N: number) {
    let enc = this.encoders.get(N);
    let dec = this.decoders.get(N);
    if (!enc || !dec) {
      const m = new PointESdf(this.cfg); // a fresh trace; parameter names match this.model's
      const cloud = input('cloud', [1, N, 3]);
      enc = this.rt.load(exportOnnx([cloud, ...m.ps.inputs], { latents: m.encode(cloud) }, { name: `pointe_sdf_encode_${N}` }));
      const latents = input('latents', [1, N, this.cfg.width]);
      const queries = input('queries', [1, SDF_CHUNK, 3]);
      dec = this.rt.load(
        exportOnnx([queries, latents, ...m.ps.inputs], { sdf: m.predict(queries, latents) }, { name: `pointe_sdf_decode_${N}` }),
      );
      this.encoders.set(N, enc);
      this.decoders.set(N, dec);
    }
    return { enc, dec };
  }

  /**
   * The signed-distance function of one cloud (unit-cube coordinates). A cloud larger than the
   * model's N is farthest-point subsampled to N, as in training; a smaller one is read as is (the
   * encoder takes any N).
   */
  async sdfOf(cloud: PointCloud): Promise<SdfFunction> {
    const inCloud = pointCount(cloud) > this.cfg.points ? farthestPointSample({ xyz: cloud.xyz }, this.cfg.points) : cloud;
    const N = pointCount(inCloud);
    const g = this.graphs(N);
    const { latents } = await runOnWeights(this.rt, await g.enc, this.model.ps, {
      cloud: hostTensor(
        'float32',
        [1, N, 3],
        inCloud.xyz.map((v) => v * COORD_SCALE),
      ),
    });
    const dec = await g.dec;
    return async (q) => {
      const m = q.length / 3;
      const out = new Float32Array(m);
      const buf = new Float32Array(3 * SDF_CHUNK);
      for (let start = 0; start < m; start += SDF_CHUNK) {
        const k = Math.min(SDF_CHUNK, m - start);
        buf.fill(0);
        for (let i = 0; i < 3 * k; i++) buf[i] = q[3 * start + i]! * COORD_SCALE;
        const res = await runOnWeights(this.rt, dec, this.model.ps, {
          queries: hostTensor('float32', [1, SDF_CHUNK, 3], buf),
          latents: latents!,
        });
        out.set((res.sdf!.data as Float32Array).subarray(0, k), start);
      }
      return out;
    };
  }

  /** A coloured mesh of a cloud: its SDF on a grid (Point-E: 128), marching cubes, nearest-point colours. */
  async mesh(cloud: PointCloud, opts: Omit<MeshOptions, 'chunk'> = {}): Promise<{ mesh: Mesh; seconds: number }> {
    const t0 = performance.now();
    const mesh = await meshFromSdf(await this.sdfOf(cloud), cloud, { ...opts, chunk: 4 * SDF_CHUNK });
    return { mesh, seconds: (performance.now() - t0) / 1000 };
  }

  async close(): Promise<void> {
    await this.rt.close();
  }
}

/** An SDF-model run directory (its latest checkpoint) or exported model, loaded for meshing. */
export async function loadPointESdf(dir: string, opts: LoadOptions = {}): Promise<PointESdfModel> {
  const { ck, cfg } = await readPointE(dir);
  if (cfg.stage !== 'sdf')
    throw new TonyError(
      'checkpoint',
      `${dir} holds Point-E's ${cfg.stage} model, not the SDF model`,
      'pass a run of tony train pointe --stage sdf',
    );
  const rt = await Runtime.start({ device: opts.device, threads: opts.threads });
  await loadWeights(rt, ck.params);
  return new PointESdfModel(opts.id ?? basename(resolve(dir)), cfg, rt);
}
