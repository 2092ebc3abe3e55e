/**
 * Point-E's base model (Nichol, Jun, Dhariwal, Mishkin & Chen, "Point-E: A System for Generating 3D
 * Point Clouds from Complex Prompts", 2022; PAPERS.md §7): a transformer that denoises N points of
 * xyz + RGB, conditioned on a rendered view (a grid of image tokens, the paper's main path) or on
 * text. Config, the text and image encoders, the denoiser, the objective — in the paper's order. The diffusion process itself is src/diffusion (shared with Shap-E).
 *
 * As the paper (and openai/point-e's `PointDiffusionTransformer`):
 *  - a point is 6 channels, coordinates ×2 and colours mapped from [0, 1] to [−1, 1]; each point is
 *    one token through a linear input projection; no positional encoding, so the network is
 *    equivariant to the order of the points and works for any N;
 *  - the timestep (sinusoidal embedding → MLP) and the condition are tokens prepended to the
 *    points; pre-LN residual attention blocks over all of them; the output projection (zero
 *    initialised) reads only the point tokens: ε̂ and, with the learned variance, v (2 × 6 channels);
 *  - every linear layer is initialised N(0, (0.25/√width)²) (Point-E's init_scale);
 *  - the diffusion is the cosine schedule over 1,024 steps with ε-prediction and the learned range
 *    variance (hybrid loss); the condition is dropped (zeroed) for 10 % of examples, so the same
 *    network is also the unconditional model classifier-free guidance needs.
 *
 * Departures, and why:
 *  - Text conditioning: the paper's text-only variant conditions on a CLIP text vector. CLIP weights
 *    cannot be downloaded here, so a small text encoder is trained jointly: caption words →
 *    embeddings + positions → bidirectional attention blocks → masked mean → one vector, which (like
 *    Point-E's CLIP vector) is zeroed when dropped and projected to one prepended token. The
 *    vocabulary is the training captions' words, saved with the model.
 *  - Image conditioning: the paper feeds the last layer of CLIP ViT-L/14 over the view — a grid of
 *    256 tokens — prepended to the points, and reports that this beats a single pooled CLIP image
 *    vector. CLIP cannot be downloaded here, so the encoder is a small ViT of Tony's own (patches of
 *    the view → linear → + position embedding → attention blocks → one token per patch), trained
 *    jointly with the denoiser. `cond: 'image'` prepends its grid (imageSize/patch squared tokens),
 *    `cond: 'image-pooled'` the same encoder's tokens mean-pooled to one — the paper's ablation.
 *  - Time and condition tokens are added to the sequence in the order [condition, time, points];
 *    Point-E orders its extra tokens the same way (condition tokens before the time token).
 */
import { resolveConfig } from '../../config.ts';
import { betaSchedule, GaussianDiffusion, type ScheduleName } from '../../diffusion/gaussian.ts';
import { type DiffusionInputs, diffusionInputs, diffusionLosses } from '../../diffusion/losses.ts';
import { arange, Embedding, LayerNorm, Linear, MLP, ParamSet, SelfAttention, timestepEmbedding } from '../../engine/nn.ts';
import * as T from '../../engine/ops/index.ts';
import { input, type Tensor } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';
import type { PointCloud } from '../../shape/mesh.ts';

// ---------------------------------------------------------------------------------------------
// Config

