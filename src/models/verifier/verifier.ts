/**
 * GSM8K verifiers (Cobbe et al. 2021, "Training Verifiers to Solve Math Word Problems"; PAPERS.md §3).
 *
 * A verifier is the generator's GPT, initialised from the generator, with a scalar value head. The
 * paper implements that head as one gain and one bias acting on the logit of a reserved token in the
 * final unembedding: v = gain · logit[valueToken] + bias, so the value reads the same tied head the
 * language model does and adds two parameters. It is trained on N sampled solutions per training
 * problem, each labelled 1 if its final answer is right and 0 otherwise, with two losses:
 *
 *   value: mean squared error between the value and the label, at every solution token
 *          (token-level, the paper's better variant) or at the last solution token only
 *          (solution-level, the comparison);
 *   lm:    the language-modelling loss on the solution tokens, kept as an auxiliary objective.
 *
 * At test time a solution's score is its value at its last token (src/math/rank.ts ranks and votes).
 *
 * Departures: the paper's verifiers are 6B/175B GPT-3 models; this one is whatever GPT the generator
 * is (bytes in, context blockSize). The reserved token is the byte tokenizer's last special token
 * (the FIM suffix sentinel, which GSM8K text never uses).
 */
import { resolveConfig } from '../../config.ts';
import { crossEntropy, type ParamSet } from '../../engine/nn.ts';
import { exportOnnx } from '../../engine/onnx.ts';
import * as T from '../../engine/ops/index.ts';
import type { Traced } from '../../engine/step.ts';
import { input, type Tensor } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';
import { GPT, type GPTConfig } from '../gpt/gpt.ts';

const VERIFIER_DEFAULTS = {
  /** 'token': a value after every solution token (the paper's choice); 'solution': at the last only. */
  level: 'token',
  /** Weight of the auxiliary language-modelling loss (the value loss has weight 1). */
  lmWeight: 1,
  /** The vocabulary entry whose logit the value head reads (-1: the last id, a FIM sentinel for bytes). */
  valueToken: -1,
  /** A generator run or checkpoint directory to start from ('' = random initialisation). */
  init: '',
};
export type VerifierSettings = Readonly<typeof VERIFIER_DEFAULTS> & { level: 'token' | 'solution' };

/** The verifier's own settings (its GPT comes from the generator), validated. */
export function verifierSettings(overrides: Record<string, unknown>): VerifierSettings {
  const s = resolveConfig('verifier', VERIFIER_DEFAULTS, overrides);
  if (s.level !== 'token' && s.level !== 'solution')
    throw new TonyError('config', `verifier: level must be 'token' or 'solution', got '${s.level}'`, '--level token');
  if (!(s.lmWeight >= 0)) throw new TonyError('config', `verifier: lmWeight must be ≥ 0, got ${s.lmWeight}`);
  if (!Number.isInteger(s.valueToken) || s.valueToken < -1)
    throw new TonyError('config', `verifier: valueToken must be a token id or -1, got ${s.valueToken}`);
  return s as VerifierSettings;
}

class Verifier {
  readonly gpt: GPT;
  readonly gain: Tensor;
  readonly bias: Tensor;
  readonly valueToken: number;

  constructor(
    readonly cfg: Readonly<GPTConfig>,
    valueToken: number,
    training = false,
  ) {
    this.gpt = new GPT(cfg, training);
    this.valueToken = valueToken < 0 ? cfg.vocabSize - 1 : valueToken;
    if (this.valueToken >= cfg.vocabSize)
      throw new TonyError('config', `verifier: valueToken ${this.valueToken} is outside the vocabulary (${cfg.vocabSize})`);
    // Gain 1, bias 0: at initialisation the value is the generator's own logit for the token.
    this.gain = this.ps.param('value.gain', [1], { kind: 'ones' }, false);
    this.bias = this.ps.param('value.bias', [1], { kind: 'zeros' }, false);
  }

  get ps(): ParamSet {
    return this.gpt.ps;
  }

  /** idx (B, T) → logits (B, T, V) and values (B, T). */
  forward(idx: Tensor): { logits: Tensor; values: Tensor } {
    const [B, Tn] = idx.shape as [number, number];
    const logits = this.gpt.head(this.gpt.hidden(idx)); // (B, T, V)
    const picked = T.slice(logits, 2, this.valueToken, this.valueToken + 1); // (B, T, 1)
    const values = T.add(T.mul(T.reshape(picked, [B, Tn]), this.gain), this.bias); // (B, T)
    return { logits, values };
  }

  /**
   * The two losses on a batch (src/models/verifier/data.ts lays it out): lmMask and valueMask
   * (B, T) say which positions count, labels (B, T) repeat each row's 0/1 label.
   *
   *   value = Σ valueMask · (v − label)² / Σ valueMask      lm = Σ lmMask · nll / Σ lmMask
   */
  losses(idx: Tensor, targets: Tensor, lmMask: Tensor, valueMask: Tensor, labels: Tensor): { lm: Tensor; value: Tensor } {
    const [B, Tn] = idx.shape as [number, number];
    const { logits, values } = this.forward(idx);
    const lm = crossEntropy(T.reshape(logits, [B * Tn, this.cfg.vocabSize]), T.reshape(targets, [B * Tn]), {
      weights: T.reshape(lmMask, [B * Tn]),
    });
    const err = T.sub(values, labels);
    // Σ mask is clamped away from 0 (a batch with no value positions has loss 0, not NaN).
    const value = T.div(T.sum(T.mul(valueMask, T.mul(err, err))), T.maximum(T.sum(valueMask), 1e-12));
    return { lm, value };
  }
}

/** The traced training objective for a batch of `batch` sequences. */
export function traceVerifier(cfg: Readonly<GPTConfig>, s: VerifierSettings, batch: number, training: boolean): Traced {
  const v = new Verifier(cfg, s.valueToken, training);
  const shape = [batch, cfg.blockSize];
  const idx = input('idx', shape, 'int64');
  const targets = input('targets', shape, 'int64');
  const lmMask = input('lmMask', shape);
  const valueMask = input('valueMask', shape);
  const labels = input('labels', shape);
  const { lm, value } = v.losses(idx, targets, lmMask, valueMask, labels);
  return {
    ps: v.ps,
    data: [idx, targets, lmMask, valueMask, labels],
    losses: { value, lm: { value: lm, weight: s.lmWeight } },
  };
}

/** Inference graph: idx (B, T = blockSize) → values (B, T). */
export function buildValueGraph(cfg: Readonly<GPTConfig>, valueToken: number, batch: number) {
  const v = new Verifier(cfg, valueToken);
  const idx = input('idx', [batch, cfg.blockSize], 'int64');
  return { model: exportOnnx([idx, ...v.ps.inputs], { values: v.forward(idx).values }, { name: 'verifier_values' }), ps: v.ps };
}
