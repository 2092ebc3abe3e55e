/**
 * Jukebox's priors (Dhariwal et al. 2020, §3–4; PAPERS.md §5): autoregressive transformers over
 * the VQ-VAE's codes, p(top) · p(middle | top) · p(bottom | middle).
 *
 *  - The top-level prior is conditioned on what the paper's artist and genre embeddings carry —
 *    here the corpus's melody timbre, key and tempo: one learned embedding table each, summed into
 *    the vector that takes the place of the start token.
 *  - The upsamplers (middle | top, bottom | middle) see the level above through a conditioner
 *    network: the upper codes' embeddings, a dilated residual conv stack, and a transposed
 *    convolution that upsamples by the hop ratio (4) so that each code of this level gets the
 *    vector of the time it sits at, added to its input embedding.
 *
 * A window of T codes [s, s + T) is read as [c, x_s … x_{s+T−2}] predicting [x_s … x_{s+T−1}]: the
 * condition vector c sits where a start token would, at every window. Windowed sampling for audio
 * longer than T (sample.ts) slides the window by T/2 and samples the second half given the first.
 *
 * Departures from the paper, and why:
 *  - Scale: a few layers of width 128 and contexts of 128–256 codes (the paper: 72 layers, 8,192
 *    codes): what trains in minutes here.
 *  - Dense attention everywhere (the paper's factorised row/column/previous-row attention exists to
 *    reach 8,192 codes); learned absolute positions within the window and no timing embedding
 *    (the paper tells the prior where in the song a window is).
 *  - The upsamplers are conditioned on the upper codes only, not on the song's metadata.
 *  - Each condition is replaced by "none" (id 0) with probability `condDrop` in training, so one
 *    model also samples unconditioned — the baseline the conditioning is measured against.
 */

import { parseKey } from '../../audio/estimate.ts';
import { TIMBRES } from '../../audio/music.ts';
import { resolveConfig } from '../../config.ts';
import { Conv1d, ConvTranspose1d, crossEntropy, Embedding, LayerNorm, Linear, MLP, ParamSet, SelfAttention } from '../../engine/nn.ts';
import * as T from '../../engine/ops/index.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';
import type { Level } from './vqvae.ts';

// ---------------------------------------------------------------------------------------------
// Config

const PRIOR_DEFAULTS = {
  /** top (conditioned on metadata) | middle | bottom (upsamplers: conditioned on the level above). */
  level: 'top' as string,
  /** Codebook size of the VQ-VAE level it models. */
  codes: 256,
  /** Codes per window T (a multiple of `ratio`). */
  context: 128,
  dModel: 128,
  nHead: 4,
  nLayer: 3,
  /** Upper-level codes per code of this level: the hop ratio between levels (128/32 = 32/8 = 4). */
  ratio: 4,
  /** Residual blocks of the conditioner network (upsamplers). */
  condDepth: 2,
  /** Probability that each metadata condition is dropped to "none" in a training example. */
  condDrop: 0.2,
};
export type PriorConfig = typeof PRIOR_DEFAULTS & { level: Level };

