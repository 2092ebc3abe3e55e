/**
 * The omni model's images and their tokenizer. Images are 32 × 32 renders of one procedural shape
 * (src/shape: a size, a colour and a shape noun — "a small red torus"), from one fixed camera, so a
 * caption names exactly one picture. The tokenizer is a VQ-VAE over 8 × 8 patches: each patch is
 * encoded by an MLP, quantised against Jukebox's EMA codebook (src/models/jukebox/vqvae.ts
 * `quantize`: initialisation from encoder outputs, random restarts) and decoded by an MLP — 16
 * codes an image, row by row.
 *
 *   patch  p (N, 192) → Linear → ReLU → Linear → z (N, D) → nearest of K codes → Linear → ReLU → Linear → p̂
 *   loss   mean (p − p̂)² + commit · ‖z − sg(e)‖²
 *
 * Why patches and MLPs, not Jukebox's convolutions: Jukebox's VQ-VAE is 1-D (audio); a render of a
 * single centred shape is mostly background, and 16 independent patch codes are what a small
 * transformer can predict from a caption. Each code sees only its own patch (no context): the
 * departure from a convolutional image VQ-VAE, paid for in blockier reconstructions.
 */

import { basename, resolve } from 'node:path';
import { resolveConfig } from '../../config.ts';
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import { type HostTensor, hostTensor } from '../../engine/dtype.ts';
import { Linear, ParamSet } from '../../engine/nn.ts';
import { exportOnnx } from '../../engine/onnx.ts';
import * as T from '../../engine/ops/index.ts';
import { Runtime } from '../../engine/runtime.ts';
import { BufferSet, loadWeights, runOnWeights } from '../../engine/state.ts';
import { input, type Tensor } from '../../engine/tensor.ts';
import type { TrainTask } from '../../engine/trainer.ts';
import { TonyError } from '../../errors.ts';
import { prng } from '../../random.ts';
import { orbitCameras, renderField } from '../../shape/render.ts';
import { buildScene, COLORS, captionOf, type SceneAttrs, SHAPES, SIZES } from '../../shape/scenes.ts';
import { compileShape } from '../../shape/sdf.ts';
import type { LoadedModel, LoadOptions, TrainSetup } from '../index.ts';
import { quantize, type VQVAEConfig, vqvaeConfig } from '../jukebox/vqvae.ts';
import { unitHash } from './speech-codec.ts';

/** Image side in pixels, patch side, patches per image. */
export const IMAGE_SIZE = 32;
export const PATCH = 8;
export const PATCHES = (IMAGE_SIZE / PATCH) ** 2;
const PATCH_DIM = PATCH * PATCH * 3;

export interface ShapeImage {
  caption: string;
  size: string;
  color: string;
  shape: string;
  /** (H, W, 3) in [0, 1]. */
  rgb: Float32Array;
}

/** Every (size, colour, shape) of the shapes world: 3 · 12 · 8 = 288 captions. */
export function shapeWorld(): Array<{ size: string; color: string; shape: string; caption: string }> {
  const out = [];
  for (const size of Object.keys(SIZES))
    for (const color of Object.keys(COLORS))
      for (const shape of Object.keys(SHAPES)) {
        const attrs: SceneAttrs = { objects: [{ shape, color, size, hole: false }], relations: [] };
        out.push({ size, color, shape, caption: captionOf(attrs, 0) });
      }
  return out;
}

/** Captions held out of every omni training set (~15 %, by hash): caption → image and back are judged on them. */
export const isHeldOutCaption = (caption: string) => unitHash(`img:${caption}`) < 0.15;

/** The camera: 25° above, 30° round, framing a sphere of radius 0.6 (a large shape nearly fills it). */
const CAMERA = orbitCameras(1, { size: IMAGE_SIZE, elevation: 25, fitRadius: 0.6 })[0]!;

/** Render one shape (2 × 2 supersampled, white background). */
export function renderShape(size: string, color: string, shape: string): Float32Array {
  const attrs: SceneAttrs = { objects: [{ shape, color, size, hole: false }], relations: [] };
  const img = renderField(compileShape(buildScene(attrs)), CAMERA, { supersample: 2 });
  return Float32Array.from(img.rgb, (v) => v / 255);
}

/** (H, W, 3) → (PATCHES, 192) patches, row-major over the patch grid. */
export function toPatches(rgb: Float32Array): Float32Array {
  const g = IMAGE_SIZE / PATCH;
  const out = new Float32Array(PATCHES * PATCH_DIM);
  for (let py = 0; py < g; py++)
    for (let px = 0; px < g; px++)
      for (let y = 0; y < PATCH; y++)
        for (let x = 0; x < PATCH; x++)
          for (let c = 0; c < 3; c++)
            out[(py * g + px) * PATCH_DIM + (y * PATCH + x) * 3 + c] = rgb[((py * PATCH + y) * IMAGE_SIZE + px * PATCH + x) * 3 + c]!;
  return out;
}

