/**
 * Jukebox's VQ-VAE (Dhariwal et al., "Jukebox: A Generative Model for Music", 2020; PAPERS.md §5):
 * one level of the three. The paper trains three separate 1-D convolutional VQ-VAEs on raw audio,
 * with hop lengths 8, 32 and 128 (bottom, middle, top): each is its own encoder, codebook and
 * decoder, and each sees the waveform itself (not the level below's codes). A level is one
 * checkpoint here; `models/jukebox/{bottom,middle,top}` are the three.
 *
 *   encoder   x (B, 1, L) → [conv k4 s2 → residual stack] × downs → conv k3 → z (B, D, L/hop)
 *   codebook  z → nearest of K codes (argmin ‖z − e_k‖²) → z_q, straight through to the encoder
 *   decoder   z_q → conv k3 → [residual stack → transposed conv k4 s2] × downs → conv k3 → x̂ (B, 1, L)
 *   residual  h + conv1×1(relu(conv k3, dilation 3^j (relu h)))   j = 0 … depth − 1
 *
 * downs = log₂ hop: 3, 5 and 7 stride-2 stages. The codebook is not a parameter: it is EMA state
 * (decay 0.99) of the encoder outputs assigned to each code, initialised from encoder outputs of
 * the first batch; codes whose EMA usage (assignments per batch) falls below 1.0 are restarted at
 * random encoder outputs of the batch. Loss: reconstruction + multi-resolution spectral loss +
 * 0.02 · commitment ‖z − sg(e)‖².
 *
 * Departures from the paper, and why:
 *  - Scale: 8 kHz audio, width 32, depth 3 and 256 codes of width 32 by default (the paper: 44.1 kHz,
 *    width 64 / depth 4 per level, 2,048 × 64 codes). Two shared CPU cores train it in minutes.
 *  - The paper normalises its losses by dataset "bandwidth" statistics; here each term is divided
 *    by the same statistic of the batch (mean x² for the waveform term, mean ‖|STFT x|‖ for each
 *    spectral resolution), so the terms are on one scale whatever the recording level.
 *  - The STFT settings are the paper's (n_fft 2048/1024/512, hop 240/120/50, window 1200/600/240
 *    at 44.1 kHz) scaled to the sample rate, with n_fft the next power of two (`spectralResolutions`).
 *  - Which codes restart is drawn on the host (a `restart_idx` batch input: one random position of
 *    the batch per code), so a run is deterministic in its seed and resumes bit-identically.
 *  - `restarts: false` (an ablation) still initialises from encoder outputs; codes then keep their
 *    last value when unused instead of moving.
 */
import { resolveConfig } from '../../config.ts';
import { arange, Conv1d, ConvTranspose1d, ParamSet } from '../../engine/nn.ts';
import * as T from '../../engine/ops/index.ts';
import { BufferSet } from '../../engine/state.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';

// ---------------------------------------------------------------------------------------------
// Config

/** Hop length (samples per code) of each level, as the paper. */
const LEVEL_HOPS = { bottom: 8, middle: 32, top: 128 } as const;
export type Level = keyof typeof LEVEL_HOPS;
export const LEVELS: readonly Level[] = ['bottom', 'middle', 'top'];

const VQVAE_DEFAULTS = {
  /** bottom | middle | top: hop 8, 32 or 128 samples per code. */
  level: 'bottom' as string,
  /** Sample rate the model is trained for (Hz); other rates are resampled on the way in. */
  sampleRate: 8000,
  /** Channels of every convolution between the input and the code (the paper: 64). */
  width: 32,
  /** Residual blocks per stride-2 stage, dilations 1, 3, 9, … (the paper: 4). */
  depth: 3,
  /** Codebook size K (the paper: 2,048). */
  codes: 256,
  /** Code width D (the paper: 64). */
  codeWidth: 32,
  /** EMA decay of the codebook statistics. */
  decay: 0.99,
  /** Weight of the commitment loss ‖z − sg(e)‖². */
  commit: 0.02,
  /** Codes whose EMA usage (assignments per batch) falls below this are restarted. */
  threshold: 1,
  /** Random restarts of dead codes (false: the ablation). */
  restarts: true,
  /** Quantise (false: the "no quantization" ablation, a plain autoencoder). */
  quantize: true,
  /** Weight of the multi-resolution spectral loss (0: the ablation). */
  spectral: 1,
  /** Training crop in samples (a multiple of the hop). */
  segment: 4096,
};
export type VQVAEConfig = typeof VQVAE_DEFAULTS & { level: Level };

