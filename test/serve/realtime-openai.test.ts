/**
 * /v1/realtime with the official `openai` package's realtime client (`openai/realtime/ws`). It always
 * connects with wss://, so the test puts a TLS terminator with a self-signed certificate (made by
 * openssl here) in front of the plain server and hands the client the certificate as its `ca`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import OpenAI from 'openai';
import type { OpenAIRealtimeError } from 'openai/realtime/internal-base';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from '../../src/serve/index.ts';
import { decodePcm16, encodePcm16 } from '../../src/serve/realtime/pcm16.ts';
import { realtimeRoutes } from '../../src/serve/routes/realtime.ts';
import { program, requires } from '../system.ts';
import type { Ev } from './realtime-client.ts';
import { OmniDouble } from './realtime-double.ts';

const OPENSSL = program('openssl', 'apt-get install openssl');
const KEY = 'sk-test';

let server: Server | undefined;
let tls: TlsServer | undefined;
let cert = '';
let baseURL = '';
let dir = '';

beforeAll(async () => {
  if (OPENSSL.missing()) return;
  dir = mkdtempSync(join(tmpdir(), 'tony-tls-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' }); // biome-ignore format: one argument list
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  server = createServer({ port: 0, apiKey: KEY }).mount(realtimeRoutes(new OmniDouble()));
  const plain = new URL(await server.listen());
  // TLS in front: every decrypted byte goes to the plain server and back.
  tls = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (socket) => {
    const upstream = netConnect(Number(plain.port), plain.hostname);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => tls!.listen(0, '127.0.0.1', r));
  const port = (tls.address() as { port: number }).port;
  baseURL = `https://localhost:${port}/v1`;
});
afterAll(async () => {
  await server?.close(); // closes the sockets, which ends their TLS side
  await new Promise<void>((r) => (tls ? tls.close(() => r()) : r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the official openai realtime client over wss://', () => {
  it('connects, updates the session, and gets a streamed spoken answer to a spoken turn', async (ctx) => {
    requires(ctx, OPENSSL);
    const client = new OpenAI({ apiKey: KEY, baseURL });
    const rt = new OpenAIRealtimeWS({ model: 'tony-omni', options: { ca: cert } }, client);
    const seen: string[] = [];
    const errors: unknown[] = [];
    rt.on('event', (e) => seen.push(e.type));
    rt.on('error', (e) => errors.push(e));
    const done = new Promise<Ev>((resolve) => rt.on('event', (e) => e.type === 'response.done' && resolve(e as Ev)));
    const created = new Promise<void>((resolve) => rt.on('event', (e) => e.type === 'session.created' && resolve()));
    let audio = 0;
    const transcript: string[] = [];
    rt.on('event', (e) => {
      const ev = e as Ev;
      if (ev.type === 'response.audio.delta') audio += decodePcm16(ev.delta).length;
      if (ev.type === 'response.audio_transcript.delta') transcript.push(ev.delta);
    });
    await created;
    // The client's types are the GA API's; the beta session fields this server speaks go as plain JSON.
    rt.send({ type: 'session.update', session: { turn_detection: null, voice: 'sage' } } as never);
    const tone = Float32Array.from({ length: 12000 }, (_, i) => 0.4 * Math.sin((2 * Math.PI * 400 * i) / 24000));
    rt.send({ type: 'input_audio_buffer.append', audio: encodePcm16(tone) });
    rt.send({ type: 'input_audio_buffer.commit' });
    rt.send({ type: 'response.create' });
    const d = await done;
    expect(d.response.status).toBe('completed');
    expect(d.response.voice).toBe('sage');
    expect(transcript.join('')).toMatch(/^you said 0\.50 seconds at (39[89]|40[012]) hertz$/);
    // 7 words × 40 ms at 16 kHz → 24 kHz
    expect(audio).toBe(Math.ceil(7 * 640 * 1.5));
    expect(seen.slice(0, 2)).toEqual(['session.created', 'conversation.created']);
    expect(seen).toContain('input_audio_buffer.committed');
    expect(errors).toEqual([]);

    // a bad event reaches the client's error handler with the field named
    const err = new Promise<OpenAIRealtimeError>((resolve) => rt.on('error', resolve));
    rt.send({ type: 'input_audio_buffer.append', audio: 'not base64!' });
    const e = await err;
    expect(e.error).toMatchObject({ type: 'invalid_request_error', param: 'audio' });
    rt.close();
  });
});
