/**
 * GPT, in the spirit of nanoGPT's model.py (Karpathy), which follows GPT-2 (Radford et al. 2019):
 * token + learned position embeddings, pre-LayerNorm transformer blocks (causal self-attention and
 * a GELU MLP, each in a residual branch), a final LayerNorm, and an output head tied to the token
 * embedding. Written once, traced into three graphs: the training step, evaluation, and one-token
 * decoding over a KV cache.
 */
import { resolveConfig } from '../../config.ts';
import { hostTensor } from '../../engine/dtype.ts';
import {
  CausalSelfAttention,
  crossEntropy,
  Dropout,
  Embedding,
  type KVCache,
  LayerNorm,
  MLP,
  ParamSet,
  sampleCategorical,
} from '../../engine/nn.ts';
import { exportOnnx } from '../../engine/onnx.ts';
import * as T from '../../engine/ops/index.ts';
import { weightState } from '../../engine/state.ts';
import { constant, input, type Tensor } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';

const GPT_DEFAULTS = {
  /** Vocabulary size (byte-level: 256 bytes + end-of-text + 3 FIM specials). */
  vocabSize: 260,
  /** Context length T. */
  blockSize: 128,
  nLayer: 4,
  nHead: 4,
  /** Model width C. */
  dModel: 128,
  /** Dropout on embeddings and residual branches while training (nanoGPT: 0 for pretraining). */
  dropout: 0,
  /**
   * 1: past 256 positions, recompute the attention probabilities in the backward pass instead of
   * keeping them (less memory, more time; docs/results/engine.md). Training only; decoding and the
   * logits are the same either way.
   */
  recomputeAttention: 0,
};
export type GPTConfig = typeof GPT_DEFAULTS;

/**
 * Named presets (vocabSize comes from the tokenizer unless set). `bench` and `bench-large` are the
 * engine benchmark's models (issue 2); `small` is `npm start`'s byte-level default.
 */
export const GPT_PRESETS: Record<string, Partial<GPTConfig>> = {
  tiny: { nLayer: 2, nHead: 2, dModel: 64, blockSize: 64 },
  small: { nLayer: 4, nHead: 4, dModel: 128, blockSize: 128 },
  code: { nLayer: 4, nHead: 4, dModel: 128, blockSize: 256 },
  medium: { nLayer: 6, nHead: 6, dModel: 192, blockSize: 256 },
  large: { nLayer: 8, nHead: 8, dModel: 256, blockSize: 256 },
  bench: { vocabSize: 512, nLayer: 2, nHead: 4, dModel: 256, blockSize: 128 },
  'bench-large': { vocabSize: 512, nLayer: 6, nHead: 8, dModel: 512, blockSize: 256 },
};

export function gptConfig(overrides: Record<string, unknown> = {}): Readonly<GPTConfig> {
  const cfg = resolveConfig('gpt', GPT_DEFAULTS, overrides);
  if (cfg.dModel % cfg.nHead !== 0) {
    throw new TonyError('config', `gpt: dModel ${cfg.dModel} must be divisible by nHead ${cfg.nHead}`);
  }
  if (cfg.recomputeAttention !== 0 && cfg.recomputeAttention !== 1) {
    throw new TonyError('config', `gpt: recomputeAttention must be 0 or 1, got ${cfg.recomputeAttention}`);
  }
  for (const [k, v] of Object.entries(cfg)) {
    if (k === 'dropout' || k === 'recomputeAttention') continue; // range-checked by Dropout / above
    if (!Number.isInteger(v) || v <= 0) throw new TonyError('config', `gpt: ${k} must be a positive integer, got ${v}`);
  }
  return cfg;
}

class Block {
  readonly ln1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;
  readonly drop1: Dropout;
  readonly drop2: Dropout;
  constructor(
    ps: ParamSet,
    name: string,
    cfg: GPTConfig,
    layer: number,
    readonly training: boolean,
  ) {
    // GPT-2: residual projections scaled by 1/√(2·nLayer) at init.
    const projStd = 0.02 / Math.sqrt(2 * cfg.nLayer);
    this.ln1 = new LayerNorm(ps, `${name}.ln1`, cfg.dModel);
    this.attn = new CausalSelfAttention(ps, `${name}.attn`, cfg.dModel, cfg.nHead, projStd, cfg.recomputeAttention === 1);
    this.ln2 = new LayerNorm(ps, `${name}.ln2`, cfg.dModel);
    this.mlp = new MLP(ps, `${name}.mlp`, cfg.dModel, 4 * cfg.dModel, projStd);
    // One seed per dropout site: sites sharing a seed would draw identical masks.
    this.drop1 = new Dropout(cfg.dropout, 2 * layer + 1);
    this.drop2 = new Dropout(cfg.dropout, 2 * layer + 2);
  }

