/**
 * Autoregressive generation for Tony's GPT: one prefill pass fills the KV cache with the prompts,
 * then each new token is one decoding step. Sampling (temperature, top-k, nucleus top-p) happens in
 * JS on the returned logits, from a seeded generator; stop tokens and stop strings end a sequence;
 * text is streamed without splitting UTF-8 characters or leaking a partial stop string.
 */

import { type HostTensor, hostTensor } from '../../engine/dtype.ts';
import { decodeMask, decodeThreads, prng } from '../../engine/nn.ts';
import type { OnnxModel } from '../../engine/onnx.ts';
import type { LoadOptions, Runtime, Session } from '../../engine/runtime.ts';
import { TonyError } from '../../errors.ts';
import { earliestStop } from '../../text/stops.ts';
import type { Tokenizer } from '../../text/tokenizer.ts';
import type { TokenLogprobs } from './completion.ts';
import { buildAppendDecodeGraph, buildPrefillGraph, buildStepsDecodeGraph, cacheLength, type GPTConfig } from './gpt.ts';
import type { Healing } from './healing.ts';

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 = greedy. Default 1. */
  temperature?: number;
  /** Nucleus: sample from the smallest set of tokens with probability ≥ topP. Default 1 (off). */
  topP?: number;
  /** Sample from the k most likely tokens. Default: all. */
  topK?: number;
  /** Same seed → same tokens. Default: a random seed. */
  seed?: number;
  /** Token ids that end a sequence (not included in the output). */
  stopTokens?: readonly number[];
  /** Strings that end a sequence (the text is cut before them). */
  stopStrings?: readonly string[];
  /** Return the top-k (≤ 5) log-probabilities of each generated token (model distribution, T = 1). */
  logprobs?: number;
  /**
   * Token healing: the prompt's last token was taken back; its text is `healed.text`. Until that
   * text is re-written, each generated token must come from `healed.allowed(rest)`, `rest` being
   * the part not yet re-written (tokens that start with it, or that are a prefix of it). That text
   * is the prompt's, so it is not streamed, not searched for stop strings, not returned, and the
   * tokens that re-write it do not count towards `maxNewTokens` (Generated.healTokens says how many).
   */
  healed?: Healing;
  /**
   * Forcing (GSM8K's calculator, src/evals/calculator.ts): called with a sequence's text after each
   * of its tokens; a returned string is tokenized and fed as the next tokens instead of sampling,
   * overriding the model. Called again once the forced tokens are in, so forcings can chain.
   */
  force?: (text: string) => string | undefined;
  /** Streamed text per sequence, as it becomes final. */
  onText?: (row: number, text: string) => void;
  signal?: AbortSignal;
  /**
   * Tokens per decoding graph call while every row samples plainly — greedy, or temperature alone
   * (no topK, topP, logprobs, healing or forcing): the graph picks each token and feeds it to the
   * next step itself. Default STEPS_PER_CALL; 1 = one call per token. Rows that stop inside a call
   * discard the rest of it. Text streams in bursts of this many tokens.
   */
  stepsPerCall?: number;
}

/**
 * The default GenerateOptions.stepsPerCall. Each call costs a thread hand-off, feeds and a pass of
 * this loop besides its kernels (at batch 1 with the small preset about half of a token's time,
 * docs/results/engine.md); 8 tokens per call divides that by 8, and wastes at most 7 tokens'
 * compute per row at the end.
 */
export const STEPS_PER_CALL = 8;

export interface Generated {
  tokens: number[];
  text: string;
  finishReason: 'stop' | 'length';
  /** What ended a 'stop': a stop token (end-of-text included) or a stop string. */
  stoppedBy?: { token: number } | { string: string };
  logprobs?: TokenLogprobs;
  /** Tokens that re-wrote a healed prompt tail (GenerateOptions.healed); 0 without healing. */
  healTokens: number;
}

/**
 * Rows per pass: a request for more samples runs in passes of at most this many. With buckets of
 * powers of two up to it, one model needs at most five decode graphs whatever clients ask for.
 */
