/**
 * The server core: node:http plus what every route module shares — routing, API-key auth, body
 * limits (http.ts), server-sent events (http.ts), WebSocket upgrades (the `ws` package), one error
 * mapper, the FIFO admission queue (queue.ts) and a graceful close. Route modules mount on it:
 *
 *   const server = createServer({ port: 0, apiKey: 'k' });
 *   server.mount(completionRoutes(model));          // routes/completions.ts
 *   const url = await server.listen();
 *
 * Built on node:http rather than a framework: what a server for a slow generator needs — a body
 * limit enforced while reading, events written as tokens arrive, and noticing a client that went
 * away so generation stops — sits at the level of Node's request/response objects.
 *
 * Every error reaches the client in one shape (`HttpError.body()`) and none stops the server. A
 * route that wants the queue calls `ctx.withSlot`: `concurrency` holders at once, `maxQueue` waiting,
 * more refused with 429.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { resolveConfig } from '../../config.ts';
import { TonyError } from '../../errors.ts';
import { badRequest, type EventStream, HttpError, openEventStream, readJson, sendJson } from './http.ts';
import { FifoGate, GateClosedError, QueueFullError } from './queue.ts';

export const SERVER_DEFAULTS = {
  /** Interface to listen on; the loopback default keeps the API off the network. */
  host: '127.0.0.1',
  /** TCP port; 0 picks a free one (the returned `url` says which). */
  port: 8000,
  /** When not empty, every route not marked public needs `Authorization: Bearer <apiKey>`. */
  apiKey: '',
  /** Requests holding a slot at the same time. */
  concurrency: 1,
  /** Requests waiting for a slot; one more is refused with 429. */
  maxQueue: 64,
  /** Largest request body; larger ones are refused with 413 (1 MiB ≈ 250k tokens of prompt). */
  maxBodyBytes: 1 << 20,
  /** On close(), how long running requests may finish before they are aborted. */
  shutdownGraceMs: 5000,
};
export type ServerConfig = typeof SERVER_DEFAULTS;

/** What a handler gets: the request, and the core's services bound to it. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Aborts when the client goes away or the server shuts down. */
  signal: AbortSignal;
  /** The path's capture groups, for a route whose path is a RegExp. */
  params: string[];
  /** The JSON body, within the server's body limit. */
  json(): Promise<unknown>;
  send(status: number, body: unknown, headers?: Record<string, string | number>): void;
  events(): EventStream;
  /** Wait for an admission slot (FIFO), run `work`, release. */
  withSlot<T>(work: () => Promise<T>): Promise<T>;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** An exact path, or a RegExp matched against the whole path (its groups → ctx.params). */
  path: string | RegExp;
  /** No API key needed (e.g. a static page). */
  public?: boolean;
  handle(ctx: RequestContext): Promise<void>;
}

export interface WebSocketRoute {
  path: string;
  public?: boolean;
  /** Called once per connection; `signal` aborts when the server shuts down. */
  connect(ws: WebSocket, req: IncomingMessage, signal: AbortSignal): void;
}

/** A route module: what `mount` takes. */
export interface RouteModule {
  routes?: Route[];
  websockets?: WebSocketRoute[];
}

export interface ServerOptions extends Partial<ServerConfig> {
  /** One line per request and the stack of every unexpected error; silent by default. */
  log?: (line: string) => void;
}

/** Why a request was aborted. */
const CLIENT_GONE = 'client-gone';
const SHUTDOWN = 'shutdown';
/** What OpenAI's clients read from a 429 to wait before retrying. */
const RETRY_AFTER_SECONDS = 1;
/** WebSocket close code "going away", sent to open sockets on shutdown. */
const WS_GOING_AWAY = 1001;

export function createServer(options: ServerOptions = {}): Server {
  const { log = () => {}, ...rest } = options;
  const cfg = resolveConfig('serve', SERVER_DEFAULTS, rest);
  checkConfig(cfg);
  return new Server(cfg, log);
}

