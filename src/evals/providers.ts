/**
 * Where samples come from. A provider turns a prompt into n continuations; the evaluations only see
 * this interface, so Tony's own code models plug in beside any OpenAI-compatible server.
 *
 *   const p = await openProvider('http://127.0.0.1:8000/v1', { modelName: 'my-model' });
 *   const [a, b] = await p.generate('def add(a, b):\n', { n: 2, temperature: 0.8, topP: 0.95, maxTokens: 128 });
 */
import { statSync } from 'node:fs';
import { TonyError } from '../errors.ts';
import type { CompletionModel } from '../models/gpt/completion.ts';
import type { Device } from '../engine/runtime.ts';
import { cutAtStop } from '../text/stops.ts';

export interface GenerateOptions {
  n: number;
  temperature: number;
  topP: number;
  maxTokens: number;
  /** Stop sequences; the text is cut before the first one (all of them, even past an API's limit). */
  stop?: string[];
  /** Text after the hole, for infilling (completions API `suffix`). */
  suffix?: string;
  /**
   * A sampling hook: called with the text so far at each point the provider can stop; a returned
   * string is forced into the text (GSM8K's calculator, see calculator.ts).
   */
  hook?: { stopAt: string; force: (text: string) => string | undefined };
}

export interface Generation {
  text: string;
  /** `stop` (end of text or a stop sequence) or `length`. */
  finishReason: string;
}

export interface Provider {
  readonly name: string;
  generate(prompt: string, opts: GenerateOptions): Promise<Generation[]>;
  /** Release what the provider holds (a local model's runtime). */
  close?(): Promise<void>;
}

export type Api = 'completions' | 'chat';

export interface OpenAIOptions {
  /** Base URL, e.g. `https://api.openai.com/v1` (a trailing `/completions` is removed). */
  baseUrl: string;
  /** The `model` field of requests. */
  modelName: string;
  api: Api;
  /** Sent as `Authorization: Bearer`; read from the environment by `openProvider`. */
  apiKey?: string;
  /** Requests in flight at once, across all calls to this provider. */
  concurrency: number;
  /** Retries after 429, 5xx, timeouts and network errors, with exponential backoff and jitter. */
  maxRetries: number;
  retryBaseMs: number;
  requestTimeoutMs: number;
  /** Largest `n` per request (servers cap it); larger n is split. */
  maxNPerRequest: number;
}

/** The OpenAI API accepts at most four stop sequences. */
const API_MAX_STOP = 4;
const RETRY_MAX_DELAY_MS = 30_000;
/** Rounds of generate → hook → generate per sample before giving up on the hook. */
const MAX_HOOK_ROUNDS = 64;

const DEFAULTS: Omit<OpenAIOptions, 'baseUrl' | 'modelName'> = {
  api: 'completions',
  concurrency: 4,
  maxRetries: 5,
  retryBaseMs: 500,
  requestTimeoutMs: 120_000,
  maxNPerRequest: 128,
};

/** A counting semaphore: at most `limit` holders at once. */
class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Cut `text` before the earliest of `stop` (src/text/stops.ts). */
export { cutAtStop };

/** Any server speaking OpenAI's Completions or Chat Completions API. */
export class OpenAIProvider implements Provider {
  readonly name: string;
  private readonly opts: OpenAIOptions;
  private readonly limiter: Limiter;

  constructor(opts: Partial<OpenAIOptions> & Pick<OpenAIOptions, 'baseUrl' | 'modelName'>) {
    this.opts = { ...DEFAULTS, ...opts, baseUrl: opts.baseUrl.replace(/\/+$/, '').replace(/\/(chat\/)?completions$/, '') };
    this.name = `${this.opts.baseUrl} (${this.opts.modelName}, ${this.opts.api})`;
    this.limiter = new Limiter(this.opts.concurrency);
  }

  async generate(prompt: string, g: GenerateOptions): Promise<Generation[]> {
    if (g.suffix !== undefined && this.opts.api === 'chat') {
      throw new TonyError('usage', 'infilling needs the completions API (it sends `suffix`); the chat API has no suffix', 'use --api completions');
    }
    if (g.hook) {
      // One sample at a time: each may be interrupted at a different point.
      const out: Generation[] = [];
      const once = async (text: string, maxTokens: number, stop: string[]) => (await this.request(text, { ...g, n: 1, maxTokens }, stop))[0]!;
      for (let i = 0; i < g.n; i++) out.push(await sampleWithHook(once, prompt, g, g.hook));
      return out;
    }
    const out: Generation[] = [];
    for (let left = g.n; left > 0; left -= this.opts.maxNPerRequest) {
      const n = Math.min(left, this.opts.maxNPerRequest);
      const batch = await this.request(prompt, { ...g, n }, g.stop);
      out.push(...batch.map((b) => this.applyStops(b, g.stop)));
    }
    return out;
  }

