/**
 * Neural-network building blocks. A model is built by constructing blocks on a ParamSet, which
 * declares each parameter as a named graph input and remembers how to initialise it; calling the
 * blocks traces the forward pass. Each trace (training step, evaluation, decoding) constructs the
 * model anew on a fresh ParamSet, so the same parameter names line up across graphs.
 */
import { TonyError } from '../errors.ts';
import { prng } from '../random.ts';
import { type DType, type HostTensor, hostTensor } from './dtype.ts';
import * as T from './ops/index.ts';
import { constant, input, type Tensor } from './tensor.ts';

export type Init = { kind: 'normal'; std: number } | { kind: 'zeros' } | { kind: 'ones' } | { kind: 'uniform'; bound: number };

export interface ParamSpec {
  name: string;
  shape: readonly number[];
  init: Init;
  /** Whether AdamW's weight decay applies (matrices yes; biases, norms, gains no — as in nanoGPT). */
  decay: boolean;
}

export class ParamSet {
  readonly specs: ParamSpec[] = [];
  private tensors = new Map<string, Tensor>();

  /** Declare (or fetch, when shared: tied weights) a parameter. */
  param(name: string, shape: readonly number[], init: Init, decay = shape.length >= 2): Tensor {
    const existing = this.tensors.get(name);
    if (existing) {
      if (existing.shape.join() !== shape.join()) {
        throw new TonyError('shape', `parameter '${name}' declared twice with shapes [${existing.shape}] and [${shape}]`);
      }
      return existing;
    }
    const t = input(name, shape, 'float32');
    this.specs.push({ name, shape: [...shape], init, decay });
    this.tensors.set(name, t);
    return t;
  }

  get inputs(): Tensor[] {
    return [...this.tensors.values()];
  }

  count(filter: (s: ParamSpec) => boolean = () => true): number {
    return this.specs.filter(filter).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  }

  /**
   * Initial values, deterministic in (seed, parameter name): independent of declaration order, so
   * adding a block does not change the initialisation of the others.
   */
  initialize(seed: number): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = {};
    for (const s of this.specs) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const r = prng(hashString(s.name) ^ Math.imul(seed, 0x9e3779b1));
      const v = new Float32Array(n);
      const init = s.init;
      if (init.kind === 'ones') v.fill(1);
      else if (init.kind === 'normal') for (let i = 0; i < n; i++) v[i] = init.std * r.normal();
      else if (init.kind === 'uniform') for (let i = 0; i < n; i++) v[i] = init.bound * (2 * r.next() - 1);
      out[s.name] = { dtype: 'float32', shape: [...s.shape], data: v };
    }
    return out;
  }
}

