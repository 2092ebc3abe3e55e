/**
 * The server core's HTTP pieces: the one error type every route throws (`HttpError`, sent in
 * OpenAI's error shape `{error: {message, type, param, code}}` — the shape Tony's clients already
 * read, for every route), JSON bodies under a size limit, JSON responses, and server-sent events.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error as the API returns it, with its HTTP status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new HttpError(400, message, 'invalid_request_error', param, code);

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void {
  const json = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': json.length });
  res.end(json);
}

/**
 * The request body as JSON, refusing more than `limit` bytes (413) by the declared length or while
 * reading. Listeners, not `for await`: leaving an async iterator early destroys the socket, and
 * the client would get a reset instead of the 413.
 */
export function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const tooLarge = () =>
    new HttpError(
      413,
      `The request body is larger than this server's limit of ${limit} bytes.`,
      'invalid_request_error',
      null,
      'request_too_large',
    );
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
        reject(badRequest("We could not parse the JSON body of your request. Send a JSON object with 'Content-Type: application/json'."));
      }
    });
  });
}

export interface EventStream {
  send(data: unknown): void;
  /** End the stream with `data: [DONE]`, as OpenAI does. */
  done(): void;
}

/** Server-sent events: `data: <json>` per event. */
export function openEventStream(res: ServerResponse): EventStream {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
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
