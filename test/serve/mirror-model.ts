/**
 * A deterministic `CompletionModel` for testing the HTTP contract only: the server must not care
 * what the model is, so this one is a rule simple enough that every test can compute the expected
 * text by hand. (Tests with a real Tony GPT live with the model.)
 *
 * The rule, with one token = one Unicode code point:
 * - The source is `suffix` if the request has one (infill), else `prompt`; the completion is the
 *   source reversed, one code point per token, after `delayMs` each. It ends with
 *   finishReason 'stop' when the source is used up (the end-of-text of this model; it wins a
 *   tie) and 'length' at maxTokens.
 * - temperature > 0: each token is replaced, with probability min(1, temperature / 2), by a letter
 *   a–z drawn from mulberry32 seeded with `seed + 1000 · choiceIndex` (a random seed when the
 *   request has none). Same seed → same text.
 * - stop strings: the text is cut before the first occurrence of any, finishReason 'stop'. Streamed
 *   deltas hold back any tail that could still grow into a stop string, so no delta ever shows one.
 * - logprobs k: each generated token has log(1/2); its top-k alternatives are the token itself at
 *   log(1/2) and the k−1 code points after it at log(1/4), log(1/8), ….
 * - echo: the returned text (and the first delta) is the prompt, then the completion; the prompt's
 *   tokens come with log-probability 0 and no alternatives.
 * - Streaming: the deltas of a choice concatenate to its returned text; the last carries finishReason.
 * - Abort: the signal rejects the pending delay with its reason; `aborted` counts those.
 */
import type {
  CompletionDelta,
  CompletionModel,
  CompletionRequest,
  CompletionResult,
  TokenLogprobs,
} from '../../src/models/gpt/completion.ts';
import { mulberry32 } from '../../src/random.ts';

export interface MirrorOptions {
  id?: string;
  contextLength?: number;
  /** Milliseconds before each token. */
  delayMs?: number;
  provider?: string;
}

export class MirrorModel implements CompletionModel {
  readonly id: string;
  readonly contextLength: number;
  readonly provider: string | undefined;
  delayMs: number;

  /** Every request received, in order of arrival at the model. */
  readonly requests: CompletionRequest[] = [];
  /** complete() calls running now, and the most ever at once. */
  active = 0;
  maxActive = 0;
  /** Calls ended by their abort signal. */
  aborted = 0;
  /** Tokens produced over all calls (for "generation stopped" checks). */
  tokens = 0;

  constructor(o: MirrorOptions = {}) {
    this.id = o.id ?? 'mirror';
    this.contextLength = o.contextLength ?? 4096;
    this.delayMs = o.delayMs ?? 0;
    this.provider = o.provider;
  }

  countTokens(text: string): number {
    return Array.from(text).length;
  }

  async complete(req: CompletionRequest, onDelta?: (d: CompletionDelta) => void, signal?: AbortSignal): Promise<CompletionResult> {
    this.requests.push(req);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      return await this.generate(req, onDelta, signal);
    } catch (err) {
      if (signal?.aborted) this.aborted++;
      throw err;
    } finally {
      this.active--;
    }
  }

  private async generate(
    req: CompletionRequest,
    onDelta: ((d: CompletionDelta) => void) | undefined,
    signal: AbortSignal | undefined,
  ): Promise<CompletionResult> {
    const source = Array.from(req.suffix ?? req.prompt).reverse();
    const baseSeed = req.seed ?? Math.floor(Math.random() * 2 ** 31);
    const choices = Array.from({ length: req.n }, (_, index) => ({
      index,
      rng: mulberry32(baseSeed + 1000 * index),
      text: '',
      sent: 0,
      done: undefined as 'stop' | 'length' | undefined,
    }));
    const prefix = req.echo ? req.prompt : '';
    if (prefix) for (const c of choices) onDelta?.({ index: c.index, text: prefix });
    const maxStop = Math.max(0, ...req.stop.map((s) => s.length));

    for (let step = 0; choices.some((c) => !c.done); step++) {
      await sleep(this.delayMs, signal);
      for (const c of choices) {
        if (c.done) continue;
        if (step >= req.maxTokens || step >= source.length) {
          c.done = step >= source.length ? 'stop' : 'length';
        } else {
          const flip = req.temperature > 0 && c.rng() < Math.min(1, req.temperature / 2);
          c.text += flip ? String.fromCharCode(97 + Math.floor(c.rng() * 26)) : source[step]!;
          this.tokens++;
          const hit = firstStop(c.text, req.stop);
          if (hit >= 0) {
            c.text = c.text.slice(0, hit);
            c.done = 'stop';
          }
        }
        // Hold back a tail that may still become a stop string.
        const safe = c.done ? c.text.length : Math.max(c.sent, c.text.length - heldBack(c.text, req.stop, maxStop));
        if (safe > c.sent || c.done) {
          onDelta?.({ index: c.index, text: c.text.slice(c.sent, safe), ...(c.done ? { finishReason: c.done } : {}) });
          c.sent = safe;
        }
      }
    }
    const promptTokens = this.countTokens(req.prompt) + (req.suffix ? this.countTokens(req.suffix) : 0);
    return {
      choices: choices.map((c) => ({
        index: c.index,
        text: prefix + c.text,
        finishReason: c.done!,
        ...(req.logprobs !== undefined ? { logprobs: logprobsOf(prefix, c.text, req.logprobs) } : {}),
      })),
      usage: { promptTokens, completionTokens: choices.reduce((s, c) => s + this.countTokens(c.text), 0) },
    };
  }
}

function firstStop(text: string, stops: readonly string[]): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/** Length of the longest tail of `text` that is a proper prefix of a stop string. */
function heldBack(text: string, stops: readonly string[], maxStop: number): number {
  for (let k = Math.min(maxStop - 1, text.length); k > 0; k--) {
    const tail = text.slice(text.length - k);
    if (stops.some((s) => s.startsWith(tail))) return k;
  }
  return 0;
}

function logprobsOf(prefix: string, text: string, k: number): TokenLogprobs {
  const out: TokenLogprobs = { tokens: [], tokenLogprobs: [], topLogprobs: [], textOffset: [] };
  let offset = 0;
  for (const t of Array.from(prefix)) {
    out.tokens.push(t);
    out.tokenLogprobs.push(0);
    out.topLogprobs.push({});
    out.textOffset.push(offset);
    offset += t.length;
  }
  for (const t of Array.from(text)) {
    out.tokens.push(t);
    out.tokenLogprobs.push(Math.log(1 / 2));
    const top: Record<string, number> = {};
    for (let j = 0; j < k; j++) top[String.fromCodePoint(t.codePointAt(0)! + j)] = Math.log(1 / 2 ** (j + 1));
    out.topLogprobs.push(top);
    out.textOffset.push(offset);
    offset += t.length;
  }
  return out;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    // Even a 0 ms delay yields to the event loop, as a real model's worker round trip does.
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
