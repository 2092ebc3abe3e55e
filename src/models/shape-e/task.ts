/**
 * Shap-E's training tasks (`tony train shape-e --stage encoder|diffusion`), on `tony shapes generate`
 * folders, held out by scene exactly as Point-E's (src/models/pointe/data.ts), so the two are
 * compared on the same split.
 *
 *  - encoder: each shape's cloud (farthest-point subsampled to N, xyz + RGB), query points with the
 *    scene's exact signed distance and colour (half near the surface: Point-E's SDF-task draw), and
 *    rays through the pixels of `views` software-renderer views (src/shape/render.ts renderField,
 *    orbiting at a per-shape azimuth) with the renderer's coverage as the opacity target, sampled
 *    at `raySamples` stratified points (jittered within equal intervals) between the ray's entry and
 *    exit of the box [−0.55, 0.55]³.
 *  - diffusion: every cloud encoded once by the encoder run named in `encoder` → latents (L × d),
 *    with their captions; t ~ U{0 … T − 1}, x_t = q_sample(x_0, t, ε), captions dropped with
 *    probability condDrop; the target is x_0.
 */
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import { type HostTensor, hostTensor } from '../../engine/dtype.ts';
import type { TrainTask } from '../../engine/trainer.ts';
import { TonyError } from '../../errors.ts';
import { prng, type Rng } from '../../random.ts';
import { rayBox } from '../../shape/nerf.ts';
import { farthestPointSample } from '../../shape/pointcloud.ts';
import { type Camera, type Image, orbitCameras, pixelRays, renderField } from '../../shape/render.ts';
import { compileShape, type Field, type Vec3 } from '../../shape/sdf.ts';
import type { TrainSetup } from '../index.ts';
import { buildVocabulary, captionFeeds, captionWords, encodeCaption } from '../pointe/captions.ts';
import { manifestClouds, splitByScene } from '../pointe/data.ts';
import { drawQueries } from '../pointe/sdf-task.ts';
import {
  diffusionOf,
  type EncoderInputs,
  encoderInputs,
  encoderObjective,
  LatentDiffusion,
  latentDiffusionInputs,
  latentDiffusionObjective,
  latentRows,
  POINT_CHANNELS,
  ShapeEAutoencoder,
  type ShapeEConfig,
  viewTokenShape,
} from './shape-e.ts';

/** The box rays are sampled in (and the NeRF renders): the unit cube plus 5 %. */
export const BOX_LO: Vec3 = [-0.55, -0.55, -0.55];
export const BOX_HI: Vec3 = [0.55, 0.55, 0.55];

/** A cloud (xyz in the unit cube, RGB in [0, 1]) → encoder channels N × 6: xyz, 2·rgb − 1. */
export function cloudChannels(xyz: Float32Array, rgb?: Float32Array): Float32Array {
  const n = xyz.length / 3;
  const x = new Float32Array(n * POINT_CHANNELS);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) {
      x[i * POINT_CHANNELS + k] = xyz[3 * i + k]!;
      x[i * POINT_CHANNELS + 3 + k] = rgb ? 2 * rgb[3 * i + k]! - 1 : 0;
    }
  }
  return x;
}

/**
 * The cameras of the encoder's input views: `inputViews` views orbiting at fixed azimuths (the same
 * for every shape, so that a patch token's learned position says where it looks from).
 */
export const inputCameras = (cfg: Readonly<ShapeEConfig>): Camera[] => orbitCameras(cfg.inputViews, { size: cfg.viewSize });

/**
 * Views (viewSize² each, as rendered from inputCameras) → the encoder's patch tokens, row-major
 * (P, patch²·4) with P = views · (viewSize / patch)²: patches in raster order within each view,
 * pixels in raster order within each patch, RGBA mapped from [0, 255] to [−1, 1].
 */
export function viewPatches(cfg: Readonly<ShapeEConfig>, views: readonly Image[]): Float32Array {
  const [P, C] = viewTokenShape(cfg);
  const S = cfg.viewSize;
  const p = cfg.patch;
  if (views.length !== cfg.inputViews || views.some((v) => v.width !== S || v.height !== S))
    throw new TonyError(
      'shape',
      `the encoder reads ${cfg.inputViews} views of ${S}×${S} pixels; got ${views.length} (${views.map((v) => `${v.width}×${v.height}`).join(', ')})`,
      'render them from inputCameras(cfg)',
    );
  const out = new Float32Array(P * C);
  const perSide = S / p;
  let o = 0;
  for (const v of views)
    for (let py = 0; py < perSide; py++)
      for (let px = 0; px < perSide; px++)
        for (let y = py * p; y < (py + 1) * p; y++)
          for (let x = px * p; x < (px + 1) * p; x++) {
            const i = y * S + x;
            for (let k = 0; k < 3; k++) out[o++] = (2 * v.rgb[3 * i + k]!) / 255 - 1;
            out[o++] = (2 * v.alpha[i]!) / 255 - 1;
          }
  return out;
}

