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
 *  - The upsamplers are conditioned on the metadata too (`labels`, the default), as the paper's
 *    code does: its hparams.py gives `upsamplers` the same `labels` (artist/genre bins) as the top
 *    prior, and prior.py builds their LabelConditioner with `include_time_signal=not x_cond` — the
 *    label embedding in the start token's place, the timing signal left to the upper codes. Here
 *    the same three tables as the top prior's, summed into position 0, so the levels that keep
 *    pitch best (bottom, middle) hear the requested key directly, not only through the top codes.
 *    (Measured at this scale: they barely use it — the codes above decide a sample's key;
 *    docs/results/jukebox.md, session 3.) `labels=false` is the session-1 upsampler (a learned
 *    start vector instead).
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
 *  - Each condition is replaced by "none" (id 0) with probability `condDrop` in training, so one
 *    model also samples unconditioned — the baseline the conditioning is measured against.
 *  - Lyrics (`lyrics` > 0, the speech corpus's transcripts): as the paper, a transformer encoder over
 *    the text's characters (here UTF-8 bytes, bidirectional, `textLayers` deep) whose last layer every
 *    prior layer reads through cross-attention. The paper aligns a window of lyrics to each window
 *    of audio; the corpus's clips are a few seconds, so each window sees its clip's whole
 *    transcript. The transcript is dropped (to the start byte alone) with probability `condDrop`.
 *
 * Sampling with a KV cache (`prefill`, `step`): a window's positions up to the first one still to
 * sample run once together, which also returns every layer's keys and values; each later position
 * runs alone against them (SelfAttention.forwardAppend) and its own key and value are written into
 * the cache in place, so a code costs one position, not a window.
 */

import { parseKey } from '../../audio/estimate.ts';
import { TIMBRES } from '../../audio/music.ts';
import { resolveConfig } from '../../config.ts';
import { hostTensor } from '../../engine/dtype.ts';
import {
  Conv1d,
  ConvTranspose1d,
  CrossAttention,
  crossEntropy,
  Embedding,
  type KVCache,
  keyPaddingMask,
  LayerNorm,
  Linear,
  MLP,
  ParamSet,
  SelfAttention,
} from '../../engine/nn.ts';
import * as T from '../../engine/ops/index.ts';
import { constant, type Tensor } from '../../engine/tensor.ts';
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
  /** Upsamplers: also read timbre, key and tempo (the top prior always does). */
  labels: true,
  /** Probability that each metadata condition is dropped to "none" in a training example. */
  condDrop: 0.2,
  /** Top prior: transcript bytes the lyrics encoder reads (0: no lyrics encoder; longer text is cut). */
  lyrics: 0,
  /** Transformer layers of the lyrics encoder. */
  textLayers: 2,
};
export type PriorConfig = typeof PRIOR_DEFAULTS & { level: Level };

