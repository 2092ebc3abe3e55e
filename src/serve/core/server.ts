/**
 * An OpenAI-compatible HTTP server over any `CompletionModel` (src/text/completion.ts):
 *
 *   GET  /                       the web playground (playground.html)
 *   GET  /v1/models              the one model served (and /v1/models/{id})
 *   POST /v1/completions         legacy completions; `suffix` asks for an infill
 *   POST /v1/chat/completions    chat, through the transcript template in chat.ts
 *
 * Built on node:http rather than a framework: the routes are four, and what a server for a slow
 * generator needs — a body limit enforced while reading, server-sent events written as tokens
 * arrive, and noticing a client that went away so generation stops — are all at the level of the
 * Node request/response objects, which a framework's adapter would wrap.
 *
 * Requests take one slot of a FIFO gate (queue.ts): `concurrency` generate at once, `maxQueue` wait,
 * more are refused with 429. Every error reaches the client in OpenAI's shape
 * `{error: {message, type, param, code}}` and none stops the server.
 *
 *   const { url, close } = await serve(model, { port: 0 });
 *   // … new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none' }) …
 *   await close();
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveConfig } from '../../config.ts';
import { TonyError } from '../../errors.ts';
import type { CompletionDelta, CompletionModel, CompletionRequest, CompletionResult } from '../../models/gpt/completion.ts';
import { chatReply } from '../routes/chat.ts';
import {
  ApiError,
  chatChunk,
  chatLogprobs,
  chatResponse,
  completionChunk,
  completionLogprobs,
  completionResponse,
  type Envelope,
  invalidRequest,
  type Limits,
  parseChatRequest,
  parseCompletionRequest,
} from '../routes/openai.ts';
import { FifoGate, GateClosedError, QueueFullError } from './queue.ts';

export const SERVE_DEFAULTS = {
  /** Interface to listen on; the loopback default keeps the API off the network. */
  host: '127.0.0.1',
  /** TCP port; 0 picks a free one (the returned `url` says which). */
  port: 8000,
  /** When not empty, every /v1 request needs `Authorization: Bearer <apiKey>`. */
  apiKey: '',
  /** Requests generating at the same time (each may hold n samples). */
  concurrency: 1,
  /** Requests waiting for a slot; one more is refused with 429. */
  maxQueue: 64,
  /** Largest request body; larger ones are refused with 413 (1 MiB ≈ 250k tokens of prompt). */
  maxBodyBytes: 1 << 20,
  /** Largest max_tokens a request may ask for. */
  maxTokens: 4096,
  /** Largest n (samples per request). */
  maxN: 16,
  /** On close(), how long running requests may finish before they are aborted. */
  shutdownGraceMs: 5000,
};
export type ServeConfig = typeof SERVE_DEFAULTS;

export interface ServeOptions extends Partial<ServeConfig> {
  /** One line per request and the stack of every unexpected error; silent by default. */
  log?: (line: string) => void;
}

/**
 * The model as served. `provider` (e.g. 'cpu', 'webgpu') is shown by /v1/models and the playground
 * when the model says which execution provider runs it.
 */
export type ServedModel = CompletionModel & { readonly provider?: string };

export interface ServeHandle {
  /** Base URL, e.g. `http://127.0.0.1:8000` (the OpenAI base URL is `${url}/v1`). */
  readonly url: string;
  /** Requests generating now and waiting for a slot. */
  stats(): { running: number; queued: number };
  /**
   * Stop accepting connections, refuse waiting requests (503), give running ones
   * `shutdownGraceMs` to finish, then abort them; resolves when the port is free.
   */
  close(): Promise<void>;
}

/** Serve `model` over HTTP until `close()`. Rejects with a TonyError if the port cannot be bound. */
export async function serve(model: ServedModel, options: ServeOptions = {}): Promise<ServeHandle> {
  const { log = () => {}, ...rest } = options;
  const cfg = resolveConfig('serve', SERVE_DEFAULTS, rest);
  checkConfig(cfg);
  const playground = await readFile(new URL('../routes/playground.html', import.meta.url));
  const api = new Api(model, cfg, playground, log);
  const url = await api.listen();
  return { url, stats: () => api.gate.stats(), close: () => api.close() };
}

function checkConfig(cfg: Readonly<ServeConfig>): void {
  const counts: Array<[keyof ServeConfig, number]> = [['port', 0], ['concurrency', 1], ['maxQueue', 0], ['maxBodyBytes', 1], ['maxTokens', 1], ['maxN', 1], ['shutdownGraceMs', 0]];
  for (const [key, min] of counts) {
    const v = cfg[key] as number;
    if (!Number.isInteger(v) || v < min) throw new TonyError('config', `serve ${key} must be an integer ≥ ${min}, got ${v}`);
  }
  if (cfg.port > 65535) throw new TonyError('config', `serve port must be ≤ 65535, got ${cfg.port}`, 'use 0 to pick a free port');
}