function hashString(s: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export { prng } from '../random.ts';

// ---------------------------------------------------------------------------------------------
// Blocks

export class Linear {
  readonly w: Tensor;
  readonly b: Tensor | undefined;
  constructor(
    ps: ParamSet,
    name: string,
    readonly nIn: number,
    readonly nOut: number,
    opts: { bias?: boolean; std?: number } = {},
  ) {
    this.w = ps.param(`${name}.weight`, [nIn, nOut], { kind: 'normal', std: opts.std ?? 0.02 });
    this.b = opts.bias === false ? undefined : ps.param(`${name}.bias`, [nOut], { kind: 'zeros' });
  }

  /** x[..., nIn] → [..., nOut]; activations are folded to 2-D around the matmul. */
  forward(x: Tensor): Tensor {
    const lead = x.shape.slice(0, -1);
    const y = T.matmul(T.reshape(x, [-1, this.nIn]), this.w); // (N, nOut)
    return T.reshape(this.b ? T.add(y, this.b) : y, [...lead, this.nOut]);
  }
}

export class Embedding {
  readonly weight: Tensor;
  constructor(
    ps: ParamSet,
    name: string,
    readonly n: number,
    readonly dim: number,
    std = 0.02,
  ) {
    this.weight = ps.param(`${name}.weight`, [n, dim], { kind: 'normal', std });
  }

  /** ids (any shape, int64) → [...ids.shape, dim]. */
  forward(ids: Tensor): Tensor {
    return T.gather(this.weight, ids);
  }
}

export class LayerNorm {
  readonly w: Tensor;
  readonly b: Tensor;
  constructor(
    ps: ParamSet,
    name: string,
    dim: number,
    readonly eps = 1e-5,
  ) {
    this.w = ps.param(`${name}.weight`, [dim], { kind: 'ones' }, false);
    this.b = ps.param(`${name}.bias`, [dim], { kind: 'zeros' }, false);
  }

  forward(x: Tensor): Tensor {
    return T.layerNorm(x, this.w, this.b, this.eps);
  }
}

export class MLP {
  readonly fc: Linear;
  readonly proj: Linear;
  constructor(ps: ParamSet, name: string, dim: number, hidden = 4 * dim, projStd = 0.02) {
    this.fc = new Linear(ps, `${name}.fc`, dim, hidden);
    this.proj = new Linear(ps, `${name}.proj`, hidden, dim, { std: projStd });
  }

  forward(x: Tensor): Tensor {
    return this.proj.forward(T.gelu(this.fc.forward(x)));
  }
}

/**
 * Convolutions with PyTorch's default initialisation: U(−1/√fanIn, 1/√fanIn) for weights and
 * biases (kaiming_uniform with a = √5, which reduces to that bound).
 */
export class Conv1d {
  readonly w: Tensor;
  readonly b: Tensor | undefined;
  constructor(
    ps: ParamSet,
    name: string,
    cin: number,
    cout: number,
    readonly kernel: number,
    readonly opts: T.Conv1dOptions & { bias?: boolean } = {},
  ) {
    const bound = 1 / Math.sqrt((cin / (opts.groups ?? 1)) * kernel);
    this.w = ps.param(`${name}.weight`, [cout, cin / (opts.groups ?? 1), kernel], { kind: 'uniform', bound });
    this.b = opts.bias === false ? undefined : ps.param(`${name}.bias`, [cout], { kind: 'uniform', bound }, false);
  }

  /** x (B, Cin, L) → (B, Cout, L'). */
  forward(x: Tensor): Tensor {
    return T.conv1d(x, this.w, this.b, this.opts);
  }
}

export class ConvTranspose1d {
  readonly w: Tensor;
  readonly b: Tensor | undefined;
  constructor(
    ps: ParamSet,
    name: string,
    cin: number,
    cout: number,
    readonly kernel: number,
    readonly opts: T.ConvTranspose1dOptions & { bias?: boolean } = {},
  ) {
    // PyTorch computes fan-in from weight.size(1)·K = (Cout/groups)·K for transposed convs.
    const bound = 1 / Math.sqrt((cout / (opts.groups ?? 1)) * kernel);
    this.w = ps.param(`${name}.weight`, [cin, cout / (opts.groups ?? 1), kernel], { kind: 'uniform', bound });
    this.b = opts.bias === false ? undefined : ps.param(`${name}.bias`, [cout], { kind: 'uniform', bound }, false);
  }

  /** x (B, Cin, L) → (B, Cout, (L − 1)·stride − 2·pad + dilation·(K − 1) + outputPadding + 1). */
  forward(x: Tensor): Tensor {
    return T.convTranspose1d(x, this.w, this.b, this.opts);
  }
}

export class Conv2d {
  readonly w: Tensor;
  readonly b: Tensor | undefined;
  constructor(
    ps: ParamSet,
    name: string,
    cin: number,
    cout: number,
    readonly kernel: number,
    readonly opts: T.Conv2dOptions & { bias?: boolean } = {},
  ) {
    const bound = 1 / Math.sqrt((cin / (opts.groups ?? 1)) * kernel * kernel);
    this.w = ps.param(`${name}.weight`, [cout, cin / (opts.groups ?? 1), kernel, kernel], { kind: 'uniform', bound });
    this.b = opts.bias === false ? undefined : ps.param(`${name}.bias`, [cout], { kind: 'uniform', bound }, false);
  }

  /** x (B, Cin, H, W) → (B, Cout, H', W'). */
  forward(x: Tensor): Tensor {
    return T.conv2d(x, this.w, this.b, this.opts);
  }
}

/**
 * Dropout with an explicit seed per site (two sites with one seed would draw the same mask).
 * ONNX Runtime continues a seeded generator's stream across runs of a session, so masks change
 * every step and a fresh session replays them; p = 0 is the identity (and adds no nodes).
 */
export class Dropout {
  constructor(
    readonly p: number,
    readonly seed: number,
  ) {
    if (!(p >= 0 && p < 1)) throw new TonyError('config', `dropout p must be in [0, 1), got ${p}`);
  }

  forward(x: Tensor, training = true): Tensor {
    return training && this.p > 0 ? T.dropout(x, this.p, this.seed) : x;
  }
}

/** Additive mask value: large and finite (−inf gives NaN on fully masked rows). */
export const MASK = -1e9;

/** A fixed-size key/value cache for one attention layer: [B, nh, Tmax, hs] each. */
export interface KVCache {
  k: Tensor;
  v: Tensor;
}

/**
 * Scaled dot-product attention over heads: q (B, nh, Tq, hs), k and v (B, nh, Tk, hs), `mask` an
 * additive mask broadcastable to (B, nh, Tq, Tk) (0 = visible, MASK = hidden) → (B, nh, Tq, hs).
 * A query row whose keys are all hidden averages the values uniformly (finite, never NaN): mask
 * such rows out of the loss.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, mask?: Tensor): Tensor {
  const hs = q.shape[q.rank - 1]!;
  const att = T.mul(T.matmul(q, T.transposeLast(k)), 1 / Math.sqrt(hs)); // (B, nh, Tq, Tk)
  return T.matmul(T.softmax(mask ? T.add(att, mask) : att), v); // (B, nh, Tq, hs)
}

/**
 * Query rows per block of causal attention at long context (`blockCausalAttention`). Dense causal
 * attention scores all T² query-key pairs and masks the half above the diagonal; in blocks of this
 * many query rows, each block scores only the keys up to its own last row. At T = 1,024 the
 * (…, T, T) kernels took 65 % of a training step's kernel time (docs/results/engine.md): with 4
 * blocks they do 5/8 of that work, with 8 (T = 2,048) 9/16, and hold as much less memory. Below two
 * blocks the dense graph is kept (nothing to skip; fewer kernels).
 */
export const CAUSAL_BLOCK = 256;

/**
 * Causal attention computed in blocks of `block` query rows: q, k, v (B, nh, T, hs), `pad` an
 * optional additive key mask broadcastable to (B, 1, 1, T) → (B, nh, T, hs), equal to
 * `attention(q, k, v, pad + causalMask(T))`. Block i (rows s…e−1) scores keys 0…e−1 only; the keys
 * past its diagonal would be masked to exp(−1e9) = 0 anyway, so leaving them out changes nothing
 * but the float32 summation order. q is scaled before its product (a T·hs pass, not a T² one — and
 * in the backward pass the scale then falls on q's gradient, not on the scores'). With `recompute`,
 * each block is one `attend`, whose probabilities are recomputed in the backward pass instead of
 * held from the forward pass: less memory for more work (measured both ways, docs/results/engine.md).
 */
export function blockCausalAttention(q: Tensor, k: Tensor, v: Tensor, pad?: Tensor, block = CAUSAL_BLOCK, recompute = false): Tensor {
  const Tn = q.shape[2]!;
  const qs = T.mul(q, 1 / Math.sqrt(q.shape[3]!)); // (B, nh, T, hs)
  const ys: Tensor[] = [];
  for (let s = 0; s < Tn; s += block) {
    const e = Math.min(s + block, Tn);
    const diagonal = causalMaskRows(s, e); // (e − s, e)
    const mask = pad ? T.add(T.slice(pad, 3, 0, e), diagonal) : diagonal;
    if (recompute) {
      ys.push(T.attend(T.slice(q, 2, s, e), T.slice(k, 2, 0, e), T.slice(v, 2, 0, e), mask));
      continue;
    }
    const att = T.matmul(T.slice(qs, 2, s, e), T.transposeLast(T.slice(k, 2, 0, e))); // (B, nh, e − s, e)
    ys.push(T.matmul(T.softmax(T.add(att, mask)), T.slice(v, 2, 0, e))); // (B, nh, e − s, hs)
  }
  return T.concat(ys, 2); // (B, nh, T, hs)
}

/**
 * Additive key-padding mask from `valid` (B, Tk) bool — true where a key is a real token — shaped
 * (B, 1, 1, Tk) to broadcast over heads and queries.
 */
export function keyPaddingMask(valid: Tensor): Tensor {
  if (valid.rank !== 2 || valid.dtype !== 'bool') {
    throw new TonyError(
      'shape',
      `key-padding mask must be (B, Tk) bool, got [${valid.shape}] ${valid.dtype}`,
      'compare token ids with the pad id to get one',
    );
  }
  const [B, Tk] = valid.shape as [number, number];
  return T.reshape(T.where(valid, 0, MASK), [B, 1, 1, Tk]);
}

/** Check a (B, Tk) key mask against the keys' batch and length. */
function checkKeyMask(valid: Tensor, B: number, Tk: number, what: string): void {
  if (valid.shape[0] !== B || valid.shape[1] !== Tk) {
    throw new TonyError(
      'shape',
      `${what}: key-padding mask is [${valid.shape}], the keys are (B ${B}, T ${Tk})`,
      `pass a (${B}, ${Tk}) bool mask`,
    );
  }
}

/**
 * Multi-head self-attention: causal (nanoGPT's CausalSelfAttention, the default) or bidirectional
 * (`causal: false`, an encoder's or a denoiser's), with an optional key-padding mask, plus an
 * incremental form over a fixed-size KV cache for causal decoding.
 */
export class SelfAttention {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly hs: number;
  readonly causal: boolean;
  /** Past CAUSAL_BLOCK, recompute the attention probabilities in the backward pass (blockCausalAttention). */
  readonly recompute: boolean;
  constructor(
    ps: ParamSet,
    name: string,
    readonly dim: number,
    readonly nHead: number,
    opts: { projStd?: number; causal?: boolean; recompute?: boolean } = {},
  ) {
    if (dim % nHead !== 0) throw new TonyError('config', `attention: dModel ${dim} is not divisible by nHead ${nHead}`);
    this.hs = dim / nHead;
    this.causal = opts.causal ?? true;
    this.recompute = opts.recompute ?? false;
    this.qkv = new Linear(ps, `${name}.qkv`, dim, 3 * dim);
    this.proj = new Linear(ps, `${name}.proj`, dim, dim, { std: opts.projStd ?? 0.02 });
  }

  private heads(x: Tensor): Tensor[] {
    const [B, Tn] = x.shape as [number, number, number];
    const qkv = this.qkv.forward(x); // (B, T, 3C)
    return T.split(qkv, [this.dim, this.dim, this.dim], 2).map(
      (t) => T.transpose(T.reshape(t, [B, Tn, this.nHead, this.hs]), [0, 2, 1, 3]), // (B, nh, T, hs)
    );
  }

  private merge(y: Tensor): Tensor {
    const [B, , Tn] = y.shape as [number, number, number, number];
    return this.proj.forward(T.reshape(T.transpose(y, [0, 2, 1, 3]), [B, Tn, this.dim])); // (B, T, C)
  }

  /**
   * x (B, T, C) → (B, T, C). `valid` (B, T) bool marks real tokens: padding is never attended to.
   * Also returns k and v (B, nh, T, hs) for filling a cache.
   */
  forwardWithKV(x: Tensor, valid?: Tensor): { y: Tensor; k: Tensor; v: Tensor } {
    const [B, Tn] = x.shape as [number, number, number];
    if (valid) checkKeyMask(valid, B, Tn, 'self-attention');
    const [q, k, v] = this.heads(x) as [Tensor, Tensor, Tensor];
    const pad = valid && keyPaddingMask(valid); // (B, 1, 1, T)
    if (this.causal && Tn > CAUSAL_BLOCK) return { y: this.merge(blockCausalAttention(q, k, v, pad, CAUSAL_BLOCK, this.recompute)), k, v };
    const causal = this.causal ? causalMask(Tn) : undefined; // (T, T)
    const mask = pad && causal ? T.add(pad, causal) : (pad ?? causal);
    return { y: this.merge(attention(q, k, v, mask)), k, v };
  }

  forward(x: Tensor, valid?: Tensor): Tensor {
    return this.forwardWithKV(x, valid).y;
  }

  /**
   * One causal decoding step: x (B, 1, C) with row b at position pos[b] (int64, shape (B)); the
   * cache holds each row's earlier positions. Returns y (B, 1, C) and the cache with those
   * positions written. Positions past pos[b] may hold anything (e.g. a prefill's padding): they
   * are masked.
   */
  forwardCached(x: Tensor, pos: Tensor, cache: KVCache): { y: Tensor; cache: KVCache } {
    if (!this.causal) throw new TonyError('usage', 'forwardCached decodes causally; this attention is bidirectional');
    const B = x.shape[0]!;
    const Tmax = cache.k.shape[2]!;
    const [q, k, v] = this.heads(x) as [Tensor, Tensor, Tensor]; // (B, nh, 1, hs)
    const rowPos = T.reshape(pos, [B, 1, 1, 1]);
    const kc = T.writeAt(cache.k, pos, k);
    const vc = T.writeAt(cache.v, pos, v);
    const visible = T.lessEqual(T.reshape(arange(Tmax), [1, 1, 1, Tmax]), rowPos); // (B, 1, 1, Tmax)
    const y = this.merge(attention(q, kc, vc, T.where(visible, 0, MASK)));
    return { y, cache: { k: kc, v: vc } };
  }

  /**
   * forwardCached without writing the cache, for x (B, C): the cache (read-only) holds positions
   * < pos[b], and the new token's own key and value join the softmax beside it. Returns y (B, C) and k, v
   * (B, nh, 1, hs) for the caller to write at pos (Runtime's `write`): returning the updated cache
   * from the graph copied all of it every step, which made batch 8 decode no faster than batch 1.
   * `hidden` (B, 1, 1, L) is the additive mask over the cache's L positions (0 where t < pos[b], MASK
   * from pos[b] on: `decodeMask`), fed once for every layer. Nothing here depends on L but the
   * shapes, so a graph exported with the cache length symbolic (ExportOptions.dims) attends over a
   * cache just long enough for the filled positions. `recent` (B, nh, j, hs): keys and values of the
   * j tokens before this one in the same call, at positions pos … pos + j − 1 (the cache still ends
   * at pos).
   */
  forwardAppend(x: Tensor, hidden: Tensor, cache: KVCache, recent?: KVCache): { y: Tensor; k: Tensor; v: Tensor } {
    const B = x.shape[0]!;
    const L = cache.k.shape[2]!;
    if (x.rank !== 2) throw new TonyError('shape', `forwardAppend takes one token per row as (B, C), got [${x.shape}]`);
    // One token per row, (B, C): the Linears need no Reshapes around their Gemms, (B, 3C) is already
    // (B, 3·nh, 1, hs) in memory, so one Reshape and one Split give q, k and v (heads() takes three
    // Reshapes and three Transposes), and merging back is one Reshape (a decode call went from 160
    // kernels to 94 with the shared mask).
    const [q, k, v] = T.split(T.reshape(this.qkv.forward(x), [B, 3 * this.nHead, 1, this.hs]), [this.nHead, this.nHead, this.nHead], 1) as [
      Tensor,
      Tensor,
      Tensor,
    ];
    const merge = (y: Tensor) => this.proj.forward(T.reshape(y, [B, this.dim]));
    const scale = 1 / Math.sqrt(this.hs);
    const old = T.add(T.mul(T.matmul(q, T.transposeLast(cache.k)), scale), hidden); // (B, nh, 1, L)
    // The call's own scores go first: their split is then (0, j + 1) and (j + 1, end), and the cache's
    // part runs to the end of the axis, whatever L is at run time.
    if (recent) {
      // Several tokens per call: the earlier tokens of this call and this one attend beside the cache.
      const j = recent.k.shape[2]!;
      const kr = T.concat([recent.k, k], 2); // (B, nh, j + 1, hs)
      const vr = T.concat([recent.v, v], 2);
      const own = T.mul(T.matmul(q, T.transposeLast(kr)), scale); // (B, nh, 1, j + 1)
      const [pOwn, pOld] = T.split(T.softmax(T.concat([own, old], 3)), [j + 1, L], 3) as [Tensor, Tensor];
      return { y: merge(T.add(T.matmul(pOld, cache.v), T.matmul(pOwn, vr))), k, v };
    }
    const own = T.mul(T.sum(T.mul(q, k), -1, true), scale); // (B, nh, 1, 1)
    const [pOwn, pOld] = T.split(T.softmax(T.concat([own, old], 3)), [1, L], 3) as [Tensor, Tensor];
    const y = T.add(T.matmul(pOld, cache.v), T.mul(pOwn, v)); // (B, nh, 1, hs)
    return { y: merge(y), k, v };
  }
}

/**
 * Intra-op threads for a decode call of `rows` rows of a model `width` wide: one while its matrix
 * products are small.
 * Each kernel of such a call takes microseconds, and waking a second (sleeping) pool thread for it
 * costs more than the thread saves. Measured on 2 cores (docs/results/engine.md, issue 22): one
 * thread was faster at rows × width up to 2,048 (the small, medium and large presets at batch 1
 * and 8, bench-large at batch 1), two at 4,096 (bench-large at batch 8: 5.7 against 8.7 ms a step).
 */
export function decodeThreads(rows: number, width: number, threads: number): number {
  return rows * width <= ONE_THREAD_ROWS_TIMES_WIDTH ? 1 : threads;
}
const ONE_THREAD_ROWS_TIMES_WIDTH = 2048;

/**
 * The mask forwardAppend adds to the scores over a cache of `length` positions, built on the host
 * and fed: 0 where t < pos[b] (filled), MASK where t ≥ pos[b] → (B, 1, 1, length) float32. (Built in
 * the graph it took 3 kernels per call and fixed the cache's length.)
 */
export function decodeMask(pos: readonly number[], length: number): HostTensor {
  const data = new Float32Array(pos.length * length);
  pos.forEach((p, b) => data.fill(MASK, b * length + Math.max(0, Math.min(p, length)), (b + 1) * length));
  return hostTensor('float32', [pos.length, 1, 1, length], data);
}

/**
 * Sampling inside a graph: one token per row of logits (B, V) from softmax(logits · invTemp), by
 * inverting the cumulative distribution at u (B) uniform in [0, 1): the token is how many ids have
 * cdf ≤ u · total (so an id of zero mass is never picked). One uniform per token, as `pickToken`
 * draws, so a decoding graph can feed its own samples forward. invTemp (1) is 1 / temperature.
 * → (B, 1) int64.
 */
export function sampleCategorical(logits: Tensor, u: Tensor, invTemp: Tensor): Tensor {
  const [B, V] = logits.shape as [number, number];
  const cdf = T.cumsum(T.softmax(T.mul(logits, invTemp), 1), 1); // (B, V)
  // u × total, (B, 1). u below 1 − 2⁻²³ keeps it under the total in float32 (a float32 u rounds
  // to 1 from 1 − 2⁻²⁵ up; u · total could round up to it): then the id picked has mass, never a
  // zero-mass id after the last positive one.
  const target = T.mul(T.reshape(T.minimum(u, 1 - 2 ** -23), [B, 1]), T.slice(cdf, 1, V - 1, V));
  const below = T.sum(T.cast(T.lessEqual(cdf, target), 'float32'), 1, true); // (B, 1)
  return T.cast(T.minimum(below, V - 1), 'int64'); // (a guard: an id ≥ V would fail the next step's lookup)
}

/** nanoGPT's CausalSelfAttention: SelfAttention with the causal mask (parameter names unchanged). */
export class CausalSelfAttention extends SelfAttention {
  constructor(ps: ParamSet, name: string, dim: number, nHead: number, projStd = 0.02, recompute = false) {
    super(ps, name, dim, nHead, { projStd, causal: true, recompute });
  }
}

/**
 * Cross-attention: queries from x (B, T, C), keys and values from a conditioning sequence
 * ctx (B, S, Cc), optionally with a key-padding mask over the context. The context's keys and
 * values are the cross-attention KV cache: compute them once with `contextKV` and reuse them at
 * every decoding step (`forwardKV`).
 */
export class CrossAttention {
  readonly q: Linear;
  readonly kv: Linear;
  readonly proj: Linear;
  readonly hs: number;
  constructor(
    ps: ParamSet,
    name: string,
    readonly dim: number,
    ctxDim: number,
    readonly nHead: number,
  ) {
    if (dim % nHead !== 0) throw new TonyError('config', `attention: dModel ${dim} is not divisible by nHead ${nHead}`);
    this.hs = dim / nHead;
    this.q = new Linear(ps, `${name}.q`, dim, dim);
    this.kv = new Linear(ps, `${name}.kv`, ctxDim, 2 * dim);
    this.proj = new Linear(ps, `${name}.proj`, dim, dim);
  }

  private split(t: Tensor, n: number): Tensor {
    return T.transpose(T.reshape(t, [t.shape[0]!, n, this.nHead, this.hs]), [0, 2, 1, 3]); // (B, nh, n, hs)
  }

  /** The context's keys and values, (B, nh, S, hs) each: the cache that decoding steps reuse. */
  contextKV(ctx: Tensor): KVCache {
    const S = ctx.shape[1]!;
    const [k, v] = T.split(this.kv.forward(ctx), [this.dim, this.dim], 2).map((t) => this.split(t, S)) as [Tensor, Tensor];
    return { k, v };
  }

  /** x (B, T, C) attending over cached context keys/values; `valid` (B, S) bool marks real context tokens. */
  forwardKV(x: Tensor, kv: KVCache, valid?: Tensor): Tensor {
    const [B, Tn] = x.shape as [number, number, number];
    if (valid) checkKeyMask(valid, B, kv.k.shape[2]!, 'cross-attention');
    const q = this.split(this.q.forward(x), Tn); // (B, nh, T, hs)
    const y = attention(q, kv.k, kv.v, valid && keyPaddingMask(valid)); // (B, nh, T, hs)
    return this.proj.forward(T.reshape(T.transpose(y, [0, 2, 1, 3]), [B, Tn, this.dim]));
  }

  forward(x: Tensor, ctx: Tensor, valid?: Tensor): Tensor {
    return this.forwardKV(x, this.contextKV(ctx), valid);
  }
}

/** [0, 1, ..., n-1] as an int64 constant. */
export function arange(n: number, dtype: DType = 'int64'): Tensor {
  return constant(
    hostTensor(
      dtype,
      [n],
      Array.from({ length: n }, (_, i) => i),
    ),
  );
}

/** (T, T) additive causal mask: 0 on and below the diagonal, MASK above. */
export function causalMask(n: number): Tensor {
  return causalMaskRows(0, n);
}

/** Rows s…e−1 of the causal mask over keys 0…e−1: (e − s, e), MASK where key j > query row i. */
function causalMaskRows(s: number, e: number): Tensor {
  const v = new Float32Array((e - s) * e);
  for (let i = s; i < e; i++) for (let j = i + 1; j < e; j++) v[(i - s) * e + j] = MASK;
  return constant({ dtype: 'float32', shape: [e - s, e], data: v });
}

export interface CrossEntropyOptions {
  /** (N) bool: false drops a target from the loss (padding, prompt tokens). */
  mask?: Tensor;
  /** (N) float: a weight per target. */
  weights?: Tensor;
  /** (V) float: a weight per class, as PyTorch's CrossEntropyLoss(weight). */
  classWeights?: Tensor;
}

/**
 * Cross-entropy of logits (N, V) against int64 targets (N). Plain, it is the mean over targets.
 * With a mask or weights it is the weighted mean Σ wᵢ·nllᵢ / Σ wᵢ, wᵢ = maskᵢ · weightsᵢ ·
 * classWeights[targetᵢ] (PyTorch's normalisation); when every weight is 0 the loss is 0, not NaN.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const N = logits.shape[0]!;
  const logp = T.takeAlong(T.logSoftmax(logits), T.reshape(targets, [N, 1]), 1); // (N, 1)
  if (!opts.mask && !opts.weights && !opts.classWeights) return T.neg(T.mean(T.reshape(logp, [N]), 0));
  const need = (t: Tensor | undefined, what: string, shape: number[]) => {
    if (t && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
      throw new TonyError('shape', `crossEntropy: ${what} is [${t.shape}], expected [${shape}]`);
    }
  };
  need(opts.mask, 'mask', [N]);
  need(opts.weights, 'weights', [N]);
  need(opts.classWeights, 'classWeights', [logits.shape[1]!]);
  let w: Tensor = T.full([N], 1, logits.dtype);
  if (opts.mask) w = T.where(opts.mask, w, 0);
  if (opts.weights) w = T.mul(w, opts.weights);
  if (opts.classWeights) w = T.mul(w, T.gather(opts.classWeights, targets));
  // Σw is clamped away from 0 so an all-masked batch gives 0 (its numerator is exactly 0 then).
  const total = T.maximum(T.sum(w), 1e-12);
  return T.neg(T.div(T.sum(T.mul(w, T.reshape(logp, [N]))), total));
}

/**
 * Sinusoidal timestep embeddings, t (B) → (B, dim): [cos(t·fᵢ), sin(t·fᵢ)] with
 * fᵢ = maxPeriod^(−i/half), i < half = ⌊dim/2⌋, and a zero column when dim is odd — Point-E's and
 * guided diffusion's `timestep_embedding` (DDPM's original orders sin first and divides by half − 1).
 */
export function timestepEmbedding(t: Tensor, dim: number, maxPeriod = 10000): Tensor {
  if (t.rank !== 1) throw new TonyError('shape', `timestepEmbedding: t must be (B), got [${t.shape}]`);
  if (!Number.isInteger(dim) || dim < 2) throw new TonyError('shape', `timestepEmbedding: dim must be an integer ≥ 2, got ${dim}`);
  const half = Math.floor(dim / 2);
  const freqs = Float64Array.from({ length: half }, (_, i) => Math.exp((-Math.log(maxPeriod) * i) / half));
  // float64 storage in a float32 constant: exact in the checking mode and the reference
  const args = T.mul(T.reshape(T.cast(t, 'float32'), [-1, 1]), constant({ dtype: 'float32', shape: [1, half], data: freqs })); // (B, half)
  const emb = T.concat([T.cos(args), T.sin(args)], 1); // (B, 2·half)
  return dim % 2 ? T.pad(emb, 1, 0, 1) : emb;
}
