/**
 * MCNN — fast spectrogram inversion with a multi-head convolutional network (Arık, Jun & Diamos,
 * "Fast Spectrogram Inversion using Multi-head Convolutional Neural Networks", IEEE SPL 2019;
 * PAPERS.md §6). Config, the network, the losses, in the paper's order.
 *
 * The network maps a magnitude spectrogram (frames, bins) to a waveform of exactly frames × hop
 * samples: n parallel heads, each a stack of transposed 1-D convolutions that read the frequency
 * bins as channels and upsample time by each layer's stride (∏ strides = hop) while the channels
 * shrink to 1, with ELU between layers; each head's waveform times a trainable scalar λᵢ; the heads
 * summed; a scaled softsign a·x / (1 + |b·x|) with trainable a, b on the sum. Nothing in it depends
 * on the number of frames, so any length works; it is not causal but it is local: an output sample
 * sees ±`contextFrames(cfg)` frames, which is what chunked synthesis (vocoder.ts) relies on.
 *
 * Departures from the paper, and why:
 *  - Input compression: the heads read log(1 + |S|) instead of |S| (`logInput`; false is the
 *    paper's linear input). Speech magnitudes span four decades; compressed, the first layer's
 *    inputs stay in the range the small, briefly trained models here start from. Not ablated
 *    yet (no CPU time this round); `--set logInput=false` trains the paper's. Silence stays 0.
 *  - λ_h is stored as an offset from 1/n (zero-initialised), so the heads' sum starts as their
 *    average rather than n times one head's scale.
 *  - The instantaneous-frequency loss compares phase differences wrapped to (−π, π] (the paper's
 *    ∂φ/∂t is a finite difference of wrapped phases, where a 2π jump is no error at all).
 *  - The weighted phase loss is divided by mean |S|² of the target, so its weight does not depend
 *    on the recording level (the paper's is in squared magnitude units).
 *  - Padding of each transposed convolution is chosen so that every layer multiplies the length
 *    exactly by its stride (the paper states the output length; the padding is ours).
 * The paper's own hyper-parameters are "unconfirmed" in PAPERS.md (8 heads, kernel 13, stride 2,
 * channels halving, 16 kHz, hop 256, window 1024): they are the defaults. (`channels` = 256 at the
 * first layer is ours: it makes 18.2 M parameters, 13.6 M of them in the 513 → 256 first layers.)
 *
 * A property worth knowing: the network is the same function at every frame, so a stationary
 * magnitude (the same every frame) yields an output of period hop — only frequencies on the grid
 * sampleRate/hop. Real speech is not stationary; synthetic test tones must sit on that grid.
 */
import { resolveConfig } from '../../config.ts';
import { ConvTranspose1d, ParamSet } from '../../engine/nn.ts';
import * as T from '../../engine/ops/index.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';

// ---------------------------------------------------------------------------------------------
// Config

export const MCNN_DEFAULTS = {
  /** Sample rate the model is trained for (Hz); other rates are resampled on the way in. */
  sampleRate: 16000,
  /** STFT of the input spectrogram and of the losses: FFT size, hop, window length (Hann). */
  nFft: 1024,
  hop: 256,
  winLength: 1024,
  /** Parallel heads n (the paper's best: 8; "more heads help"). */
  heads: 8,
  /** Transposed-convolution kernel width (every layer). */
  kernel: 13,
  /** Per-layer upsampling; their product must equal hop (8 × 2 = 256). */
  strides: [2, 2, 2, 2, 2, 2, 2, 2] as number[],
  /** Output channels of each head's first layer; each later layer halves them, the last has 1. */
  channels: 256,
  /** Heads read log(1 + |S|) (true) or the paper's |S| (false). */
  logInput: true,
  /** Training crop in frames (samples = segmentFrames × hop). */
  segmentFrames: 32,
  /** Loss weights, most important first (the paper's order). */
  scWeight: 1,
  logMagWeight: 1,
  ifWeight: 0.1,
  phaseWeight: 0.1,
};
export type MCNNConfig = typeof MCNN_DEFAULTS;

/** Named presets: `tiny` trains in seconds (tests), `small` in minutes on two cores. */
export const MCNN_PRESETS: Record<string, Partial<MCNNConfig>> = {
  paper: {},
  small: { heads: 4, channels: 64 },
  /** The bundled models/mcnn: four layers of stride 4, 32 channels — fast enough for real-time speech on one core. */
  fast: { heads: 4, channels: 32, strides: [4, 4, 4, 4] },
  tiny: { sampleRate: 8000, nFft: 64, hop: 16, winLength: 64, heads: 2, kernel: 5, strides: [2, 2, 2, 2], channels: 16, segmentFrames: 16 },
};