const POINTE_DEFAULTS = {
  /**
   * Which model this is: `base` (text → points); `upsample` (a low-resolution cloud → more points,
   * upsample.ts: points, lowResPoints and the transformer and diffusion keys, no text); `sdf`
   * (points → signed distances, sdf.ts: points, width, layers, heads and the SDF keys below);
   * `classifier` (the PointNet of the P-FID/P-IS metrics, classifier.ts: points and width).
   */
  stage: 'base',
  /** Points per cloud N in training (the paper's base model: 1,024). Sampling takes any N. */
  points: 1024,
  /** Transformer width, blocks and heads (the paper's 40M model: 512, 12, 8). */
  width: 512,
  layers: 12,
  heads: 8,
  /**
   * The condition: `text` (a caption vector, one token), `image` (a grid of tokens over a rendered
   * view, the paper's main path) or `image-pooled` (the same grid mean-pooled to one token).
   */
  cond: 'text',
  /** Text encoder: blocks (its width is `width`) and the longest caption in words. */
  textLayers: 2,
  maxWords: 32,
  /** Image encoder: the view's side in pixels, the patch side (the grid is (imageSize/patch)²), blocks. */
  imageSize: 32,
  patch: 4,
  imageLayers: 1,
  /** Diffusion steps and noise schedule (Point-E: 1,024, cosine for the base model). */
  timesteps: 1024,
  schedule: 'cosine',
  /** Learn the variance with the hybrid loss (Point-E: yes); false trains ε with L_simple only. */
  learnSigma: true,
  /** Probability that an example's condition is dropped in training (Point-E: 0.1). */
  condDrop: 0.1,
  /** SDF model only: cross-attention blocks of the query decoder (Point-E: 4). */
  decoderLayers: 4,
  /** SDF model only: query points per cloud in a training batch. */
  queries: 1024,
  /**
   * SDF model only: distances are clamped to ±truncation (unit-cube units) in the loss, as DeepSDF
   * does — marching cubes needs the sign and the near-surface values, not the far field.
   */
  truncation: 0.1,
  /** Upsampler only: points in the low-resolution cloud it conditions on (Point-E: 1,024; `points` is then 3,072). */
  lowResPoints: 1024,
  /**
   * SDF model and upsampler: Fourier octaves of the coordinates (0 = Point-E's raw xyz). sdf.ts says
   * why 5 for the SDF model; the upsampler's preset keeps 0 (upsample.ts says why).
   */
  fourier: 5,
  /**
   * Classifier only: training augmentation, so that the judge of samples is not thrown by noise
   * a true cloud never has. `jitter`: each training cloud's coordinates get N(0, σ²) noise with
   * σ drawn uniformly in [0, jitter] (unit-cube units; 0 = none). `subsets`: half the training
   * clouds are N points drawn at random from the first 4N farthest points instead of the first N
   * (a sample's points are not spread as farthest-point sampling spreads them).
   */
  jitter: 0,
  subsets: false,
};
export type PointEConfig = typeof POINTE_DEFAULTS;

/** Named presets: `paper` is the 40M base model; `small` trains in minutes on a CPU; `tiny` is for tests. */
export const POINTE_PRESETS: Record<string, Partial<PointEConfig>> = {
  paper: {},
  small: { points: 256, width: 128, layers: 4, heads: 4, textLayers: 1 },
  tiny: { points: 16, width: 16, layers: 1, heads: 2, textLayers: 1, timesteps: 64 },
  /** The SDF model at CPU scale: 256 points in, two encoder and two decoder blocks of width 64. */
  'sdf-small': { stage: 'sdf', points: 256, width: 64, layers: 2, heads: 4, decoderLayers: 2, queries: 512 },
  /**
   * The upsampler at CPU scale: 64 → 64 + 192 points (Point-E: 1,024 → 1,024 + 3,072), linear
   * schedule, Point-E's raw xyz (Fourier features measured no better here: docs/results/pointe.md).
   */
  'upsample-small': { stage: 'upsample', points: 192, lowResPoints: 64, width: 128, layers: 4, heads: 4, schedule: 'linear', fourier: 0 },
  /** The evaluation classifier: 256 points, shared layers 64 and 128 wide. */
  classifier: { stage: 'classifier', points: 256, width: 128 },
};

/** Channels per point: xyz + RGB. */
export const CHANNELS = 6;

/** The most points one sample may ask for: attention is N², and 16K points is ~1 GB of scores per head. */
export const MAX_POINTS = 16384;

