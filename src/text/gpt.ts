/**
 * GPT, in the spirit of nanoGPT's model.py (Karpathy), which follows GPT-2 (Radford et al. 2019):
 * token + learned position embeddings, pre-LayerNorm transformer blocks (causal self-attention and
 * a GELU MLP, each in a residual branch), a final LayerNorm, and an output head tied to the token
 * embedding. Written once, traced into three graphs: the training step, evaluation, and one-token
 * decoding over a KV cache.
 */
import { resolveConfig } from '../config.ts';
import { TonyError } from '../errors.ts';
import { type HostTensor, hostTensor } from '../engine/dtype.ts';
import { CausalSelfAttention, Embedding, type KVCache, LayerNorm, MLP, ParamSet, crossEntropy, prng } from '../engine/nn.ts';
import * as T from '../engine/ops/index.ts';
import { exportOnnx, type OnnxModel } from '../engine/onnx.ts';
import type { Runtime } from '../engine/runtime.ts';
import { stateKey } from '../engine/optim.ts';
import { type Tensor, constant, input } from '../engine/tensor.ts';

export const GPT_DEFAULTS = {
  /** Vocabulary size (byte-level: 256 bytes + end-of-text). */
  vocabSize: 257,
  /** Context length T. */
  blockSize: 128,
  nLayer: 4,
  nHead: 4,
  /** Model width C. */
  dModel: 128,
};
export type GPTConfig = typeof GPT_DEFAULTS;

/** Named presets. `bench` is the engine benchmark's model (DESIGN.md). */
export const GPT_PRESETS: Record<string, Partial<GPTConfig>> = {
  tiny: { nLayer: 2, nHead: 2, dModel: 64, blockSize: 64 },
  small: { nLayer: 4, nHead: 4, dModel: 128, blockSize: 128 },
  bench: { vocabSize: 512, nLayer: 2, nHead: 4, dModel: 256, blockSize: 128 },
  large: { vocabSize: 512, nLayer: 6, nHead: 8, dModel: 512, blockSize: 256 },
};

export function gptConfig(overrides: Record<string, unknown> = {}): Readonly<GPTConfig> {
  const cfg = resolveConfig('gpt', GPT_DEFAULTS, overrides);
  if (cfg.dModel % cfg.nHead !== 0) {
    throw new TonyError('config', `gpt: dModel ${cfg.dModel} must be divisible by nHead ${cfg.nHead}`);
  }
  for (const [k, v] of Object.entries(cfg)) {
    if (!Number.isInteger(v) || v <= 0) throw new TonyError('config', `gpt: ${k} must be a positive integer, got ${v}`);
  }
  return cfg;
}

class Block {
  readonly ln1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;
  constructor(ps: ParamSet, name: string, cfg: GPTConfig) {
    // GPT-2: residual projections scaled by 1/√(2·nLayer) at init.
    const projStd = 0.02 / Math.sqrt(2 * cfg.nLayer);
    this.ln1 = new LayerNorm(ps, `${name}.ln1`, cfg.dModel);
    this.attn = new CausalSelfAttention(ps, `${name}.attn`, cfg.dModel, cfg.nHead, projStd);
    this.ln2 = new LayerNorm(ps, `${name}.ln2`, cfg.dModel);
    this.mlp = new MLP(ps, `${name}.mlp`, cfg.dModel, 4 * cfg.dModel, projStd);
  }

  forward(x: Tensor): Tensor {
    x = T.add(x, this.attn.forward(this.ln1.forward(x)));
    return T.add(x, this.mlp.forward(this.ln2.forward(x)));
  }

  forwardCached(x: Tensor, pos: Tensor, cache: KVCache): { x: Tensor; cache: KVCache } {
    const a = this.attn.forwardCached(this.ln1.forward(x), pos, cache);
    x = T.add(x, a.y);
    return { x: T.add(x, this.mlp.forward(this.ln2.forward(x))), cache: a.cache };
  }
}

export class GPT {
  readonly ps = new ParamSet();
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly blocks: Block[];
  readonly lnF: LayerNorm;

