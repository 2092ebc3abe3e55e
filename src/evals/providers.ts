/**
 * Where samples come from. A provider turns a prompt into n continuations; the evaluations only see
 * this interface, so Tony's own code models plug in beside any OpenAI-compatible server.
 *
 *   const p = await openProvider('http://127.0.0.1:8000/v1');   // the server's one model
 *   const [a, b] = await p.generate('def add(a, b):\n', { n: 2, temperature: 0.8, topP: 0.95, maxTokens: 128 });
 */
import { statSync } from 'node:fs';
import type { Device } from '../engine/runtime.ts';
import { TonyError } from '../errors.ts';
import { type CompletionModel, type CompletionResult, ContextOverflowError } from '../models/gpt/completion.ts';
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
  /** `stop` (end of text or a stop sequence), `length`, or `error` (see `error`). */
  finishReason: string;
  /**
   * Why nothing was generated: the prompt does not fit the model's context. The eval run goes on;
   * the sample is empty (scored as failed) and carries this reason.
   */
  error?: string;
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
  /** The `model` field of requests; when absent, the one model `GET /models` lists. */
  modelName?: string;
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

/** Where servers put a model's context length in `GET /models` (Tony, OpenRouter; vLLM). */
const CONTEXT_FIELDS = ['context_length', 'max_model_len'] as const;