function checkConfig(cfg: Readonly<ServerConfig>): void {
  const counts: Array<[keyof ServerConfig, number]> = [
    ['port', 0],
    ['concurrency', 1],
    ['maxQueue', 0],
    ['maxBodyBytes', 1],
    ['shutdownGraceMs', 0],
  ];
  for (const [key, min] of counts) {
    const v = cfg[key] as number;
    if (!Number.isInteger(v) || v < min) throw new TonyError('config', `serve ${key} must be an integer ≥ ${min}, got ${v}`);
  }
  if (cfg.port > 65535) throw new TonyError('config', `serve port must be ≤ 65535, got ${cfg.port}`, 'use 0 to pick a free port');
}

export class Server {
  readonly gate: FifoGate;
  private readonly http = createHttpServer((req, res) => void this.handle(req, res));
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly routes: Route[] = [];
  private readonly websockets: WebSocketRoute[] = [];
  private readonly keyDigest: Buffer | undefined;
  /** Every request being handled, for a graceful close. */
  private readonly active = new Set<{ ac: AbortController; done: Promise<void> }>();
  private readonly shutdown = new AbortController();
  private closing: Promise<void> | undefined;

  constructor(
    readonly cfg: Readonly<ServerConfig>,
    private readonly log: (line: string) => void,
  ) {
    this.gate = new FifoGate(cfg.concurrency, cfg.maxQueue);
    this.keyDigest = cfg.apiKey ? digest(cfg.apiKey) : undefined;
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
  }

  /** Add a route module's routes; a path + method mounted twice is an error. */
  mount(module: RouteModule): this {
    for (const r of module.routes ?? []) {
      if (this.routes.some((o) => o.method === r.method && String(o.path) === String(r.path))) {
        throw new TonyError('config', `serve: ${r.method} ${String(r.path)} is mounted twice`);
      }
      this.routes.push(r);
    }
    for (const w of module.websockets ?? []) {
      if (this.websockets.some((o) => o.path === w.path)) throw new TonyError('config', `serve: WebSocket ${w.path} is mounted twice`);
      this.websockets.push(w);
    }
    return this;
  }

