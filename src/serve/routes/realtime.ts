/**
 * `/v1/realtime`: the OpenAI Realtime protocol over a WebSocket (session.ts holds the state
 * machine; this module is the socket around it). Mounted by `serve` when the model has the
 * capability 'realtime' (src/models/omni/contract.ts).
 *
 *   const server = createServer({ port: 0 }).mount(realtimeRoutes(model, { guard }));
 *   // ws://host/v1/realtime?model=… — session.created arrives first
 *
 * Text frames are events; a binary frame, or one above the protocol's 15 MiB per event, is an
 * `error` event and the session goes on. The session ends with the socket (or the server's
 * shutdown, which closes every socket): its response and transcriptions are aborted.
 */
import type { WebSocket } from 'ws';
import type { OmniModel } from '../../models/omni/contract.ts';
import type { RouteModule } from '../core/server.ts';
import { RealtimeSession, type VoiceGuard } from '../realtime/session.ts';

/** The protocol's limit for one client event (an append may carry up to 15 MiB of audio). */
const MAX_EVENT_BYTES = 15 * 1024 * 1024 + 4096;

export interface RealtimeRouteOptions {
  /** The output-voice check (src/models/omni/voice-safety.ts); without it every voice passes. */
  guard?: VoiceGuard;
  log?: (line: string) => void;
}

export function realtimeRoutes(model: OmniModel, opts: RealtimeRouteOptions = {}): RouteModule {
  return {
    websockets: [
      {
        path: '/v1/realtime',
        connect(ws: WebSocket, _req, shutdown: AbortSignal) {
          const send = (event: object) => {
            if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
          };
          const session = new RealtimeSession(model, send, {
            ...(opts.guard ? { guard: opts.guard } : {}),
            ...(opts.log ? { log: opts.log } : {}),
          });
          const end = () => void session.close();
          shutdown.addEventListener('abort', end, { once: true });
          ws.on('close', () => {
            shutdown.removeEventListener('abort', end);
            end();
          });
          ws.on('error', (err) => opts.log?.(`realtime: socket error: ${err.message}`));
          ws.on('message', (data, isBinary) => {
            const bytes = Array.isArray(data) ? data.reduce((s, b) => s + b.length, 0) : (data as Buffer | ArrayBuffer).byteLength;
            if (isBinary || bytes > MAX_EVENT_BYTES) {
              const why = isBinary
                ? 'a binary frame; events are JSON text frames'
                : `${bytes} bytes, above the ${MAX_EVENT_BYTES}-byte limit for one event`;
              send({
                type: 'error',
                event_id: `event_${Date.now()}`,
                error: {
                  type: 'invalid_request_error',
                  code: 'invalid_event',
                  message: `The message is ${why}.`,
                  param: null,
                  event_id: null,
                },
              });
              return;
            }
            session.handle(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'));
          });
          session.start();
        },
      },
    ],
  };
}