export const MAX_BATCH = 16;
/**
 * Graph shapes that stay loaded per runtime: at most 2 × this many sessions (prefill graphs by
 * batch and prompt-length bucket, decode graphs by batch and tokens per call). Every ONNX Runtime session owns a
 * thread pool and a memory arena: loading one per batch size clients ask for grew a server from
 * 229 MB to 2.29 GB and 48 threads (issue 21, item 8). The least recently used is released beyond
 * this; re-creating one costs tens of milliseconds (DESIGN.md).
 */
export const MAX_LIVE_GRAPHS = 4;

/** The batch a pass of `rows` rows runs at: the next power of two (padding rows are discarded). */
export function batchBucket(rows: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, rows)));
}

/**
 * The prefill length for a longest prompt of `tokens`: the next power of two from 16, at most the
 * block. Prefilling only this many positions (not the whole block) is what makes a short prompt's
 * first token cheap; the bucket bounds how many prefill graphs a server meets.
 */
export function promptBucket(tokens: number, blockSize: number): number {
  return Math.min(blockSize, 2 ** Math.ceil(Math.log2(Math.max(16, tokens))));
}

interface Loaded<G> {
  graph: G;
  session: Session;
}
interface Entry<G> {
  loaded: Promise<Loaded<G>>;
  /** Baked graphs: the state keys baked in and their version at load (Runtime.stateVersion). */
  baked?: { keys: string[]; version: string };
}
// Per runtime, loaded graphs in least-recently-used order (a Map iterates in insertion order).
const loaded = new WeakMap<Runtime, Map<string, Entry<unknown>>>();

/**
 * A decode graph's parameters (its state inputs that are not KV caches): baked into its session
 * (LoadOptions.bake), since a decode call multiplies each weight matrix by a few rows only and
 * re-laying a weight fed as an input for every call cost 17–47 % of its time (issue 22).
 */
function parametersOf(graph: { state: Record<string, string>; writeKeys: Record<string, string> }): Record<string, string> {
  const caches = new Set(Object.values(graph.writeKeys));
  return Object.fromEntries(Object.entries(graph.state).filter(([, key]) => !caches.has(key)));
}

/**
 * How generate loads a decode graph of `batch` rows on a runtime of `threads` threads: its
 * parameters baked in, ONNX Runtime's arena, decodeThreads (what a benchmark of it must load too).
 */
export function decodeLoadOptions(
  cfg: Readonly<GPTConfig>,
  graph: { state: Record<string, string>; writeKeys: Record<string, string> },
  batch: number,
  threads: number,
): LoadOptions {
  return { bake: parametersOf(graph), threads: decodeThreads(batch, cfg.dModel, threads), arena: true };
}

/**
 * `build()`'s graph and its session, cached by `key`, keeping at most 2 × MAX_LIVE_GRAPHS loaded.
 * A decode graph (`decode`: its threads) gets its parameters baked in, ONNX Runtime's arena, and
 * its own thread count; a session whose parameters have changed in the runtime since (training
 * between generations, another checkpoint) is released and loaded anew.
 */
async function loadGraph<G extends { model: OnnxModel; state: Record<string, string>; writeKeys?: Record<string, string> }>(
  rt: Runtime,
  key: string,
  build: () => G,
  decode?: { threads: number },
): Promise<Loaded<G>> {
  let live = loaded.get(rt);
  if (!live) loaded.set(rt, (live = new Map()));
  const cached = live.get(key) as Entry<G> | undefined;
  if (cached) {
    live.delete(key); // re-insert: most recently used, or drop when stale
    if (!cached.baked || rt.stateVersion(cached.baked.keys) === cached.baked.version) {
      live.set(key, cached);
      return cached.loaded;
    }
    const stale = await cached.loaded.catch(() => undefined);
    if (stale) await rt.release(stale.session);
  }
  const graph = build();
  const weights = decode && graph.writeKeys ? parametersOf({ state: graph.state, writeKeys: graph.writeKeys }) : {};
  const keys = Object.values(weights);
  const entry: Entry<G> = {
    loaded: rt
      .load(graph.model, decode ? { bake: weights, threads: decode.threads, arena: true } : {})
      .then((session) => ({ graph, session })),
    ...(keys.length ? { baked: { keys, version: rt.stateVersion(keys) } } : {}),
  };
  live.set(key, entry);
  entry.loaded.catch(() => live.delete(key));
  while (live.size > 2 * MAX_LIVE_GRAPHS) {
    const [oldKey, old] = live.entries().next().value!;
    live.delete(oldKey);
    const gone = await old.loaded.catch(() => undefined);
    if (gone) await rt.release(gone.session);
  }
  return entry.loaded;
}

