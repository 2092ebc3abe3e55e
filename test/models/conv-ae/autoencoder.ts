/**
 * A tiny 1-D convolutional autoencoder — a model kind that exists only as a test fixture, proving
 * that a non-text kind is one folder and one registry row (kind.ts): `tony train conv-ae` trains it,
 * `loadModel` loads it back. Not shipped: the registry sees it only through TONY_MODEL_KINDS.
 *
 * Encoder: two stride-2 convolutions (L → L/2 → L/4) with a tanh between; decoder: the mirror image
 * with transposed convolutions; loss: mean squared reconstruction error.
 */
import { resolveConfig } from '../../../src/config.ts';
import { Conv1d, ConvTranspose1d, ParamSet } from '../../../src/engine/nn.ts';
import * as T from '../../../src/engine/ops/index.ts';
import type { Tensor } from '../../../src/engine/tensor.ts';
import { TonyError } from '../../../src/errors.ts';

export const AE_DEFAULTS = {
  /** Samples per signal L (divisible by 4: two stride-2 stages). */
  length: 32,
  /** Hidden channels C. */
  channels: 8,
  /** Latent channels Z (the code is Z × L/4). */
  latent: 2,
};
export type AEConfig = typeof AE_DEFAULTS;

export function aeConfig(overrides: Record<string, unknown> = {}): Readonly<AEConfig> {
  const cfg = resolveConfig('conv-ae', AE_DEFAULTS, overrides);
  for (const [k, v] of Object.entries(cfg)) {
    if (!Number.isInteger(v) || v <= 0) throw new TonyError('config', `conv-ae: ${k} must be a positive integer, got ${v}`);
  }
  if (cfg.length % 4 !== 0) throw new TonyError('config', `conv-ae: length ${cfg.length} must be divisible by 4`);
  return cfg;
}

/** Kernel 4, stride 2, padding 1: each stage halves (or doubles) the length exactly. */
const STAGE = { stride: 2, padding: 1 } as const;
const KERNEL = 4;

export class ConvAutoencoder {
  readonly ps = new ParamSet();
  readonly enc1: Conv1d;
  readonly enc2: Conv1d;
  readonly dec1: ConvTranspose1d;
  readonly dec2: ConvTranspose1d;

  constructor(readonly cfg: Readonly<AEConfig>) {
    this.enc1 = new Conv1d(this.ps, 'enc1', 1, cfg.channels, KERNEL, STAGE);
    this.enc2 = new Conv1d(this.ps, 'enc2', cfg.channels, cfg.latent, KERNEL, STAGE);
    this.dec1 = new ConvTranspose1d(this.ps, 'dec1', cfg.latent, cfg.channels, KERNEL, STAGE);
    this.dec2 = new ConvTranspose1d(this.ps, 'dec2', cfg.channels, 1, KERNEL, STAGE);
  }

  /** x (B, 1, L) → reconstruction (B, 1, L). */
  forward(x: Tensor): Tensor {
    const z = this.enc2.forward(T.tanh(this.enc1.forward(x))); // (B, Z, L/4)
    return this.dec2.forward(T.tanh(this.dec1.forward(z))); // (B, 1, L)
  }

  /** Mean squared error of the reconstruction of x (B, 1, L). */
  loss(x: Tensor): Tensor {
    const d = T.sub(this.forward(x), x);
    return T.mean(T.mul(d, d));
  }
}
