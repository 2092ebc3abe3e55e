/**
 * A Shap-E model loaded for use: the encoder (cloud → latent), the two decoders of one latent —
 * NeRF (volume rendering, src/shape/nerf.ts) and STF (signed distance + colour on a grid, marching
 * cubes, vertex colours) — and, for a diffusion run, caption → latent with the Karras Heun sampler
 * and classifier-free guidance (src/diffusion).
 *
 *   const m = await loadShapeE('models/shape-e/diffusion', { threads: 2 });
 *   const latent = await m.sample({ caption: 'a red cube', guidance: 3 });
 *   const mesh = await m.mesh(latent, { grid: 64 });
 *   await m.close();
 *
 * A diffusion run decodes with the encoder run its config names (`encoder`); a relative path there
 * is read relative to the diffusion model's directory (how models/shape-e ships them side by side).
 */
import { basename, isAbsolute, resolve } from 'node:path';
import type { EpsModel } from '../../diffusion/gaussian.ts';
import { karrasSample } from '../../diffusion/samplers.ts';
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import { hostTensor } from '../../engine/dtype.ts';
import { exportOnnx } from '../../engine/onnx.ts';
import { Runtime, type Session } from '../../engine/runtime.ts';
import { loadWeights, runOnWeights } from '../../engine/state.ts';
import { input } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';
import type { Progress } from '../../progress.ts';
import { marchingCubes } from '../../shape/marching-cubes.ts';
import type { Mesh, PointCloud } from '../../shape/mesh.ts';
import { renderVolume, type VolumeOptions } from '../../shape/nerf.ts';
import { farthestPointSample } from '../../shape/pointcloud.ts';
import type { Camera, Image } from '../../shape/render.ts';
import type { LoadedModel, LoadOptions } from '../index.ts';
import { captionFeeds, encodeCaption } from '../pointe/captions.ts';
import {
  diffusionOf,
  LatentDiffusion,
  latentRows,
  POINT_CHANNELS,
  ShapeEAutoencoder,
  type ShapeEConfig,
  shapeEConfig,
  viewTokenShape,
} from './shape-e.ts';
import { BOX_HI, BOX_LO, cloudChannels, viewPatches } from './task.ts';

/** Query points per run of the implicit-function graph. */
const QUERY_CHUNK = 8192;

/**
 * Shap-E's sampler settings (openai/shap-e, shap_e/diffusion/sample.py `sample_latents` as its
 * examples call it): 64 Karras steps, σ_min 1e−3, σ_max 160, no churn, x̂_0 clipped; guidance 15
 * for text. Tony's small model is sampled with guidance 3 by default (docs/results/shape-e.md).
 */
const SHAP_E_KARRAS = { steps: 64, sigmaMin: 1e-3, sigmaMax: 160, rho: 7, sChurn: 0 } as const;

export interface ShapeESampleOptions {
  caption: string;
  guidance?: number;
  steps?: number;
  seed?: number;
  onProgress?: (p: Progress) => void;
}

/** What the implicit function answers at M points. */
export interface FieldValues {
  sdf: Float32Array;
  density: Float32Array;
  rgb: Float32Array;
}

interface DiffusionPart {
  cfg: Readonly<ShapeEConfig>;
  vocab: string[];
  model: LatentDiffusion;
  graphs: Map<number, Promise<Session>>;
}

export class ShapeEModel implements LoadedModel {
  readonly kind = 'shape-e';
  readonly capabilities: readonly string[];
  private readonly ae: ShapeEAutoencoder;
  private encoder?: Promise<Session>;
  private implicit?: Promise<Session>;

  constructor(
    readonly id: string,
    readonly cfg: Readonly<ShapeEConfig>,
    private readonly rt: Runtime,
    private readonly diffusion?: DiffusionPart,
  ) {
    this.ae = new ShapeEAutoencoder(cfg);
    this.capabilities = diffusion ? ['generate-shape', 'encode-shape'] : ['encode-shape'];
  }

  get provider(): string {
    return this.rt.description;
  }