export function priorConfig(overrides: Record<string, unknown> = {}): Readonly<PriorConfig> {
  const cfg = resolveConfig('prior', PRIOR_DEFAULTS, overrides);
  if (!['top', 'middle', 'bottom'].includes(cfg.level))
    throw new TonyError('config', `prior: level must be top, middle or bottom, got ${JSON.stringify(cfg.level)}`, '--level top');
  for (const k of ['codes', 'context', 'dModel', 'nHead', 'nLayer', 'ratio', 'condDepth', 'textLayers'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new TonyError('config', `prior: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (!Number.isInteger(cfg.lyrics) || cfg.lyrics < 0)
    throw new TonyError('config', `prior: lyrics must be a whole number of transcript bytes (0: none), got ${cfg.lyrics}`);
  if (!cfg.labels && cfg.level === 'top')
    throw new TonyError(
      'config',
      'prior: the top prior is always conditioned on timbre, key and tempo (labels=false is for upsamplers)',
      '--set labels=true',
    );
  if (cfg.lyrics > 0 && cfg.level !== 'top')
    throw new TonyError('config', `prior: lyrics condition the top prior only, not the ${cfg.level} upsampler`, '--set lyrics=0');
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
/** Whether the prior reads condition ids (B, 3): the top prior, and upsamplers with `labels`. */
export const readsLabels = (cfg: Readonly<PriorConfig>) => !isUpsampler(cfg) || cfg.labels;
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

/** Lyrics ids: 0 pads, 1 starts every transcript (so no row's keys are all padding), 2 + byte. */
const TEXT = { pad: 0, start: 1, offset: 2, vocab: 256 + 2 };

/**
 * A transcript as `length` lyrics ids: the start id, its UTF-8 bytes (cut to fit), padding.
 * `undefined` (no lyrics, or dropped) is the start id alone.
 */
export function lyricsIds(text: string | undefined, length: number): number[] {
  const out = new Array<number>(length).fill(TEXT.pad);
  out[0] = TEXT.start;
  const bytes = new TextEncoder().encode(text ?? '');
  for (let i = 0; i < Math.min(bytes.length, length - 1); i++) out[i + 1] = TEXT.offset + bytes[i]!;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The network

/** Cross-attention keys and values of every prior layer over the encoded lyrics, and the lyrics' mask. */
export interface LyricsContext {
  kv: KVCache[];
  /** (B, 1, 1, S) additive: MASK on padding. */
  mask: Tensor;
}

class Block {
  readonly ln1: LayerNorm;
  readonly attn: SelfAttention;
  /** Lyrics: attention over the encoded transcript, between self-attention and the MLP. */
  readonly cross: { ln: LayerNorm; attn: CrossAttention } | undefined;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;
  constructor(ps: ParamSet, name: string, cfg: Readonly<PriorConfig>, causal = true) {
    const projStd = 0.02 / Math.sqrt(2 * cfg.nLayer); // GPT-2's scaled init of residual projections
    this.ln1 = new LayerNorm(ps, `${name}.ln1`, cfg.dModel);
    this.attn = new SelfAttention(ps, `${name}.attn`, cfg.dModel, cfg.nHead, { projStd, causal });
    if (causal && cfg.lyrics > 0)
      this.cross = {
        ln: new LayerNorm(ps, `${name}.ln_x`, cfg.dModel),
        attn: new CrossAttention(ps, `${name}.xattn`, cfg.dModel, cfg.dModel, cfg.nHead),
      };
    this.ln2 = new LayerNorm(ps, `${name}.ln2`, cfg.dModel);
    this.mlp = new MLP(ps, `${name}.mlp`, cfg.dModel, 4 * cfg.dModel, projStd);
  }
  /** x (B, T, C) → (B, T, C), and this layer's keys and values (B, nh, T, hs) for a cache. */
  forward(x: Tensor, text?: { kv: KVCache; mask: Tensor }, valid?: Tensor): { y: Tensor; kv: KVCache } {
    const a = this.attn.forwardWithKV(this.ln1.forward(x), valid);
    return { y: this.rest(T.add(x, a.y), text), kv: { k: a.k, v: a.v } };
  }
  /**
   * One position per row, x (B, C), against the read-only cache of the window's earlier positions
   * (`hidden` masks the rest: decodeMask). → y (B, C) and this position's key and value (B, nh, 1, hs),
   * for the caller to write into the cache.
   */
  step(x: Tensor, hidden: Tensor, cache: KVCache, text?: { kv: KVCache; mask: Tensor }): { y: Tensor; kv: KVCache } {
    const [B, C] = x.shape as [number, number];
    const a = this.attn.forwardAppend(this.ln1.forward(x), hidden, cache);
    const h = T.reshape(T.add(x, a.y), [B, 1, C]); // rest() reads a sequence axis (cross-attention)
    return { y: T.reshape(this.rest(h, text), [B, C]), kv: { k: a.k, v: a.v } };
  }
  private rest(h: Tensor, text?: { kv: KVCache; mask: Tensor }): Tensor {
    if (this.cross && text) h = T.add(h, this.crossAttend(this.cross.ln.forward(h), text));
    return T.add(h, this.mlp.forward(this.ln2.forward(h)));
  }
  /** CrossAttention.forwardKV with an additive mask built once for all layers. x (B, T, C) → (B, T, C). */
  private crossAttend(x: Tensor, text: { kv: KVCache; mask: Tensor }): Tensor {
    const c = this.cross!.attn;
    const [B, Tn] = x.shape as [number, number, number];
    const q = T.transpose(T.reshape(c.q.forward(x), [B, Tn, c.nHead, c.hs]), [0, 2, 1, 3]); // (B, nh, T, hs)
    const att = T.add(T.mul(T.matmul(q, T.transposeLast(text.kv.k)), 1 / Math.sqrt(c.hs)), text.mask); // (B, nh, T, S)
    const y = T.matmul(T.softmax(att), text.kv.v); // (B, nh, T, hs)
    return c.proj.forward(T.reshape(T.transpose(y, [0, 2, 1, 3]), [B, Tn, c.dim]));
  }
}

/** The lyrics encoder: transcript ids (B, S) → (B, S, C), bidirectional over the real bytes. */
class LyricsEncoder {
  readonly emb: Embedding;
  readonly pos: Tensor;
  readonly blocks: Block[] = [];
  readonly lnF: LayerNorm;
  constructor(ps: ParamSet, cfg: Readonly<PriorConfig>) {
    this.emb = new Embedding(ps, 'text.emb', TEXT.vocab, cfg.dModel);
    this.pos = ps.param('text.pos', [cfg.lyrics, cfg.dModel], { kind: 'normal', std: 0.01 });
    for (let i = 0; i < cfg.textLayers; i++) this.blocks.push(new Block(ps, `text.h.${i}`, cfg, false));
    this.lnF = new LayerNorm(ps, 'text.ln_f', cfg.dModel);
  }
  forward(text: Tensor): { h: Tensor; valid: Tensor } {
    const valid = T.greater(text, TEXT.pad); // (B, S) bool
    let h = T.add(this.emb.forward(text), this.pos); // (B, S, C)
    for (const b of this.blocks) h = b.forward(h, undefined, valid).y;
    return { h: this.lnF.forward(h), valid };
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

/** What a window is conditioned on: condition ids (B, 3) (the top prior; upsamplers with labels), lyrics ids (B, lyrics) (top), the upper codes (B, T/ratio) (upsamplers). */
export interface PriorContext {
  cond?: Tensor;
  text?: Tensor;
  upper?: Tensor;
}

export class Prior {
  readonly ps = new ParamSet();
  readonly tok: Embedding;
  readonly pos: Tensor;
  readonly conds: { timbre: Embedding; key: Embedding; tempo: Embedding } | undefined;
  readonly start: Tensor | undefined;
  readonly conditioner: Conditioner | undefined;
  readonly lyrics: LyricsEncoder | undefined;
  readonly blocks: Block[] = [];
  readonly lnF: LayerNorm;
  readonly head: Linear;

  constructor(readonly cfg: Readonly<PriorConfig>) {
    const C = cfg.dModel;
    this.tok = new Embedding(this.ps, 'tok', cfg.codes, C);
    this.pos = this.ps.param('pos', [cfg.context, C], { kind: 'normal', std: 0.01 });
    if (isUpsampler(cfg)) this.conditioner = new Conditioner(this.ps, cfg);
    if (readsLabels(cfg))
      this.conds = {
        timbre: new Embedding(this.ps, 'cond.timbre', CONDITION_TABLES.timbre, C),
        key: new Embedding(this.ps, 'cond.key', CONDITION_TABLES.key, C),
        tempo: new Embedding(this.ps, 'cond.tempo', CONDITION_TABLES.tempo, C),
      };
    else this.start = this.ps.param('start', [C], { kind: 'normal', std: 0.02 }, false);
    if (cfg.lyrics > 0) this.lyrics = new LyricsEncoder(this.ps, cfg);
    for (let i = 0; i < cfg.nLayer; i++) this.blocks.push(new Block(this.ps, `h.${i}`, cfg));
    this.lnF = new LayerNorm(this.ps, 'ln_f', C);
    this.head = new Linear(this.ps, 'head', C, cfg.codes, { bias: false });
  }

  /**
   * Logits (B, T, K) of a window: `ids` (B, T) int64 the window's codes (position i predicts
   * ids[:, i] from ids[:, < i]); `ctx.cond` (B, 3) int64 condition ids (top; upsamplers with
   * labels); with lyrics, `ctx.text` (B, lyrics) int64 (top); `ctx.upper` (B, T/ratio) int64 the
   * level above's codes over the same time (upsamplers).
   */
  forward(ids: Tensor, ctx: PriorContext): Tensor {
    return this.prefill(ids, ctx).logits;
  }

  /**
   * The logits (B, n, K) of a window's first n positions from its first n codes `ids` (B, n), n ≤ T
   * (n = T: the whole window), every layer's keys and values there (B, nh, n, hs) — a cache whose
   * positions < i are right once ids[:, < i] are — and what `step` needs besides: the conditioner's
   * vector at every position of the window (B, T, C) (upsamplers) and the lyrics' context (top).
   * Causal attention makes the first n positions of a whole window the same as these; sampling
   * prefills only the half of a window it has already sampled.
   */
  prefill(ids: Tensor, ctx: PriorContext): { logits: Tensor; kv: KVCache[]; extra?: Tensor; lyrics?: LyricsContext } {
    const cfg = this.cfg;
    const [B, Tn] = ids.shape as [number, number];
    if (!(Tn >= 1 && Tn <= cfg.context)) throw new TonyError('shape', `prior: windows are ${cfg.context} codes, got ${Tn}`);
    let first: Tensor; // (B, 1, C): the vector in the start token's place
    let extra: Tensor | undefined; // (B, T, C)
    if (this.conds) {
      if (!ctx.cond) throw new TonyError('usage', `the ${cfg.level} prior needs condition ids (B, 3)`);
      const [t, k, p] = T.split(ctx.cond, [1, 1, 1], 1); // (B, 1) each
      first = T.add(T.add(this.conds.timbre.forward(t!), this.conds.key.forward(k!)), this.conds.tempo.forward(p!)); // (B, 1, C)
    } else first = T.expand(T.reshape(this.start!, [1, 1, cfg.dModel]), [B, 1, cfg.dModel]);
    if (this.conditioner) {
      if (!ctx.upper) throw new TonyError('usage', `the ${cfg.level} upsampler needs the upper codes (B, ${Tn / cfg.ratio})`);
      extra = this.conditioner.forward(ctx.upper);
    }
    const lyrics = this.encodeLyrics(ctx.text);
    const whole = Tn === cfg.context;
    const prev = Tn > 1 ? this.tok.forward(T.slice(ids, 1, 0, Tn - 1)) : undefined; // (B, n − 1, C)
    let x = T.add(prev ? T.concat([first, prev], 1) : first, whole ? this.pos : T.slice(this.pos, 0, 0, Tn)); // (B, n, C)
    if (extra) x = T.add(x, whole ? extra : T.slice(extra, 1, 0, Tn));
    const kv: KVCache[] = [];
    for (const [j, b] of this.blocks.entries()) {
      const o = b.forward(x, lyrics && { kv: lyrics.kv[j]!, mask: lyrics.mask });
      x = o.y;
      kv.push(o.kv);
    }
    return { logits: this.head.forward(this.lnF.forward(x)), kv, ...(extra ? { extra } : {}), ...(lyrics ? { lyrics } : {}) };
  }

  /**
   * One position per row against the read-only cache (B, nh, T, hs per layer) of the window's
   * earlier positions: `prev` (B) int64 the code at position pos − 1, `pos` (B) int64 the position in
   * the window (≥ 1: position 0 is the condition's, always in a prefill), `hidden` (B, 1, 1, T) the
   * cache's mask (decodeMask at pos: positions ≥ pos hold a prefill's placeholders), `extra` (B, T, C)
   * the prefill's conditioner vectors (upsamplers), `lyrics` the prefill's lyrics context (top).
   * → logits (B, K) and each layer's key and value at pos (B, nh, 1, hs), which the caller writes
   * into the cache (Runtime's `write`): a graph that returned the whole updated cache copied all of it
   * every step, 40 % of a batch-48 step's kernel time (docs/results/jukebox.md, session 10).
   */
  step(
    prev: Tensor,
    pos: Tensor,
    hidden: Tensor,
    kv: KVCache[],
    o: { extra?: Tensor; lyrics?: LyricsContext } = {},
  ): { logits: Tensor; kv: KVCache[] } {
    const cfg = this.cfg;
    const B = prev.shape[0]!;
    let x = T.add(this.tok.forward(prev), T.gather(this.pos, pos)); // (B, C)
    if (o.extra) {
      // the conditioner's vector at pos: row b · T + pos[b] of extra (B · T, C)
      const starts = hostTensor(
        'int64',
        [B],
        Array.from({ length: B }, (_, b) => b * cfg.context),
      );
      const rows = T.add(pos, constant(starts));
      x = T.add(x, T.gather(T.reshape(o.extra, [B * cfg.context, cfg.dModel]), rows));
    }
    const out: KVCache[] = [];
    for (const [j, b] of this.blocks.entries()) {
      const r = b.step(x, hidden, kv[j]!, o.lyrics && { kv: o.lyrics.kv[j]!, mask: o.lyrics.mask });
      x = r.y;
      out.push(r.kv);
    }
    return { logits: this.head.forward(this.lnF.forward(x)), kv: out };
  }

  /** The lyrics' cross-attention keys and values for every layer, and their mask; none without lyrics. */
  private encodeLyrics(text: Tensor | undefined): LyricsContext | undefined {
    if (!this.lyrics) return undefined;
    if (!text) throw new TonyError('usage', `this top prior reads lyrics: it needs lyrics ids (B, ${this.cfg.lyrics})`);
    const { h, valid } = this.lyrics.forward(text);
    return { kv: this.blocks.map((b) => b.cross!.attn.contextKV(h)), mask: keyPaddingMask(valid) };
  }

  /** Mean cross-entropy (nats per code) of the window's codes. */
  loss(ids: Tensor, ctx: PriorContext): Tensor {
    const [B, Tn] = ids.shape as [number, number];
    const logits = this.forward(ids, ctx);
    return crossEntropy(T.reshape(logits, [B * Tn, this.cfg.codes]), T.reshape(ids, [B * Tn]));
  }
}