/** The inverse of toPatches. */
export function fromPatches(p: Float32Array): Float32Array {
  const g = IMAGE_SIZE / PATCH;
  const out = new Float32Array(IMAGE_SIZE * IMAGE_SIZE * 3);
  for (let py = 0; py < g; py++)
    for (let px = 0; px < g; px++)
      for (let y = 0; y < PATCH; y++)
        for (let x = 0; x < PATCH; x++)
          for (let c = 0; c < 3; c++)
            out[((py * PATCH + y) * IMAGE_SIZE + px * PATCH + x) * 3 + c] = p[(py * g + px) * PATCH_DIM + (y * PATCH + x) * 3 + c]!;
  return out;
}

const IMAGE_VQ_DEFAULTS = {
  /** Hidden width of the patch MLPs. */
  hidden: 256,
  /** Codebook size K and code width D. */
  codes: 128,
  codeWidth: 32,
  decay: 0.99,
  commit: 0.02,
  threshold: 1,
  restarts: true,
};
export type ImageVQConfig = typeof IMAGE_VQ_DEFAULTS;

export function imageVQConfig(overrides: Record<string, unknown> = {}): Readonly<ImageVQConfig> {
  const cfg = resolveConfig('omni-image', IMAGE_VQ_DEFAULTS, overrides);
  for (const k of ['hidden', 'codes', 'codeWidth'] as const)
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1)
      throw new TonyError('config', `omni-image: ${k} must be a positive integer, got ${cfg[k]}`);
  return cfg;
}

class ImageVQ {
  readonly ps = new ParamSet();
  readonly buffers = new BufferSet();
  private readonly vq: Readonly<VQVAEConfig>;
  private readonly enc1: Linear;
  private readonly enc2: Linear;
  private readonly dec1: Linear;
  private readonly dec2: Linear;
  constructor(readonly cfg: Readonly<ImageVQConfig>) {
    const { hidden: H, codeWidth: D, codes, decay, commit, threshold, restarts } = cfg;
    this.vq = vqvaeConfig({ codes, codeWidth: D, decay, commit, threshold, restarts, spectral: 0 });
    // std 1/√fan-in: unit-scale activations through the MLPs (Linear's 0.02 is the GPT's choice).
    this.enc1 = new Linear(this.ps, 'enc.1', PATCH_DIM, H, { std: 1 / Math.sqrt(PATCH_DIM) });
    this.enc2 = new Linear(this.ps, 'enc.2', H, D, { std: 1 / Math.sqrt(H) });
    this.dec1 = new Linear(this.ps, 'dec.1', D, H, { std: 1 / Math.sqrt(D) });
    this.dec2 = new Linear(this.ps, 'dec.2', H, PATCH_DIM, { std: 1 / Math.sqrt(H) });
  }
  /** Patches (N, 192) → z (1, D, N): the layout Jukebox's quantize takes. */
  private encode(p: Tensor): Tensor {
    const N = p.shape[0]!;
    return T.reshape(T.transpose(this.enc2.forward(T.relu(this.enc1.forward(p))), [1, 0]), [1, this.cfg.codeWidth, N]);
  }
  /** Code vectors (N, D) → patches (N, 192). */
  decodeVectors(z: Tensor): Tensor {
    return this.dec2.forward(T.relu(this.dec1.forward(z)));
  }
  codebook(): Tensor {
    return this.buffers.buffer('vq.codebook', [this.cfg.codes, this.cfg.codeWidth], { kind: 'normal', std: 1 });
  }
  /** Patches (N, 192) → ids (N,) int64. */
  codes(p: Tensor): Tensor {
    return T.reshape(quantize(this.vq, this.buffers, this.encode(p)).ids, [p.shape[0]!]);
  }
  /** ids (N,) int64 → patches (N, 192). */
  decodeCodes(ids: Tensor): Tensor {
    return this.decodeVectors(T.gather(this.codebook(), ids));
  }
  objective(p: Tensor, restartIdx?: Tensor) {
    const [N, D] = [p.shape[0]!, this.cfg.codeWidth];
    const vq = quantize(this.vq, this.buffers, this.encode(p), restartIdx);
    const phat = this.decodeVectors(T.transpose(T.reshape(vq.zq, [D, N]), [1, 0])); // (N, 192)
    const d = T.sub(phat, p);
    return {
      losses: { recon: { value: T.mean(T.mul(d, d)), weight: 1 }, commit: { value: vq.commit, weight: this.cfg.commit } },
      metrics: vq.metrics,
    };
  }
}

/** Renders of the whole shapes world, split by caption (held out ~15 %). */
export function readShapeImages(): { train: ShapeImage[]; val: ShapeImage[] } {
  const all = shapeWorld().map((s) => ({ ...s, rgb: renderShape(s.size, s.color, s.shape) }));
  return { train: all.filter((s) => !isHeldOutCaption(s.caption)), val: all.filter((s) => isHeldOutCaption(s.caption)) };
}