/**
 * Generate continuations of `prompts` (token ids) with the parameters held in `rt`'s state. More
 * than MAX_BATCH prompts run in passes; each pass is padded to a power-of-two batch.
 */
export async function generate(
  rt: Runtime,
  cfg: Readonly<GPTConfig>,
  tokenizer: Tokenizer,
  prompts: readonly (readonly number[])[],
  opts: GenerateOptions,
): Promise<Generated[]> {
  for (const p of prompts) {
    if (p.length === 0) throw new TonyError('usage', 'generate: every prompt needs at least one token');
    if (p.length >= cfg.blockSize) {
      throw new TonyError(
        'usage',
        `generate: the prompt has ${p.length} tokens; the model's context is ${cfg.blockSize}`,
        'shorten the prompt',
      );
    }
  }
  const rand = prng(opts.seed ?? Math.floor(Math.random() * 2 ** 31)).next;
  const out: Generated[] = [];
  // Every pass runs even after an abort (each then stops after its first token): callers get one
  // result per prompt.
  for (let first = 0; first < prompts.length; first += MAX_BATCH) {
    out.push(...(await generatePass(rt, cfg, tokenizer, prompts.slice(first, first + MAX_BATCH), opts, rand, first)));
  }
  return out;
}

/** One pass: prefill, then decode until every row is done. Rows are numbered from `first`. */
async function generatePass(
  rt: Runtime,
  cfg: Readonly<GPTConfig>,
  tokenizer: Tokenizer,
  prompts: readonly (readonly number[])[],
  opts: GenerateOptions,
  rand: () => number,
  first: number,
): Promise<Generated[]> {
  const B = batchBucket(prompts.length);
  // n samples of one prompt (every server and eval request) prefill it once for all rows.
  const shared = prompts.length > 1 && prompts.every((p) => p.length === prompts[0]!.length && p.every((t, i) => t === prompts[0]![i]));
  const rows = prompts.map((_, b) => new Row(tokenizer, opts, first + b));
  // Padding rows (B − prompts.length of them) repeat the first prompt and never sample.
  const inputs = shared ? [prompts[0]!] : Array.from({ length: B }, (_, b) => prompts[b] ?? prompts[0]!);
  const P = promptBucket(Math.max(...inputs.map((p) => p.length)), cfg.blockSize);
  const id = JSON.stringify(cfg);
  const prefill = await loadGraph(rt, `${id}|prefill|${inputs.length}|${P}`, () => buildPrefillGraph(cfg, inputs.length, P));
  // The one-token decode graph, loaded when first needed: a pass that the several-token graph serves
  // throughout (greedy or plain temperature sampling) never loads it, and each decode graph holds its
  // own copy of the parameters (baked in): a GPT-2-small-sized model's 345 MB.
  let decode: Loaded<ReturnType<typeof buildAppendDecodeGraph>> | undefined;
  const oneStep = async () =>
    (decode ??= await loadGraph(rt, `${id}|decode|${B}`, () => buildAppendDecodeGraph(cfg, B), {
      threads: decodeThreads(B, cfg.dModel, rt.threads),
    }));

  // Prefill: prompts padded to the bucket; their keys and values go into the cache (a shared
  // prompt's into every row). Padding positions are overwritten or masked while decoding. The
  // cache holds `cap` positions, grown (by the runtime, a chunk at a time) as the rows fill it: the
  // decode graphs attend over the cache they are fed, not over the whole context.
  let cap = cacheLength(P, cfg.blockSize);
  const padded = inputs.flatMap((p) => [...p, ...new Array<number>(P - p.length).fill(tokenizer.special.eot)]);
  const write: Record<string, { key: string; at: number[]; length: number }> = {};
  for (const [out, key] of Object.entries(prefill.graph.update)) write[out] = { key, at: new Array<number>(B).fill(0), length: cap };
  let res = await rt.run(
    prefill.session,
    {
      idx: hostTensor('int64', [inputs.length, P], padded),
      last: hostTensor(
        'int64',
        [inputs.length],
        inputs.map((p) => p.length - 1),
      ),
    },
    { state: prefill.graph.state, write, fetch: ['logits'] },
  );
  const pos = Array.from({ length: B }, (_, b) => (prompts[b] ?? prompts[0]!).length); // where each row's next token goes
  const next = new Array<number>(B).fill(tokenizer.special.eot);
  const steps = Math.max(1, Math.floor(opts.stepsPerCall ?? STEPS_PER_CALL));
  const temp = opts.temperature ?? 1;
  // Several tokens per call only where the graph can pick them as pickToken would.
  const plain = steps > 1 && opts.logprobs === undefined && !opts.force && !opts.topK && (opts.topP ?? 1) >= 1;
  let logits: Float32Array | undefined = res.logits!.data as Float32Array;
  for (;;) {
    // (No logits when the last call picked its tokens itself: decodeSteps below.)
    const l0 = logits;
    if (l0)
      rows.forEach((row, b) => {
        // After a shared prefill the one row of logits serves every row.
        const r = l0.length === cfg.vocabSize ? 0 : b;
        const l = l0.subarray(r * cfg.vocabSize, (r + 1) * cfg.vocabSize);
        if (!row.done) {
          const forced = row.forced.shift();
          row.push(
            forced ?? pickToken(row.healRest ? restrict(l, opts.healed!.allowed(row.healRest)) : l, opts, rand),
            l,
            pos[b]! + 1 >= cfg.blockSize,
          );
          const force = !row.done && row.forced.length === 0 ? opts.force?.(row.soFar) : undefined;
          if (force) row.forced.push(...tokenizer.encode(force));
        }
        next[b] = row.tokens.at(-1) ?? tokenizer.special.eot;
      });
    if (rows.every((r) => r.done) || opts.signal?.aborted) break;
    // A row's `steps` tokens must fit in the context; finished and padding rows only need room for
    // their (discarded) writes, so they are moved back.
    const live = (b: number) => rows[b] !== undefined && !rows[b]!.done;
    const at = pos.map((p, b) => (live(b) ? p : Math.min(p, cfg.blockSize - steps)));
    if (plain && rows.every((r) => r.done || (!r.healRest && r.forced.length === 0)) && at.every((p) => p + steps <= cfg.blockSize)) {
      const multi = await loadGraph(rt, `${id}|steps|${B}|${steps}|${temp !== 0}`, () => buildStepsDecodeGraph(cfg, B, steps, temp !== 0), {
        threads: decodeThreads(B, cfg.dModel, rt.threads),
      });
      cap = Math.max(cap, cacheLength(Math.max(...at) + steps, cfg.blockSize));
      const write: Record<string, { key: string; at: number[]; length: number }> = {};
      for (const [out, key] of Object.entries(multi.graph.writeKeys)) write[out] = { key, at, length: cap };
      const feeds: Record<string, HostTensor> = {
        idx: hostTensor('int64', [B, 1], next),
        pos: hostTensor('int64', [B], at),
        hidden: decodeMask(at, cap),
      };
      if (temp !== 0) {
        feeds.u = hostTensor('float32', [B, steps], Array.from({ length: B * steps }, rand));
        feeds.invTemp = hostTensor('float32', [1], [1 / temp]);
      }
      const picked = (await rt.run(multi.session, feeds, { state: multi.graph.state, write, fetch: ['tokens'] })).tokens!
        .data as BigInt64Array;
      rows.forEach((row, b) => {
        // Token j + 1 of the call sits at pos + j + 1; as below, a row whose next position is the
        // context's end is finished.
        for (let j = 0; j < steps && !row.done; j++) row.push(Number(picked[b * steps + j]), NO_LOGITS, pos[b]! + j + 2 >= cfg.blockSize);
        next[b] = row.tokens.at(-1) ?? tokenizer.special.eot;
        if (!row.done) pos[b]! += steps;
      });
      logits = undefined;
      continue;
    }
    const one = await oneStep();
    cap = Math.max(cap, cacheLength(Math.max(...pos) + 1, cfg.blockSize));
    const write: Record<string, { key: string; at: number[]; length: number }> = {};
    for (const [out, key] of Object.entries(one.graph.writeKeys)) write[out] = { key, at: pos, length: cap };
    res = await rt.run(
      one.session,
      { idx: hostTensor('int64', [B, 1], next), pos: hostTensor('int64', [B], pos), hidden: decodeMask(pos, cap) },
      { state: one.graph.state, write, fetch: ['logits'] },
    );
    logits = res.logits!.data as Float32Array;
    rows.forEach((r, b) => r.done || pos[b]!++);
  }
  return rows.map((r) => r.result());
}