  forward(x: Tensor): Tensor {
    x = T.add(x, this.drop1.forward(this.attn.forward(this.ln1.forward(x)), this.training));
    return T.add(x, this.drop2.forward(this.mlp.forward(this.ln2.forward(x)), this.training));
  }

  /** forward, also returning this layer's keys and values (B, nh, T, hs) to seed a KV cache. */
  forwardWithKV(x: Tensor): { x: Tensor; cache: KVCache } {
    const a = this.attn.forwardWithKV(this.ln1.forward(x));
    x = T.add(x, a.y);
    return { x: T.add(x, this.mlp.forward(this.ln2.forward(x))), cache: { k: a.k, v: a.v } };
  }

  forwardCached(x: Tensor, pos: Tensor, cache: KVCache): { x: Tensor; cache: KVCache } {
    const a = this.attn.forwardCached(this.ln1.forward(x), pos, cache);
    x = T.add(x, a.y);
    return { x: T.add(x, this.mlp.forward(this.ln2.forward(x))), cache: a.cache };
  }
  forwardAppend(x: Tensor, hidden: Tensor, cache: KVCache, recent?: KVCache): { x: Tensor; kv: KVCache } {
    const a = this.attn.forwardAppend(this.ln1.forward(x), hidden, cache, recent);
    x = T.add(x, a.y);
    return { x: T.add(x, this.mlp.forward(this.ln2.forward(x))), kv: { k: a.k, v: a.v } };
  }
}

export class GPT {
  readonly ps = new ParamSet();
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly blocks: Block[];
  readonly lnF: LayerNorm;
  readonly drop: Dropout;

  /** `training` switches dropout on (the training-step graph); evaluation and decoding leave it off. */
  constructor(
    readonly cfg: Readonly<GPTConfig>,
    readonly training = false,
  ) {
    this.wte = new Embedding(this.ps, 'wte', cfg.vocabSize, cfg.dModel);
    this.wpe = new Embedding(this.ps, 'wpe', cfg.blockSize, cfg.dModel);
    this.drop = new Dropout(cfg.dropout, 0);
    this.blocks = Array.from({ length: cfg.nLayer }, (_, i) => new Block(this.ps, `h.${i}`, cfg, i, training));
    this.lnF = new LayerNorm(this.ps, 'ln_f', cfg.dModel);
  }

  /**
   * idx (B, T) int64 → the final hidden states (B, T, C), after the last LayerNorm: what the
   * language-model head reads, and what a value head (a GSM8K verifier's) reads beside it.
   */
  hidden(idx: Tensor): Tensor {
    const Tn = idx.shape[1]!;
    if (Tn > this.cfg.blockSize) throw new TonyError('shape', `gpt: sequence length ${Tn} exceeds blockSize ${this.cfg.blockSize}`);
    const pos = T.reshape(positions(Tn), [1, Tn]);
    let x = this.drop.forward(T.add(this.wte.forward(idx), this.wpe.forward(pos)), this.training); // (B, T, C)
    for (const block of this.blocks) x = block.forward(x);
    return this.lnF.forward(x);
  }

  /** idx (B, T) int64 → logits (B, T, V). */
  forward(idx: Tensor): Tensor {
    // Weight tying (Press & Wolf 2017): the head is the token embedding, transposed.
    return this.head(this.hidden(idx));
  }

  /** Mean next-token cross-entropy of idx (B, T) against targets (B, T). */
  loss(idx: Tensor, targets: Tensor): Tensor {
    const [B, Tn] = idx.shape as [number, number];
    const logits = this.forward(idx);
    return crossEntropy(T.reshape(logits, [B * Tn, this.cfg.vocabSize]), T.reshape(targets, [B * Tn]));
  }

  /**
   * Prefill: idx (B, T) → logits (B, T, V) and every layer's keys/values (B, nh, T, hs), which
   * become the KV cache for decoding (T = blockSize; positions past a row's prompt are masked later).
   */
  prefill(idx: Tensor): { logits: Tensor; caches: KVCache[] } {
    const Tn = idx.shape[1]!;
    let x = T.add(this.wte.forward(idx), this.wpe.forward(T.reshape(positions(Tn), [1, Tn]))); // (B, T, C)
    const caches: KVCache[] = [];
    for (const block of this.blocks) {
      const r = block.forwardWithKV(x);
      x = r.x;
      caches.push(r.cache);
    }
    return { logits: this.head(this.lnF.forward(x)), caches };
  }