  constructor(readonly cfg: Readonly<GPTConfig>) {
    this.wte = new Embedding(this.ps, 'wte', cfg.vocabSize, cfg.dModel);
    this.wpe = new Embedding(this.ps, 'wpe', cfg.blockSize, cfg.dModel);
    this.blocks = Array.from({ length: cfg.nLayer }, (_, i) => new Block(this.ps, `h.${i}`, cfg));
    this.lnF = new LayerNorm(this.ps, 'ln_f', cfg.dModel);
  }

  /** idx (B, T) int64 → logits (B, T, V). */
  forward(idx: Tensor): Tensor {
    const [B, Tn] = idx.shape as [number, number];
    if (Tn > this.cfg.blockSize) throw new TonyError('shape', `gpt: sequence length ${Tn} exceeds blockSize ${this.cfg.blockSize}`);
    const pos = T.reshape(positions(Tn), [1, Tn]);
    let x = T.add(this.wte.forward(idx), this.wpe.forward(pos)); // (B, T, C)
    for (const block of this.blocks) x = block.forward(x);
    x = this.lnF.forward(x);
    // Weight tying (Press & Wolf 2017): the head is the token embedding, transposed.
    const logits = T.matmul(T.reshape(x, [B * Tn, this.cfg.dModel]), T.transpose(this.wte.weight, [1, 0])); // (B·T, V)
    return T.reshape(logits, [B, Tn, this.cfg.vocabSize]);
  }

  /** Mean next-token cross-entropy of idx (B, T) against targets (B, T). */
  loss(idx: Tensor, targets: Tensor): Tensor {
    const [B, Tn] = idx.shape as [number, number];
    const logits = this.forward(idx);
    return crossEntropy(T.reshape(logits, [B * Tn, this.cfg.vocabSize]), T.reshape(targets, [B * Tn]));
  }

  /** One decoding step: idx (B, 1) at position pos → logits (B, V) and the updated caches. */
  decodeStep(idx: Tensor, pos: Tensor, caches: KVCache[]): { logits: Tensor; caches: KVCache[] } {
    const B = idx.shape[0]!;
    let x = T.add(this.wte.forward(idx), this.wpe.forward(T.reshape(pos, [1, 1]))); // (B, 1, C)
    const next: KVCache[] = [];
    this.blocks.forEach((block, i) => {
      const r = block.forwardCached(x, pos, caches[i]!);
      x = r.x;
      next.push(r.cache);
    });
    x = this.lnF.forward(x);
    const logits = T.matmul(T.reshape(x, [B, this.cfg.dModel]), T.transpose(this.wte.weight, [1, 0])); // (B, V)
    return { logits, caches: next };
  }

  /** Parameters excluding embeddings (the N of scaling laws). */
  get nonEmbeddingParams(): number {
    return this.ps.count((s) => !s.name.startsWith('wte.') && !s.name.startsWith('wpe.'));
  }
}

const positions = (n: number) => constant(hostTensor('int64', [n], Array.from({ length: n }, (_, i) => i)));

// ---------------------------------------------------------------------------------------------
// Graphs

/** Evaluation graph: params (from runtime state) + batch → loss. */
export function buildEvalGraph(cfg: Readonly<GPTConfig>, batch: number): { model: OnnxModel; state: Record<string, string> } {
  const gpt = new GPT(cfg);
  const idx = input('idx', [batch, cfg.blockSize], 'int64');
  const targets = input('targets', [batch, cfg.blockSize], 'int64');
  const loss = gpt.loss(idx, targets);
  return { model: exportOnnx([idx, targets, ...gpt.ps.inputs], { loss }, { name: 'gpt_eval' }), state: paramState(gpt) };
}

const paramState = (gpt: GPT) => Object.fromEntries(gpt.ps.specs.map((s) => [s.name, stateKey.param(s.name)]));

