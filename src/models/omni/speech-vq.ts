/**
 * The omni model's speech tokenizer: a VQ-VAE over log-magnitude spectrogram frames, built from the
 * Jukebox VQ-VAE's parts (src/models/jukebox/vqvae.ts: its EMA codebook `quantize` with
 * initialisation from encoder outputs and random restarts, and its convolution blocks), whose codes
 * are turned back into sound by the MCNN vocoder (src/models/mcnn/vocoder.ts, chunked streaming).
 *
 *   frames   x = ln(|STFT| + ε) (B, bins, F)     MCNN's analysis: 16 kHz, n_fft 1024, hop 256 → 62.5 frames/s
 *   encoder  conv k3 → [residual] × depth → conv k4 s2 → [residual] × depth → conv k3 → z (B, D, F/2)
 *   codebook z → nearest of K codes (Jukebox's quantize)                        → 31.25 codes/s
 *   decoder  conv k3 → [residual] × depth → transposed conv k4 s2 → [residual] × depth → conv k3 → x̂
 *   loss     mean |x − x̂| (L1 of log magnitudes) + commit · ‖z − sg(e)‖²
 *
 * Why this and not Jukebox's waveform levels: the Jukebox top level (hop 128, 62.5 codes/s at 8 kHz)
 * reached only −1.3 dB spectral convergence after the minutes of CPU this machine gives it
 * (docs/results/jukebox.md) — no words survive. Frames of a magnitude spectrogram are already
 * a compact description of speech, an MCNN already inverts them, and a two-fold downsampling gives
 * 31.25 codes/s: a 3-second answer is 94 tokens, so a spoken question and its spoken answer fit in
 * one 256-token context of a small transformer (the rate asked for is 25–50 codes/s).
 */
import { resolveConfig } from '../../config.ts';
import { Conv1d, ConvTranspose1d, ParamSet } from '../../engine/nn.ts';
import * as T from '../../engine/ops/index.ts';
import { BufferSet } from '../../engine/state.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';
import { DOWN, quantize, ResidualStack, type VQVAEConfig, vqvaeConfig } from '../jukebox/vqvae.ts';

/** MCNN's analysis (models/mcnn): the vocoder that speaks the decoded frames expects exactly it. */
export const SPEECH_STFT = { sampleRate: 16000, nFft: 1024, hop: 256, winLength: 1024 } as const;
export const SPEECH_BINS = SPEECH_STFT.nFft / 2 + 1;
/** Frames per code: one stride-2 stage. */
export const FRAMES_PER_CODE = 2;
/** ε of ln(|S| + ε): −4.6 nepers, ~40 dB under espeak's speech peaks (|S| ~ 10–100). */
export const LOG_EPS = 1e-2;

const SPEECH_VQ_DEFAULTS = {
  /** Channels of the convolutions. */
  width: 256,
  /** Residual blocks per stage (dilations 1, 3, 9 …, as Jukebox). */
  depth: 2,
  /** Codebook size K. */
  codes: 512,
  /** Code width D. */
  codeWidth: 64,
  /** EMA decay, commitment weight, restart threshold: Jukebox's quantize reads these. */
  decay: 0.99,
  commit: 0.02,
  threshold: 1,
  restarts: true,
  /** Training crop in frames (a multiple of FRAMES_PER_CODE): 64 frames ≈ 1 s. */
  segment: 64,
  /** Clips read for training (memory: a clip is ~5 s, 160 KB of frames). */
  clips: 500,
};
export type SpeechVQConfig = typeof SPEECH_VQ_DEFAULTS;

export function speechVQConfig(overrides: Record<string, unknown> = {}): Readonly<SpeechVQConfig> {
  const cfg = resolveConfig('omni-speech', SPEECH_VQ_DEFAULTS, overrides);
  for (const k of ['width', 'depth', 'codes', 'codeWidth', 'segment', 'clips'] as const)
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1)
      throw new TonyError('config', `omni-speech: ${k} must be a positive integer, got ${cfg[k]}`);
  if (cfg.segment % FRAMES_PER_CODE !== 0)
    throw new TonyError('config', `omni-speech: segment ${cfg.segment} is not a multiple of ${FRAMES_PER_CODE} frames`, '--set segment=64');
  return cfg;
}

/** Jukebox's residual stack with the dilations growing (1, 3, 9 …) in encoder and decoder alike. */
class Residual extends ResidualStack {
  constructor(ps: ParamSet, name: string, width: number, depth: number) {
    super(ps, name, width, depth, false);
  }
}