/** What Row.push gets for tokens the graph picked: their logits stay in the graph (no logprobs then). */
const NO_LOGITS = new Float32Array(0);

/** `logits` with every id outside `allowed` at −∞ (a copy), or `logits` itself when all are allowed. */
function restrict(logits: Float32Array, allowed: ReadonlySet<number> | undefined): Float32Array {
  if (!allowed) return logits;
  const out = new Float32Array(logits.length).fill(Number.NEGATIVE_INFINITY);
  for (const id of allowed) out[id] = logits[id]!;
  return out;
}

/** One sequence's output: tokens, text (streamed safely), stop handling, log-probabilities. */
class Row {
  tokens: number[] = [];
  /** Tokens to feed next instead of sampling (GenerateOptions.force). */
  forced: number[] = [];
  done = false;
  /** The healed prompt tail not yet re-written, and how many tokens re-wrote it so far. */
  healRest: string;
  healTokens = 0;
  finishReason: 'stop' | 'length' = 'length';
  stoppedBy: Generated['stoppedBy'];
  private decoder = new TextDecoder();
  private text = '';
  /** Where the row's own text starts: after a healed prompt tail (GenerateOptions.healed). */
  private readonly start: number;
  private emitted: number;
  private lp: TokenLogprobs | undefined;
  private stops: readonly string[];

