/**
 * Shap-E (Jun & Nichol, "Shap-E: Generating Conditional 3D Implicit Functions", 2023; PAPERS.md §8):
 * latents that are implicit functions. Config, the implicit function a latent defines, the encoder
 * that makes latents, the encoder's objective, the latent diffusion model and its objective — in
 * the paper's order. The NeRF renderer is src/shape/nerf.ts; the mesh (STF) path is model.ts.
 *
 * As the paper (and openai/shap-e's transmitter: `ChannelsParamsProj`, `MLPNeRSTFModel`,
 * `PerceiverChannelsEncoder`, `ClampNoiseBottleneck`):
 *  - a latent is L × d rows; the first `metaLayers` layers of an MLP (SiLU) take their weights from
 *    it: layer ℓ has `hidden` output rows, and row j of its weight matrix is a learned linear map of
 *    latent row ℓ·hidden + j (its own map per row, plus a learned bias row), so L = metaLayers·hidden.
 *    The paper: 1,024 rows of 1,024, an MLP of 6 layers of 256 whose first 4 come from the latent;
 *  - the MLP reads NeRF's positional encoding of the query point and answers a signed distance
 *    (STF), a density and a colour (NeRF) from one trunk;
 *  - the encoder: the point cloud (xyz through the positional encoding, plus RGB) → one token per
 *    point, and optionally rendered views → one token per patch (the paper's encoder reads both);
 *    L learned query tokens cross-attend to them, then a transformer over the L tokens, a
 *    projection to d and tanh (the bottleneck that bounds latents to [−1, 1] for diffusion);
 *  - the diffusion model: a transformer over the L latent rows (one token each) with the caption
 *    and the timestep as extra tokens, predicting x̂_0 (the paper's choice as far as the released
 *    sampler's `model_mean_type` shows it; unconfirmed in the text), sampled with Karras' Heun sampler
 *    and classifier-free guidance (src/diffusion).
 *
 * Departures, and why:
 *  - Encoder training: the paper distils the encoder from renders and approximate SDFs of its
 *    assets; here the procedural scenes give exact signed distances and colours at any point
 *    (src/shape/sdf.ts), so the SDF (L1 on distances clamped to ±truncation, DeepSDF's) and colour
 *    (MSE) are supervised directly, plus a rendering loss: the NeRF's opacity along rays of the
 *    software renderer's views against the renderer's coverage (its alpha). The renderer's colours
 *    are shaded by lights fixed to the camera, which an emission-only NeRF (Shap-E's has no view
 *    dependence) cannot represent, so colour is learnt from the exact colour field instead.
 *  - One density head serves the coarse and the fine samples (Shap-E has one per pass).
 *  - Density is σ = 64·softplus(raw − 5): non-negative, nearly transparent at initialisation
 *    (σ ≈ 0.4 per unit), and able to reach opaque values (σ·δ ≫ 1 for δ ≈ 1/64).
 *  - Text: caption words (embeddings + positions) are tokens of the diffusion transformer — the
 *    issue's "conditioned on caption tokens" — instead of a CLIP embedding (no CLIP weights here).
 *    A dropped condition (10 % of training examples, and the unconditional half under guidance)
 *    hides every caption token from attention.
 */
import { resolveConfig } from '../../config.ts';
import { betaSchedule, GaussianDiffusion, type ScheduleName } from '../../diffusion/gaussian.ts';
import { arange, CrossAttention, Embedding, LayerNorm, Linear, MLP, ParamSet, timestepEmbedding } from '../../engine/nn.ts';
import * as T from '../../engine/ops/index.ts';
import { input, type Tensor } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';
import { Block } from '../pointe/pointe.ts';

// ---------------------------------------------------------------------------------------------
// Config