/** A procedural shape's input views, rendered from its exact field by the software renderer. */
export const fieldViews = (cfg: Readonly<ShapeEConfig>, field: Field): Image[] =>
  inputCameras(cfg).map((cam) => renderField(field, cam, { lo: BOX_LO, hi: BOX_HI }));

/** Rays of one shape's views that cross the box: eye, direction, entry, exit, target coverage. */
interface ShapeRays {
  origin: Float32Array; // (R, 3)
  dir: Float32Array; // (R, 3)
  near: Float32Array;
  far: Float32Array;
  alpha: Float32Array;
}

interface ShapeEExample {
  id: string;
  caption: string;
  scene: string;
  field: Field;
  /** Every surface point the folder holds: where near-surface queries start. */
  surface: Float32Array;
  /** The encoder's input, N × 6. */
  cloud: Float32Array;
  /** Index in the folder, for the per-shape camera azimuth. */
  index: number;
  rays?: ShapeRays;
  /** The encoder's input views as patch tokens (inputViews > 0; rendered once, kept). */
  views?: Float32Array;
}

export interface ShapeEData {
  train: ShapeEExample[];
  val: ShapeEExample[];
  notes: string[];
  /** The encoder run a fine-tune starts from (`init`), with its weights. */
  init?: { dir: string; params: Record<string, HostTensor> };
}

/** Read `tony shapes generate` folders: clouds, exact fields, captions; split by scene. */
export async function readShapeE(paths: readonly string[], cfg: Readonly<ShapeEConfig>): Promise<ShapeEData> {
  const all: ShapeEExample[] = [];
  for await (const { id, caption, scene, tree, cloud, file } of manifestClouds(paths)) {
    const n = cloud.xyz.length / 3;
    if (n < cfg.points)
      throw new TonyError(
        'data',
        `${file}: ${n} points, the encoder reads ${cfg.points}`,
        `generate more points (tony shapes generate --points ${cfg.points * 4}) or read fewer (--set points=${n})`,
      );
    const fps = farthestPointSample(cloud, cfg.points);
    all.push({
      id,
      caption,
      scene,
      field: compileShape(tree),
      surface: cloud.xyz,
      cloud: cloudChannels(fps.xyz, fps.rgb),
      index: all.length,
    });
  }
  const { train, val } = splitByScene(all);
  const notes = [`${train.length} training and ${val.length} held-out shapes`];
  if (cfg.stage !== 'encoder' || !cfg.init) return { train, val, notes };
  const init = await readInit(cfg);
  notes.push(`starting from ${init.dir} (${Object.keys(init.params).length} tensors)`);
  return { train, val, notes, init };
}

/** The weights of the encoder run `init` names, checked against this config's encoder. */
async function readInit(cfg: Readonly<ShapeEConfig>): Promise<NonNullable<ShapeEData['init']>> {
  const entry = await latestCheckpoint(cfg.init);
  const ck = await loadCheckpoint<{ kind?: string; model?: { stage?: string } }>(entry?.dir ?? cfg.init);
  if (ck.config.kind !== 'shape-e' || ck.config.model?.stage !== 'encoder')
    throw new TonyError(
      'config',
      `shape-e: init ${cfg.init} is not a Shap-E encoder run`,
      'pass a run of tony train shape-e --stage encoder',
    );
  const want = new Map(new ShapeEAutoencoder(cfg).ps.specs.map((s) => [s.name, s.shape]));
  for (const [name, t] of Object.entries(ck.params)) {
    const shape = want.get(name);
    if (!shape || shape.join(',') !== t.shape.join(','))
      throw new TonyError(
        'config',
        `shape-e: init ${cfg.init} has ${name} of shape [${t.shape}], this encoder ${shape ? `[${shape}]` : 'has no such parameter'}`,
        'use the same preset and --set sizes as the run you start from',
      );
  }
  return { dir: entry?.dir ?? cfg.init, params: ck.params };
}

