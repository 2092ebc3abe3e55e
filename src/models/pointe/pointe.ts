/**
 * Point-E's base model (Nichol, Jun, Dhariwal, Mishkin & Chen, "Point-E: A System for Generating 3D
 * Point Clouds from Complex Prompts", 2022; PAPERS.md §7): a transformer that denoises N points of
 * xyz + RGB, conditioned on text. Config, the text encoder, the denoiser, the objective — in the
 * paper's order. The diffusion process itself is src/diffusion (shared with Shap-E).
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
 *  - The image-grid conditioning (the paper's main path) is not built yet.
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
  /** Text encoder: blocks (its width is `width`) and the longest caption in words. */
  textLayers: 2,
  maxWords: 32,
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
  /** SDF model only: Fourier frequencies of the coordinates (0 = Point-E's raw xyz; sdf.ts says why 5). */
  fourier: 5,
};
export type PointEConfig = typeof POINTE_DEFAULTS;

/** Named presets: `paper` is the 40M base model; `small` trains in minutes on a CPU; `tiny` is for tests. */
export const POINTE_PRESETS: Record<string, Partial<PointEConfig>> = {
  paper: {},
  small: { points: 256, width: 128, layers: 4, heads: 4, textLayers: 1 },
  tiny: { points: 16, width: 16, layers: 1, heads: 2, textLayers: 1, timesteps: 64 },
  /** The SDF model at CPU scale: 256 points in, two encoder and two decoder blocks of width 64. */
  'sdf-small': { stage: 'sdf', points: 256, width: 64, layers: 2, heads: 4, decoderLayers: 2, queries: 512 },
  /** The upsampler at CPU scale: 64 → 64 + 192 points (Point-E: 1,024 → 1,024 + 3,072), linear schedule. */
  'upsample-small': { stage: 'upsample', points: 192, lowResPoints: 64, width: 128, layers: 4, heads: 4, schedule: 'linear' },
  /** The evaluation classifier: 256 points, shared layers 64 and 128 wide. */
  classifier: { stage: 'classifier', points: 256, width: 128 },
};

/** Channels per point: xyz + RGB. */
export const CHANNELS = 6;

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
  ] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new TonyError('config', `pointe: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (cfg.width % cfg.heads !== 0) throw new TonyError('config', `pointe: width ${cfg.width} is not divisible by heads ${cfg.heads}`);
  if (cfg.schedule !== 'cosine' && cfg.schedule !== 'linear')
    throw new TonyError('config', `pointe: schedule must be 'cosine' or 'linear', got '${cfg.schedule}'`);
  if (!(cfg.condDrop >= 0 && cfg.condDrop < 1)) throw new TonyError('config', `pointe: condDrop must be in [0, 1), got ${cfg.condDrop}`);
  if (!Number.isInteger(cfg.fourier) || cfg.fourier < 0)
    throw new TonyError('config', `pointe: fourier must be an integer ≥ 0, got ${cfg.fourier}`);
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

// ---------------------------------------------------------------------------------------------
// The denoiser

export class PointE {
  readonly ps = new ParamSet();
  readonly text: TextEncoder;
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
    this.text = new TextEncoder(this.ps, cfg, vocabSize, std);
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
   * x_t (B, N, 6), t (B) float, caption ids (B, L) int64 and their mask (B, L) bool, keep (B, 1)
   * float (1 = conditioned, 0 = condition dropped) → (B, N, 6 or 12).
   */
  forward(xt: Tensor, t: Tensor, ids: Tensor, valid: Tensor, keep: Tensor): Tensor {
    const B = xt.shape[0]!;
    const W = this.cfg.width;
    const cond = this.condProj.forward(T.mul(this.text.forward(ids, valid), keep)); // (B, C): a dropped condition is 0 before the projection, as Point-E's
    const temb = this.timeEmbed.forward(timestepEmbedding(t, W)); // (B, C)
    const h0 = T.concat([T.reshape(cond, [B, 1, W]), T.reshape(temb, [B, 1, W]), this.inputProj.forward(xt)], 1); // (B, N + 2, C)
    let h = this.lnPre.forward(h0);
    for (const b of this.blocks) h = b.forward(h);
    h = T.slice(this.lnPost.forward(h), 1, 2); // (B, N, C): the point tokens
    return this.outputProj.forward(h); // (B, N, 6 or 12)
  }
}

/** The batch inputs of one training or inference graph. */
export interface PointEInputs {
  diffusion: DiffusionInputs;
  ids: Tensor;
  valid: Tensor;
  keep: Tensor;
}

/** Graph inputs for B clouds of N points. */
export function pointeInputs(cfg: Readonly<PointEConfig>, B: number, N: number, learnSigma = cfg.learnSigma): PointEInputs {
  return {
    diffusion: diffusionInputs(B, N, CHANNELS, learnSigma),
    ids: input('ids', [B, cfg.maxWords], 'int64'),
    valid: input('valid', [B, cfg.maxWords], 'bool'),
    keep: input('keep', [B, 1]),
  };
}

/** The training objective: the diffusion losses of src/diffusion/losses.ts on this denoiser. */
export function pointeObjective(model: PointE, inp: PointEInputs) {
  const d = inp.diffusion;
  const out = model.forward(d.xt, d.t, inp.ids, inp.valid, inp.keep);
  return diffusionLosses(out, d, diffusionOf(model.cfg));
}
