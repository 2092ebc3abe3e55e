/**
 * The server under abuse: bad requests (each a 400 naming its field), auth, the bounded FIFO queue
 * (429), client aborts, oversized and malformed bodies, unknown routes and methods, failing models,
 * and shutdown — and after each, the server still serves. Requests go through the official `openai`
 * client where it can send them, and raw HTTP where it cannot (broken JSON, wrong methods).
 */
import { connect } from 'node:net';
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TonyError } from '../../src/errors.ts';
import type { CompletionDelta, CompletionRequest, CompletionResult } from '../../src/models/gpt/completion.ts';
import { type ServeHandle, serve } from '../../src/serve/index.ts';
import { MirrorModel } from './mirror-model.ts';

/** Milliseconds per token for the tests that need requests to overlap. */
const SLOW_MS = 20;

/** Mirror, except that some prompts make it fail in the ways a real model can. */
class FailingModel extends MirrorModel {
  override async complete(req: CompletionRequest, onDelta?: (d: CompletionDelta) => void, signal?: AbortSignal): Promise<CompletionResult> {
    if (req.prompt === 'refuse') throw new TonyError('usage', 'prompt holds a reserved token', 'remove <|endoftext|>');
    if (req.prompt === 'crash') throw new Error('kaboom');
    if (req.prompt === 'crash midway') {
      onDelta?.({ index: 0, text: 'partial' });
      throw new Error('kaboom midway');
    }
    // A model that does not stream: the server must still deliver the text in the event stream.
    if (req.prompt.startsWith('quiet')) return super.complete(req, undefined, signal);
    return super.complete(req, onDelta, signal);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `cond()` (bounded: tests must not hang). */
async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** The error a request fails with (the client throws APIError subclasses carrying the body). */
async function failure(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof APIError) return err;
    throw err;
  }
  throw new Error('request succeeded but should have failed');
}

let model: FailingModel;
let server: ServeHandle;
let client: OpenAI;
const logLines: string[] = [];