  /** Start listening; resolves to the base URL, e.g. `http://127.0.0.1:8000`. */
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

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = performance.now();
    const ac = new AbortController();
    let settle!: () => void;
    const entry = { ac, done: new Promise<void>((r) => (settle = r)) };
    this.active.add(entry);
    // 'close' also fires after a complete response; only an unfinished one means the client left.
    res.on('close', () => {
      if (!res.writableFinished) ac.abort(CLIENT_GONE);
      this.log(
        `${req.method} ${req.url} ${res.writableFinished ? res.statusCode : 'aborted by client'} ${(performance.now() - t0).toFixed(0)} ms`,
      );
    });
    try {
      if (this.closing) throw new HttpError(503, 'The server is shutting down.', 'server_error');
      const path = pathOf(req.url);
      const matches = this.routes.flatMap((r) => {
        const params = matchPath(r.path, path);
        return params ? [{ route: r, params }] : [];
      });
      if (!matches.length) throw new HttpError(404, `Invalid URL (${req.method} ${path})`, 'invalid_request_error', null, 'not_found');
      const method = req.method === 'HEAD' ? 'GET' : (req.method ?? '');
      const match = matches.find((m) => m.route.method === method);
      if (!match) {
        const allowed = [...new Set(matches.map((m) => m.route.method))];
        res.setHeader('Allow', allowed.join(', '));
        throw new HttpError(
          405,
          `Method ${req.method} is not allowed for ${path}; use ${allowed.join(' or ')}.`,
          'invalid_request_error',
          null,
          'method_not_allowed',
        );
      }
      if (!match.route.public) this.authorize(req);
      await match.route.handle({
        req,
        res,
        signal: ac.signal,
        params: match.params,
        json: () => readJson(req, this.cfg.maxBodyBytes),
        send: (status, body, headers) => sendJson(res, status, body, headers),
        events: () => openEventStream(res),
        withSlot: (work) => this.withSlot(ac.signal, work),
      });
    } catch (err) {
      this.fail(res, err, ac.signal);
    } finally {
      this.active.delete(entry);
      settle();
    }
  }

  private authorize(req: IncomingMessage): void {
    if (!this.keyDigest) return;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!m) {
      throw new HttpError(
        401,
        "You didn't provide an API key. Send it as `Authorization: Bearer <key>` (the key this server was started with).",
        'invalid_request_error',
        null,
        'missing_api_key',
      );
    }
    // Compare fixed-length digests in constant time: the key's length and prefix do not leak.
    if (!timingSafeEqual(digest(m[1]!.trim()), this.keyDigest)) {
      throw new HttpError(401, 'Incorrect API key provided.', 'invalid_request_error', null, 'invalid_api_key');
    }
  }

  /** Send `err` in the one error shape; on an open event stream, as a final `data: {error}` event. */
  private fail(res: ServerResponse, err: unknown, signal: AbortSignal): void {
    if (signal.reason === CLIENT_GONE || res.destroyed) return; // nobody to tell
    const e = this.toHttpError(err, signal);
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

  /** The one error mapper: every failure of every route becomes an HttpError here. */
  private toHttpError(err: unknown, signal: AbortSignal): HttpError {
    if (err instanceof HttpError) return err;
    if (signal.reason === SHUTDOWN || err instanceof GateClosedError)
      return new HttpError(503, 'The server is shutting down.', 'server_error');
    if (err instanceof QueueFullError) {
      return new HttpError(
        429,
        `The server is busy (${err.queued} requests waiting, the most it queues). Retry shortly.`,
        'requests',
        null,
        'rate_limit_exceeded',
      );
    }
    // The model refused the request itself (e.g. a prompt its tokenizer cannot hold).
    if (err instanceof TonyError && (err.kind === 'usage' || err.kind === 'config' || err.kind === 'data')) return badRequest(err.format());
    this.log(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    const detail = err instanceof TonyError ? `: ${err.format()}` : '';
    return new HttpError(500, `The server had an error while processing your request${detail}.`, 'server_error');
  }

  /** Wait for a slot (FIFO), run `work`, release. A client gone while waiting just leaves the queue. */
  private async withSlot<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    const release = await this.gate.acquire(signal);
    try {
      return await work();
    } finally {
      release();
    }
  }

  // -------------------------------------------------------------------------------------------
  // WebSocket upgrades: same auth as HTTP routes; refusals are plain HTTP responses on the socket.

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const refuse = (e: HttpError) => {
      const body = JSON.stringify(e.body());
      socket.end(
        `HTTP/1.1 ${e.status} ${e.status === 401 ? 'Unauthorized' : e.status === 404 ? 'Not Found' : 'Service Unavailable'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    try {
      if (this.closing) throw new HttpError(503, 'The server is shutting down.', 'server_error');
      const path = pathOf(req.url);
      const route = this.websockets.find((w) => w.path === path);
      if (!route) throw new HttpError(404, `No WebSocket endpoint at ${path}`, 'invalid_request_error', null, 'not_found');
      if (!route.public) this.authorize(req);
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.log(`WebSocket ${path} open`);
        route.connect(ws, req, this.shutdown.signal);
      });
    } catch (err) {
      refuse(err instanceof HttpError ? err : new HttpError(503, String(err), 'server_error'));
    }
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Stop accepting connections, refuse waiting requests (503), give running ones
   * `shutdownGraceMs` to finish, then abort them; close WebSockets; resolves when the port is free.
   */
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
      this.shutdown.abort(SHUTDOWN);
      for (const ws of this.wss.clients) ws.close(WS_GOING_AWAY, 'server shutting down');
      await all();
      for (const ws of this.wss.clients) ws.terminate();
      this.wss.close();
      this.http.closeAllConnections();
      await closed;
    })();
    return this.closing;
  }
}

// ---------------------------------------------------------------------------------------------

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The request's path; a target that does not parse is the client's error, not the server's. */
function pathOf(target: string | undefined): string {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    throw badRequest(`Invalid request target ${JSON.stringify(target)}.`);
  }
}

/** A route's captures for `path` ([] for an exact match), or undefined if it does not match. */
function matchPath(pattern: string | RegExp, path: string): string[] | undefined {
  if (typeof pattern === 'string') return pattern === path ? [] : undefined;
  const m = new RegExp(`^(?:${pattern.source})$`, pattern.flags).exec(path);
  return m ? m.slice(1).map((g) => safeDecode(g ?? '')) : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