export class SpeechVQ {
  readonly ps = new ParamSet();
  readonly buffers = new BufferSet();
  /** The codebook settings in the Jukebox config that its quantize reads. */
  private readonly vq: Readonly<VQVAEConfig>;
  private readonly encIn: Conv1d;
  private readonly encRes0: Residual;
  private readonly encDown: Conv1d;
  private readonly encRes1: Residual;
  private readonly encOut: Conv1d;
  private readonly decIn: Conv1d;
  private readonly decRes0: Residual;
  private readonly decUp: ConvTranspose1d;
  private readonly decRes1: Residual;
  private readonly decOut: Conv1d;

  constructor(readonly cfg: Readonly<SpeechVQConfig>) {
    const { width: W, depth, codeWidth: D } = cfg;
    const ps = this.ps;
    const { codes, decay, commit, threshold, restarts } = cfg;
    this.vq = vqvaeConfig({ codes, codeWidth: D, decay, commit, threshold, restarts, spectral: 0 });
    this.encIn = new Conv1d(ps, 'enc.in', SPEECH_BINS, W, 3, { padding: 1 });
    this.encRes0 = new Residual(ps, 'enc.res0', W, depth);
    this.encDown = new Conv1d(ps, 'enc.down', W, W, 4, DOWN);
    this.encRes1 = new Residual(ps, 'enc.res1', W, depth);
    this.encOut = new Conv1d(ps, 'enc.out', W, D, 3, { padding: 1 });
    this.decIn = new Conv1d(ps, 'dec.in', D, W, 3, { padding: 1 });
    this.decRes0 = new Residual(ps, 'dec.res0', W, depth);
    this.decUp = new ConvTranspose1d(ps, 'dec.up', W, W, 4, DOWN);
    this.decRes1 = new Residual(ps, 'dec.res1', W, depth);
    this.decOut = new Conv1d(ps, 'dec.out', W, SPEECH_BINS, 3, { padding: 1 });
  }

  /** Log-magnitude frames x (B, bins, F) → z (B, D, F/2). */
  encode(x: Tensor): Tensor {
    const h = this.encRes1.forward(this.encDown.forward(this.encRes0.forward(this.encIn.forward(x)))); // (B, W, F/2)
    return this.encOut.forward(T.relu(h));
  }

  /** Code vectors z_q (B, D, T) → log-magnitude frames (B, bins, 2T). */
  decode(zq: Tensor): Tensor {
    const h = this.decRes1.forward(this.decUp.forward(this.decRes0.forward(this.decIn.forward(zq)))); // (B, W, 2T)
    return this.decOut.forward(T.relu(h));
  }

  /** The codebook (K, D), the EMA buffer Jukebox's quantize keeps. */
  codebook(): Tensor {
    return this.buffers.buffer('vq.codebook', [this.cfg.codes, this.cfg.codeWidth], { kind: 'normal', std: 1 });
  }

  /** Code ids (B, F/2) int64 of log-magnitude frames (B, bins, F). */
  codes(x: Tensor): Tensor {
    return quantize(this.vq, this.buffers, this.encode(x)).ids;
  }

  /** The training objective; `restartIdx` (K) int64 makes it a training trace (codebook updates). */
  objective(x: Tensor, restartIdx?: Tensor) {
    const vq = quantize(this.vq, this.buffers, this.encode(x), restartIdx);
    const xhat = this.decode(vq.zq);
    const recon = T.mean(T.abs(T.sub(xhat, x)));
    return {
      losses: { recon: { value: recon, weight: 1 }, commit: { value: vq.commit, weight: this.cfg.commit } },
      metrics: vq.metrics,
    };
  }
}

/**
 * How far (in codes) a decoded frame looks each side: dec.in (±1 code), the code-rate residual
 * stack (±(3^depth − 1)/2 codes), the transposed conv (±1 code), the frame-rate residual stack and
 * dec.out (±(3^depth − 1)/2 + 1 frames) — rounded up. Streaming decodes windows with this much
 * context each side, so chunked and whole-utterance decoding agree.
 */
export function decoderContextCodes(cfg: Readonly<SpeechVQConfig>): number {
  const stack = (3 ** cfg.depth - 1) / 2;
  return 1 + stack + 1 + Math.ceil((stack + 1) / FRAMES_PER_CODE) + 1;
}