beforeAll(async () => {
  model = new FailingModel({ id: 'mirror', contextLength: 512 });
  server = await serve(model, {
    port: 0,
    concurrency: 1,
    maxQueue: 2,
    maxBodyBytes: 10_000,
    maxTokens: 300,
    maxN: 4,
    log: (l) => logLines.push(l),
  });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => server.close());

/** A completion that must still work after whatever a test did. */
async function stillServes(): Promise<void> {
  const r = await client.completions.create({ model: 'mirror', prompt: 'alive', max_tokens: 5, temperature: 0 });
  expect(r.choices[0]!.text).toBe('evila');
}

describe('bad requests are 400s naming the field', () => {
  const ok = { model: 'mirror', prompt: 'x' };
  const completionCases: Array<[string, Record<string, unknown>, string]> = [
    ['missing prompt', { model: 'mirror' }, 'prompt'],
    ['prompt of the wrong type', { ...ok, prompt: 5 }, 'prompt'],
    ['a batch of prompts', { ...ok, prompt: ['a', 'b'] }, 'prompt'],
    ['missing model', { prompt: 'x' }, 'model'],
    ['negative max_tokens', { ...ok, max_tokens: -1 }, 'max_tokens'],
    ['fractional max_tokens', { ...ok, max_tokens: 1.5 }, 'max_tokens'],
    ['max_tokens over the limit', { ...ok, max_tokens: 301 }, 'max_tokens'],
    ['temperature too high', { ...ok, temperature: 2.5 }, 'temperature'],
    ['temperature as a string', { ...ok, temperature: 'hot' }, 'temperature'],
    ['top_p above 1', { ...ok, top_p: 1.5 }, 'top_p'],
    ['n = 0', { ...ok, n: 0 }, 'n'],
    ['n over the limit', { ...ok, n: 5 }, 'n'],
    ['five stop strings', { ...ok, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    ['stop of the wrong type', { ...ok, stop: 5 }, 'stop'],
    ['an empty stop string', { ...ok, stop: [''] }, 'stop'],
    ['logprobs above 5', { ...ok, logprobs: 6 }, 'logprobs'],
    ['echo as a string', { ...ok, echo: 'yes' }, 'echo'],
    ['fractional seed', { ...ok, seed: 1.5 }, 'seed'],
    ['suffix of the wrong type', { ...ok, suffix: 3 }, 'suffix'],
    ['stream as a string', { ...ok, stream: 'true' }, 'stream'],
    ['stream_options without stream', { ...ok, stream_options: { include_usage: true } }, 'stream_options'],
    ['an unknown argument', { ...ok, frobnicate: 1 }, 'frobnicate'],
    ['an unimplemented argument at a non-default value', { ...ok, presence_penalty: 1 }, 'presence_penalty'],
    ['a prompt longer than the context', { ...ok, prompt: 'y'.repeat(600) }, 'prompt'],
    ['prompt + max_tokens longer than the context', { ...ok, prompt: 'y'.repeat(500), max_tokens: 100 }, 'max_tokens'],
  ];
  it.each(completionCases)('completions: %s', async (_, body, param) => {
    const err = await failure(client.post('/completions', { body }));
    expect(err.status).toBe(400);
    expect(err.type).toBe('invalid_request_error');
    expect(err.param).toBe(param);
    expect(err.message).toBeTruthy();
  });

  const msgs = [{ role: 'user', content: 'hi' }];
  const chatCases: Array<[string, Record<string, unknown>, string]> = [
    ['missing messages', { model: 'mirror' }, 'messages'],
    ['no messages', { model: 'mirror', messages: [] }, 'messages'],
    ['messages not an array', { model: 'mirror', messages: 'hi' }, 'messages'],
    ['an unknown role', { model: 'mirror', messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
    ['content of the wrong type', { model: 'mirror', messages: [...msgs, { role: 'user', content: 5 }] }, 'messages[1].content'],
    [
      'an image part',
      { model: 'mirror', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] },
      'messages[0].content[0]',
    ],
    ['top_logprobs without logprobs', { model: 'mirror', messages: msgs, top_logprobs: 2 }, 'top_logprobs'],
    ['max_tokens = 0', { model: 'mirror', messages: msgs, max_tokens: 0 }, 'max_tokens'],
    ['tools', { model: 'mirror', messages: msgs, tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools'],
  ];
  it.each(chatCases)('chat: %s', async (_, body, param) => {
    const err = await failure(client.post('/chat/completions', { body }));
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
  });

  it('a body that is not an object is a 400; an unknown model a 404', async () => {
    expect((await failure(client.post('/completions', { body: [1, 2] }))).status).toBe(400);
    const err = await failure(client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'x' }));
    expect(err).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
    await stillServes();
  });
});

describe('raw HTTP abuse', () => {
  const post = (path: string, body: string, headers: Record<string, string> = { 'Content-Type': 'application/json' }) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers, body });

  it('malformed or empty JSON is a 400 in OpenAI error shape', async () => {
    for (const body of ['{"model": "mirror", "prompt": ', '', 'not json at all', '{"a":1}}']) {
      const res = await post('/v1/completions', body);
      expect(res.status).toBe(400);
      const json = (await res.json()) as { error: Record<string, unknown> };
      expect(json.error).toMatchObject({ type: 'invalid_request_error', param: null, code: null });
      expect(json.error.message).toMatch(/parse the JSON body/);
    }
    await stillServes();
  });

  it('a body over the limit is a 413, by declared length or while streaming in', async () => {
    const err = await failure(client.completions.create({ model: 'mirror', prompt: 'z'.repeat(20_000) }));
    expect(err).toMatchObject({ status: 413, code: 'request_too_large' });
    // No Content-Length: a chunked upload, cut off by counting.
    const chunks = Array.from({ length: 30 }, () => new TextEncoder().encode('x'.repeat(1000)));
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      body: new ReadableStream({ pull: (c) => void (chunks.length ? c.enqueue(chunks.shift()!) : c.close()) }),
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
    await stillServes();
  });

  it('unknown routes are 404s and wrong methods 405s with Allow', async () => {
    const nf = await fetch(`${server.url}/v2/engines`);
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as { error: { message: string } }).error.message).toBe('Invalid URL (GET /v2/engines)');
    expect((await fetch(`${server.url}/v1/models/%E0%A4%A`)).status).toBe(404); // broken escape: still a 404
    const get = await fetch(`${server.url}/v1/completions`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const del = await fetch(`${server.url}/v1/models`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET');
    await stillServes();
  });

  it('garbage that is not HTTP gets a 400 and the server carries on', async () => {
    const { port } = new URL(server.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(port), '127.0.0.1', () => sock.write('\x00\x01 GARBAGE\r\n\r\n'));
      let got = '';
      sock.on('data', (d) => (got += d.toString()));
      sock.on('close', () => resolve(got));
      sock.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    await stillServes();
  });

  it('serves the playground at /', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).toContain('/v1/completions');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/); // nothing fetched from elsewhere
  });
});