  /** Numbers in one latent: L rows × d. */
  get latentSize(): number {
    return latentRows(this.cfg) * this.cfg.latentWidth;
  }

  /**
   * A cloud (unit cube, RGB in [0, 1]) → its latent, L × d row-major. Larger clouds are
   * farthest-point subsampled to N. An encoder trained with `inputViews` also reads that many views
   * of the shape, rendered from `inputCameras(cfg)` (task.ts) at viewSize² pixels.
   */
  async encode(cloud: PointCloud, views?: readonly Image[]): Promise<Float32Array> {
    const N = this.cfg.points;
    const n = cloud.xyz.length / 3;
    if (n < N)
      throw new TonyError('data', `the cloud has ${n} points, this encoder reads ${N}`, `sample at least ${N} points from the shape`);
    if (this.cfg.inputViews > 0 && !views)
      throw new TonyError(
        'usage',
        `${this.id} reads ${this.cfg.inputViews} rendered views besides the cloud`,
        'render them with inputCameras(cfg) (src/models/shape-e/task.ts), or encode a mesh, whose views are rendered for you',
      );
    const fps = farthestPointSample(cloud, N);
    const withViews = this.cfg.inputViews > 0;
    if (!this.encoder) {
      const m = new ShapeEAutoencoder(this.cfg);
      const c = input('cloud', [1, N, POINT_CHANNELS]);
      const v = withViews ? input('views', [1, ...viewTokenShape(this.cfg)]) : undefined;
      this.encoder = this.rt.load(
        exportOnnx([c, ...(v ? [v] : []), ...m.ps.inputs], { latent: m.encode(c, v) }, { name: 'shape_e_encode' }),
      );
    }
    const res = await runOnWeights(this.rt, await this.encoder, this.ae.ps, {
      cloud: hostTensor('float32', [1, N, POINT_CHANNELS], cloudChannels(fps.xyz, fps.rgb)),
      ...(withViews ? { views: hostTensor('float32', [1, ...viewTokenShape(this.cfg)], viewPatches(this.cfg, views!)) } : {}),
    });
    return Float32Array.from(res.latent!.data as Float32Array);
  }

  /** The implicit function of a latent at M points (M × 3, unit-cube coordinates). */
  async query(latent: Float32Array, points: Float32Array): Promise<FieldValues> {
    this.checkLatent(latent);
    if (!this.implicit) {
      const m = new ShapeEAutoencoder(this.cfg);
      const z = input('latent', [1, latentRows(this.cfg), this.cfg.latentWidth]);
      const q = input('queries', [1, QUERY_CHUNK, 3]);
      const o = m.decoder.forward(z, q);
      this.implicit = this.rt.load(exportOnnx([z, q, ...m.ps.inputs], { ...o }, { name: 'shape_e_implicit' }));
    }
    const session = await this.implicit;
    const M = points.length / 3;
    const out = { sdf: new Float32Array(M), density: new Float32Array(M), rgb: new Float32Array(3 * M) };
    const buf = new Float32Array(3 * QUERY_CHUNK);
    const z = hostTensor('float32', [1, latentRows(this.cfg), this.cfg.latentWidth], latent);
    for (let start = 0; start < M; start += QUERY_CHUNK) {
      const k = Math.min(QUERY_CHUNK, M - start);
      buf.fill(0);
      buf.set(points.subarray(3 * start, 3 * (start + k)));
      const res = await runOnWeights(this.rt, session, this.ae.ps, { latent: z, queries: hostTensor('float32', [1, QUERY_CHUNK, 3], buf) });
      out.sdf.set((res.sdf!.data as Float32Array).subarray(0, k), start);
      out.density.set((res.density!.data as Float32Array).subarray(0, k), start);
      out.rgb.set((res.rgb!.data as Float32Array).subarray(0, 3 * k), 3 * start);
    }
    return out;
  }

  /** Decoder (a): the latent as a NeRF seen from `cam` (64 coarse + 128 fine samples per ray by default). */
  renderNerf(latent: Float32Array, cam: Camera, opts: VolumeOptions = {}): Promise<Image> {
    return renderVolume((p) => this.query(latent, p), cam, { lo: BOX_LO, hi: BOX_HI, chunk: 2048, ...opts });
  }

