/**
 * `serve(model, options)`: the server core (core/server.ts) with the OpenAI route module
 * (routes/completions.ts) mounted — what `tony serve` and `tony start` run.
 *
 *   const { url, close } = await serve(model, { port: 0 });
 *   // … new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none' }) …
 *   await close();
 *
 * Other route modules (audio, 3D, realtime, studio) mount on `createServer` the same way.
 */
import { resolveConfig } from '../config.ts';
import { TonyError } from '../errors.ts';
import type { LoadedModel } from '../models/index.ts';
import { canRealtime, type OmniModel } from '../models/omni/contract.ts';
import { createServer, type RouteModule, SERVER_DEFAULTS } from './core/server.ts';
import type { VoiceGuard } from './realtime/session.ts';
import { COMPLETIONS_DEFAULTS, completionRoutes, type ServedModel } from './routes/completions.ts';
import { realtimeRoutes } from './routes/realtime.ts';

export { HttpError } from './core/http.ts';
export { createServer, type RequestContext, type Route, type RouteModule, Server, type WebSocketRoute } from './core/server.ts';
export { completionRoutes, type ServedModel } from './routes/completions.ts';
export { realtimeRoutes } from './routes/realtime.ts';

export const SERVE_DEFAULTS = { ...SERVER_DEFAULTS, ...COMPLETIONS_DEFAULTS };
export type ServeConfig = typeof SERVE_DEFAULTS;

export interface ServeOptions extends Partial<ServeConfig> {
  /** One line per request and the stack of every unexpected error; silent by default. */
  log?: (line: string) => void;
  /** More route modules to mount beside the OpenAI routes. */
  mount?: RouteModule[];
  /** A model with the capability 'realtime': the output-voice check on /v1/realtime (routes/realtime.ts). */
  voiceGuard?: VoiceGuard;
}

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

/**
 * Serve `model` over HTTP until `close()`: the OpenAI routes for a model that completes text, and
 * `/v1/realtime` for one with the capability 'realtime'. Rejects with a TonyError if the port
 * cannot be bound.
 */
export async function serve(model: ServedModel | OmniModel, options: ServeOptions = {}): Promise<ServeHandle> {
  const { log, mount = [], voiceGuard, ...rest } = options;
  const cfg = resolveConfig('serve', SERVE_DEFAULTS, rest);
  for (const key of ['maxTokens', 'maxN'] as const) {
    if (!Number.isInteger(cfg[key]) || cfg[key] < 1) throw new TonyError('config', `serve ${key} must be an integer ≥ 1, got ${cfg[key]}`);
  }
  const { maxTokens, maxN, ...core } = cfg;
  const server = createServer({ ...core, ...(log ? { log } : {}) });
  if ('complete' in model) server.mount(completionRoutes(model, { maxTokens, maxN }));
  if ('capabilities' in model && canRealtime(model as LoadedModel))
    server.mount(realtimeRoutes(model as OmniModel, { ...(voiceGuard ? { guard: voiceGuard } : {}), ...(log ? { log } : {}) }));
  for (const m of mount) server.mount(m);
  const url = await server.listen();
  return { url, stats: () => server.gate.stats(), close: () => server.close() };
}