const SHAPEE_DEFAULTS = {
  /** `encoder` (point cloud → latent, with the implicit decoder) or `diffusion` (caption → latent). */
  stage: 'encoder',
  /** Points per input cloud (xyz + RGB), farthest-point subsampled. */
  points: 256,
  /** Encoder transformer width, heads and self-attention blocks after the cross-attention. */
  width: 64,
  heads: 4,
  encoderLayers: 2,
  /** Implicit MLP: hidden width, hidden layers, and how many of the first take their weights from the latent (paper: 256, 6, 4). */
  hidden: 64,
  mlpLayers: 4,
  metaLayers: 2,
  /** d: numbers per latent row (paper: 1,024). The latent is (metaLayers · hidden) × d. */
  latentWidth: 32,
  /** Octaves of the positional encoding [x, sin 2^k πx, cos 2^k πx], k < fourier. */
  fourier: 6,
  /** Encoder training: SDF/colour query points per shape, half near the surface. */
  queries: 512,
  /** Distances are clamped to ±truncation (unit-cube units) in the SDF loss. */
  truncation: 0.1,
  /** Encoder training: rays per shape for the rendering loss, stratified samples per ray. */
  rays: 64,
  raySamples: 32,
  /** Encoder training: software-renderer views per shape and their size in pixels. */
  views: 4,
  viewSize: 32,
  /**
   * Encoder input: software-renderer views of the shape (the paper's encoder reads renders as well
   * as the cloud), each cut into patch × patch pixel tokens (RGBA) joined to the point tokens the
   * queries attend to. 0 = point cloud only (every run before this key existed). The views are
   * `viewSize` pixels from fixed cameras (inputCameras), so a learned position per patch token
   * says where it looks from.
   */
  inputViews: 0,
  patch: 8,
  /** Weights of the colour and rendering losses (the SDF loss has weight 1). */
  colorWeight: 1,
  renderWeight: 1,
  /**
   * Encoder: start from this encoder run's weights instead of the seed — the fine-tune stage, e.g.
   * with a heavier rendering loss (`--set init=runs/enc --set renderWeight=4`). Parameters the run
   * lacks (the view input's, when it was point-only) start from the seed.
   */
  init: '',
  /** Diffusion: the encoder run whose latents it models. */
  encoder: '',
  /** Diffusion transformer width, blocks, heads; the longest caption in words. */
  diffusionWidth: 128,
  diffusionLayers: 4,
  diffusionHeads: 4,
  maxWords: 32,
  /** Diffusion steps and schedule; probability of dropping the caption in training. */
  timesteps: 1024,
  schedule: 'cosine',
  condDrop: 0.1,
};
export type ShapeEConfig = typeof SHAPEE_DEFAULTS;

/** `paper` is the paper's sizes (too large to train here); `small` trains in minutes on one CPU thread; `tiny` is for tests. */
export const SHAPEE_PRESETS: Record<string, Partial<ShapeEConfig>> = {
  paper: {
    points: 16384,
    width: 1024,
    heads: 16,
    encoderLayers: 12,
    hidden: 256,
    mlpLayers: 6,
    metaLayers: 4,
    latentWidth: 1024,
    fourier: 15,
    diffusionWidth: 1024,
    diffusionLayers: 24,
    diffusionHeads: 16,
  },
  small: {},
  tiny: {
    points: 8,
    width: 8,
    heads: 2,
    encoderLayers: 1,
    hidden: 4,
    mlpLayers: 3,
    metaLayers: 2,
    latentWidth: 3,
    fourier: 1,
    queries: 6,
    rays: 3,
    raySamples: 4,
    views: 1,
    viewSize: 8,
    diffusionWidth: 8,
    diffusionLayers: 1,
    diffusionHeads: 2,
    maxWords: 6,
    timesteps: 16,
  },
};

const STAGES = ['encoder', 'diffusion'];