/** The trainer's task: `batch` random images' patches a step (patches of held-out captions for validation). */
export function imageVQTask(cfg: Readonly<ImageVQConfig>, data: ReturnType<typeof readShapeImages>, setup: TrainSetup): TrainTask {
  const B = setup.batch;
  const N = B * PATCHES;
  const patches = (imgs: ShapeImage[]) => {
    const out = new Float32Array(N * PATCH_DIM);
    imgs.forEach((im, j) => out.set(toPatches(im.rgb), j * PATCHES * PATCH_DIM));
    return hostTensor('float32', [N, PATCH_DIM], out);
  };
  return {
    trace(mode = 'train') {
      const model = new ImageVQ(cfg);
      const p = input('patches', [N, PATCH_DIM]);
      const idx = mode === 'train' ? input('restart_idx', [cfg.codes], 'int64') : undefined;
      const { losses, metrics } = model.objective(p, idx);
      return { ps: model.ps, buffers: model.buffers, losses, metrics, data: idx ? [p, idx] : [p] };
    },
    batch(split, index): Record<string, HostTensor> {
      if (split === 'val') return { patches: patches(Array.from({ length: B }, (_, j) => data.val[(index * B + j) % data.val.length]!)) };
      const g = prng(Math.imul(setup.seed + 1, 0x9e3779b1) ^ index);
      return {
        patches: patches(Array.from({ length: B }, () => data.train[g.int(0, data.train.length - 1)]!)),
        restart_idx: hostTensor(
          'int64',
          [cfg.codes],
          Array.from({ length: cfg.codes }, () => g.int(0, N - 1)),
        ),
      };
    },
    tokensPerStep: N,
    config: { kind: 'omni-image', model: { ...cfg }, batch: B, seed: setup.seed, data: { train: data.train.length, val: data.val.length } },
  };
}

export interface ImageTokenizer extends LoadedModel {
  readonly cfg: Readonly<ImageVQConfig>;
  /** (32, 32, 3) in [0, 1] → 16 code ids, patch rows top to bottom. */
  encode(rgb: Float32Array): Promise<Int32Array>;
  /** 16 code ids → (32, 32, 3), clamped to [0, 1]. */
  decode(ids: Int32Array): Promise<Float32Array>;
}

/** Load a trained image tokenizer (`tony train omni-image` run, or models/omni/image). */
export async function loadImageTokenizer(dir: string, opts: LoadOptions = {}): Promise<ImageTokenizer> {
  const ck = await loadCheckpoint<{ kind?: string; model?: Record<string, unknown> }>((await latestCheckpoint(dir))?.dir ?? dir);
  if (ck.config.kind !== 'omni-image')
    throw new TonyError(
      'checkpoint',
      `${ck.dir} is not an image tokenizer (kind '${String(ck.config.kind)}')`,
      'pass a tony train omni-image run',
    );
  const cfg = imageVQConfig(ck.config.model);
  const runtime = await Runtime.start({ device: opts.device, threads: opts.threads });
  await loadWeights(runtime, ck.params);
  // Outputs are traced first: that declares the codebook buffer the input lists then name.
  const enc = new ImageVQ(cfg);
  const p = input('patches', [PATCHES, PATCH_DIM]);
  const codes = enc.codes(p);
  const encSession = await runtime.load(
    exportOnnx([p, ...enc.ps.inputs, ...enc.buffers.inputs], { ids: codes }, { name: 'omni_image_encode' }),
  );
  const dec = new ImageVQ(cfg);
  const ids = input('ids', [PATCHES], 'int64');
  const patches = dec.decodeCodes(ids);
  const decSession = await runtime.load(
    exportOnnx([ids, ...dec.ps.inputs, ...dec.buffers.inputs], { patches }, { name: 'omni_image_decode' }),
  );
  return {
    kind: 'omni-image',
    id: opts.id ?? basename(resolve(dir)),
    capabilities: [],
    provider: runtime.description,
    cfg,
    async encode(rgb) {
      if (rgb.length !== IMAGE_SIZE * IMAGE_SIZE * 3)
        throw new TonyError(
          'shape',
          `an omni image is ${IMAGE_SIZE}×${IMAGE_SIZE}×3 = ${IMAGE_SIZE * IMAGE_SIZE * 3} values, got ${rgb.length}`,
        );
      const out = await runOnWeights(runtime, encSession, enc, { patches: hostTensor('float32', [PATCHES, PATCH_DIM], toPatches(rgb)) });
      return Int32Array.from(out.ids!.data as BigInt64Array, Number);
    },
    async decode(codes) {
      if (codes.length !== PATCHES) throw new TonyError('shape', `an omni image is ${PATCHES} codes, got ${codes.length}`);
      const bad = codes.findIndex((c) => !(c >= 0 && c < cfg.codes));
      if (bad >= 0) throw new TonyError('data', `image code ${bad} is ${codes[bad]}, outside 0 … ${cfg.codes - 1}`);
      const out = await runOnWeights(runtime, decSession, dec, { ids: hostTensor('int64', [PATCHES], codes) });
      return Float32Array.from(fromPatches(out.patches!.data as Float32Array), (v) => Math.min(1, Math.max(0, v)));
    },
    close: () => runtime.close(),
  };
}