/**
 * Presets. `small` is what this machine trains (the defaults); `paper` is the paper's bottom-level
 * shape at its rate; `tiny` trains in seconds (tests).
 */
export const VQVAE_PRESETS: Record<string, Partial<VQVAEConfig>> = {
  small: {},
  paper: { sampleRate: 44100, width: 64, depth: 4, codes: 2048, codeWidth: 64, segment: 8192 },
  tiny: { width: 8, depth: 1, codes: 16, codeWidth: 4, segment: 512 },
  /**
   * The top level this machine can train until its codes carry pitch (docs/results/jukebox.md):
   * `small`'s top level (depth 3) reached only a stationary 62.5 Hz comb in 150 steps at ~4.7 s a
   * step. Depth 1 makes a step about 2.5× cheaper (the residual stacks at L/2 and L/4 dominate),
   * so the same CPU time buys more steps; 128 codes because a 65,536-sample batch has only 512 top
   * codes, which leaves 256 codes near the restart threshold (1 assignment per batch) all the time.
   */
  top: { level: 'top', depth: 1, codes: 128, segment: 16384 },
};

export function vqvaeConfig(overrides: Record<string, unknown> = {}): Readonly<VQVAEConfig> {
  const cfg = resolveConfig('vqvae', VQVAE_DEFAULTS, overrides);
  if (!(cfg.level in LEVEL_HOPS))
    throw new TonyError('config', `vqvae: level must be bottom, middle or top, got ${JSON.stringify(cfg.level)}`, '--level bottom');
  for (const k of ['sampleRate', 'width', 'depth', 'codes', 'codeWidth', 'segment'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new TonyError('config', `vqvae: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (!(cfg.decay > 0 && cfg.decay < 1)) throw new TonyError('config', `vqvae: decay must be in (0, 1), got ${cfg.decay}`);
  for (const k of ['commit', 'threshold', 'spectral'] as const) {
    if (!(cfg[k] >= 0)) throw new TonyError('config', `vqvae: ${k} must be ≥ 0, got ${cfg[k]}`);
  }
  const hop = LEVEL_HOPS[cfg.level as Level];
  if (cfg.segment % hop !== 0)
    throw new TonyError(
      'config',
      `vqvae: segment ${cfg.segment} is not a multiple of the ${cfg.level} hop ${hop}`,
      `e.g. --set segment=${hop * 32}`,
    );
  const widest = Math.max(...spectralResolutions(cfg.sampleRate).map((r) => r.nFft));
  if (cfg.spectral > 0 && cfg.segment <= widest / 2)
    throw new TonyError(
      'config',
      `vqvae: segment ${cfg.segment} is too short for the spectral loss's widest STFT (n_fft ${widest} at ${cfg.sampleRate} Hz)`,
      `use segment > ${widest / 2}, or --set spectral=0`,
    );
  return cfg as Readonly<VQVAEConfig>;
}

export const hopOf = (cfg: Readonly<VQVAEConfig>) => LEVEL_HOPS[cfg.level];
/** Samples per code of a level (8, 32, 128). */
export const levelHop = (level: Level) => LEVEL_HOPS[level];
/** Stride-2 stages: log₂ hop. */
const downsOf = (cfg: Readonly<VQVAEConfig>) => Math.log2(hopOf(cfg));

/** The paper's three STFT resolutions at 44.1 kHz, scaled to `sampleRate` (n_fft: next power of two). */
export function spectralResolutions(sampleRate: number): T.StftResolution[] {
  const s = sampleRate / 44100;
  return T.JUKEBOX_RESOLUTIONS.map((r) => {
    const winLength = Math.max(4, Math.round(r.winLength * s));
    return { nFft: 2 ** Math.ceil(Math.log2(Math.max(winLength, r.nFft * s))), hop: Math.max(1, Math.round(r.hop * s)), winLength };
  });
}

// ---------------------------------------------------------------------------------------------
// Blocks

/** Dilation growth of the residual stacks (the paper's 3). */
const DILATION_GROWTH = 3;

/** Dilated residual convolutions (ReLU, 3-tap dilated conv, ReLU, 1×1 mix, skip); also the omni speech tokenizer's. */
export class ResidualStack {
  readonly blocks: Array<{ conv: Conv1d; mix: Conv1d }> = [];
  constructor(ps: ParamSet, name: string, width: number, depth: number, reverse: boolean) {
    for (let j = 0; j < depth; j++) {
      // The decoder runs the dilations in reverse (large first), as the official code does.
      const d = DILATION_GROWTH ** (reverse ? depth - 1 - j : j);
      this.blocks.push({
        conv: new Conv1d(ps, `${name}.${j}.conv`, width, width, 3, { padding: d, dilation: d }),
        mix: new Conv1d(ps, `${name}.${j}.mix`, width, width, 1),
      });
    }
  }
  /** h (B, W, L) → (B, W, L). */
  forward(h: Tensor): Tensor {
    for (const b of this.blocks) h = T.add(h, b.mix.forward(T.relu(b.conv.forward(T.relu(h)))));
    return h;
  }
}

export const DOWN = { stride: 2, padding: 1 } as const; // kernel 4: L → L/2 exactly (and back)

export class Encoder {
  readonly stages: Array<{ down: Conv1d; res: ResidualStack }> = [];
  readonly out: Conv1d;
  constructor(ps: ParamSet, cfg: Readonly<VQVAEConfig>) {
    for (let i = 0; i < downsOf(cfg); i++) {
      this.stages.push({
        down: new Conv1d(ps, `enc.${i}.down`, i === 0 ? 1 : cfg.width, cfg.width, 4, DOWN),
        res: new ResidualStack(ps, `enc.${i}.res`, cfg.width, cfg.depth, false),
      });
    }
    this.out = new Conv1d(ps, 'enc.out', cfg.width, cfg.codeWidth, 3, { padding: 1 });
  }
  /** x (B, 1, L) → z (B, D, L/hop). */
  forward(x: Tensor): Tensor {
    let h = x;
    for (const s of this.stages) h = s.res.forward(s.down.forward(h)); // (B, W, L/2^(i+1))
    return this.out.forward(h);
  }
}

export class Decoder {
  readonly in: Conv1d;
  readonly stages: Array<{ res: ResidualStack; up: ConvTranspose1d }> = [];
  readonly out: Conv1d;
  constructor(ps: ParamSet, cfg: Readonly<VQVAEConfig>) {
    this.in = new Conv1d(ps, 'dec.in', cfg.codeWidth, cfg.width, 3, { padding: 1 });
    for (let i = 0; i < downsOf(cfg); i++) {
      this.stages.push({
        res: new ResidualStack(ps, `dec.${i}.res`, cfg.width, cfg.depth, true),
        up: new ConvTranspose1d(ps, `dec.${i}.up`, cfg.width, cfg.width, 4, DOWN),
      });
    }
    this.out = new Conv1d(ps, 'dec.out', cfg.width, 1, 3, { padding: 1 });
  }
  /** z_q (B, D, T) → x̂ (B, 1, T·hop). */
  forward(zq: Tensor): Tensor {
    let h = this.in.forward(zq);
    for (const s of this.stages) h = s.up.forward(s.res.forward(h)); // (B, W, T·2^(i+1))
    return this.out.forward(h);
  }
}

// ---------------------------------------------------------------------------------------------
// The codebook: nearest code, straight-through, EMA updates with restarts

/** Squared distances ‖z_n − e_k‖² = ‖z‖² − 2 z·e + ‖e‖²: z (N, D), e (K, D) → (N, K). */
function distances(z: Tensor, e: Tensor): Tensor {
  const K = e.shape[0]!;
  return T.add(T.sub(T.sum(T.mul(z, z), 1, true), T.mul(T.matmul(z, T.transpose(e, [1, 0])), 2)), T.reshape(T.sum(T.mul(e, e), 1), [1, K]));
}

/** a·x + (1 − a)·y for a 0/1 mask a. */
const mix = (a: Tensor, x: Tensor, y: Tensor) => T.add(T.mul(a, x), T.mul(T.sub(1, a), y));

export interface Quantized {
  /** Straight-through codes (B, D, T): forward the code vectors, backward the identity to z. */
  zq: Tensor;
  /** Code ids (B, T), int64. */
  ids: Tensor;
  /** mean (z − sg(e))². */
  commit: Tensor;
  /** Scalars logged per step. */
  metrics: Record<string, Tensor>;
}

/**
 * Quantise z (B, D, T) against the EMA codebook in `buffers`. With `restartIdx` (K positions into
 * the batch's B·T encoder outputs, int64) this is a training trace: the codebook statistics are
 * updated (`buffers.update`), initialised from encoder outputs on the first step and dead codes
 * restarted at those positions. Without it, an inference trace: the codebook is read as it is.
 */
export function quantize(cfg: Readonly<VQVAEConfig>, buffers: BufferSet, z: Tensor, restartIdx?: Tensor): Quantized {
  const [B, D, Tn] = z.shape as [number, number, number];
  const K = cfg.codes;
  const N = B * Tn;
  const codebook = buffers.buffer('vq.codebook', [K, D], { kind: 'normal', std: 1 });
  const zf = T.reshape(T.transpose(z, [0, 2, 1]), [N, D]); // (N, D)
  let e = codebook;
  let update: ((onehot: Tensor) => Record<string, Tensor>) | undefined;
  if (restartIdx) {
    const usage = buffers.buffer('vq.usage', [K], { kind: 'zeros' }); // EMA of assignments per batch
    const sums = buffers.buffer('vq.sums', [K, D], { kind: 'zeros' }); // EMA of Σ z assigned
    const inited = buffers.buffer('vq.inited', [1], { kind: 'zeros' }); // 1 after the first step
    const rand = T.gather(T.stopGradient(zf), restartIdx); // (K, D): random encoder outputs
    // First step: the codebook starts at encoder outputs (usage 1, sums = the codes), as the paper.
    const a = T.reshape(inited, [1, 1]);
    e = mix(a, codebook, rand);
    const usage0 = mix(T.reshape(inited, [1]), usage, T.full([K], 1));
    const sums0 = mix(a, sums, rand);
    update = (onehot) => {
      const n = T.sum(onehot, 0); // (K,)
      const usage1 = T.add(T.mul(usage0, cfg.decay), T.mul(n, 1 - cfg.decay));
      const sums1 = T.add(T.mul(sums0, cfg.decay), T.mul(T.matmul(T.transpose(onehot, [1, 0]), T.stopGradient(zf)), 1 - cfg.decay));
      const mean = T.div(sums1, T.reshape(T.maximum(usage1, 1e-6), [K, 1]));
      const liveK = T.cast(T.greaterEqual(usage1, cfg.threshold), 'float32'); // (K,)
      // Without restarts a dead code keeps its value (its statistics decay together).
      const live = cfg.restarts ? T.reshape(liveK, [K, 1]) : T.full([K, 1], 1);
      buffers.update(codebook, mix(live, mean, rand));
      buffers.update(sums, mix(live, sums1, rand));
      buffers.update(usage, mix(T.reshape(live, [K]), usage1, T.full([K], 1)));
      buffers.update(inited, T.full([1], 1));
      return { live: T.sumAll(liveK) };
    };
  }
  const ids = T.argmin(distances(T.stopGradient(zf), e), 1); // (N,)
  const q = T.gather(e, ids); // (N, D)
  const qz = T.transpose(T.reshape(q, [B, Tn, D]), [0, 2, 1]); // (B, D, T)
  const zq = T.add(z, T.stopGradient(T.sub(qz, z)));
  const dz = T.sub(z, T.stopGradient(qz));
  const commit = T.mean(T.mul(dz, dz));
  // Codes used in this batch and their perplexity exp(H(p)), p the batch's code frequencies.
  const onehot = T.cast(T.equal(T.reshape(ids, [N, 1]), T.reshape(arange(K), [1, K])), 'float32'); // (N, K)
  const counts = T.sum(onehot, 0); // (K,)
  const p = T.div(counts, N);
  const metrics: Record<string, Tensor> = {
    perplexity: T.exp(T.neg(T.sumAll(T.mul(p, T.log(T.add(p, 1e-10)))))),
    used: T.sumAll(T.cast(T.greater(counts, 0), 'float32')),
    ...update?.(onehot),
  };
  return { zq, ids: T.reshape(ids, [B, Tn]), commit, metrics };
}

// ---------------------------------------------------------------------------------------------
// The model and its loss

/** Keeps the normalised spectral terms finite on a silent batch. */
const NORM_EPS = 1e-8;

export class VQVAE {
  readonly ps = new ParamSet();
  readonly buffers = new BufferSet();
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  constructor(readonly cfg: Readonly<VQVAEConfig>) {
    this.encoder = new Encoder(this.ps, cfg);
    this.decoder = new Decoder(this.ps, cfg);
  }

  /** Encoder output z (B, D, L/hop) of waveforms x (B, L), L a multiple of the hop. */
  encode(x: Tensor): Tensor {
    const [B, L] = x.shape as [number, number];
    if (L % hopOf(this.cfg) !== 0)
      throw new TonyError('shape', `vqvae ${this.cfg.level}: ${L} samples is not a multiple of the hop ${hopOf(this.cfg)}`);
    return this.encoder.forward(T.reshape(x, [B, 1, L]));
  }

  /** Code ids (B, T) int64 of waveforms (B, T·hop). */
  codes(x: Tensor): Tensor {
    return quantize(this.cfg, this.buffers, this.encode(x)).ids;
  }

  /** Waveforms (B, T·hop) from code ids (B, T). */
  decodeCodes(ids: Tensor): Tensor {
    const [B, Tn] = ids.shape as [number, number];
    const codebook = this.buffers.buffer('vq.codebook', [this.cfg.codes, this.cfg.codeWidth], { kind: 'normal', std: 1 });
    const q = T.transpose(T.gather(codebook, ids), [0, 2, 1]); // (B, D, T)
    return T.reshape(this.decoder.forward(q), [B, Tn * hopOf(this.cfg)]);
  }

  /**
   * The training objective on waveforms x (B, L): the reconstruction x̂ and the named losses.
   * `restartIdx` (K) int64 makes it a training trace (codebook updates); see `quantize`.
   */
  objective(x: Tensor, restartIdx?: Tensor) {
    const cfg = this.cfg;
    const [B, L] = x.shape as [number, number];
    const z = this.encode(x);
    const vq = cfg.quantize ? quantize(cfg, this.buffers, z, restartIdx) : undefined;
    const xhat = T.reshape(this.decoder.forward(vq ? vq.zq : z), [B, L]);
    const d = T.sub(xhat, x);
    // Reconstruction, divided by the batch's mean square ("bandwidth" normalisation).
    const recon = T.div(T.mean(T.mul(d, d)), T.add(T.stopGradient(T.mean(T.mul(x, x))), NORM_EPS));
    const losses: Record<string, { value: Tensor; weight: number }> = { recon: { value: recon, weight: 1 } };
    if (cfg.spectral > 0) losses.spectral = { value: spectralLoss(x, xhat, cfg.sampleRate), weight: cfg.spectral };
    if (vq) losses.commit = { value: vq.commit, weight: cfg.commit };
    return { xhat, losses, metrics: vq?.metrics ?? {} };
  }
}

/** The magnitude |STFT| of (B, L) signals at one resolution: (B, frames, bins). */
const magnitude = (x: Tensor, r: T.StftResolution) => T.stftMagnitude(x, { ...r, center: true, padMode: 'reflect' });
const frobenius = (m: Tensor) => T.sqrt(T.add(T.sum(T.mul(m, m), [1, 2]), NORM_EPS)); // (B,)

/**
 * The multi-resolution spectral loss: Σ_r mean_b ‖|S_r x| − |S_r x̂|‖₂, each resolution divided by
 * the batch's mean ‖|S_r x|‖₂ (a constant of the data; see the departures above).
 */
export function spectralLoss(x: Tensor, xhat: Tensor, sampleRate: number): Tensor {
  const terms = spectralResolutions(sampleRate).map((r) => {
    const mx = magnitude(x, r);
    const num = T.mean(frobenius(T.sub(mx, magnitude(xhat, r))));
    return T.div(num, T.add(T.stopGradient(T.mean(frobenius(mx))), NORM_EPS));
  });
  return terms.reduce((a, b) => T.add(a, b));
}