/** The views' rays of one shape that cross the box, with the renderer's coverage (computed once, kept). */
function shapeRays(ex: ShapeEExample, cfg: Readonly<ShapeEConfig>): ShapeRays {
  if (ex.rays) return ex.rays;
  const o: number[] = [];
  const d: number[] = [];
  const near: number[] = [];
  const far: number[] = [];
  const alpha: number[] = [];
  // A per-shape azimuth (golden-angle steps) so that the views of all shapes cover all directions.
  const cams = orbitCameras(cfg.views, { size: cfg.viewSize, azimuth0: (ex.index * 137.5) % 360 });
  for (const cam of cams) {
    const img = renderField(ex.field, cam, { lo: BOX_LO, hi: BOX_HI });
    const { eye, dirs } = pixelRays(cam);
    for (let p = 0; p < img.alpha.length; p++) {
      const dir = dirs.subarray(3 * p, 3 * p + 3);
      const hit = rayBox(eye, dir, BOX_LO, BOX_HI);
      if (!hit) continue;
      o.push(...eye);
      d.push(...dir);
      near.push(hit[0]);
      far.push(hit[1]);
      alpha.push(img.alpha[p]! / 255);
    }
  }
  ex.rays = {
    origin: Float32Array.from(o),
    dir: Float32Array.from(d),
    near: Float32Array.from(near),
    far: Float32Array.from(far),
    alpha: Float32Array.from(alpha),
  };
  return ex.rays;
}

/** The batch seed for (split, index): train batches from (seed, index); validation fixed by index. */
const batchRng = (split: 'train' | 'val', seed: number, index: number): Rng =>
  prng(split === 'train' ? Math.imul(seed + 1, 0x9e3779b1) ^ index : 0x5eed ^ Math.imul(index + 1, 0x85ebca6b));