/** A refusal that no retry changes (4xx other than 408/409/429), with the server's error body. */
class Refused extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${url} refused the request: HTTP ${status}: ${body.slice(0, 300)}`);
  }

  /** OpenAI's error object, when the body is one. */
  get error(): { code?: string; param?: string; message?: string } | undefined {
    try {
      return (JSON.parse(this.body) as { error?: { code?: string; param?: string; message?: string } }).error;
    } catch {
      return undefined;
    }
  }
}

/**
 * The numbers in a `context_length_exceeded` message: OpenAI's and Tony's ("maximum context length
 * is 256 tokens, however you requested 400 tokens (145 in your prompt; 255 for the completion)")
 * and vLLM's ("… (145 in the messages, 255 in the completion)").
 */
export function parseContextError(message: string): { contextLength: number; promptTokens: number } | undefined {
  const ctx = /maximum context length is (\d+)/i.exec(message);
  const prompt = /\((\d+) in (?:your prompt|the prompt|the messages)/i.exec(message);
  return ctx && prompt ? { contextLength: Number(ctx[1]), promptTokens: Number(prompt[1]) } : undefined;
}

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

/**
 * Any server speaking OpenAI's Completions or Chat Completions API.
 *
 * Fitting the context: a server answers a prompt + max_tokens longer than its model's context with
 * OpenAI's 400 `context_length_exceeded`, whose message states the context and the prompt's tokens.
 * Only the server can count tokens, and clamping there would break OpenAI's contract, so the client
 * fits: it caps max_tokens at the context `GET /models` reports (when it does), and on that 400
 * retries once with max_tokens = context − prompt tokens. A prompt that fills the context alone
 * becomes failed samples carrying the reason, and the run goes on.
 */
export class OpenAIProvider implements Provider {
  readonly name: string;
  private readonly opts: OpenAIOptions;
  private readonly limiter: Limiter;
  private model: Promise<{ id: string; contextLength?: number }> | undefined;

  constructor(opts: Partial<OpenAIOptions> & Pick<OpenAIOptions, 'baseUrl'>) {
    this.opts = { ...DEFAULTS, ...opts, baseUrl: opts.baseUrl.replace(/\/+$/, '').replace(/\/(chat\/)?completions$/, '') };
    this.name = `${this.opts.baseUrl} (${this.opts.modelName ?? 'its model'}, ${this.opts.api})`;
    this.limiter = new Limiter(this.opts.concurrency);
  }

  /** The model to ask for: --model-name, else the one `GET /models` lists (with its context). */
  private resolveModel(): Promise<{ id: string; contextLength?: number }> {
    if (this.opts.modelName !== undefined) return Promise.resolve({ id: this.opts.modelName });
    this.model ??= (async () => {
      const url = `${this.opts.baseUrl}/models`;
      const hint = 'pass --model-name <id>';
      let list: Array<Record<string, unknown>>;
      try {
        const res = await fetch(url, { headers: this.authHeader(), signal: AbortSignal.timeout(this.opts.requestTimeoutMs) });
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
        list = ((await res.json()) as { data?: Array<Record<string, unknown>> }).data ?? [];
      } catch (e) {
        throw new TonyError(
          'usage',
          `no --model-name given, and the model list at ${url} could not be read: ${(e as Error).message}`,
          hint,
        );
      }
      const ids = list.map((m) => String(m.id));
      if (ids.length !== 1) {
        throw new TonyError(
          'usage',
          `no --model-name given, and ${url} lists ${ids.length} models${ids.length ? ` (${ids.slice(0, 10).join(', ')})` : ''}`,
          hint,
        );
      }
      const card = list[0]!;
      const ctx = CONTEXT_FIELDS.map((f) => card[f]).find((v): v is number => Number.isInteger(v) && (v as number) > 0);
      return { id: ids[0]!, ...(ctx ? { contextLength: ctx } : {}) };
    })();
    this.model.catch(() => (this.model = undefined)); // a server not up yet: ask again next time
    return this.model;
  }

  async generate(prompt: string, g: GenerateOptions): Promise<Generation[]> {
    if (g.suffix !== undefined && this.opts.api === 'chat') {
      throw new TonyError(
        'usage',
        'infilling needs the completions API (it sends `suffix`); the chat API has no suffix',
        'use --api completions',
      );
    }
    if (g.hook) {
      // One sample at a time: each may be interrupted at a different point.
      const out: Generation[] = [];
      const once = async (text: string, maxTokens: number, stop: string[]) =>
        (await this.request(text, { ...g, n: 1, maxTokens }, stop))[0]!;
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
    if (b.error) return { text: '', finishReason: 'error', error: b.error };
    const c = cutAtStop(b.text, stop);
    return { text: c.text, finishReason: c.cut ? 'stop' : b.finishReason };
  }

  private async request(prompt: string, g: GenerateOptions, stop: string[] | undefined): Promise<RawChoice[]> {
    const o = this.opts;
    const model = await this.resolveModel();
    // A completion can be at most the context less one prompt token.
    let maxTokens = model.contextLength ? Math.min(g.maxTokens, model.contextLength - 1) : g.maxTokens;
    const body = (max: number) => {
      const common = {
        model: model.id,
        n: g.n,
        temperature: g.temperature,
        top_p: g.topP,
        max_tokens: max,
        ...(stop && stop.length ? { stop: stop.slice(0, API_MAX_STOP) } : {}),
      };
      return o.api === 'chat'
        ? { ...common, messages: [{ role: 'user', content: prompt }] }
        : { ...common, prompt, ...(g.suffix !== undefined ? { suffix: g.suffix } : {}) };
    };
    const url = `${o.baseUrl}/${o.api === 'chat' ? 'chat/completions' : 'completions'}`;
    let json: {
      choices?: Array<{ index?: number; text?: string; message?: { content?: string }; finish_reason?: string; stop_reason?: unknown }>;
      usage?: { completion_tokens?: number };
    };
    try {
      json = (await this.limiter.run(() => this.post(url, body(maxTokens)))) as typeof json;
    } catch (e) {
      const fit =
        e instanceof Refused && e.error?.code === 'context_length_exceeded' ? parseContextError(e.error.message ?? '') : undefined;
      if (!fit) throw e instanceof Refused ? this.refusal(e) : e;
      const room = fit.contextLength - fit.promptTokens;
      if (room < 1) {
        const error = `the prompt has ${fit.promptTokens} tokens; the model's context is ${fit.contextLength}, leaving no room to generate`;
        return Array.from({ length: g.n }, () => ({ text: '', finishReason: 'error', error }));
      }
      maxTokens = Math.min(maxTokens, room);
      json = (await this.limiter.run(() =>
        this.post(url, body(maxTokens)).catch((e2) => Promise.reject(e2 instanceof Refused ? this.refusal(e2) : e2)),
      )) as typeof json;
    }
    if (!Array.isArray(json.choices) || json.choices.length !== g.n) {
      throw new TonyError(
        'data',
        `${url} answered without ${g.n} choices: ${JSON.stringify(json).slice(0, 300)}`,
        'check that the server speaks the OpenAI API',
      );
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

  private refusal(e: Refused): TonyError {
    return new TonyError(
      'usage',
      e.message,
      e.status === 401 ? 'set the API key (see --api-key-env)' : 'check --model, --model-name and --api',
    );
  }

  private authHeader(): Record<string, string> {
    return this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {};
  }

  private async post(url: string, body: unknown): Promise<unknown> {
    const o = this.opts;
    let lastError = '';
    for (let attempt = 0; attempt <= o.maxRetries; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...this.authHeader() },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(o.requestTimeoutMs),
        });
        if (res.ok) return await res.json();
        const text = await res.text();
        lastError = `HTTP ${res.status}: ${text.slice(0, 300)}`;
        if (res.status !== 408 && res.status !== 409 && res.status !== 429 && res.status < 500) throw new Refused(url, res.status, text);
        const ra = Number(res.headers.get('retry-after'));
        if (Number.isFinite(ra) && ra > 0) retryAfterMs = ra * 1000;
      } catch (e) {
        if (e instanceof Refused) throw e;
        lastError = (e as Error).message;
      }
      if (attempt === o.maxRetries) break;
      // Full jitter: a random wait up to the exponential cap, so parallel workers spread out.
      const cap = Math.min(RETRY_MAX_DELAY_MS, o.retryBaseMs * 2 ** attempt);
      await new Promise((r) => setTimeout(r, retryAfterMs ?? Math.random() * cap));
    }
    throw new TonyError(
      'device',
      `${url} failed after ${o.maxRetries + 1} attempts: ${lastError}`,
      'check that the server is up, or raise --retries',
    );
  }
}