/** Decoding graph over a KV cache of `cacheLen` positions for `batch` sequences. */
export function buildDecodeGraph(cfg: Readonly<GPTConfig>, batch: number, cacheLen = cfg.blockSize) {
  const gpt = new GPT(cfg);
  const hs = cfg.dModel / cfg.nHead;
  const idx = input('idx', [batch, 1], 'int64');
  const pos = input('pos', [], 'int64');
  const caches = gpt.blocks.map((_, i) => ({
    k: input(`cache.${i}.k`, [batch, cfg.nHead, cacheLen, hs]),
    v: input(`cache.${i}.v`, [batch, cfg.nHead, cacheLen, hs]),
  }));
  const out = gpt.decodeStep(idx, pos, caches);
  const outputs: Record<string, Tensor> = { logits: out.logits };
  const state = paramState(gpt);
  const update: Record<string, string> = {};
  out.caches.forEach((c, i) => {
    outputs[`new.cache.${i}.k`] = c.k;
    outputs[`new.cache.${i}.v`] = c.v;
    state[`cache.${i}.k`] = update[`new.cache.${i}.k`] = `kv:${i}:k`;
    state[`cache.${i}.v`] = update[`new.cache.${i}.v`] = `kv:${i}:v`;
  });
  const ins = [idx, pos, ...caches.flatMap((c) => [c.k, c.v]), ...gpt.ps.inputs];
  return { model: exportOnnx(ins, outputs, { name: 'gpt_decode' }), state, update, cacheShape: [batch, cfg.nHead, cacheLen, hs] };
}

export interface SampleOptions {
  maxNewTokens: number;
  temperature?: number;
  topK?: number;
  seed?: number;
  /** Stop a sequence when this token is produced. */
  stopToken?: number;
}

/**
 * Sample continuations of `prompts` (token ids) with the parameters held in `rt`'s state.
 * Incremental: each new token costs one decoding step over the KV cache. Deterministic in seed.
 */
export async function sample(rt: Runtime, cfg: Readonly<GPTConfig>, prompts: number[][], opts: SampleOptions): Promise<number[][]> {
  const B = prompts.length;
  const longest = Math.max(...prompts.map((p) => p.length));
  if (prompts.some((p) => p.length === 0)) throw new TonyError('usage', 'sample: every prompt needs at least one token');
  const total = Math.min(cfg.blockSize, longest + opts.maxNewTokens);
  const g = buildDecodeGraph(cfg, B);
  const session = await rt.load(g.model);
  const zeros: Record<string, HostTensor> = {};
  for (const key of Object.values(g.update)) zeros[key] = hostTensor('float32', g.cacheShape);
  await rt.setState(zeros);

  const r = prng(opts.seed ?? 0);
  const out = prompts.map((p) => [...p]);
  const done = new Array<boolean>(B).fill(false);
  // Positions < len(prompt) feed the prompt (prefill, one token at a time); later ones feed samples.
  for (let t = 0; t < total - 1; t++) {
    const idx = hostTensor('int64', [B, 1], out.map((seq) => seq[t] ?? 0));
    const res = await rt.run(session, { idx, pos: hostTensor('int64', [], [t]) }, { state: g.state, update: g.update, fetch: ['logits'] });
    const logits = res.logits!.data as Float32Array;
    for (let b = 0; b < B; b++) {
      if (t + 1 < out[b]!.length || done[b]) continue; // still in the prompt, or finished
      const tok = pick(logits.subarray(b * cfg.vocabSize, (b + 1) * cfg.vocabSize), opts, r.next);
      out[b]!.push(tok);
      if (tok === opts.stopToken || out[b]!.length - prompts[b]!.length >= opts.maxNewTokens) done[b] = true;
    }
    if (done.every(Boolean)) break;
  }
  await rt.dropState(Object.values(g.update));
  return out.map((seq, b) => seq.slice(prompts[b]!.length));
}

/** Temperature / top-k sampling from one row of logits (temperature 0 = greedy). */
function pick(logits: Float32Array, opts: SampleOptions, rand: () => number): number {
  const temp = opts.temperature ?? 1;
  if (temp === 0) return logits.indexOf(Math.max(...logits));
  let order = Array.from(logits.keys());
  if (opts.topK && opts.topK < logits.length) order = order.sort((a, b) => logits[b]! - logits[a]!).slice(0, opts.topK);
  const m = Math.max(...order.map((i) => logits[i]!));
  const w = order.map((i) => Math.exp((logits[i]! - m) / temp));
  let u = rand() * w.reduce((a, b) => a + b, 0);
  for (let k = 0; k < w.length; k++) if ((u -= w[k]!) <= 0) return order[k]!;
  return order[order.length - 1]!;
}