/** The encoder stage's task. */
export function encoderTask(cfg: Readonly<ShapeEConfig>, data: ShapeEData, setup: TrainSetup): TrainTask {
  const B = setup.batch;
  const { points: N, queries: Q, rays: R, raySamples: S } = cfg;
  return {
    trace() {
      const model = new ShapeEAutoencoder(cfg);
      const inp = encoderInputs(cfg, B);
      const { losses, metrics } = encoderObjective(model, inp);
      const order: Array<keyof EncoderInputs> = ['cloud', 'queries', 'sdf', 'rgb', 'rayPoints', 'rayDeltas', 'alpha'];
      if (inp.views) order.push('views');
      return { ps: model.ps, losses, metrics, data: order.map((k) => inp[k]!) };
    },
    batch(split, index) {
      const r = batchRng(split, setup.seed, index);
      const cloud = new Float32Array(B * N * POINT_CHANNELS);
      const queries = new Float32Array(B * Q * 3);
      const sdf = new Float32Array(B * Q);
      const rgb = new Float32Array(B * Q * 3);
      const rayPoints = new Float32Array(B * R * S * 3);
      const rayDeltas = new Float32Array(B * R * S);
      const alpha = new Float32Array(B * R);
      const [P, C] = viewTokenShape(cfg);
      const views = new Float32Array(B * P * C);
      const c = [0, 0, 0];
      for (let j = 0; j < B; j++) {
        const ex = split === 'train' ? data.train[r.int(0, data.train.length - 1)]! : data.val[(index * B + j) % data.val.length]!;
        cloud.set(ex.cloud, j * N * POINT_CHANNELS);
        if (cfg.inputViews > 0) {
          ex.views ??= viewPatches(cfg, fieldViews(cfg, ex.field));
          views.set(ex.views, j * P * C);
        }
        const { q, s } = drawQueries(ex, Q, r);
        queries.set(q, j * Q * 3);
        sdf.set(s, j * Q);
        for (let i = 0; i < Q; i++) {
          ex.field.color(q[3 * i]!, q[3 * i + 1]!, q[3 * i + 2]!, c);
          rgb.set(c, (j * Q + i) * 3);
        }
        const rays = shapeRays(ex, cfg);
        for (let k = 0; k < R; k++) {
          const ray = r.int(0, rays.alpha.length - 1);
          const near = rays.near[ray]!;
          const step = (rays.far[ray]! - near) / S;
          alpha[j * R + k] = rays.alpha[ray]!;
          for (let i = 0; i < S; i++) {
            const t = near + (i + r.next()) * step; // stratified: one jittered sample per equal interval
            const at = (j * R + k) * S + i;
            rayDeltas[at] = step;
            for (let a = 0; a < 3; a++) rayPoints[3 * at + a] = rays.origin[3 * ray + a]! + t * rays.dir[3 * ray + a]!;
          }
        }
      }
      return {
        cloud: hostTensor('float32', [B, N, POINT_CHANNELS], cloud),
        queries: hostTensor('float32', [B, Q, 3], queries),
        sdf: hostTensor('float32', [B, Q], sdf),
        rgb: hostTensor('float32', [B, Q, 3], rgb),
        ray_points: hostTensor('float32', [B, R * S, 3], rayPoints),
        ray_deltas: hostTensor('float32', [B, R, S], rayDeltas),
        alpha: hostTensor('float32', [B, R], alpha),
        ...(cfg.inputViews > 0 ? { views: hostTensor('float32', [B, P, C], views) } : {}),
      };
    },
    tokensPerStep: B * (N + Q + R * S),
    ...(data.init ? { initParams: data.init.params } : {}),
    config: {
      kind: 'shape-e',
      model: { ...cfg },
      batch: B,
      seed: setup.seed,
      ...(setup.preset ? { preset: setup.preset } : {}),
      data: { train: data.train.length, val: data.val.length, val_ids: data.val.map((x) => x.id).slice(0, 500) },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Diffusion

interface LatentExample {
  id: string;
  caption: string;
  scene: string;
  latent: Float32Array;
}

export interface LatentData {
  train: LatentExample[];
  val: LatentExample[];
  vocab: string[];
  notes: string[];
}

/** The diffusion stage's task: x̂_0-prediction over encoded latents. */
export function diffusionTask(cfg: Readonly<ShapeEConfig>, data: LatentData, setup: TrainSetup): TrainTask {
  const B = setup.batch;
  const D = latentRows(cfg) * cfg.latentWidth;
  const shape = [B, latentRows(cfg), cfg.latentWidth];
  const d = diffusionOf(cfg);
  for (const x of [...data.train, ...data.val]) {
    const n = captionWords(x.caption).length;
    if (n > cfg.maxWords)
      throw new TonyError(
        'config',
        `shape-e: caption of ${x.id} has ${n} words, the model reads at most ${cfg.maxWords}`,
        `--set maxWords=${n}`,
      );
  }
  return {
    trace() {
      const model = new LatentDiffusion(cfg, data.vocab.length);
      const inp = latentDiffusionInputs(cfg, B);
      return { ps: model.ps, losses: latentDiffusionObjective(model, inp), data: [inp.xt, inp.t, inp.x0, inp.ids, inp.valid, inp.keep] };
    },
    batch(split, index): Record<string, HostTensor> {
      const r = batchRng(split, setup.seed, index);
      const x0 = new Float64Array(B * D);
      const t = new Int32Array(B);
      const keep = new Float32Array(B);
      const caps: Array<{ ids: number[]; valid: boolean[] }> = [];
      for (let j = 0; j < B; j++) {
        const ex = split === 'train' ? data.train[r.int(0, data.train.length - 1)]! : data.val[(index * B + j) % data.val.length]!;
        x0.set(ex.latent, j * D);
        t[j] = r.int(0, d.T - 1);
        keep[j] = split === 'train' && r.next() < cfg.condDrop ? 0 : 1;
        caps.push(encodeCaption(ex.caption, data.vocab, cfg.maxWords));
      }
      const noise = Float64Array.from({ length: B * D }, () => r.normal());
      return {
        xt: hostTensor('float32', shape, d.qSample(x0, t, noise)),
        t: hostTensor('float32', [B], t),
        x0: hostTensor('float32', shape, x0),
        ...captionFeeds(caps, cfg.maxWords),
        keep: hostTensor('float32', [B, 1], keep),
      };
    },
    tokensPerStep: B * latentRows(cfg),
    config: {
      kind: 'shape-e',
      model: { ...cfg },
      vocab: data.vocab,
      batch: B,
      seed: setup.seed,
      ...(setup.preset ? { preset: setup.preset } : {}),
      data: { train: data.train.length, val: data.val.length, val_ids: data.val.map((x) => x.id).slice(0, 500) },
    },
  };
}

/** The vocabulary of a set of captions (Point-E's: sorted words). */
export const vocabularyOf = (xs: ReadonlyArray<{ caption: string }>) => buildVocabulary(xs.map((x) => x.caption));
