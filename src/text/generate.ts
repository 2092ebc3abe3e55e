/**
 * Autoregressive generation for Tony's GPT: one prefill pass fills the KV cache with the prompts,
 * then each new token is one decoding step. Sampling (temperature, top-k, nucleus top-p) happens in
 * JS on the returned logits, from a seeded generator; stop tokens and stop strings end a sequence;
 * text is streamed without splitting UTF-8 characters or leaking a partial stop string.
 */
import { TonyError } from '../errors.ts';
import { hostTensor } from '../engine/dtype.ts';
import { prng } from '../engine/nn.ts';
import type { Runtime } from '../engine/runtime.ts';
import type { TokenLogprobs } from '../models/gpt/completion.ts';
import { type GPTConfig, buildDecodeGraph, buildPrefillGraph } from '../models/gpt/gpt.ts';
import type { Tokenizer } from './tokenizer.ts';
import { stopIndex } from './stops.ts';

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
  /** Streamed text per sequence, as it becomes final. */
  onText?: (row: number, text: string) => void;
  signal?: AbortSignal;
}

export interface Generated {
  tokens: number[];
  text: string;
  finishReason: 'stop' | 'length';
  logprobs?: TokenLogprobs;
}

// Traced graphs per (config, batch): tracing and encoding cost milliseconds, so do it once.
const graphs = new Map<string, { prefill: ReturnType<typeof buildPrefillGraph>; decode: ReturnType<typeof buildDecodeGraph> }>();
function graphsFor(cfg: Readonly<GPTConfig>, batch: number) {
  const key = `${JSON.stringify(cfg)}|${batch}`;
  let g = graphs.get(key);
  if (!g) graphs.set(key, (g = { prefill: buildPrefillGraph(cfg, batch), decode: buildDecodeGraph(cfg, batch) }));
  return g;
}

/** Generate continuations of `prompts` (token ids) with the parameters held in `rt`'s state. */
export async function generate(
  rt: Runtime,
  cfg: Readonly<GPTConfig>,
  tokenizer: Tokenizer,
  prompts: readonly (readonly number[])[],
  opts: GenerateOptions,
): Promise<Generated[]> {
  const B = prompts.length;
  for (const p of prompts) {
    if (p.length === 0) throw new TonyError('usage', 'generate: every prompt needs at least one token');
    if (p.length >= cfg.blockSize) {
      throw new TonyError('usage', `generate: the prompt has ${p.length} tokens; the model's context is ${cfg.blockSize}`, 'shorten the prompt');
    }
  }
  const { prefill, decode } = graphsFor(cfg, B);
  const [prefillS, decodeS] = await Promise.all([rt.load(prefill.model), rt.load(decode.model)]);
  const rand = prng(opts.seed ?? Math.floor(Math.random() * 2 ** 31)).next;
  const rows = prompts.map((_, b) => new Row(tokenizer, opts, b));

  // Prefill: prompts padded to the block (padding positions are masked during decoding).
  const padded = prompts.flatMap((p) => [...p, ...new Array<number>(cfg.blockSize - p.length).fill(tokenizer.special.eot)]);
  let res = await rt.run(
    prefillS,
    { idx: hostTensor('int64', [B, cfg.blockSize], padded), last: hostTensor('int64', [B], prompts.map((p) => p.length - 1)) },
    { state: prefill.state, update: prefill.update, fetch: ['logits'] },
  );
  const pos = prompts.map((p) => p.length); // where each row's next token goes
  for (;;) {
    const logits = res.logits!.data as Float32Array;
    const next: number[] = [];
    rows.forEach((row, b) => {
      const l = logits.subarray(b * cfg.vocabSize, (b + 1) * cfg.vocabSize);
      if (!row.done) row.push(pickToken(l, opts, rand), l, pos[b]! + 1 >= cfg.blockSize);
      next.push(row.tokens.at(-1) ?? tokenizer.special.eot);
    });
    if (rows.every((r) => r.done) || opts.signal?.aborted) break;
    res = await rt.run(
      decodeS,
      { idx: hostTensor('int64', [B, 1], next), pos: hostTensor('int64', [B], pos) },
      { state: decode.state, update: decode.update, fetch: ['logits'] },
    );
    rows.forEach((r, b) => r.done || pos[b]!++);
  }
  return rows.map((r) => r.result());
}

/** One sequence's output: tokens, text (streamed safely), stop handling, log-probabilities. */
class Row {
  tokens: number[] = [];
  done = false;
  finishReason: 'stop' | 'length' = 'length';
  private decoder = new TextDecoder();
  private text = '';
  private emitted = 0;
  private lp: TokenLogprobs | undefined;
  private stops: readonly string[];

  constructor(private tok: Tokenizer, private opts: GenerateOptions, private row: number) {
    this.stops = (opts.stopStrings ?? []).filter((s) => s.length > 0);
    if (opts.logprobs !== undefined) this.lp = { tokens: [], tokenLogprobs: [], topLogprobs: [], textOffset: [] };
  }

  push(token: number, logits: Float32Array, contextFull: boolean) {
    if (token === this.tok.special.eot || this.opts.stopTokens?.includes(token)) return this.finish('stop');
    this.tokens.push(token);
    if (this.lp) this.recordLogprobs(token, logits);
    this.text += this.decoder.decode(this.tok.decodeBytes([token]), { stream: true });
    const cut = this.findStop();
    if (cut >= 0) {
      this.text = this.text.slice(0, cut);
      return this.finish('stop');
    }
    this.emit(this.text.length - this.stopPrefixLength());
    if (this.tokens.length >= this.opts.maxNewTokens || contextFull) this.finish('length');
  }

  private recordLogprobs(token: number, logits: Float32Array) {
    const m = Math.max(...logits);
    let z = 0;
    for (const v of logits) z += Math.exp(v - m);
    const lse = m + Math.log(z);
    const k = Math.min(this.opts.logprobs ?? 0, 5);
    const top: Record<string, number> = {};
    if (k > 0) {
      const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!).slice(0, k);
      for (const i of order) top[this.tok.decode([i])] = logits[i]! - lse;
    }
    this.lp!.tokens.push(this.tok.decode([token]));
    this.lp!.tokenLogprobs.push(logits[token]! - lse);
    this.lp!.topLogprobs.push(top);
    this.lp!.textOffset.push(this.text.length);
  }

  /** Index where a stop string starts in the text, or −1. */
  private findStop(): number {
    // A match ending before the emitted text would have been found at an earlier token.
    return stopIndex(this.text, this.stops, Math.max(0, this.emitted - Math.max(0, ...this.stops.map((s) => s.length))));
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
    const r: Generated = { tokens: this.tokens, text: this.text, finishReason: this.finishReason };
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

