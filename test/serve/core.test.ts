/**
 * The server core with more than one route module: a second module (JSON routes with path
 * parameters, a body, the admission queue, a public route, errors of each kind) and a WebSocket
 * route mounted beside the OpenAI routes — sharing auth, the error shape, and a graceful close.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { TonyError } from '../../src/errors.ts';
import { completionRoutes, createServer, HttpError, type RouteModule, type Server } from '../../src/serve/index.ts';
import { MirrorModel } from './mirror-model.ts';

const KEY = 'sekret';

/** A second route module: what an audio or 3D module will look like. */
const tools: RouteModule = {
  routes: [
    { method: 'GET', path: '/health', public: true, handle: async (ctx) => ctx.send(200, { ok: true }) },
    { method: 'GET', path: /\/v1\/tools\/echo\/([^/]+)/, handle: async (ctx) => ctx.send(200, { echo: ctx.params[0] }) },
    {
      method: 'POST',
      path: '/v1/tools/sum',
      async handle(ctx) {
        const body = (await ctx.json()) as { xs?: unknown };
        if (!Array.isArray(body.xs) || !body.xs.every((x) => typeof x === 'number'))
          throw new HttpError(400, "'xs' must be an array of numbers", 'invalid_request_error', 'xs');
        const xs = body.xs as number[];
        ctx.send(200, await ctx.withSlot(async () => ({ sum: xs.reduce((a, b) => a + b, 0) })));
      },
    },
    {
      method: 'GET',
      path: '/v1/tools/refuse',
      handle: async () => Promise.reject(new TonyError('data', 'no such clip', 'record one first')),
    },
    { method: 'GET', path: '/v1/tools/crash', handle: async () => Promise.reject(new Error('kaboom')) },
  ],
  websockets: [
    {
      path: '/v1/tools/reverse',
      connect(ws) {
        ws.on('message', (m) => ws.send([...m.toString()].reverse().join('')));
      },
    },
  ],
};

let server: Server;
let url: string;
const logs: string[] = [];

beforeAll(async () => {
  server = createServer({ port: 0, apiKey: KEY, log: (l) => logs.push(l) })
    .mount(completionRoutes(new MirrorModel({ id: 'mirror', contextLength: 256 })))
    .mount(tools);
  url = await server.listen();
});
afterAll(() => server.close());

const get = (path: string, key: string | null = KEY) => fetch(`${url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
const post = (path: string, body: unknown) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** Open a WebSocket; resolves to it, or rejects with the HTTP status of a refused upgrade. */
function openSocket(path: string, key: string | null = KEY): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('server core with two route modules', () => {
  it('serves both modules: the OpenAI routes and the second module side by side', async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['mirror']);
    expect((await client.completions.create({ model: 'mirror', prompt: 'abc', max_tokens: 3, temperature: 0 })).choices[0]!.text).toBe(
      'cba',
    );
    expect(await (await get('/v1/tools/echo/h%C3%A9llo')).json()).toEqual({ echo: 'héllo' });
    expect(await (await post('/v1/tools/sum', { xs: [1, 2, 3.5] })).json()).toEqual({ sum: 6.5 });
  });

  it('applies the same auth to every module, except routes marked public', async () => {
    const denied = await get('/v1/tools/echo/x', null);
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('missing_api_key');
    expect((await get('/v1/tools/echo/x', 'wrong')).status).toBe(401);
    expect(await (await get('/health', null)).json()).toEqual({ ok: true });
    expect((await get('/', null)).status).toBe(200); // the playground
  });

  it('maps every failure through the one error mapper', async () => {
    const bad = await post('/v1/tools/sum', { xs: ['1'] });
    expect([bad.status, ((await bad.json()) as { error: { param: string } }).error.param]).toEqual([400, 'xs']);
    const refused = await get('/v1/tools/refuse');
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe('no such clip\n  hint: record one first');
    const crashed = await get('/v1/tools/crash');
    expect(crashed.status).toBe(500);
    expect(logs.some((l) => l.includes('kaboom'))).toBe(true);
    expect((await get('/v1/tools/nothing')).status).toBe(404);
    const wrong = await get('/v1/tools/sum');
    expect([wrong.status, wrong.headers.get('allow')]).toEqual([405, 'POST']);
  });

  it('refuses a route mounted twice', () => {
    expect(() =>
      createServer({ port: 0 })
        .mount(tools)
        .mount({ routes: [tools.routes![0]!] }),
    ).toThrow(/GET \/health is mounted twice/);
  });

  it('upgrades WebSockets on a mounted path with the same auth, and refuses others', async () => {
    const ws = await openSocket('/v1/tools/reverse');
    const reply = new Promise<string>((resolve) => ws.once('message', (m) => resolve(m.toString())));
    ws.send('stressed');
    expect(await reply).toBe('desserts');
    ws.close();
    await expect(openSocket('/v1/tools/reverse', null)).rejects.toThrow('HTTP 401');
    await expect(openSocket('/v1/tools/elsewhere')).rejects.toThrow('HTTP 404');
  });

  it('closes open WebSockets with 1001 (going away) on shutdown', async () => {
    const s = createServer({ port: 0 }).mount(tools);
    const u = await s.listen();
    const ws = new WebSocket(`${u.replace('http', 'ws')}/v1/tools/reverse`);
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await s.close();
    expect(await closed).toBe(1001);
  });
});