  private applyStops(b: RawChoice, stop: string[] | undefined): Generation {
    const c = cutAtStop(b.text, stop);
    return { text: c.text, finishReason: c.cut ? 'stop' : b.finishReason };
  }

  private async request(prompt: string, g: GenerateOptions, stop: string[] | undefined): Promise<RawChoice[]> {
    const o = this.opts;
    const common = {
      model: o.modelName,
      n: g.n,
      temperature: g.temperature,
      top_p: g.topP,
      max_tokens: g.maxTokens,
      ...(stop && stop.length ? { stop: stop.slice(0, API_MAX_STOP) } : {}),
    };
    const body =
      o.api === 'chat'
        ? { ...common, messages: [{ role: 'user', content: prompt }] }
        : { ...common, prompt, ...(g.suffix !== undefined ? { suffix: g.suffix } : {}) };
    const url = `${o.baseUrl}/${o.api === 'chat' ? 'chat/completions' : 'completions'}`;
    const json = (await this.limiter.run(() => this.post(url, body))) as {
      choices?: Array<{ index?: number; text?: string; message?: { content?: string }; finish_reason?: string; stop_reason?: unknown }>;
      usage?: { completion_tokens?: number };
    };
    if (!Array.isArray(json.choices) || json.choices.length !== g.n) {
      throw new TonyError('data', `${url} answered without ${g.n} choices: ${JSON.stringify(json).slice(0, 300)}`, 'check that the server speaks the OpenAI API');
    }
    return [...json.choices]
      .sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
      .map((c) => ({
        text: (o.api === 'chat' ? c.message?.content : c.text) ?? '',
        finishReason: c.finish_reason ?? 'stop',
        stopReason: typeof c.stop_reason === 'string' ? c.stop_reason : undefined,
        tokens: g.n === 1 ? json.usage?.completion_tokens : undefined,
      }));
  }

  private async post(url: string, body: unknown): Promise<unknown> {
    const o = this.opts;
    let lastError = '';
    for (let attempt = 0; attempt <= o.maxRetries; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(o.requestTimeoutMs),
        });
        if (res.ok) return await res.json();
        const text = (await res.text()).slice(0, 300);
        lastError = `HTTP ${res.status}: ${text}`;
        if (res.status !== 408 && res.status !== 409 && res.status !== 429 && res.status < 500) {
          throw new TonyError('usage', `${url} refused the request: ${lastError}`, res.status === 401 ? 'set the API key (see --api-key-env)' : 'check --model, --model-name and --api');
        }
        const ra = Number(res.headers.get('retry-after'));
        if (Number.isFinite(ra) && ra > 0) retryAfterMs = ra * 1000;
      } catch (e) {
        if (e instanceof TonyError) throw e;
        lastError = (e as Error).message;
      }
      if (attempt === o.maxRetries) break;
      // Full jitter: a random wait up to the exponential cap, so parallel workers spread out.
      const cap = Math.min(RETRY_MAX_DELAY_MS, o.retryBaseMs * 2 ** attempt);
      await new Promise((r) => setTimeout(r, retryAfterMs ?? Math.random() * cap));
    }
    throw new TonyError('device', `${url} failed after ${o.maxRetries + 1} attempts: ${lastError}`, 'check that the server is up, or raise --retries');
  }
}

interface RawChoice {
  text: string;
  finishReason: string;
  stopReason?: string;
  tokens?: number;
}

/**
 * Sampling with a hook through an API that can only stop at strings: generate until the hook's stop
 * string, ask the hook, force its text, continue. A stop does not say which stop string ended it
 * (vLLM's `stop_reason` does and is used when present); otherwise a stop counts as the hook's when
 * the hook accepts the text with the stop string appended, else as the end of the text.
 */