export function priorConfig(overrides: Record<string, unknown> = {}): Readonly<PriorConfig> {
  const cfg = resolveConfig('prior', PRIOR_DEFAULTS, overrides);
  if (!['top', 'middle', 'bottom'].includes(cfg.level))
    throw new TonyError('config', `prior: level must be top, middle or bottom, got ${JSON.stringify(cfg.level)}`, '--level top');
  for (const k of ['codes', 'context', 'dModel', 'nHead', 'nLayer', 'ratio', 'condDepth'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new TonyError('config', `prior: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (cfg.context % cfg.ratio !== 0)
    throw new TonyError(
      'config',
      `prior: context ${cfg.context} is not a multiple of ratio ${cfg.ratio}`,
      `e.g. --set context=${cfg.ratio * 32}`,
    );
  if (cfg.context % 2 !== 0) throw new TonyError('config', `prior: context ${cfg.context} must be even (windows slide by half)`);
  if (!(cfg.condDrop >= 0 && cfg.condDrop <= 1)) throw new TonyError('config', `prior: condDrop must be in [0, 1], got ${cfg.condDrop}`);
  return cfg as Readonly<PriorConfig>;
}

export const isUpsampler = (cfg: Readonly<PriorConfig>) => cfg.level !== 'top';
/** The level an upsampler is conditioned on. */
export const upperOf = (level: Level): Level => (level === 'bottom' ? 'middle' : 'top');

// ---------------------------------------------------------------------------------------------
// Conditions: ids into small tables, 0 = "none"

/** Tempo buckets of 5 bpm from 60 bpm: id = 1 + round((bpm − 60) / 5), clamped to the table. */
const TEMPO_BUCKETS = { from: 60, step: 5, count: 21 };

export interface Conditions {
  /** Melody instrument, one of the corpus timbres (sine, triangle, square, saw, organ, pluck, bell). */
  timbre?: string;
  /** e.g. "D minor". */
  key?: string;
  /** Beats per minute. */
  tempo?: number;
}

const CONDITION_TABLES = { timbre: TIMBRES.length + 1, key: 24 + 1, tempo: TEMPO_BUCKETS.count + 1 };

/** Condition ids [timbre, key, tempo] (0 where a condition is absent); bad values are usage errors. */
export function conditionIds(c: Conditions): [number, number, number] {
  let timbre = 0;
  if (c.timbre !== undefined) {
    timbre = TIMBRES.indexOf(c.timbre as (typeof TIMBRES)[number]) + 1;
    if (timbre === 0) throw new TonyError('usage', `unknown timbre '${c.timbre}'`, `timbres: ${TIMBRES.join(', ')}`);
  }
  let key = 0;
  if (c.key !== undefined) {
    const k = parseKey(c.key);
    key = 1 + k.tonic + (k.mode === 'minor' ? 12 : 0);
  }
  let tempo = 0;
  if (c.tempo !== undefined) {
    if (!(c.tempo > 0)) throw new TonyError('usage', `tempo must be a positive number of bpm, got ${c.tempo}`);
    const b = Math.round((c.tempo - TEMPO_BUCKETS.from) / TEMPO_BUCKETS.step);
    tempo = 1 + Math.max(0, Math.min(TEMPO_BUCKETS.count - 1, b));
  }
  return [timbre, key, tempo];
}

// ---------------------------------------------------------------------------------------------
// The network

class Block {
  readonly ln1: LayerNorm;
  readonly attn: SelfAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;
  constructor(ps: ParamSet, name: string, cfg: Readonly<PriorConfig>) {
    const projStd = 0.02 / Math.sqrt(2 * cfg.nLayer); // GPT-2's scaled init of residual projections
    this.ln1 = new LayerNorm(ps, `${name}.ln1`, cfg.dModel);
    this.attn = new SelfAttention(ps, `${name}.attn`, cfg.dModel, cfg.nHead, { projStd });
    this.ln2 = new LayerNorm(ps, `${name}.ln2`, cfg.dModel);
    this.mlp = new MLP(ps, `${name}.mlp`, cfg.dModel, 4 * cfg.dModel, projStd);
  }
  forward(x: Tensor): Tensor {
    const h = T.add(x, this.attn.forward(this.ln1.forward(x)));
    return T.add(h, this.mlp.forward(this.ln2.forward(h)));
  }
}

/** The upsamplers' conditioner: upper codes (B, T/r) → one vector per code of this level (B, T, C). */
class Conditioner {
  readonly emb: Embedding;
  readonly res: Array<{ conv: Conv1d; mix: Conv1d }> = [];
  readonly up: ConvTranspose1d;
  readonly out: Conv1d;
  constructor(ps: ParamSet, cfg: Readonly<PriorConfig>) {
    const C = cfg.dModel;
    this.emb = new Embedding(ps, 'cond.emb', cfg.codes, C);
    for (let j = 0; j < cfg.condDepth; j++) {
      const d = 3 ** j;
      this.res.push({
        conv: new Conv1d(ps, `cond.res.${j}.conv`, C, C, 3, { padding: d, dilation: d }),
        mix: new Conv1d(ps, `cond.res.${j}.mix`, C, C, 1),
      });
    }
    // kernel = stride = ratio: each upper code spreads over exactly its `ratio` codes below
    this.up = new ConvTranspose1d(ps, 'cond.up', C, C, cfg.ratio, { stride: cfg.ratio });
    this.out = new Conv1d(ps, 'cond.out', C, C, 3, { padding: 1 });
  }
  forward(upper: Tensor): Tensor {
    let h = T.transpose(this.emb.forward(upper), [0, 2, 1]); // (B, C, T/r)
    for (const b of this.res) h = T.add(h, b.mix.forward(T.relu(b.conv.forward(T.relu(h)))));
    h = this.out.forward(T.relu(this.up.forward(h))); // (B, C, T)
    return T.transpose(h, [0, 2, 1]); // (B, T, C)
  }
}

export class Prior {
  readonly ps = new ParamSet();
  readonly tok: Embedding;
  readonly pos: Tensor;
  readonly conds: { timbre: Embedding; key: Embedding; tempo: Embedding } | undefined;
  readonly start: Tensor | undefined;
  readonly conditioner: Conditioner | undefined;
  readonly blocks: Block[] = [];
  readonly lnF: LayerNorm;
  readonly head: Linear;

  constructor(readonly cfg: Readonly<PriorConfig>) {
    const C = cfg.dModel;
    this.tok = new Embedding(this.ps, 'tok', cfg.codes, C);
    this.pos = this.ps.param('pos', [cfg.context, C], { kind: 'normal', std: 0.01 });
    if (isUpsampler(cfg)) {
      this.conditioner = new Conditioner(this.ps, cfg);
      this.start = this.ps.param('start', [C], { kind: 'normal', std: 0.02 }, false);
    } else {
      this.conds = {
        timbre: new Embedding(this.ps, 'cond.timbre', CONDITION_TABLES.timbre, C),
        key: new Embedding(this.ps, 'cond.key', CONDITION_TABLES.key, C),
        tempo: new Embedding(this.ps, 'cond.tempo', CONDITION_TABLES.tempo, C),
      };
    }
    for (let i = 0; i < cfg.nLayer; i++) this.blocks.push(new Block(this.ps, `h.${i}`, cfg));
    this.lnF = new LayerNorm(this.ps, 'ln_f', C);
    this.head = new Linear(this.ps, 'head', C, cfg.codes, { bias: false });
  }

  /**
   * Logits (B, T, K) of a window: `ids` (B, T) int64 the window's codes (position i predicts
   * ids[:, i] from ids[:, < i]); `cond` (B, 3) int64 condition ids (top) or `upper` (B, T/ratio)
   * int64 the level above's codes over the same time (upsamplers).
   */
  forward(ids: Tensor, ctx: { cond?: Tensor; upper?: Tensor }): Tensor {
    const cfg = this.cfg;
    const [B, Tn] = ids.shape as [number, number];
    if (Tn !== cfg.context) throw new TonyError('shape', `prior: windows are ${cfg.context} codes, got ${Tn}`);
    let first: Tensor; // (B, 1, C): the vector in the start token's place
    let extra: Tensor | undefined; // (B, T, C)
    if (this.conds) {
      if (!ctx.cond) throw new TonyError('usage', 'the top-level prior needs condition ids (B, 3)');
      const [t, k, p] = T.split(ctx.cond, [1, 1, 1], 1); // (B, 1) each
      first = T.add(T.add(this.conds.timbre.forward(t!), this.conds.key.forward(k!)), this.conds.tempo.forward(p!)); // (B, 1, C)
    } else {
      if (!ctx.upper) throw new TonyError('usage', `the ${cfg.level} upsampler needs the upper codes (B, ${Tn / cfg.ratio})`);
      first = T.expand(T.reshape(this.start!, [1, 1, cfg.dModel]), [B, 1, cfg.dModel]);
      extra = this.conditioner!.forward(ctx.upper);
    }
    const prev = this.tok.forward(T.slice(ids, 1, 0, Tn - 1)); // (B, T − 1, C)
    let x = T.add(T.concat([first, prev], 1), this.pos); // (B, T, C)
    if (extra) x = T.add(x, extra);
    for (const b of this.blocks) x = b.forward(x);
    return this.head.forward(this.lnF.forward(x)); // (B, T, K)
  }

  /** Mean cross-entropy (nats per code) of the window's codes. */
  loss(ids: Tensor, ctx: { cond?: Tensor; upper?: Tensor }): Tensor {
    const [B, Tn] = ids.shape as [number, number];
    const logits = this.forward(ids, ctx);
    return crossEntropy(T.reshape(logits, [B * Tn, this.cfg.codes]), T.reshape(ids, [B * Tn]));
  }
}