export function shapeEConfig(overrides: Record<string, unknown> = {}): Readonly<ShapeEConfig> {
  const cfg = resolveConfig('shape-e', SHAPEE_DEFAULTS, overrides);
  if (!STAGES.includes(cfg.stage)) throw new TonyError('config', `shape-e: unknown stage '${cfg.stage}'`, `stages: ${STAGES.join(', ')}`);
  for (const k of [
    'points',
    'width',
    'heads',
    'encoderLayers',
    'hidden',
    'mlpLayers',
    'metaLayers',
    'latentWidth',
    'queries',
    'rays',
    'raySamples',
    'views',
    'viewSize',
    'patch',
    'diffusionWidth',
    'diffusionLayers',
    'diffusionHeads',
    'maxWords',
    'timesteps',
  ] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new TonyError('config', `shape-e: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (cfg.metaLayers > cfg.mlpLayers)
    throw new TonyError(
      'config',
      `shape-e: metaLayers ${cfg.metaLayers} exceeds mlpLayers ${cfg.mlpLayers}`,
      'the latent feeds the first layers only',
    );
  if (!Number.isInteger(cfg.inputViews) || cfg.inputViews < 0)
    throw new TonyError('config', `shape-e: inputViews must be an integer ≥ 0, got ${cfg.inputViews}`);
  if (cfg.inputViews > 0 && cfg.viewSize % cfg.patch !== 0)
    throw new TonyError(
      'config',
      `shape-e: viewSize ${cfg.viewSize} is not divisible by patch ${cfg.patch}`,
      'e.g. --set viewSize=32 --set patch=8',
    );
  if (cfg.width % cfg.heads !== 0) throw new TonyError('config', `shape-e: width ${cfg.width} is not divisible by heads ${cfg.heads}`);
  if (cfg.diffusionWidth % cfg.diffusionHeads !== 0)
    throw new TonyError('config', `shape-e: diffusionWidth ${cfg.diffusionWidth} is not divisible by diffusionHeads ${cfg.diffusionHeads}`);
  if (!Number.isInteger(cfg.fourier) || cfg.fourier < 0)
    throw new TonyError('config', `shape-e: fourier must be an integer ≥ 0, got ${cfg.fourier}`);
  if (!(cfg.truncation > 0)) throw new TonyError('config', `shape-e: truncation must be > 0, got ${cfg.truncation}`);
  if (cfg.schedule !== 'cosine' && cfg.schedule !== 'linear')
    throw new TonyError('config', `shape-e: schedule must be 'cosine' or 'linear', got '${cfg.schedule}'`);
  if (!(cfg.condDrop >= 0 && cfg.condDrop < 1)) throw new TonyError('config', `shape-e: condDrop must be in [0, 1), got ${cfg.condDrop}`);
  return cfg;
}

/** Latent rows L. */
export const latentRows = (cfg: Readonly<ShapeEConfig>) => cfg.metaLayers * cfg.hidden;

/** The diffusion process over latents. */
export const diffusionOf = (cfg: Readonly<ShapeEConfig>) =>
  new GaussianDiffusion(betaSchedule(cfg.schedule as ScheduleName, cfg.timesteps));

// ---------------------------------------------------------------------------------------------
// The implicit function

/** x (…, 3) → (…, 3 + 6F): x, then sin and cos of 2^k·π·x for k < F (NeRF's positional encoding). */
function positionalEncoding(x: Tensor, F: number): Tensor {
  const parts = [x];
  for (let k = 0; k < F; k++) {
    const wx = T.mul(x, 2 ** k * Math.PI);
    parts.push(T.sin(wx), T.cos(wx));
  }
  return parts.length === 1 ? x : T.concat(parts, x.rank - 1);
}

const silu = (x: Tensor) => T.mul(x, T.sigmoid(x));

/** Density = DENSITY_SCALE · softplus(raw + DENSITY_SHIFT) (see the top of this file). */
export const DENSITY_SCALE = 64;
export const DENSITY_SHIFT = -5;
/** Output channels of the MLP: signed distance, density, RGB. */
const OUT = 5;

/** What the implicit function answers at Q query points: sdf (B, Q), density (B, Q), rgb (B, Q, 3). */
export interface ImplicitOutputs {
  sdf: Tensor;
  density: Tensor;
  rgb: Tensor;
}

/**
 * The implicit MLP and the projections that turn latent rows into its first layers' weights
 * (ChannelsParamsProj). Row j of meta layer ℓ: W_ℓ[j] = A_ℓ[j]ᵀ z_{ℓH+j} + b_ℓ[j], with A_ℓ (H, d, in)
 * and b_ℓ (H, in) learned; the meta layers' biases and every later layer are plain parameters.
 */
export class ImplicitDecoder {
  readonly proj: Array<{ a: Tensor; b: Tensor; bias: Tensor; nIn: number }> = [];
  readonly fixed: Linear[] = [];
  readonly out: Linear;

  constructor(
    ps: ParamSet,
    readonly cfg: Readonly<ShapeEConfig>,
  ) {
    const H = cfg.hidden;
    const d = cfg.latentWidth;
    for (let l = 0; l < cfg.metaLayers; l++) {
      const nIn = l === 0 ? 3 + 6 * cfg.fourier : H;
      // With z ∈ [−1, 1] these scales give the generated weights the spread of a 1/√in init.
      this.proj.push({
        a: ps.param(`implicit.meta.${l}.proj`, [H, d, nIn], { kind: 'normal', std: 1 / Math.sqrt(nIn * d) }),
        b: ps.param(`implicit.meta.${l}.weight_bias`, [H, nIn], { kind: 'normal', std: 1 / Math.sqrt(nIn) }),
        bias: ps.param(`implicit.meta.${l}.bias`, [H], { kind: 'zeros' }),
        nIn,
      });
    }
    for (let l = cfg.metaLayers; l < cfg.mlpLayers; l++)
      this.fixed.push(new Linear(ps, `implicit.fc.${l}`, H, H, { std: 1 / Math.sqrt(H) }));
    this.out = new Linear(ps, 'implicit.out', H, OUT, { std: 1 / Math.sqrt(H) });
  }

  /** latent (B, L, d) → the meta layers' weights, each (B, H, in). */
  weights(latent: Tensor): Tensor[] {
    const H = this.cfg.hidden;
    return this.proj.map((p, l) => {
      const z = T.transpose(T.slice(latent, 1, l * H, (l + 1) * H), [1, 0, 2]); // (H, B, d)
      const w = T.matmul(z, p.a); // (H, B, in): each row j its own map
      return T.add(T.transpose(w, [1, 0, 2]), T.reshape(p.b, [1, H, p.nIn])); // (B, H, in)
    });
  }

  /** The MLP's trunk and head at query points (B, Q, 3) for latents (B, L, d). */
  forward(latent: Tensor, queries: Tensor): ImplicitOutputs {
    const [B, Q] = queries.shape as [number, number, number];
    let h = positionalEncoding(queries, this.cfg.fourier); // (B, Q, P)
    const ws = this.weights(latent);
    ws.forEach((w, l) => {
      h = silu(T.add(T.matmul(h, T.transpose(w, [0, 2, 1])), this.proj[l]!.bias)); // (B, Q, H)
    });
    for (const f of this.fixed) h = silu(f.forward(h));
    const o = this.out.forward(h); // (B, Q, 5)
    const [s, rho, c] = T.split(o, [1, 1, 3], 2);
    return {
      sdf: T.reshape(s!, [B, Q]),
      density: T.mul(T.softplus(T.add(T.reshape(rho!, [B, Q]), DENSITY_SHIFT)), DENSITY_SCALE),
      rgb: T.sigmoid(c!),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The encoder

/** A pre-LN cross-attention block: x += attn(ln(x), ln(data)); x += mlp(ln(x)) (Shap-E's SimplePerceiver). */
class CrossBlock {
  readonly ln1: LayerNorm;
  readonly lnData: LayerNorm;
  readonly attn: CrossAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;
  constructor(ps: ParamSet, name: string, width: number, heads: number, std: number) {
    this.ln1 = new LayerNorm(ps, `${name}.ln_1`, width);
    this.lnData = new LayerNorm(ps, `${name}.ln_data`, width);
    this.attn = new CrossAttention(ps, `${name}.attn`, width, width, heads);
    this.ln2 = new LayerNorm(ps, `${name}.ln_2`, width);
    this.mlp = new MLP(ps, `${name}.mlp`, width, 4 * width, std);
  }
  forward(x: Tensor, data: Tensor): Tensor {
    const h = T.add(x, this.attn.forward(this.ln1.forward(x), this.lnData.forward(data)));
    return T.add(h, this.mlp.forward(this.ln2.forward(h)));
  }
}

/** Input channels per point: xyz, RGB in [−1, 1]. */
export const POINT_CHANNELS = 6;
/** Channels per view pixel: RGBA, each in [−1, 1]. */
const PIXEL_CHANNELS = 4;

/** Patch tokens of the encoder's input views: (inputViews · (viewSize / patch)², patch² · 4). */
export const viewTokenShape = (cfg: Readonly<ShapeEConfig>): [number, number] => [
  cfg.inputViews * (cfg.viewSize / cfg.patch) ** 2,
  cfg.patch * cfg.patch * PIXEL_CHANNELS,
];

/** The encoder and the implicit decoder: what `--stage encoder` trains and what every later stage decodes with. */
export class ShapeEAutoencoder {
  readonly ps = new ParamSet();
  readonly inputProj: Linear;
  readonly queries: Tensor;
  readonly cross: CrossBlock;
  readonly blocks: Block[];
  readonly lnPost: LayerNorm;
  readonly outProj: Linear;
  readonly decoder: ImplicitDecoder;
  /** With input views: patch pixels → a token, and a learned position per patch token. */
  readonly viewProj?: Linear;
  readonly viewPos?: Tensor;

  constructor(readonly cfg: Readonly<ShapeEConfig>) {
    const W = cfg.width;
    const std = 0.25 / Math.sqrt(W); // Point-E's and Shap-E's init_scale · √(1/width)
    this.inputProj = new Linear(this.ps, 'encoder.input_proj', 3 + 6 * cfg.fourier + 3, W, { std });
    this.queries = this.ps.param('encoder.queries', [latentRows(cfg), W], { kind: 'normal', std: 1 / Math.sqrt(W) });
    if (cfg.inputViews > 0) {
      // created only with views, so a point-only checkpoint's parameters are exactly the old set
      const [P, C] = viewTokenShape(cfg);
      this.viewProj = new Linear(this.ps, 'encoder.view_proj', C, W, { std });
      this.viewPos = this.ps.param('encoder.view_pos', [P, W], { kind: 'normal', std: 1 / Math.sqrt(W) });
    }
    this.cross = new CrossBlock(this.ps, 'encoder.cross', W, cfg.heads, std);
    this.blocks = Array.from({ length: cfg.encoderLayers }, (_, i) => new Block(this.ps, `encoder.h.${i}`, W, cfg.heads, std));
    this.lnPost = new LayerNorm(this.ps, 'encoder.ln_post', W);
    this.outProj = new Linear(this.ps, 'encoder.output_proj', W, cfg.latentWidth, { std: 1 / Math.sqrt(W) });
    this.decoder = new ImplicitDecoder(this.ps, cfg);
  }

  /**
   * cloud (B, N, 6): xyz in the unit cube, RGB in [−1, 1], and with `inputViews` the views' patches
   * (B, P, patch²·4) → latent (B, L, d) in [−1, 1].
   */
  encode(cloud: Tensor, views?: Tensor): Tensor {
    const [B] = cloud.shape as [number, number, number];
    const L = latentRows(this.cfg);
    const [xyz, rgb] = T.split(cloud, [3, 3], 2);
    let tokens = this.inputProj.forward(T.concat([positionalEncoding(xyz!, this.cfg.fourier), rgb!], 2)); // (B, N, W)
    if (this.viewProj) {
      if (!views) throw new TonyError('shape', `this encoder reads ${this.cfg.inputViews} views besides the cloud; none given`);
      const [P] = viewTokenShape(this.cfg);
      const patches = T.add(this.viewProj.forward(views), T.reshape(this.viewPos!, [1, P, this.cfg.width])); // (B, P, W)
      tokens = T.concat([tokens, patches], 1); // (B, N + P, W): the queries attend to points and patches alike
    }
    let h = T.expand(T.reshape(this.queries, [1, L, this.cfg.width]), [B, L, this.cfg.width]); // (B, L, W)
    h = this.cross.forward(h, tokens);
    for (const b of this.blocks) h = b.forward(h);
    return T.tanh(this.outProj.forward(this.lnPost.forward(h))); // (B, L, d)
  }
}

/** The encoder stage's batch inputs. */
export interface EncoderInputs {
  cloud: Tensor; // (B, N, 6)
  queries: Tensor; // (B, Q, 3)
  sdf: Tensor; // (B, Q): exact signed distances
  rgb: Tensor; // (B, Q, 3): exact colours
  rayPoints: Tensor; // (B, R·S, 3)
  rayDeltas: Tensor; // (B, R, S): each sample's interval
  alpha: Tensor; // (B, R): the software renderer's coverage of each ray's pixel
  views?: Tensor; // (B, P, patch²·4): the input views' patches, with inputViews > 0
}

export function encoderInputs(cfg: Readonly<ShapeEConfig>, B: number): EncoderInputs {
  const { points: N, queries: Q, rays: R, raySamples: S } = cfg;
  return {
    cloud: input('cloud', [B, N, POINT_CHANNELS]),
    queries: input('queries', [B, Q, 3]),
    sdf: input('sdf', [B, Q]),
    rgb: input('rgb', [B, Q, 3]),
    rayPoints: input('ray_points', [B, R * S, 3]),
    rayDeltas: input('ray_deltas', [B, R, S]),
    alpha: input('alpha', [B, R]),
    ...(cfg.inputViews > 0 ? { views: input('views', [B, ...viewTokenShape(cfg)]) } : {}),
  };
}

/**
 * Opacity of each ray, (B, R): samples' densities (B, R, S) and intervals → 1 − exp(−Σ τ) computed
 * as Σ_i T_i (1 − e^{−τ_i}) with log T_i = −Σ_{j<i} τ_j (an exclusive cumulative sum), as the renderer.
 */
export function rayOpacity(density: Tensor, deltas: Tensor): Tensor {
  const tau = T.mul(density, deltas); // (B, R, S)
  const logT = T.neg(T.cumsum(tau, 2, { exclusive: true }));
  return T.sum(T.mul(T.exp(logT), T.sub(1, T.exp(T.neg(tau)))), 2); // (B, R)
}

/** The encoder's losses: clamped-L1 SDF, colour MSE, and the rendering (opacity) MSE. */
export function encoderObjective(model: ShapeEAutoencoder, inp: EncoderInputs) {
  const cfg = model.cfg;
  const latent = model.encode(inp.cloud, inp.views);
  const at = model.decoder.forward(latent, inp.queries);
  const tr = cfg.truncation;
  const clamp = (x: Tensor) => T.minimum(T.maximum(x, -tr), tr);
  const sdf = T.mean(T.abs(T.sub(clamp(at.sdf), clamp(inp.sdf))));
  const dc = T.sub(at.rgb, inp.rgb);
  const color = T.mean(T.mul(dc, dc));
  const [B, R, S] = inp.rayDeltas.shape as [number, number, number];
  const onRays = model.decoder.forward(latent, inp.rayPoints);
  const opacity = rayOpacity(T.reshape(onRays.density, [B, R, S]), inp.rayDeltas);
  const da = T.sub(opacity, inp.alpha);
  const render = T.mean(T.mul(da, da));
  // the fraction of near-surface queries (|s| < truncation) whose predicted sign is wrong
  const near = T.cast(T.less(T.abs(inp.sdf), tr), 'float32');
  const wrong = T.cast(T.less(T.mul(at.sdf, inp.sdf), 0), 'float32');
  const signError = T.div(T.sum(T.mul(near, wrong)), T.maximum(T.sum(near), 1));
  return {
    losses: { sdf, color: { value: color, weight: cfg.colorWeight }, render: { value: render, weight: cfg.renderWeight } },
    metrics: { sign_error: signError },
  };
}

// ---------------------------------------------------------------------------------------------
// Latent diffusion

/** A transformer over the latent rows, conditioned on caption tokens and the timestep; predicts x̂_0. */
export class LatentDiffusion {
  readonly ps = new ParamSet();
  readonly words: Embedding;
  readonly pos: Embedding;
  readonly timeEmbed: MLP;
  readonly inputProj: Linear;
  readonly rowPos: Tensor;
  readonly lnPre: LayerNorm;
  readonly blocks: Block[];
  readonly lnPost: LayerNorm;
  readonly outputProj: Linear;

  constructor(
    readonly cfg: Readonly<ShapeEConfig>,
    readonly vocabSize: number,
  ) {
    const W = cfg.diffusionWidth;
    const std = 0.25 / Math.sqrt(W);
    this.words = new Embedding(this.ps, 'diffusion.words', vocabSize + 1, W, std);
    this.pos = new Embedding(this.ps, 'diffusion.word_pos', cfg.maxWords, W, std);
    this.timeEmbed = new MLP(this.ps, 'diffusion.time_embed', W, 4 * W, std);
    this.inputProj = new Linear(this.ps, 'diffusion.input_proj', cfg.latentWidth, W, { std });
    // Latent rows are not a set (row k is a weight row of a fixed layer): each gets a learned position.
    this.rowPos = this.ps.param('diffusion.row_pos', [latentRows(cfg), W], { kind: 'normal', std });
    this.lnPre = new LayerNorm(this.ps, 'diffusion.ln_pre', W);
    this.blocks = Array.from({ length: cfg.diffusionLayers }, (_, i) => new Block(this.ps, `diffusion.h.${i}`, W, cfg.diffusionHeads, std));
    this.lnPost = new LayerNorm(this.ps, 'diffusion.ln_post', W);
    this.outputProj = new Linear(this.ps, 'diffusion.output_proj', W, cfg.latentWidth, { std: 0 });
  }

  /**
   * x_t (B, L, d), t (B), caption ids (B, maxWords) int64 with their mask (B, maxWords) bool, and
   * keep (B, 1) float (0 drops the caption) → x̂_0 (B, L, d).
   */
  forward(xt: Tensor, t: Tensor, ids: Tensor, valid: Tensor, keep: Tensor): Tensor {
    const [B, L] = xt.shape as [number, number, number];
    const W = this.cfg.diffusionWidth;
    const M = this.cfg.maxWords;
    const words = T.add(this.words.forward(ids), this.pos.forward(T.reshape(arange(M), [1, M]))); // (B, M, W)
    const temb = T.reshape(this.timeEmbed.forward(timestepEmbedding(t, W)), [B, 1, W]);
    const rows = T.add(this.inputProj.forward(xt), T.reshape(this.rowPos, [1, L, W])); // (B, L, W)
    let h = this.lnPre.forward(T.concat([words, temb, rows], 1)); // (B, M + 1 + L, W)
    // A dropped caption hides every word token; the time and latent tokens are always visible.
    const wordSeen = T.mul(T.cast(valid, 'float32'), keep); // (B, M)
    const seen = T.greater(T.concat([wordSeen, T.full([B, 1 + L], 1)], 1), 0.5); // (B, M + 1 + L) bool
    for (const b of this.blocks) h = b.forward(h, seen);
    return this.outputProj.forward(T.slice(this.lnPost.forward(h), 1, M + 1)); // (B, L, d)
  }
}

export interface DiffusionBatchInputs {
  xt: Tensor;
  t: Tensor;
  x0: Tensor;
  ids: Tensor;
  valid: Tensor;
  keep: Tensor;
}

export function latentDiffusionInputs(cfg: Readonly<ShapeEConfig>, B: number): DiffusionBatchInputs {
  const shape = [B, latentRows(cfg), cfg.latentWidth];
  return {
    xt: input('xt', shape),
    t: input('t', [B]),
    x0: input('x0', shape),
    ids: input('ids', [B, cfg.maxWords], 'int64'),
    valid: input('valid', [B, cfg.maxWords], 'bool'),
    keep: input('keep', [B, 1]),
  };
}

/** x̂_0-prediction: the MSE of x̂_0 against x_0. */
export function latentDiffusionObjective(model: LatentDiffusion, inp: DiffusionBatchInputs) {
  const x0 = model.forward(inp.xt, inp.t, inp.ids, inp.valid, inp.keep);
  const e = T.sub(x0, inp.x0);
  return { mse: T.mean(T.mul(e, e)) };
}