async function sampleWithHook(
  once: (prompt: string, maxTokens: number, stop: string[]) => Promise<RawChoice>,
  prompt: string,
  g: GenerateOptions,
  hook: NonNullable<GenerateOptions['hook']>,
): Promise<Generation> {
  let text = '';
  let budget = g.maxTokens;
  for (let round = 0; round < MAX_HOOK_ROUNDS && budget > 0; round++) {
    const { text: piece, stopReason, finishReason, tokens } = await once(prompt + text, budget, [hook.stopAt, ...(g.stop ?? [])].slice(0, API_MAX_STOP));
    budget -= Math.max(1, tokens ?? Math.ceil(piece.length / 4));
    text += piece;
    const userStop = cutAtStop(text, g.stop);
    if (userStop.cut) return { text: userStop.text, finishReason: 'stop' };
    if (finishReason !== 'stop') return { text, finishReason };
    if (stopReason !== undefined && stopReason !== hook.stopAt) return { text, finishReason };
    const forced = hook.force(text + hook.stopAt);
    if (forced === undefined) {
      if (stopReason === hook.stopAt) {
        text += hook.stopAt; // a plain '=' outside a calculator annotation: keep going
        continue;
      }
      return { text, finishReason };
    }
    text += hook.stopAt + forced;
  }
  return { text, finishReason: 'length' };
}

/**
 * A Tony text model (src/models/gpt/model.ts, loaded through the registry from a checkpoint or run directory) as a provider.
 * Infilling uses the model's PSM prompt; stops beyond the model's four are applied here.
 */
export class CompletionModelProvider implements Provider {
  readonly name: string;

  constructor(private readonly model: CompletionModel & { close?(): Promise<void> }) {
    this.name = `tony:${model.id}`;
  }

  async generate(prompt: string, g: GenerateOptions): Promise<Generation[]> {
    const request = (text: string, n: number, maxTokens: number, stop: readonly string[]) =>
      this.model.complete({
        prompt: text,
        ...(g.suffix !== undefined ? { suffix: g.suffix } : {}),
        n,
        maxTokens,
        temperature: g.temperature,
        topP: g.topP,
        stop: stop.slice(0, API_MAX_STOP),
      });
    if (g.hook) {
      const once = async (text: string, maxTokens: number, stop: string[]): Promise<RawChoice> => {
        const r = await request(text, 1, maxTokens, stop);
        return { text: r.choices[0]!.text, finishReason: r.choices[0]!.finishReason, tokens: r.usage.completionTokens };
      };
      const out: Generation[] = [];
      for (let i = 0; i < g.n; i++) out.push(await sampleWithHook(once, prompt, g, g.hook));
      return out;
    }
    const r = await request(prompt, g.n, g.maxTokens, g.stop ?? []);
    return [...r.choices]
      .sort((a, b) => a.index - b.index)
      .map((c) => {
        const cut = cutAtStop(c.text, g.stop);
        return { text: cut.text, finishReason: cut.cut ? 'stop' : c.finishReason };
      });
  }

  async close(): Promise<void> {
    await this.model.close?.();
  }
}

/**
 * A provider from `--model`: an http(s) URL is an OpenAI-compatible server (key from the
 * environment variable `apiKeyEnv`, default OPENAI_API_KEY); a directory is a Tony text model
 * (a checkpoint, or a run directory whose latest checkpoint is used).
 */
export async function openProvider(
  model: string,
  opts: { modelName?: string; api?: Api; apiKeyEnv?: string; concurrency?: number; maxRetries?: number; device?: Device; threads?: number } = {},
): Promise<Provider> {
  if (/^https?:\/\//.test(model)) {
    return new OpenAIProvider({
      baseUrl: model,
      modelName: opts.modelName ?? 'default',
      api: opts.api ?? 'completions',
      apiKey: process.env[opts.apiKeyEnv ?? 'OPENAI_API_KEY'],
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
    });
  }
  let isDir = false;
  try {
    isDir = statSync(model).isDirectory();
  } catch {
    // not a path
  }
  if (isDir) {
    // Loaded on demand: it starts ONNX Runtime, which scoring alone never needs.
    const { loadTextModel } = await import('../models/index.ts');
    return new CompletionModelProvider(await loadTextModel(model, { device: opts.device, threads: opts.threads }, 'tony eval --model'));
  }
  throw new TonyError('usage', `--model '${model}' is neither an http(s) URL nor a directory`, 'pass an OpenAI-compatible base URL, e.g. --model http://127.0.0.1:8000/v1');
}