describe('failing models', () => {
  it('a TonyError of the request is a 400 with its hint; any other error a 500 that is logged', async () => {
    const refused = await failure(client.completions.create({ model: 'mirror', prompt: 'refuse' }));
    expect(refused.status).toBe(400);
    expect(refused.message).toMatch(/reserved token[\s\S]*hint: remove/);
    const crashed = await failure(client.completions.create({ model: 'mirror', prompt: 'crash' }));
    expect(crashed).toMatchObject({ status: 500, type: 'server_error' });
    expect(logLines.some((l) => l.startsWith('error: Error: kaboom'))).toBe(true);
    await stillServes();
  });

  it('an error mid-stream arrives as an error event, which the client raises', async () => {
    const stream = await client.completions.create({ model: 'mirror', prompt: 'crash midway', stream: true });
    let text = '';
    const err = await failure(
      (async () => {
        for await (const c of stream) text += c.choices[0]?.text ?? '';
      })(),
    );
    expect(text).toBe('partial');
    expect(err.error).toMatchObject({ type: 'server_error' });
    await stillServes();
  });

  it('a model that never calls onDelta still streams its text and finish', async () => {
    const stream = await client.completions.create({ model: 'mirror', prompt: 'quiet!', max_tokens: 4, temperature: 0, stream: true });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.map((c) => c.choices[0]!.text).join('')).toBe('!tei');
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('length');
  });
});

describe('the queue', () => {
  it('runs one request at a time in arrival order and refuses the one beyond the queue with 429', async () => {
    model.delayMs = SLOW_MS;
    const before = model.requests.length;
    const ask = (prompt: string) => client.completions.create({ model: 'mirror', prompt, max_tokens: 8, temperature: 0 });
    const a = ask('aaaaaaaa');
    await until(() => server.stats().running === 1, 'a to run');
    const b = ask('bbbbbbbb');
    await until(() => server.stats().queued === 1, 'b to queue');
    const c = ask('cccccccc');
    await until(() => server.stats().queued === 2, 'c to queue');
    const err = await failure(ask('dddddddd'));
    expect(err).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    expect(err.headers?.get('retry-after')).toBe('1');
    expect((await Promise.all([a, b, c])).map((r) => r.choices[0]!.text)).toEqual(['aaaaaaaa', 'bbbbbbbb', 'cccccccc']);
    expect(model.requests.slice(before).map((r) => r.prompt)).toEqual(['aaaaaaaa', 'bbbbbbbb', 'cccccccc']);
    expect(model.maxActive).toBe(1);
    model.delayMs = 0;
    await stillServes();
  });
});