/** The validated config: positive integers, strides multiplying to hop, kernel ≥ every stride. */
export function mcnnConfig(overrides: Record<string, unknown> = {}): Readonly<MCNNConfig> {
  const cfg = resolveConfig('mcnn', MCNN_DEFAULTS, overrides);
  const ints = ['sampleRate', 'nFft', 'hop', 'winLength', 'heads', 'kernel', 'channels', 'segmentFrames'] as const;
  for (const k of ints) {
    const v = cfg[k];
    if (!Number.isInteger(v) || v < 1) throw new TonyError('config', `mcnn: ${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  for (const k of ['scWeight', 'logMagWeight', 'ifWeight', 'phaseWeight'] as const) {
    if (typeof cfg[k] !== 'number' || !(cfg[k] >= 0)) throw new TonyError('config', `mcnn: ${k} must be a number ≥ 0, got ${cfg[k]}`);
  }
  const s = cfg.strides;
  if (!Array.isArray(s) || s.length === 0 || s.some((v) => !Number.isInteger(v) || v < 1))
    throw new TonyError('config', `mcnn: strides must be a non-empty list of positive integers, got ${JSON.stringify(s)}`);
  const prod = s.reduce((a, b) => a * b, 1);
  if (prod !== cfg.hop)
    throw new TonyError(
      'config',
      `mcnn: the strides [${s}] multiply to ${prod}, but the output must be frames × hop = frames × ${cfg.hop}`,
      'make the product of the strides equal hop, e.g. eight 2s for hop 256',
    );
  if (s.some((v) => v > cfg.kernel))
    throw new TonyError('config', `mcnn: kernel ${cfg.kernel} is narrower than a stride in [${s}]`, 'use kernel ≥ the largest stride');
  if (cfg.winLength > cfg.nFft) throw new TonyError('config', `mcnn: winLength ${cfg.winLength} exceeds nFft ${cfg.nFft}`);
  return cfg;
}

/** Frequency bins of the input spectrogram: nFft/2 + 1. */
export const binsOf = (cfg: Readonly<MCNNConfig>) => Math.floor(cfg.nFft / 2) + 1;

/** Output channels of layer i of a head: `channels` halving per layer, 1 at the last layer. */
const layerChannels = (cfg: Readonly<MCNNConfig>, i: number) =>
  i === cfg.strides.length - 1 ? 1 : Math.max(1, Math.floor(cfg.channels / 2 ** i));

/**
 * Padding and output padding that make a transposed convolution (kernel K, stride s) produce exactly
 * s·L samples from L: L′ = (L − 1)s − 2p + K + op = sL ⇔ 2p − op = K − s, with 0 ≤ op < s.
 */
export function exactUpsampling(kernel: number, stride: number): { padding: number; outputPadding: number } {
  const padding = Math.ceil((kernel - stride) / 2);
  return { padding, outputPadding: 2 * padding - (kernel - stride) };
}

/**
 * The polyphase form of that transposed convolution. Output sample t = n·s + r (phase r) collects
 * x[n − d]·W[j] over the taps j = d·s + r + p, so each phase is an ordinary convolution with the
 * taps j ≡ r + p (mod s), and d runs over [dMin, dMax]: `taps` = dMax − dMin + 1 of them. Padding
 * the kernel by `lead` zeros in front puts tap j at (d − dMin)·s + r, so one reshape separates the
 * phases (see `polyphaseKernel`).
 */
function polyphaseGeometry(kernel: number, stride: number) {
  const { padding } = exactUpsampling(kernel, stride);
  const dMin = Math.ceil((1 - stride - padding) / stride);
  const dMax = Math.floor((kernel - 1 - padding) / stride);
  return { dMin, dMax, taps: dMax - dMin + 1, lead: -padding - dMin * stride };
}

/**
 * A transposed convolution's weight (C_in, C_out/g, K) and bias (C_out) → the weight (C_out·s,
 * C_in/g, taps) and bias (C_out·s) of the equivalent convolution whose output channel c·s + r is
 * phase r of channel c (groups kept: channels stay group-major).
 */
function polyphaseKernel(w: Tensor, b: Tensor, stride: number, groups: number): { w: Tensor; b: Tensor } {
  const [cin, coutG, kernel] = w.shape as [number, number, number];
  const { taps, lead } = polyphaseGeometry(kernel, stride);
  const cout = coutG * groups;
  const phases = T.reshape(T.pad(w, 2, lead, stride * taps - kernel - lead), [groups, cin / groups, coutG, taps, stride]);
  // (g, C_in/g, C_out/g, d − dMin, r) → (g·C_out/g·s, C_in/g, d − dMin), then flipped: a convolution
  // reads x[n + k − dMax] with tap k, and tap d reads x[n − d], so k = dMax − d
  const kernelOut = T.flip(T.reshape(T.transpose(phases, [0, 2, 4, 1, 3]), [cout * stride, cin / groups, taps]), 2);
  const bias = T.reshape(T.expand(T.reshape(b, [cout, 1]), [cout, stride]), [cout * stride]);
  return { w: kernelOut, b: bias };
}

/** The transposed convolution of `exactUpsampling`, run as its polyphase convolution (`polyphaseKernel`'s weights). */
function polyphaseUpsample(x: Tensor, pw: Tensor, pb: Tensor, kernel: number, stride: number, groups: number): Tensor {
  const [B, , L] = x.shape as [number, number, number];
  const { dMin, dMax } = polyphaseGeometry(kernel, stride);
  const cout = pw.shape[0]! / stride;
  const y = T.conv1d(x, pw, pb, { padding: [dMax, -dMin], groups }); // (B, C_out·s, L): phases side by side
  return T.reshape(T.transpose(T.reshape(y, [B, cout, stride, L]), [0, 1, 3, 2]), [B, cout, L * stride]); // interleaved
}

/**
 * Frames of spectrogram on each side that one output sample depends on: layer i (input resolution
 * ∏_{j<i} s_j samples per frame) reaches ⌈(K − 1 − p)/s⌉ + 1 input positions away, at most.
 */
export function contextFrames(cfg: Readonly<MCNNConfig>): number {
  let perFrame = 1;
  let reach = 0;
  for (const s of cfg.strides) {
    const { padding } = exactUpsampling(cfg.kernel, s);
    reach += (Math.ceil(Math.max(cfg.kernel - 1 - padding, padding) / s) + 1) / perFrame;
    perFrame *= s;
  }
  // + 1: the samples of frame t lie up to one frame past t
  return Math.ceil(reach) + 1;
}

// ---------------------------------------------------------------------------------------------
// The network

export class MCNN {
  readonly ps = new ParamSet();
  /** heads[h][i]: layer i of head h. */
  readonly heads: ConvTranspose1d[][] = [];
  /** λ_h, one trainable scalar per head. */
  readonly scales: Tensor[] = [];
  /** Softsign's a and b. */
  readonly a: Tensor;
  readonly b: Tensor;

  constructor(readonly cfg: Readonly<MCNNConfig>) {
    const bins = binsOf(cfg);
    for (let h = 0; h < cfg.heads; h++) {
      const layers: ConvTranspose1d[] = [];
      let cin = bins;
      cfg.strides.forEach((s, i) => {
        const cout = layerChannels(cfg, i);
        layers.push(
          new ConvTranspose1d(this.ps, `head${h}.layer${i}`, cin, cout, cfg.kernel, { stride: s, ...exactUpsampling(cfg.kernel, s) }),
        );
        cin = cout;
      });
      this.heads.push(layers);
      // λ_h is stored as an offset from 1/n, so that the sum starts as the heads' average
      this.scales.push(this.ps.param(`head${h}.scale`, [1], { kind: 'zeros' }, false));
    }
    this.a = this.ps.param('softsign.a', [1], { kind: 'ones' }, false);
    this.b = this.ps.param('softsign.b', [1], { kind: 'ones' }, false);
  }

  /**
   * Weights for inference, derived from the trained ones by `polyphaseWeights` (never trained, never
   * saved): layer i of all heads as one polyphase convolution.
   */
  readonly polyphase = new ParamSet();

  /** Layer i of all heads as one transposed convolution: weights concatenated, and its groups. */
  private layer(i: number): { w: Tensor; b: Tensor; groups: number } {
    const layers = this.heads.map((head) => head[i]!);
    return {
      // layer 0 reads the same input in every head: one convolution with n·C₀ outputs, weight
      // (bins, n·C₀, K); later layers are grouped by head, weight (n·C_{i−1}, C_i, K)
      w: T.concat(
        layers.map((l) => l.w),
        i === 0 ? 1 : 0,
      ),
      b: T.concat(
        layers.map((l) => l.b!),
        0,
      ),
      groups: i === 0 ? 1 : this.cfg.heads,
    };
  }

  /** λ_h for every head, (n). */
  private lambdas(): Tensor {
    return T.add(T.concat(this.scales, 0), 1 / this.cfg.heads);
  }

  /**
   * `polyphase`'s weights as functions of the trained ones, by name (for a graph run once per load).
   * The last layer also takes the heads' weighted sum Σ_h λ_h·y_h: its n single-channel heads become
   * one convolution with s outputs (the phases of the summed waveform).
   */
  polyphaseWeights(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    const n = this.cfg.heads;
    const last = this.cfg.strides.length - 1;
    this.cfg.strides.forEach((s, i) => {
      const { w, b, groups } = this.layer(i);
      let k = polyphaseKernel(w, b, s, groups); // (n·s, C_in/g, taps): channel h·s + r at the last layer
      if (i === last) {
        const [, cinG, taps] = k.w.shape as [number, number, number];
        const lambda = this.lambdas();
        const wh = T.mul(T.reshape(k.w, [n, s, cinG, taps]), T.reshape(lambda, [n, 1, 1, 1]));
        k = {
          // grouped by head: the heads' inputs side by side; one group (a single layer): summed
          w: groups === n ? T.reshape(T.transpose(wh, [1, 0, 2, 3]), [s, n * cinG, taps]) : T.sum(wh, [0]),
          b: T.sum(T.mul(T.reshape(k.b, [n, s]), T.reshape(lambda, [n, 1])), [0]),
        };
      }
      out[`polyphase.layer${i}.weight`] = k.w;
      out[`polyphase.layer${i}.bias`] = k.b;
    });
    return out;
  }

  /** The trained tensors `polyphaseWeights` reads. */
  get layerWeights(): Tensor[] {
    return [...this.heads.flat().flatMap((l) => [l.w, l.b!]), ...this.scales];
  }

  /**
   * |S| (B, frames, bins) → waveform (B, frames · hop). With `polyphase`, every layer runs as its
   * polyphase convolution on the `polyphase` weights — the same function, about twice as fast on
   * ONNX Runtime's CPU kernels (ConvTranspose spends its time in a column-to-image scatter; see
   * docs/results/mcnn.md) — for inference; training uses the transposed convolutions.
   */
  forward(mag: Tensor, opts: { polyphase?: boolean } = {}): Tensor {
    const bins = binsOf(this.cfg);
    if (mag.rank !== 3 || mag.shape[2] !== bins)
      throw new TonyError(
        'shape',
        `mcnn: the spectrogram must be (B, frames, ${bins}) — nFft ${this.cfg.nFft} gives ${bins} bins — got [${mag.shape}]`,
        `compute it with nFft ${this.cfg.nFft}, hop ${this.cfg.hop}`,
      );
    const [B, frames] = [mag.shape[0]!, mag.shape[1]!];
    const x = T.transpose(this.cfg.logInput ? T.log1p(mag) : mag, [0, 2, 1]); // (B, bins, frames): bins are channels
    // The heads run side by side as one network (`layer`): the same function as n separate stacks,
    // in a few large kernels instead of many small ones.
    const n = this.cfg.heads;
    const K = this.cfg.kernel;
    let y = x;
    const last = this.cfg.strides.length - 1;
    this.cfg.strides.forEach((s, i) => {
      if (opts.polyphase) {
        // the last layer sums the heads (polyphaseWeights): one output channel, not n
        const cout = (i === last ? 1 : n * layerChannels(this.cfg, i)) * s;
        const groups = i === 0 || i === last ? 1 : n;
        const cinG = ((i === 0 ? bins : n * layerChannels(this.cfg, i - 1)) / groups) | 0;
        const pw = this.polyphase.param(`polyphase.layer${i}.weight`, [cout, cinG, polyphaseGeometry(K, s).taps], { kind: 'zeros' });
        const pb = this.polyphase.param(`polyphase.layer${i}.bias`, [cout], { kind: 'zeros' });
        y = polyphaseUpsample(y, pw, pb, K, s, groups);
      } else {
        const { w, b, groups } = this.layer(i);
        y = T.convTranspose1d(y, w, b, { stride: s, ...exactUpsampling(K, s), groups });
      }
      if (i < last) y = T.elu(y); // (B, n·C_i, frames · ∏_{j≤i} s_j)
    });
    // y: (B, n, frames · hop), one waveform per head → Σ_h λ_h · y_h (the polyphase form has summed them)
    const z = opts.polyphase
      ? T.reshape(y, [B, frames * this.cfg.hop])
      : T.reshape(T.sum(T.mul(y, T.reshape(this.lambdas(), [1, n, 1])), [1]), [B, frames * this.cfg.hop]);
    return T.div(T.mul(z, this.a), T.add(T.abs(T.mul(z, this.b)), 1)); // scaled softsign
  }
}

// ---------------------------------------------------------------------------------------------
// Losses (PAPERS.md §6, most important first), on the STFT of the output against the target's

/** The analysis STFT: Hann window, centred frames with zero padding (src/audio's default). */
export const analysis = (cfg: Readonly<MCNNConfig>) =>
  ({ nFft: cfg.nFft, hop: cfg.hop, winLength: cfg.winLength, center: true, padMode: 'constant' }) as const;

/** Keeps the weighted phase loss finite on a silent target crop. */
const POWER_EPS = 1e-12;

export interface MCNNLosses {
  /** ‖|S| − |Ŝ|‖_F / ‖|S|‖_F. */
  sc: Tensor;
  /** mean |log |S| − log |Ŝ||. */
  logMag: Tensor;
  /** mean |wrap(Δ_t φ − Δ_t φ̂)|: instantaneous frequency (phase advance per frame). */
  if: Tensor;
  /** mean | |S||Ŝ| − Re S Re Ŝ − Im S Im Ŝ | / mean |S|², = |S||Ŝ|(1 − cos(φ − φ̂)). */
  phase: Tensor;
}

/** The four terms for a target waveform s and an estimate ŝ, both (B, L). */
export function mcnnLosses(cfg: Readonly<MCNNConfig>, target: Tensor, estimate: Tensor): MCNNLosses {
  const S = T.stft(target, analysis(cfg)); // (B, F, bins) each
  const E = T.stft(estimate, analysis(cfg));
  const magS = T.complexMagnitude(S.re, S.im);
  const magE = T.complexMagnitude(E.re, E.im);
  const frames = magS.shape[1]!;

  const phaseAdvance = (re: Tensor, im: Tensor) => {
    const phi = T.atan2(im, re); // (B, F, bins)
    return T.sub(T.slice(phi, 1, 1, frames), T.slice(phi, 1, 0, frames - 1)); // (B, F − 1, bins)
  };
  const d = T.sub(phaseAdvance(S.re, S.im), phaseAdvance(E.re, E.im));
  const wrapped = T.atan2(T.sin(d), T.cos(d)); // into (−π, π]

  const cross = T.sub(T.mul(magS, magE), T.add(T.mul(S.re, E.re), T.mul(S.im, E.im)));
  const power = T.add(T.mean(T.mul(magS, magS)), POWER_EPS);
  return {
    sc: T.spectralConvergence(magS, magE),
    logMag: T.logMagnitudeL1(magS, magE),
    if: frames > 1 ? T.mean(T.abs(wrapped)) : T.mul(T.sumAll(magS), 0),
    phase: T.div(T.mean(T.abs(cross)), power),
  };
}

/**
 * The training objective on target waveforms (B, frames · hop): the input is the target's own
 * magnitude (its first `frames` STFT frames — centred framing gives one more), the output is
 * compared with the target by the four weighted losses. Returns the estimate too (tests, eval).
 */
export function mcnnObjective(model: MCNN, wav: Tensor) {
  const cfg = model.cfg;
  const frames = wav.shape[1]! / cfg.hop;
  if (wav.rank !== 2 || !Number.isInteger(frames) || frames < 1)
    throw new TonyError('shape', `mcnn: training waveforms must be (B, frames × ${cfg.hop}), got [${wav.shape}]`);
  const S = T.stft(wav, analysis(cfg));
  const mag = T.slice(T.complexMagnitude(S.re, S.im), 1, 0, frames); // (B, frames, bins)
  const estimate = model.forward(mag); // (B, frames · hop)
  const l = mcnnLosses(cfg, wav, estimate);
  return {
    estimate,
    losses: {
      sc: { value: l.sc, weight: cfg.scWeight },
      log_mag: { value: l.logMag, weight: cfg.logMagWeight },
      if: { value: l.if, weight: cfg.ifWeight },
      phase: { value: l.phase, weight: cfg.phaseWeight },
    },
  };
}