  /**
   * Decoder (b), STF: the latent's signed distance on a grid of `grid` cells per axis over the box,
   * marching cubes, and vertex colours from its colour output at each vertex.
   */
  async mesh(latent: Float32Array, opts: { grid?: number; onProgress?: (p: Progress) => void } = {}): Promise<Mesh> {
    const res = opts.grid ?? 128;
    if (!Number.isInteger(res) || res < 2 || res > 512) throw new TonyError('usage', `grid must be an integer in [2, 512], got ${res}`);
    const n = res + 1;
    const lo = BOX_LO[0];
    const step = (BOX_HI[0] - lo) / res;
    const q = new Float32Array(3 * n * n * n);
    for (let idx = 0; idx < n * n * n; idx++) {
      // values[i + n·(j + n·k)], as marching-cubes.ts's Grid
      q[3 * idx] = lo + (idx % n) * step;
      q[3 * idx + 1] = lo + (Math.floor(idx / n) % n) * step;
      q[3 * idx + 2] = lo + Math.floor(idx / (n * n)) * step;
    }
    const values = (await this.query(latent, q)).sdf;
    opts.onProgress?.({ done: 1, total: 2 });
    const mesh = marchingCubes({ values, dims: [n, n, n], origin: [lo, lo, lo], spacing: [step, step, step] });
    if (mesh.positions.length > 0) mesh.colors = (await this.query(latent, mesh.positions)).rgb;
    opts.onProgress?.({ done: 2, total: 2 });
    return mesh;
  }

  /** A latent for a caption: Karras Heun sampling of the x̂_0-model, classifier-free guidance. */
  async sample(opts: ShapeESampleOptions): Promise<{ latent: Float32Array; seconds: number }> {
    const dp = this.diffusion;
    if (!dp)
      throw new TonyError(
        'usage',
        `${this.id} is a Shap-E encoder, not a diffusion model`,
        'pass a run of tony train shape-e --stage diffusion',
      );
    const guidance = opts.guidance ?? 3;
    if (!(guidance >= 0 && Number.isFinite(guidance))) throw new TonyError('usage', `guidance must be a number ≥ 0, got ${guidance}`);
    const enc = encodeCaption(opts.caption, dp.vocab, dp.cfg.maxWords);
    const L = latentRows(dp.cfg);
    const dd = dp.cfg.latentWidth;
    const d = diffusionOf(dp.cfg);
    const model: EpsModel = async (xt, t) => {
      const B = t.length;
      const half = guidance !== 1 ? B / 2 : B;
      let g = dp.graphs.get(B);
      if (!g) {
        const m = new LatentDiffusion(dp.cfg, dp.vocab.length);
        const x = input('xt', [B, L, dd]);
        const tt = input('t', [B]);
        const ids = input('ids', [B, dp.cfg.maxWords], 'int64');
        const valid = input('valid', [B, dp.cfg.maxWords], 'bool');
        const keep = input('keep', [B, 1]);
        g = this.rt.load(
          exportOnnx(
            [x, tt, ids, valid, keep, ...m.ps.inputs],
            { x0: m.forward(x, tt, ids, valid, keep) },
            { name: `shape_e_diffusion_${B}` },
          ),
        );
        dp.graphs.set(B, g);
      }
      const res = await runOnWeights(this.rt, await g, dp.model.ps, {
        xt: hostTensor('float32', [B, L, dd], xt),
        t: hostTensor('float32', [B], t),
        ...captionFeeds(new Array(B).fill(enc), dp.cfg.maxWords),
        keep: hostTensor(
          'float32',
          [B, 1],
          Array.from({ length: B }, (_, i) => (i < half ? 1 : 0)),
        ),
      });
      // The network predicts x̂_0; the samplers take ε̂, so convert (they convert back exactly).
      return { eps: d.epsFromXstart(xt, t, Float64Array.from(res.x0!.data as Float32Array)) };
    };
    const t0 = performance.now();
    const x = await karrasSample(d, model, {
      ...SHAP_E_KARRAS,
      steps: opts.steps ?? SHAP_E_KARRAS.steps,
      batch: 1,
      dim: L * dd,
      seed: opts.seed ?? 0,
      clip: true, // latents are tanh-bounded
      guidance,
      onProgress: opts.onProgress,
    });
    return { latent: Float32Array.from(x), seconds: (performance.now() - t0) / 1000 };
  }