describe('client aborts', () => {
  it('a client that leaves mid-stream stops the generation', async () => {
    model.delayMs = SLOW_MS;
    const aborted = model.aborted;
    const tokens0 = model.tokens;
    const ac = new AbortController();
    const stream = await client.completions.create(
      { model: 'mirror', prompt: 'q'.repeat(200), max_tokens: 200, temperature: 0, stream: true },
      { signal: ac.signal },
    );
    let chunks = 0;
    // The client's stream ends quietly when its own signal aborts it.
    for await (const _ of stream) if (++chunks === 3) ac.abort();
    expect(chunks).toBe(3);
    await until(() => model.aborted === aborted + 1 && server.stats().running === 0, 'the model to be aborted');
    const made = model.tokens - tokens0;
    expect(made).toBeLessThan(20); // 200 tokens × 20 ms would take 4 s
    await sleep(3 * SLOW_MS);
    expect(model.tokens - tokens0).toBe(made); // and nothing more is generated
    model.delayMs = 0;
    await stillServes();
  });

  it('a client that leaves a non-streaming request, or while queued, is dropped too', async () => {
    model.delayMs = SLOW_MS;
    const aborted = model.aborted;
    const seen = model.requests.length;
    const running = new AbortController();
    const queued = new AbortController();
    const long = { model: 'mirror', prompt: 'r'.repeat(100), max_tokens: 100, temperature: 0 };
    const p1 = client.completions.create(long, { signal: running.signal }).catch((e: unknown) => e);
    await until(() => server.stats().running === 1, 'the first to run');
    const p2 = client.completions.create({ ...long, prompt: 'never' }, { signal: queued.signal }).catch((e: unknown) => e);
    await until(() => server.stats().queued === 1, 'the second to queue');
    queued.abort();
    await until(() => server.stats().queued === 0, 'the queued one to leave');
    running.abort();
    await until(() => model.aborted === aborted + 1 && server.stats().running === 0, 'the running one to be aborted');
    await Promise.all([p1, p2]);
    expect(model.requests.slice(seen).map((r) => r.prompt)).toEqual(['r'.repeat(100)]); // 'never' never ran
    model.delayMs = 0;
    await stillServes();
  });
});

describe('auth', () => {
  it('with an API key, /v1 needs it (401 in OpenAI shape) and the playground page does not', async () => {
    const m = new MirrorModel();
    const s = await serve(m, { port: 0, apiKey: 'sekret' });
    try {
      const wrong = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'guess', maxRetries: 0 });
      expect(await failure(wrong.models.list())).toMatchObject({ status: 401, code: 'invalid_api_key', type: 'invalid_request_error' });
      const none = await fetch(`${s.url}/v1/completions`, { method: 'POST', body: '{}' });
      expect(none.status).toBe(401);
      expect(((await none.json()) as { error: { code: string } }).error.code).toBe('missing_api_key');
      const right = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sekret', maxRetries: 0 });
      expect((await right.completions.create({ model: 'mirror', prompt: 'ok', temperature: 0 })).choices[0]!.text).toBe('ko');
      expect((await fetch(`${s.url}/`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('shutdown', () => {
  it('lets running requests finish, refuses queued ones with 503, then frees the port', async () => {
    const m = new MirrorModel({ delayMs: SLOW_MS });
    const s = await serve(m, { port: 0, shutdownGraceMs: 5000 });
    const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const running = c.completions.create({ model: 'mirror', prompt: 'finish me', max_tokens: 9, temperature: 0 });
    await until(() => s.stats().running === 1, 'the request to run');
    const queued = c.completions.create({ model: 'mirror', prompt: 'late', temperature: 0 });
    await until(() => s.stats().queued === 1, 'the second to queue');
    const closed = s.close();
    expect((await failure(queued)).status).toBe(503);
    expect((await running).choices[0]!.text).toBe('em hsinif');
    await closed;
    await expect(fetch(`${s.url}/v1/models`)).rejects.toThrow();
  });

  it('aborts what is still running after the grace period', async () => {
    const m = new MirrorModel({ delayMs: SLOW_MS });
    const s = await serve(m, { port: 0, shutdownGraceMs: 50 });
    const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const stream = await c.completions.create({ model: 'mirror', prompt: 's'.repeat(300), max_tokens: 300, temperature: 0, stream: true });
    const read = (async () => {
      for await (const _ of stream);
    })();
    await until(() => m.tokens > 0, 'tokens to flow');
    const t0 = Date.now();
    await s.close();
    expect(Date.now() - t0).toBeLessThan(2000); // 300 tokens would take 6 s
    expect(m.aborted).toBe(1);
    expect((await failure(read)).error).toMatchObject({ type: 'server_error' });
  });
});

describe('after all of that', () => {
  it('still serves, and never logged an unexpected error but the deliberate crashes', async () => {
    await stillServes();
    expect(logLines.filter((l) => l.startsWith('error:') && !l.includes('kaboom'))).toEqual([]);
    expect(logLines.filter((l) => / 500 /.test(l))).toHaveLength(1); // the one 'crash' request
  });
});