  /** One decoding step: idx (B, 1), row b at position pos[b] → logits (B, V) and updated caches. */
  decodeStep(idx: Tensor, pos: Tensor, caches: KVCache[]): { logits: Tensor; caches: KVCache[] } {
    const B = idx.shape[0]!;
    let x = T.add(this.wte.forward(idx), this.wpe.forward(T.reshape(pos, [B, 1]))); // (B, 1, C)
    const next: KVCache[] = [];
    this.blocks.forEach((block, i) => {
      const r = block.forwardCached(x, pos, caches[i]!);
      x = r.x;
      next.push(r.cache);
    });
    return { logits: T.reshape(this.head(this.lnF.forward(x)), [B, this.cfg.vocabSize]), caches: next };
  }

  /**
   * decodeStep over a read-only cache: logits (B, V) and each layer's new key and value
   * (B, nh, 1, hs), which the caller writes into the cache at pos. `hidden` (B, 1, 1, L): the
   * cache's mask (`decodeMask`).
   */
  decodeAppend(idx: Tensor, pos: Tensor, hidden: Tensor, caches: KVCache[]): { logits: Tensor; kv: KVCache[] } {
    const B = idx.shape[0]!;
    // (B, C) throughout: one token per row needs no sequence axis (and no Reshapes around the Gemms).
    let x = T.add(this.wte.forward(T.reshape(idx, [B])), this.wpe.forward(pos)); // (B, C)
    const kv: KVCache[] = [];
    this.blocks.forEach((block, i) => {
      const r = block.forwardAppend(x, hidden, caches[i]!);
      x = r.x;
      kv.push(r.kv);
    });
    return { logits: this.headRows(this.lnF.forward(x)), kv };
  }

  /** x (B, C) → logits (B, V) through the tied head. */
  private headRows(x: Tensor): Tensor {
    return T.matmul(x, T.transpose(this.wte.weight, [1, 0]));
  }

  /**
   * `steps` decoding steps in one graph over a read-only cache: idx (B, 1) at pos (B) is fed, and
   * each step's token, chosen by `pick(logits (B, V), step)` → (B, 1) int64, is fed to the next
   * step at the next position. Returns the picked tokens (B, steps) and each layer's keys and
   * values of the fed tokens (B, nh, steps, hs), which the caller writes into the cache at pos.
   * One graph call per `steps` tokens divides the per-call costs (the thread hand-off, feeds, the
   * caller's loop) by `steps`.
   */
  decodeSteps(idx: Tensor, pos: Tensor, hidden: Tensor, caches: KVCache[], steps: number, pick: (logits: Tensor, step: number) => Tensor) {
    // `hidden` (decodeMask at pos) serves every step: the cache ends at pos throughout the call.
    let tok = idx;
    const tokens: Tensor[] = [];
    let recent: (KVCache | undefined)[] = this.blocks.map(() => undefined);
    for (let j = 0; j < steps; j++) {
      const at = j === 0 ? pos : T.add(pos, j);
      let x = T.add(this.wte.forward(T.reshape(tok, [tok.shape[0]!])), this.wpe.forward(at)); // (B, C), as decodeAppend
      recent = this.blocks.map((block, i) => {
        const r = block.forwardAppend(x, hidden, caches[i]!, recent[i]);
        x = r.x;
        const before = recent[i];
        return before ? { k: T.concat([before.k, r.kv.k], 2), v: T.concat([before.v, r.kv.v], 2) } : r.kv;
      });
      tok = pick(this.headRows(this.lnF.forward(x)), j);
      tokens.push(tok);
    }
    return { tokens: steps === 1 ? tokens[0]! : T.concat(tokens, 1), kv: recent as KVCache[] };
  }

  /** x (B, T, C) → logits (B, T, V) through the tied head (a verifier's value reads one of them). */
  head(x: Tensor): Tensor {
    const [B, Tn] = x.shape as [number, number, number];
    const logits = T.matmul(T.reshape(x, [B * Tn, this.cfg.dModel]), T.transpose(this.wte.weight, [1, 0])); // (B·T, V)
    return T.reshape(logits, [B, Tn, this.cfg.vocabSize]);
  }

  /** Parameters excluding embeddings (the N of scaling laws). */
  get nonEmbeddingParams(): number {
    return this.ps.count((s) => !s.name.startsWith('wte.') && !s.name.startsWith('wpe.'));
  }
}

const positions = (n: number) =>
  constant(
    hostTensor(
      'int64',
      [n],
      Array.from({ length: n }, (_, i) => i),
    ),
  );