  constructor(
    private tok: Tokenizer,
    private opts: GenerateOptions,
    private row: number,
  ) {
    this.stops = (opts.stopStrings ?? []).filter((s) => s.length > 0);
    this.start = this.emitted = opts.healed?.text.length ?? 0;
    this.healRest = opts.healed?.text ?? '';
    if (opts.logprobs !== undefined) this.lp = { tokens: [], tokenLogprobs: [], topLogprobs: [], textOffset: [] };
  }

  push(token: number, logits: Float32Array, contextFull: boolean) {
    if (token === this.tok.special.eot || this.opts.stopTokens?.includes(token)) {
      this.stoppedBy = { token };
      return this.finish('stop');
    }
    this.tokens.push(token);
    if (this.healRest) {
      // An allowed token either starts with the rest (done) or is a prefix of it (more to write).
      const piece = this.tok.decode([token]);
      this.healRest = this.healRest.startsWith(piece) ? this.healRest.slice(piece.length) : '';
      this.healTokens++;
    }
    if (this.lp) this.recordLogprobs(token, logits);
    this.text += this.decoder.decode(this.tok.decodeBytes([token]), { stream: true });
    const stop = this.findStop();
    if (stop) {
      this.text = this.text.slice(0, stop.at);
      this.stoppedBy = { string: stop.string };
      return this.finish('stop');
    }
    this.emit(this.text.length - this.stopPrefixLength());
    if (this.tokens.length - this.healTokens >= this.opts.maxNewTokens || contextFull) this.finish('length');
  }