/** Why a request's generation was aborted. */
const CLIENT_GONE = 'client-gone';
const SHUTDOWN = 'shutdown';

/** What OpenAI's clients read from a 429 to wait before retrying. */
const RETRY_AFTER_SECONDS = 1;

type Handler = (req: IncomingMessage, res: ServerResponse, signal: AbortSignal) => Promise<void>;

class Api {
  readonly gate: FifoGate;
  private readonly http = createServer((req, res) => void this.handle(req, res));
  private readonly limits: Limits;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly keyDigest: Buffer | undefined;
  /** Every request being handled, for a graceful close. */
  private readonly active = new Set<{ ac: AbortController; done: Promise<void> }>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly model: ServedModel,
    private readonly cfg: Readonly<ServeConfig>,
    private readonly playground: Buffer,
    private readonly log: (line: string) => void,
  ) {
    this.gate = new FifoGate(cfg.concurrency, cfg.maxQueue);
    this.limits = { modelId: model.id, contextLength: model.contextLength, maxTokens: cfg.maxTokens, maxN: cfg.maxN, countTokens: (t) => model.countTokens(t) };
    this.keyDigest = cfg.apiKey ? digest(cfg.apiKey) : undefined;
  }

  listen(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.http.once('error', (err: NodeJS.ErrnoException) => {
        const hint = err.code === 'EADDRINUSE' ? 'pick another --port, or 0 for a free one' : undefined;
        reject(new TonyError('usage', `cannot listen on ${this.cfg.host}:${this.cfg.port}: ${err.message}`, hint, { cause: err }));
      });
      this.http.listen(this.cfg.port, this.cfg.host, () => {
        const { address, port } = this.http.address() as AddressInfo;
        resolve(`http://${address.includes(':') ? `[${address}]` : address}:${port}`);
      });
    });
  }

  // -------------------------------------------------------------------------------------------
  // Routing, auth and errors: the one boundary where everything becomes an HTTP response.

  private readonly routes: Record<string, Record<string, Handler>> = {
    '/': { GET: (_req, res) => this.sendPlayground(res) },
    '/v1/models': { GET: async (_req, res) => sendJson(res, 200, { object: 'list', data: [this.modelCard()] }) },
    '/v1/completions': { POST: (req, res, signal) => this.completions(req, res, signal) },
    '/v1/chat/completions': { POST: (req, res, signal) => this.chat(req, res, signal) },
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = performance.now();
    const ac = new AbortController();
    let settle!: () => void;
    const entry = { ac, done: new Promise<void>((r) => (settle = r)) };
    this.active.add(entry);
    // 'close' also fires after a complete response; only an unfinished one means the client left.
    res.on('close', () => {
      if (!res.writableFinished) ac.abort(CLIENT_GONE);
      this.log(`${req.method} ${req.url} ${res.writableFinished ? res.statusCode : 'aborted by client'} ${(performance.now() - t0).toFixed(0)} ms`);
    });
    try {
      if (this.closing) throw new ApiError(503, 'The server is shutting down.', 'server_error');
      const path = pathOf(req.url);
      const methods = this.route(path);
      if (!methods) throw new ApiError(404, `Invalid URL (${req.method} ${path})`, 'invalid_request_error', null, 'not_found');
      const handler = methods[req.method === 'HEAD' ? 'GET' : (req.method ?? '')];
      if (!handler) {
        res.setHeader('Allow', Object.keys(methods).join(', '));
        throw new ApiError(405, `Method ${req.method} is not allowed for ${path}; use ${Object.keys(methods).join(' or ')}.`, 'invalid_request_error', null, 'method_not_allowed');
      }
      if (path.startsWith('/v1/')) this.authorize(req);
      await handler(req, res, ac.signal);
    } catch (err) {
      this.fail(res, err, ac.signal);
    } finally {
      this.active.delete(entry);
      settle();
    }
  }

  private route(path: string): Record<string, Handler> | undefined {
    if (Object.hasOwn(this.routes, path)) return this.routes[path];
    const id = /^\/v1\/models\/(.+)$/.exec(path)?.[1];
    if (id === undefined) return undefined;
    return {
      GET: async (_req, res) => {
        const want = safeDecode(id);
        if (want !== this.model.id) throw new ApiError(404, `The model \`${want}\` does not exist.`, 'invalid_request_error', 'model', 'model_not_found');
        sendJson(res, 200, this.modelCard());
      },
    };
  }

  private authorize(req: IncomingMessage): void {
    if (!this.keyDigest) return;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!m) {
      throw new ApiError(401, "You didn't provide an API key. Send it as `Authorization: Bearer <key>` (the key this server was started with).", 'invalid_request_error', null, 'missing_api_key');
    }
    // Compare fixed-length digests in constant time: the key's length and prefix do not leak.
    if (!timingSafeEqual(digest(m[1]!.trim()), this.keyDigest)) {
      throw new ApiError(401, 'Incorrect API key provided.', 'invalid_request_error', null, 'invalid_api_key');
    }
  }

  /** Send `err` in OpenAI's error shape; on an open event stream, as a final `data: {error}` event. */
  private fail(res: ServerResponse, err: unknown, signal: AbortSignal): void {
    if (signal.reason === CLIENT_GONE || res.destroyed) return; // nobody to tell
    const e = this.toApiError(err, signal);
    if (res.headersSent) {
      if (!res.writableEnded) res.end(`data: ${JSON.stringify(e.body())}\n\n`);
      return;
    }
    const headers: Record<string, string | number> = {};
    // After a refused body or during shutdown, do not read more from this connection.
    if (e.status === 413 || this.closing) headers.Connection = 'close';
    if (e.status === 429) headers['Retry-After'] = RETRY_AFTER_SECONDS;
    sendJson(res, e.status, e.body(), headers);
  }

  private toApiError(err: unknown, signal: AbortSignal): ApiError {
    if (err instanceof ApiError) return err;
    if (signal.reason === SHUTDOWN || err instanceof GateClosedError) return new ApiError(503, 'The server is shutting down.', 'server_error');
    if (err instanceof QueueFullError) {
      return new ApiError(429, `The server is busy (${err.queued} requests waiting, the most it queues). Retry shortly.`, 'requests', null, 'rate_limit_exceeded');
    }
    // The model refused the request itself (e.g. a prompt its tokenizer cannot hold).
    if (err instanceof TonyError && (err.kind === 'usage' || err.kind === 'config' || err.kind === 'data')) return invalidRequest(err.format());
    this.log(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    const detail = err instanceof TonyError ? `: ${err.format()}` : '';
    return new ApiError(500, `The server had an error while processing your request${detail}.`, 'server_error');
  }

  // -------------------------------------------------------------------------------------------
  // Endpoints

  private modelCard() {
    return {
      id: this.model.id,
      object: 'model',
      created: this.created,
      owned_by: 'tony',
      // Not OpenAI's fields; vLLM and llama.cpp add similar ones.
      context_length: this.model.contextLength,
      ...(this.model.provider ? { provider: this.model.provider } : {}),
    };
  }

  private async sendPlayground(res: ServerResponse): Promise<void> {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': this.playground.length, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
    res.end(this.playground);
  }

  private async completions(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const { req: creq, stream, includeUsage } = parseCompletionRequest(await readJson(req, this.cfg.maxBodyBytes), this.limits);
    const e = this.envelope('cmpl');
    await this.withSlot(signal, async () => {
      if (!stream) {
        sendJson(res, 200, completionResponse(e, await this.model.complete(creq, undefined, signal)));
        return;
      }
      const sse = openEventStream(res);
      const chunk = (index: number, text: string, logprobs: unknown = null, finish: string | null = null) =>
        sse.send(completionChunk(e, [{ index, text, logprobs, finish_reason: finish }], includeUsage));
      const result = await this.streamChoices(creq, signal, (index, text) => chunk(index, text), (c) => chunk(c.choice.index, c.rest, completionLogprobs(c.choice.logprobs), c.choice.finishReason));
      if (includeUsage) sse.send(completionChunk(e, [], true, result.usage));
      sse.done();
    });
  }

  private async chat(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const { req: creq, stream, includeUsage, logprobs } = parseChatRequest(await readJson(req, this.cfg.maxBodyBytes), this.limits);
    const e = this.envelope('chatcmpl');
    await this.withSlot(signal, async () => {
      if (!stream) {
        const result = await this.model.complete(creq, undefined, signal);
        sendJson(res, 200, chatResponse(e, result, result.choices.map((c) => chatReply(c.text)), logprobs));
        return;
      }
      const sse = openEventStream(res);
      const chunk = (index: number, delta: { role?: 'assistant'; content?: string }, lp: unknown = null, finish: string | null = null) =>
        sse.send(chatChunk(e, [{ index, delta, logprobs: lp, finish_reason: finish }], includeUsage));
      // The reply's leading blanks follow the template's colon (chat.ts); drop them until text starts.
      const started: boolean[] = [];
      const content = (index: number, text: string) => {
        const t = started[index] ? text : chatReply(text);
        if (!t) return;
        started[index] = true;
        chunk(index, { content: t });
      };
      for (let i = 0; i < creq.n; i++) chunk(i, { role: 'assistant', content: '' });
      const result = await this.streamChoices(creq, signal, content, (c) => {
        if (c.rest) content(c.choice.index, c.rest);
        chunk(c.choice.index, {}, logprobs ? chatLogprobs(c.choice.logprobs) : null, c.choice.finishReason);
      });
      if (includeUsage) sse.send(chatChunk(e, [], true, result.usage));
      sse.done();
    });
  }

  /**
   * Run `creq`, passing streamed text to `onText` as it comes, and call `onFinish` once per choice
   * when its end is known. A choice ends when the model marks its last delta — except when
   * log-probabilities were asked for: the contract's deltas carry only text, so the finish is held
   * back until the result and carries the whole choice's logprobs. `rest` is any text of the final
   * choice the deltas did not deliver (all of it, for a model that does not stream).
   */
  private async streamChoices(
    creq: CompletionRequest,
    signal: AbortSignal,
    onText: (index: number, text: string) => void,
    onFinish: (c: { choice: CompletionResult['choices'][number]; rest: string }) => void,
  ): Promise<CompletionResult> {
    const holdFinish = creq.logprobs !== undefined;
    const sent: string[] = [];
    const finished = new Set<number>();
    const onDelta = (d: CompletionDelta) => {
      if (signal.aborted || finished.has(d.index)) return;
      if (d.text) {
        sent[d.index] = (sent[d.index] ?? '') + d.text;
        onText(d.index, d.text);
      }
      if (d.finishReason && !holdFinish) {
        finished.add(d.index);
        onFinish({ choice: { index: d.index, text: sent[d.index] ?? '', finishReason: d.finishReason }, rest: '' });
      }
    };
    const result = await this.model.complete(creq, onDelta, signal);
    for (const choice of result.choices) {
      if (finished.has(choice.index)) continue;
      const s = sent[choice.index] ?? '';
      onFinish({ choice, rest: choice.text.startsWith(s) ? choice.text.slice(s.length) : '' });
    }
    return result;
  }

  /** Wait for a slot (FIFO), run `work`, release. A client gone while waiting just leaves the queue. */
  private async withSlot(signal: AbortSignal, work: () => Promise<void>): Promise<void> {
    const release = await this.gate.acquire(signal);
    try {
      await work();
    } finally {
      release();
    }
  }

  private envelope(prefix: string): Envelope {
    return { id: `${prefix}-${randomUUID().replaceAll('-', '')}`, created: Math.floor(Date.now() / 1000), model: this.model.id };
  }

  // -------------------------------------------------------------------------------------------

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.gate.close();
      const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
      this.http.closeIdleConnections();
      const all = () => Promise.all([...this.active].map((a) => a.done));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all(), new Promise((r) => (timer = setTimeout(r, this.cfg.shutdownGraceMs)))]);
      clearTimeout(timer);
      for (const a of this.active) a.ac.abort(SHUTDOWN);
      await all();
      this.http.closeAllConnections();
      await closed;
    })();
    return this.closing;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The request's path; a target that does not parse is the client's error, not the server's. */