/** A point count a sample may ask for (an integer in [1, MAX_POINTS]), or a usage error. */
export function checkPointCount(n: number, trained: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_POINTS)
    throw new TonyError('usage', `--points must be an integer in [1, ${MAX_POINTS}], got ${n}`, `this model was trained on ${trained}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Points ↔ channels (Point-E's channel_scales and channel_biases)

/** A cloud (xyz in the unit cube, rgb in [0, 1]) → model channels N × 6: xyz·2, rgb·2 − 1. */
export function toChannels(c: PointCloud): Float32Array {
  const n = c.xyz.length / 3;
  const x = new Float32Array(n * CHANNELS);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) {
      x[i * CHANNELS + k] = 2 * c.xyz[3 * i + k]!;
      x[i * CHANNELS + 3 + k] = c.rgb ? 2 * c.rgb[3 * i + k]! - 1 : 0; // no colours: grey
    }
  }
  return x;
}

/** Model channels → a cloud: the inverse of toChannels, colours clipped to [0, 1]. */
export function fromChannels(x: ArrayLike<number>): PointCloud {
  const n = x.length / CHANNELS;
  const xyz = new Float32Array(3 * n);
  const rgb = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) {
      xyz[3 * i + k] = x[i * CHANNELS + k]! / 2;
      rgb[3 * i + k] = Math.min(1, Math.max(0, (x[i * CHANNELS + 3 + k]! + 1) / 2));
    }
  }
  return { xyz, rgb };
}

// ---------------------------------------------------------------------------------------------

/** The stages built (the config key `stage`, `tony train pointe --stage`). */
const STAGES = ['base', 'upsample', 'sdf', 'classifier'];
/** The base model's conditions (the config key `cond`). */
const CONDITIONS = ['text', 'image', 'image-pooled'];

/** The validated config. */
export function pointeConfig(overrides: Record<string, unknown> = {}): Readonly<PointEConfig> {
  const cfg = resolveConfig('pointe', POINTE_DEFAULTS, overrides);
  if (!STAGES.includes(cfg.stage)) throw new TonyError('config', `pointe: unknown stage '${cfg.stage}'`, `stages: ${STAGES.join(', ')}`);
  for (const k of [
    'points',
    'width',
    'layers',
    'heads',
    'textLayers',
    'maxWords',
    'timesteps',
    'decoderLayers',
    'queries',
    'lowResPoints',
    'imageSize',
    'patch',
    'imageLayers',
  ] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new TonyError('config', `pointe: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (!CONDITIONS.includes(cfg.cond))
    throw new TonyError('config', `pointe: unknown cond '${cfg.cond}'`, `conditions: ${CONDITIONS.join(', ')}`);
  if (cfg.imageSize % cfg.patch !== 0)
    throw new TonyError(
      'config',
      `pointe: imageSize ${cfg.imageSize} is not divisible by patch ${cfg.patch}`,
      'e.g. imageSize 32, patch 4',
    );
  if (cfg.width % cfg.heads !== 0) throw new TonyError('config', `pointe: width ${cfg.width} is not divisible by heads ${cfg.heads}`);
  if (cfg.schedule !== 'cosine' && cfg.schedule !== 'linear')
    throw new TonyError('config', `pointe: schedule must be 'cosine' or 'linear', got '${cfg.schedule}'`);
  if (!(cfg.condDrop >= 0 && cfg.condDrop < 1)) throw new TonyError('config', `pointe: condDrop must be in [0, 1), got ${cfg.condDrop}`);
  if (!Number.isInteger(cfg.fourier) || cfg.fourier < 0)
    throw new TonyError('config', `pointe: fourier must be an integer ≥ 0, got ${cfg.fourier}`);
  if (!(cfg.jitter >= 0 && cfg.jitter < 1)) throw new TonyError('config', `pointe: jitter must be in [0, 1), got ${cfg.jitter}`);
  if (!(cfg.truncation > 0)) throw new TonyError('config', `pointe: truncation must be > 0, got ${cfg.truncation}`);
  return cfg;
}

/** The diffusion process a config trains and samples with. */
export const diffusionOf = (cfg: Readonly<PointEConfig>) =>
  new GaussianDiffusion(betaSchedule(cfg.schedule as ScheduleName, cfg.timesteps));

// ---------------------------------------------------------------------------------------------
// Blocks

/** A pre-LN residual block with bidirectional attention (Point-E's ResidualAttentionBlock). */
export class Block {
  readonly ln1: LayerNorm;
  readonly attn: SelfAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;
  constructor(ps: ParamSet, name: string, width: number, heads: number, std: number) {
    this.ln1 = new LayerNorm(ps, `${name}.ln_1`, width);
    this.attn = new SelfAttention(ps, `${name}.attn`, width, heads, { causal: false, projStd: std });
    this.ln2 = new LayerNorm(ps, `${name}.ln_2`, width);
    this.mlp = new MLP(ps, `${name}.mlp`, width, 4 * width, std);
  }

  /** x (B, T, C) → (B, T, C); `valid` (B, T) bool hides padding keys. */
  forward(x: Tensor, valid?: Tensor): Tensor {
    const h = T.add(x, this.attn.forward(this.ln1.forward(x), valid));
    return T.add(h, this.mlp.forward(this.ln2.forward(h)));
  }
}

/**
 * The caption encoder: word ids (B, L) int64 (0 = padding) → one vector (B, C), the masked mean of
 * the last block's outputs. Stands in for CLIP's text vector (see the top of this file).
 */