  private recordLogprobs(token: number, logits: Float32Array) {
    const m = Math.max(...logits);
    let z = 0;
    for (const v of logits) z += Math.exp(v - m);
    const lse = m + Math.log(z);
    const k = Math.min(this.opts.logprobs ?? 0, 5);
    const top: Record<string, number> = {};
    if (k > 0) {
      const order = Array.from(logits.keys())
        .sort((a, b) => logits[b]! - logits[a]!)
        .slice(0, k);
      for (const i of order) top[this.tok.decode([i])] = logits[i]! - lse;
    }
    this.lp!.tokens.push(this.tok.decode([token]));
    this.lp!.tokenLogprobs.push(logits[token]! - lse);
    this.lp!.topLogprobs.push(top);
    this.lp!.textOffset.push(this.text.length);
  }

  /** The earliest stop string in the text and where it starts. */
  private findStop(): { at: number; string: string } | undefined {
    // A match ending before the emitted text would have been found at an earlier token.
    return earliestStop(this.text, this.stops, Math.max(this.start, this.emitted - Math.max(0, ...this.stops.map((s) => s.length))));
  }

  /** Length of the longest text suffix that could still grow into a stop string (held back). */
  private stopPrefixLength(): number {
    let hold = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.text.length); n > hold; n--) {
        if (this.text.endsWith(s.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    return hold;
  }

  /** The row's own text so far (after any healed prompt tail). */
  get soFar(): string {
    return this.text.slice(this.start);
  }

  private emit(upTo: number) {
    if (upTo > this.emitted) {
      this.opts.onText?.(this.row, this.text.slice(this.emitted, upTo));
      this.emitted = upTo;
    }
  }

  private finish(reason: 'stop' | 'length') {
    this.text += this.decoder.decode(); // flush an incomplete character (as U+FFFD)
    this.done = true;
    this.finishReason = reason;
    this.emit(this.text.length);
  }

  result(): Generated {
    const r: Generated = {
      tokens: this.tokens,
      text: this.text.slice(this.start),
      healTokens: this.healTokens,
      finishReason: this.finishReason,
      ...(this.stoppedBy ? { stoppedBy: this.stoppedBy } : {}),
    };
    if (this.lp) {
      // Drop the records of tokens cut off by a stop string.
      const keep = this.lp.textOffset.filter((o) => o < this.text.length || o === 0).length;
      r.logprobs = {
        tokens: this.lp.tokens.slice(0, keep),
        tokenLogprobs: this.lp.tokenLogprobs.slice(0, keep),
        topLogprobs: this.lp.topLogprobs.slice(0, keep),
        textOffset: this.lp.textOffset.slice(0, keep),
      };
    }
    return r;
  }
}

/** Temperature, top-k and nucleus (top-p) sampling from one row of logits. */
export function pickToken(logits: Float32Array, opts: Pick<GenerateOptions, 'temperature' | 'topK' | 'topP'>, rand: () => number): number {
  const temp = opts.temperature ?? 1;
  if (temp === 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  let order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);
  if (opts.topK && opts.topK < order.length) order = order.slice(0, opts.topK);
  const m = logits[order[0]!]!;
  let w = order.map((i) => Math.exp((logits[i]! - m) / temp));
  const total = w.reduce((a, b) => a + b, 0);
  const topP = opts.topP ?? 1;
  if (topP < 1) {
    // Keep the smallest prefix (by probability) whose mass reaches topP.
    let acc = 0;
    let n = 0;
    while (n < w.length && acc < topP * total) acc += w[n++]!;
    order = order.slice(0, Math.max(1, n));
    w = w.slice(0, Math.max(1, n));
  }
  let u = rand() * w.reduce((a, b) => a + b, 0);
  for (let k = 0; k < w.length; k++) if ((u -= w[k]!) <= 0) return order[k]!;
  return order[order.length - 1]!;
}