// ---------------------------------------------------------------------------------------------
// Graphs

const paramState = (gpt: GPT) => weightState(gpt.ps);

/** Runtime state keys of the KV cache for layer i. */
const cacheKey = (i: number, kv: 'k' | 'v') => `kv:${i}:${kv}`;

/**
 * Prefill graph: idx (B, T = length, blockSize unless shorter), padded past each row's prompt, and
 * last (B) = the index of each row's last prompt token → logits at that position (B, V) and the
 * keys and values (B, nh, T, hs) per layer, which `update` puts into state as the KV cache (the
 * studio's page and buildDecodeGraph), or generate.ts writes into a blockSize cache (Runtime's
 * `write`), prefilling only a bucket just long enough for the prompts.
 */
export function buildPrefillGraph(cfg: Readonly<GPTConfig>, batch: number, length = cfg.blockSize) {
  const gpt = new GPT(cfg);
  const idx = input('idx', [batch, length], 'int64');
  const last = input('last', [batch], 'int64');
  const out = gpt.prefill(idx);
  const at = T.expand(T.reshape(last, [batch, 1, 1]), [batch, 1, cfg.vocabSize]);
  const outputs: Record<string, Tensor> = { logits: T.reshape(T.takeAlong(out.logits, at, 1), [batch, cfg.vocabSize]) };
  const update: Record<string, string> = {};
  out.caches.forEach((c, i) => {
    outputs[`cache.${i}.k`] = c.k;
    outputs[`cache.${i}.v`] = c.v;
    update[`cache.${i}.k`] = cacheKey(i, 'k');
    update[`cache.${i}.v`] = cacheKey(i, 'v');
  });
  return { model: exportOnnx([idx, last, ...gpt.ps.inputs], outputs, { name: 'gpt_prefill' }), state: paramState(gpt), update };
}

/** The inputs the decoding graphs take: one token and its position per row, and the KV cache. */
function decodeInputs(cfg: Readonly<GPTConfig>, batch: number) {
  const gpt = new GPT(cfg);
  const hs = cfg.dModel / cfg.nHead;
  const cacheShape = [batch, cfg.nHead, cfg.blockSize, hs];
  const idx = input('idx', [batch, 1], 'int64');
  const pos = input('pos', [batch], 'int64');
  const caches = gpt.blocks.map((_, i) => ({ k: input(`cache.${i}.k`, cacheShape), v: input(`cache.${i}.v`, cacheShape) }));
  return { gpt, cacheShape, idx, pos, caches };
}

/**
 * The append graphs' cache length is symbolic (`L`, traced at blockSize): generate feeds a cache
 * just long enough for the filled positions (cacheLength), so a step attends over them rather than
 * over the whole context — PyTorch's growing cache does the same. With `hidden`, the mask over it.
 */
function appendInputs(cfg: Readonly<GPTConfig>, batch: number) {
  const inputs = decodeInputs(cfg, batch);
  const hidden = input('hidden', [batch, 1, 1, cfg.blockSize]);
  const dims: Record<string, Record<number, string>> = { hidden: { 3: CACHE_DIM } };
  for (const c of inputs.caches) dims[c.k.name!] = dims[c.v.name!] = { 2: CACHE_DIM };
  return { ...inputs, hidden, dims };
}

const CACHE_DIM = 'L';

/**
 * Positions of cache an append graph is fed when the furthest row writes up to position `end` − 1:
 * `end` rounded up to CACHE_CHUNK, at most the block. The runtime grows the cache by a copy when
 * this grows (Runtime's `write`, `length`): once per chunk, where a step attends over the chunk's
 * padding every time (docs/results/engine.md, issue 22).
 */
export function cacheLength(end: number, blockSize: number): number {
  return Math.min(blockSize, Math.ceil(end / CACHE_CHUNK) * CACHE_CHUNK);
}
const CACHE_CHUNK = 32;

/** Decoding graph: one token per row over a KV cache of blockSize positions. */
export function buildDecodeGraph(cfg: Readonly<GPTConfig>, batch: number) {
  const { gpt, cacheShape, idx, pos, caches } = decodeInputs(cfg, batch);
  const out = gpt.decodeStep(idx, pos, caches);
  const outputs: Record<string, Tensor> = { logits: out.logits };
  const state = paramState(gpt);
  const update: Record<string, string> = {};
  out.caches.forEach((c, i) => {
    outputs[`new.cache.${i}.k`] = c.k;
    outputs[`new.cache.${i}.v`] = c.v;
    state[`cache.${i}.k`] = update[`new.cache.${i}.k`] = cacheKey(i, 'k');
    state[`cache.${i}.v`] = update[`new.cache.${i}.v`] = cacheKey(i, 'v');
  });
  const ins = [idx, pos, ...caches.flatMap((c) => [c.k, c.v]), ...gpt.ps.inputs];
  return { model: exportOnnx(ins, outputs, { name: 'gpt_decode' }), state, update, cacheShape };
}