interface RawChoice {
  text: string;
  finishReason: string;
  stopReason?: string;
  tokens?: number;
  /** The prompt did not fit: nothing was generated (Generation.error). */
  error?: string;
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
    const {
      text: piece,
      stopReason,
      finishReason,
      tokens,
      error,
    } = await once(prompt + text, budget, [hook.stopAt, ...(g.stop ?? [])].slice(0, API_MAX_STOP));
    if (error) return { text, finishReason: 'error', error };
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

  constructor(private readonly model: CompletionModel & { close?(): Promise<void>; checkCanInfill?(): void }) {
    this.name = `tony:${model.id}`;
  }

  async generate(prompt: string, g: GenerateOptions): Promise<Generation[]> {
    // Infilling with a model that never learned FIM would score noise: refuse the whole run.
    if (g.suffix !== undefined) this.model.checkCanInfill?.();
    const request = async (
      text: string,
      n: number,
      maxTokens: number,
      stop: readonly string[],
    ): Promise<CompletionResult | { error: string }> => {
      try {
        return await this.model.complete({
          prompt: text,
          ...(g.suffix !== undefined ? { suffix: g.suffix } : {}),
          n,
          maxTokens,
          temperature: g.temperature,
          topP: g.topP,
          stop: stop.slice(0, API_MAX_STOP),
        });
      } catch (e) {
        // One prompt too long for the context fails its own samples, not the run.
        if (e instanceof ContextOverflowError) return { error: e.message };
        throw e;
      }
    };
    if (g.hook) {
      const once = async (text: string, maxTokens: number, stop: string[]): Promise<RawChoice> => {
        const r = await request(text, 1, maxTokens, stop);
        if ('error' in r) return { text: '', finishReason: 'error', error: r.error };
        return { text: r.choices[0]!.text, finishReason: r.choices[0]!.finishReason, tokens: r.usage.completionTokens };
      };
      const out: Generation[] = [];
      for (let i = 0; i < g.n; i++) out.push(await sampleWithHook(once, prompt, g, g.hook));
      return out;
    }
    const r = await request(prompt, g.n, g.maxTokens, g.stop ?? []);
    if ('error' in r) return Array.from({ length: g.n }, () => ({ text: '', finishReason: 'error', error: r.error }));
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
  opts: {
    modelName?: string;
    api?: Api;
    apiKeyEnv?: string;
    concurrency?: number;
    maxRetries?: number;
    device?: Device;
    threads?: number;
  } = {},
): Promise<Provider> {
  if (/^https?:\/\//.test(model)) {
    return new OpenAIProvider({
      baseUrl: model,
      ...(opts.modelName !== undefined ? { modelName: opts.modelName } : {}),
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
  throw new TonyError(
    'usage',
    `--model '${model}' is neither an http(s) URL nor a directory`,
    'pass an OpenAI-compatible base URL, e.g. --model http://127.0.0.1:8000/v1',
  );
}