  private checkLatent(latent: Float32Array): void {
    if (latent.length !== this.latentSize)
      throw new TonyError(
        'shape',
        `a latent of ${latent.length} numbers does not fit this model (${latentRows(this.cfg)} × ${this.cfg.latentWidth} = ${this.latentSize})`,
        'encode or sample it with the same model',
      );
  }

  async close(): Promise<void> {
    await this.rt.close();
  }
}

async function readShapeECheckpoint(dir: string) {
  const ck = await loadCheckpoint<{ kind?: string; model?: Record<string, unknown>; vocab?: unknown }>(
    (await latestCheckpoint(dir))?.dir ?? dir,
  );
  if (ck.config.kind !== 'shape-e')
    throw new TonyError('checkpoint', `${dir} holds a '${String(ck.config.kind)}' model, not shape-e`, 'pass a run of tony train shape-e');
  return { ck, cfg: shapeEConfig(ck.config.model ?? {}) };
}

/** The encoder run a diffusion config names, as a path (relative ones from the diffusion model's directory). */
function encoderPathOf(dir: string, cfg: Readonly<ShapeEConfig>): string {
  if (!cfg.encoder)
    throw new TonyError(
      'checkpoint',
      `${dir}: this diffusion model names no encoder`,
      'retrain with --set encoder=<run of tony train shape-e --stage encoder>',
    );
  return isAbsolute(cfg.encoder) ? cfg.encoder : resolve(dir, cfg.encoder);
}

/** A Shap-E run or exported model of either stage (a diffusion model brings its encoder along). */
export async function loadShapeE(dir: string, opts: LoadOptions = {}): Promise<ShapeEModel> {
  const { ck, cfg } = await readShapeECheckpoint(dir);
  const rt = await Runtime.start({ device: opts.device, threads: opts.threads });
  try {
    const id = opts.id ?? basename(resolve(dir));
    if (cfg.stage === 'encoder') {
      await loadWeights(rt, ck.params);
      return new ShapeEModel(id, cfg, rt);
    }
    const vocab = ck.config.vocab;
    if (!Array.isArray(vocab) || vocab.some((w) => typeof w !== 'string'))
      throw new TonyError(
        'checkpoint',
        `${dir}: config.json has no caption vocabulary`,
        'retrain with tony train shape-e --stage diffusion',
      );
    const encDir = encoderPathOf(dir, cfg);
    const enc = await readShapeECheckpoint(encDir).catch((err: unknown) => {
      throw new TonyError(
        'checkpoint',
        `${dir}: cannot read its encoder ${encDir}: ${(err as Error).message}`,
        'keep the encoder run where the config says',
        { cause: err },
      );
    });
    if (enc.cfg.stage !== 'encoder') throw new TonyError('checkpoint', `${encDir} is not a Shap-E encoder run`);
    if (latentRows(enc.cfg) !== latentRows(cfg) || enc.cfg.latentWidth !== cfg.latentWidth)
      throw new TonyError(
        'checkpoint',
        `${dir}: its latents (${latentRows(cfg)} × ${cfg.latentWidth}) do not match its encoder's`,
        'retrain the diffusion model on this encoder',
      );
    await loadWeights(rt, { ...enc.ck.params, ...ck.params });
    const part: DiffusionPart = { cfg, vocab: vocab as string[], model: new LatentDiffusion(cfg, vocab.length), graphs: new Map() };
    return new ShapeEModel(id, enc.cfg, rt, part);
  } catch (err) {
    await rt.close();
    throw err;
  }
}