class TextEncoder {
  readonly tok: Embedding;
  readonly pos: Embedding;
  readonly blocks: Block[];
  readonly ln: LayerNorm;
  constructor(ps: ParamSet, cfg: Readonly<PointEConfig>, vocabSize: number, std: number) {
    this.tok = new Embedding(ps, 'text.tok', vocabSize + 1, cfg.width, std);
    this.pos = new Embedding(ps, 'text.pos', cfg.maxWords, cfg.width, std);
    this.blocks = Array.from({ length: cfg.textLayers }, (_, i) => new Block(ps, `text.h.${i}`, cfg.width, cfg.heads, std));
    this.ln = new LayerNorm(ps, 'text.ln', cfg.width);
  }

  forward(ids: Tensor, valid: Tensor): Tensor {
    const [B, L] = ids.shape as [number, number];
    let h = T.add(this.tok.forward(ids), this.pos.forward(T.reshape(arange(L), [1, L]))); // (B, L, C)
    for (const b of this.blocks) h = b.forward(h, valid);
    h = this.ln.forward(h);
    const w = T.reshape(T.cast(valid, 'float32'), [B, L, 1]);
    const n = T.maximum(T.sum(w, 1), 1); // (B, 1): at least 1, so an all-padding row gives 0, not NaN
    return T.div(T.sum(T.mul(h, w), 1), n); // (B, C)
  }
}

/**
 * The image encoder, a small ViT standing in for CLIP's: a view (B, S, S, 3) in [−1, 1] → patches of
 * p × p pixels → a linear projection + a learned position per patch → attention blocks → the grid
 * (B, G, C), G = (S/p)² tokens in raster order.
 */
export class ImageEncoder {
  readonly patchProj: Linear;
  readonly pos: Tensor;
  readonly blocks: Block[];
  readonly ln: LayerNorm;
  readonly side: number;
  constructor(
    ps: ParamSet,
    readonly cfg: Readonly<PointEConfig>,
    std: number,
  ) {
    this.side = cfg.imageSize / cfg.patch;
    this.patchProj = new Linear(ps, 'image.patch_proj', cfg.patch * cfg.patch * 3, cfg.width, { std });
    this.pos = ps.param('image.pos', [this.side * this.side, cfg.width], { kind: 'normal', std });
    this.blocks = Array.from({ length: cfg.imageLayers }, (_, i) => new Block(ps, `image.h.${i}`, cfg.width, cfg.heads, std));
    this.ln = new LayerNorm(ps, 'image.ln', cfg.width);
  }

  forward(image: Tensor): Tensor {
    let h = T.add(this.patchProj.forward(patchify(image, this.cfg.patch)), this.pos); // (B, G, C)
    for (const b of this.blocks) h = b.forward(h);
    return this.ln.forward(h);
  }
}

/**
 * A view (B, S, S, 3) → its p × p patches (B, G, p·p·3), G = (S/p)²: patch gy·(S/p) + gx holds
 * pixels (gy·p + py, gx·p + px), flattened in (py, px, channel) order.
 */
export function patchify(image: Tensor, p: number): Tensor {
  const [B, S] = image.shape as [number, number];
  const g = S / p;
  const rows = T.reshape(image, [B, g, p, g, p, 3]); // (B, gy, py, gx, px, 3)
  return T.reshape(T.transpose(rows, [0, 1, 3, 2, 4, 5]), [B, g * g, p * p * 3]); // (B, G, p·p·3)
}

/** How many condition tokens a config prepends. */
export const condTokens = (cfg: Readonly<PointEConfig>) => (cfg.cond === 'image' ? (cfg.imageSize / cfg.patch) ** 2 : 1);

/** The condition's graph inputs: caption ids and mask (text), or the view (image, image-pooled). */
export type CondInputs = { ids: Tensor; valid: Tensor } | { image: Tensor };

// ---------------------------------------------------------------------------------------------
// The denoiser

export class PointE {
  readonly ps = new ParamSet();
  readonly text?: TextEncoder;
  readonly image?: ImageEncoder;
  readonly condProj: Linear;
  readonly inputProj: Linear;
  readonly timeEmbed: MLP;
  readonly lnPre: LayerNorm;
  readonly blocks: Block[];
  readonly lnPost: LayerNorm;
  readonly outputProj: Linear;
  /** Output channels: ε̂, then v with a learned variance. */
  readonly outChannels: number;