function pathOf(target: string | undefined): string {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    throw invalidRequest(`Invalid request target ${JSON.stringify(target)}.`);
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void {
  const json = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': json.length });
  res.end(json);
}

/**
 * The request body as JSON, refusing more than `limit` bytes (413) by the declared length or while
 * reading. Listeners, not `for await`: leaving an async iterator early destroys the socket, and
 * the client would get a reset instead of the 413.
 */
function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const tooLarge = () => new ApiError(413, `The request body is larger than this server's limit of ${limit} bytes.`, 'invalid_request_error', null, 'request_too_large');
  if (Number(req.headers['content-length']) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (b: Buffer) => {
      size += b.length;
      if (size <= limit) return void chunks.push(b);
      req.off('data', onData);
      req.resume(); // discard the rest; the 413 closes the connection
      reject(tooLarge());
    };
    req.on('data', onData);
    req.on('error', reject);
    req.on('end', () => {
      if (size > limit) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(invalidRequest("We could not parse the JSON body of your request. Send a JSON object with 'Content-Type: application/json'."));
      }
    });
  });
}

/** Server-sent events: `data: <json>` per event, ended by `data: [DONE]` as OpenAI does. */
function openEventStream(res: ServerResponse) {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  return {
    send(data: unknown): void {
      if (!res.writableEnded && !res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
    },
    done(): void {
      if (!res.writableEnded && !res.destroyed) res.end('data: [DONE]\n\n');
    },
  };
}