/**
 * Decoding graph over a read-only KV cache of blockSize positions (state `kv:<layer>:<k|v>`): one
 * token per row → logits (B, V) and outputs `k.<layer>` / `v.<layer>` (B, nh, 1, hs), written into
 * the cache at pos by the caller (`write`, keys in `writeKeys`). What generate.ts runs: no copy of
 * the cache per step, where buildDecodeGraph's updated-cache outputs copy it twice per layer.
 */
export function buildAppendDecodeGraph(cfg: Readonly<GPTConfig>, batch: number) {
  const { gpt, idx, pos, caches, hidden, dims } = appendInputs(cfg, batch);
  const out = gpt.decodeAppend(idx, pos, hidden, caches);
  const outputs: Record<string, Tensor> = { logits: out.logits };
  const state = paramState(gpt);
  const writeKeys: Record<string, string> = {};
  out.kv.forEach((c, i) => {
    outputs[`k.${i}`] = c.k;
    outputs[`v.${i}`] = c.v;
    state[`cache.${i}.k`] = writeKeys[`k.${i}`] = cacheKey(i, 'k');
    state[`cache.${i}.v`] = writeKeys[`v.${i}`] = cacheKey(i, 'v');
  });
  const ins = [idx, pos, hidden, ...caches.flatMap((c) => [c.k, c.v]), ...gpt.ps.inputs];
  return { model: exportOnnx(ins, outputs, { name: 'gpt_decode_append', dims }), state, writeKeys };
}

/**
 * `steps` tokens per call (GPT.decodeSteps), each picked inside the graph: greedy (argmax) or, with
 * `sample`, drawn from softmax(logits / temperature) by `sampleCategorical` with the uniforms fed
 * as `u` (B, steps) and 1 / temperature as `invTemp` (1). Outputs `tokens` (B, steps) int64 and the
 * fed tokens' keys and values (`writeKeys`, as buildAppendDecodeGraph's, `steps` positions each).
 */
export function buildStepsDecodeGraph(cfg: Readonly<GPTConfig>, batch: number, steps: number, sample: boolean) {
  const { gpt, idx, pos, caches, hidden, dims } = appendInputs(cfg, batch);
  const u = input('u', [batch, steps]);
  const invTemp = input('invTemp', [1]);
  const pick = sample
    ? (logits: Tensor, j: number) => sampleCategorical(logits, T.reshape(T.slice(u, 1, j, j + 1), [batch]), invTemp)
    : (logits: Tensor) => T.argmax(logits, -1, true);
  const out = gpt.decodeSteps(idx, pos, hidden, caches, steps, pick);
  const outputs: Record<string, Tensor> = { tokens: out.tokens };
  const state = paramState(gpt);
  const writeKeys: Record<string, string> = {};
  out.kv.forEach((c, i) => {
    outputs[`k.${i}`] = c.k;
    outputs[`v.${i}`] = c.v;
    state[`cache.${i}.k`] = writeKeys[`k.${i}`] = cacheKey(i, 'k');
    state[`cache.${i}.v`] = writeKeys[`v.${i}`] = cacheKey(i, 'v');
  });
  const ins = [idx, pos, hidden, ...(sample ? [u, invTemp] : []), ...caches.flatMap((c) => [c.k, c.v]), ...gpt.ps.inputs];
  return { model: exportOnnx(ins, outputs, { name: `gpt_decode_${steps}`, dims }), state, writeKeys };
}

/**
 * Full-context graph without a cache: idx (B, T = blockSize) → logits at position `last` (B, V).
 * What decoding costs when every token recomputes the whole context (the decode benchmark's baseline).
 */
export function buildRecomputeGraph(cfg: Readonly<GPTConfig>, batch: number) {
  const gpt = new GPT(cfg);
  const idx = input('idx', [batch, cfg.blockSize], 'int64');
  const last = input('last', [batch], 'int64');
  const at = T.expand(T.reshape(last, [batch, 1, 1]), [batch, 1, cfg.vocabSize]);
  const logits = T.reshape(T.takeAlong(gpt.forward(idx), at, 1), [batch, cfg.vocabSize]);
  return { model: exportOnnx([idx, last, ...gpt.ps.inputs], { logits }, { name: 'gpt_recompute' }), state: paramState(gpt) };
}