  constructor(
    readonly cfg: Readonly<PointEConfig>,
    readonly vocabSize: number,
  ) {
    const W = cfg.width;
    const std = 0.25 / Math.sqrt(W); // Point-E's init_scale · √(1/width)
    if (cfg.cond === 'text') this.text = new TextEncoder(this.ps, cfg, vocabSize, std);
    else this.image = new ImageEncoder(this.ps, cfg, std);
    this.condProj = new Linear(this.ps, 'cond_proj', W, W, { std });
    this.inputProj = new Linear(this.ps, 'input_proj', CHANNELS, W, { std });
    this.timeEmbed = new MLP(this.ps, 'time_embed', W, 4 * W, std);
    this.lnPre = new LayerNorm(this.ps, 'ln_pre', W);
    this.blocks = Array.from({ length: cfg.layers }, (_, i) => new Block(this.ps, `h.${i}`, W, cfg.heads, std));
    this.lnPost = new LayerNorm(this.ps, 'ln_post', W);
    this.outChannels = cfg.learnSigma ? 2 * CHANNELS : CHANNELS;
    this.outputProj = new Linear(this.ps, 'output_proj', W, this.outChannels, { std: 0 }); // zero: the first ε̂ is 0
  }

  /**
   * The condition tokens (B, K, C): K = 1 for text and the pooled image, the grid's G for `image`.
   * `keep` (B, 1) float (1 = conditioned, 0 = dropped) zeroes the encoder's output before the
   * projection, as Point-E zeroes a dropped CLIP embedding.
   */
  condition(c: CondInputs, keep: Tensor): Tensor {
    const B = keep.shape[0]!;
    const W = this.cfg.width;
    if ('ids' in c) {
      if (!this.text) throw new TonyError('config', `pointe: this model is conditioned on '${this.cfg.cond}', not text`);
      return T.reshape(this.condProj.forward(T.mul(this.text.forward(c.ids, c.valid), keep)), [B, 1, W]);
    }
    if (!this.image) throw new TonyError('config', 'pointe: this model is conditioned on text, not an image');
    const grid = this.image.forward(c.image); // (B, G, C)
    if (this.cfg.cond === 'image-pooled') return T.reshape(this.condProj.forward(T.mul(T.mean(grid, 1), keep)), [B, 1, W]); // (B, 1, C)
    return this.condProj.forward(T.mul(grid, T.reshape(keep, [B, 1, 1]))); // (B, G, C)
  }

  /** x_t (B, N, 6), t (B) float, the condition's inputs and keep (B, 1) → (B, N, 6 or 12). */
  forward(xt: Tensor, t: Tensor, c: CondInputs, keep: Tensor): Tensor {
    const B = xt.shape[0]!;
    const W = this.cfg.width;
    const cond = this.condition(c, keep); // (B, K, C)
    const K = cond.shape[1]!;
    const temb = this.timeEmbed.forward(timestepEmbedding(t, W)); // (B, C)
    const h0 = T.concat([cond, T.reshape(temb, [B, 1, W]), this.inputProj.forward(xt)], 1); // (B, K + 1 + N, C)
    let h = this.lnPre.forward(h0);
    for (const b of this.blocks) h = b.forward(h);
    h = T.slice(this.lnPost.forward(h), 1, K + 1); // (B, N, C): the point tokens
    return this.outputProj.forward(h); // (B, N, 6 or 12)
  }
}

/** The batch inputs of one training or inference graph. */
export interface PointEInputs {
  diffusion: DiffusionInputs;
  cond: CondInputs;
  keep: Tensor;
}

/** Graph inputs for B clouds of N points: `ids`/`valid` for text, `image` (B, S, S, 3) for a view. */
export function pointeInputs(cfg: Readonly<PointEConfig>, B: number, N: number, learnSigma = cfg.learnSigma): PointEInputs {
  return {
    diffusion: diffusionInputs(B, N, CHANNELS, learnSigma),
    cond:
      cfg.cond === 'text'
        ? { ids: input('ids', [B, cfg.maxWords], 'int64'), valid: input('valid', [B, cfg.maxWords], 'bool') }
        : { image: input('image', [B, cfg.imageSize, cfg.imageSize, 3]) },
    keep: input('keep', [B, 1]),
  };
}

/** The condition's graph inputs in feed order. */
export const condInputList = (c: CondInputs): Tensor[] => ('ids' in c ? [c.ids, c.valid] : [c.image]);

/** The training objective: the diffusion losses of src/diffusion/losses.ts on this denoiser. */
export function pointeObjective(model: PointE, inp: PointEInputs) {
  const d = inp.diffusion;
  const out = model.forward(d.xt, d.t, inp.cond, inp.keep);
  return diffusionLosses(out, d, diffusionOf(model.cfg));
}
