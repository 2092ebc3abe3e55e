/**
 * /v1/realtime over a `ws` client, following the published event schema (the `openai` package's
 * beta realtime types), against the OmniModel test double (realtime-double.ts): every event path —
 * session, buffer (manual and server VAD), items, responses in audio and in text, cancel, turn
 * interruption, transcription, failure, the voice guard — and bad events, each an `error` naming the
 * field, never a crash. Oracles: the double's hand-computable answers and analytic sines.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, serve } from '../../src/serve/index.ts';
import { decodePcm16, encodePcm16 } from '../../src/serve/realtime/pcm16.ts';
import { RealtimeSession, type VoiceGuard } from '../../src/serve/realtime/session.ts';
import { realtimeRoutes } from '../../src/serve/routes/realtime.ts';
import { MirrorModel } from './mirror-model.ts';
import { type Ev, RtClient } from './realtime-client.ts';
import { hear, OmniDouble, VOICE_HZ } from './realtime-double.ts';

const sine24 = (hz: number, seconds: number, amp = 0.5) =>
  Float32Array.from({ length: Math.round(24000 * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / 24000));
const silence = (seconds: number) => new Float32Array(Math.round(24000 * seconds));
const concat = (...xs: Float32Array[]) => {
  const out = new Float32Array(xs.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
};
/** Append `x` in 100 ms events. */
function stream(c: RtClient, x: Float32Array, chunk = 2400): void {
  for (let o = 0; o < x.length; o += chunk) c.send({ type: 'input_audio_buffer.append', audio: encodePcm16(x.subarray(o, o + chunk)) });
}
const audioOf = (events: Ev[]) => concat(...events.filter((e) => e.type === 'response.audio.delta').map((e) => decodePcm16(e.delta)));
const types = (events: Ev[]) => events.map((e) => e.type);
/** The double's "<s> seconds at <hz> hertz" (zero crossings: ±2 Hz of the true frequency). */
const heard = (t: string) => {
  const m = /^(\d+\.\d\d) seconds at (\d+) hertz$/.exec(t);
  return m ? { seconds: Number(m[1]), hz: Number(m[2]) } : t;
};
/** The answer the double gave to the last call (checked against the oracle separately). */
const events0 = (m: OmniDouble) => {
  const c = m.calls.at(-1)!.conversation.at(-1)!.content[0]!;
  return `you said ${c.type === 'audio' ? hear(c.pcm, m.sampleRate) : c.text}`;
};

let model: OmniDouble;
let server: Server;
let url: string;
const logs: string[] = [];
let guard: VoiceGuard | undefined;
const clients: RtClient[] = [];

beforeAll(async () => {
  model = new OmniDouble();
  // The guard is looked up per response so a test can swap it.
  const lateGuard: VoiceGuard = { monitor: (rate) => (guard ? guard.monitor(rate) : { push: () => 'ok' }) };
  server = createServer({ port: 0, log: (l) => logs.push(l) }).mount(realtimeRoutes(model, { guard: lateGuard, log: (l) => logs.push(l) }));
  url = await server.listen();
});
afterAll(() => server.close());
afterEach(async () => {
  guard = undefined;
  model.stepMs = 0;
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

async function connect(session: Record<string, unknown> | undefined = { turn_detection: null }): Promise<RtClient> {
  const c = await RtClient.open(url);
  clients.push(c);
  await c.next('session.created');
  if (session) {
    c.send({ type: 'session.update', session });
    await c.next('session.updated');
  }
  return c;
}

describe('session', () => {
  it('starts with session.created (the protocol defaults, the model’s first voice) and conversation.created', async () => {
    const c = await connect(undefined);
    expect(types(c.events).slice(0, 2)).toEqual(['session.created', 'conversation.created']);
    const s = c.events[0]!.session;
    expect(s).toMatchObject({
      object: 'realtime.session',
      modalities: ['audio', 'text'],
      voice: 'ash',
      input_audio_format: 'pcm16',
      output_audio_format: 'pcm16',
      turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, create_response: true },
      input_audio_transcription: null,
    });
    expect(typeof c.events[0]!.event_id).toBe('string');
  });

  it('session.update changes only the fields sent and answers session.updated with the whole session', async () => {
    const c = await connect(undefined);
    c.send({ type: 'session.update', session: { voice: 'sage', instructions: 'Be brief.', turn_detection: { silence_duration_ms: 800 } } });
    const u = await c.next('session.updated');
    expect(u.session).toMatchObject({ voice: 'sage', instructions: 'Be brief.', modalities: ['audio', 'text'] });
    expect(u.session.turn_detection).toMatchObject({
      type: 'server_vad',
      threshold: 0.5,
      silence_duration_ms: 800,
      prefix_padding_ms: 300,
    });
  });

  it('a bad session.update is one error naming the field, and changes nothing', async () => {
    const c = await connect(undefined);
    const bad: [Record<string, unknown>, string, string][] = [
      [{ voice: 'alloy' }, 'session.voice', 'invalid_value'],
      [{ turn_detection: { threshold: 2 } }, 'session.turn_detection.threshold', 'invalid_value'],
      [{ turn_detection: { type: 'semantic_vad' } }, 'session.turn_detection.type', 'invalid_value'],
      [{ input_audio_format: 'g711_ulaw' }, 'session.input_audio_format', 'invalid_value'],
      [{ modalities: ['audio'] }, 'session.modalities', 'invalid_value'],
      [{ temperature: 'hot' }, 'session.temperature', 'invalid_value'],
      [{ max_response_output_tokens: 0 }, 'session.max_response_output_tokens', 'invalid_value'],
      [{ tools: [{ type: 'function', name: 'f' }] }, 'session.tools', 'unsupported'],
      [{ colour: 'blue' }, 'session.colour', 'unknown_parameter'],
    ];
    for (const [session, param, code] of bad) {
      c.send({ type: 'session.update', event_id: `ev-${param}`, session: { instructions: 'changed?', ...session } });
      const e = await c.next('error');
      expect(e.error).toMatchObject({ type: 'invalid_request_error', param, code, event_id: `ev-${param}` });
      expect(e.error.message).toContain(param);
    }
    c.send({ type: 'session.update', session: {} });
    expect((await c.next('session.updated')).session).toMatchObject({ voice: 'ash', instructions: '' });
  });
});

describe('a turn with manual commit, answered in audio', () => {
  it('commit → item; response.create → every event in the published order, audio = the analytic sine', async () => {
    const c = await connect();
    stream(c, sine24(300, 1));
    c.send({ type: 'input_audio_buffer.commit' });
    const committed = await c.next('input_audio_buffer.committed');
    const created = await c.next('conversation.item.created');
    expect(created.item).toMatchObject({
      id: committed.item_id,
      type: 'message',
      role: 'user',
      content: [{ type: 'input_audio', transcript: null }],
    });
    expect(committed.previous_item_id).toBeNull();
    // the model got the turn at its own rate: 1 s at 16 kHz, 300 Hz
    c.send({ type: 'response.create' });
    const events = await c.until('response.done');
    const got = model.calls.at(-1)!.conversation.at(-1)!.content[0]!;
    expect(got.type === 'audio' && got.pcm.length).toBe(16000);
    expect(heard(events0(model).slice(9))).toEqual({ seconds: 1, hz: expect.closeTo(300, -0.7) });

    const words = events0(model).split(' ');
    const order = types(events).filter((t, i, a) => t !== a[i - 1]); // collapse runs of deltas
    expect(order.slice(0, 4)).toEqual([
      'response.created',
      'response.output_item.added',
      'conversation.item.created',
      'response.content_part.added',
    ]);
    expect(order.slice(-5)).toEqual([
      'response.audio.done',
      'response.audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.done',
    ]);
    expect(order.at(-6)).toMatch(/^response\.audio(_transcript)?\.delta$/);
    const transcript = events
      .filter((e) => e.type === 'response.audio_transcript.delta')
      .map((e) => e.delta)
      .join('');
    expect(transcript).toBe(words.join(' '));
    expect(events.find((e) => e.type === 'response.audio_transcript.done')!.transcript).toBe(words.join(' '));
    // every delta names the same response, item, output and content index
    const r = events[0]!.response;
    expect(r).toMatchObject({ object: 'realtime.response', status: 'in_progress', voice: 'ash', modalities: ['audio', 'text'] });
    const itemId = events[1]!.item.id;
    for (const e of events.filter(
      (x) => /delta|done$/.test(x.type) && x.type !== 'response.done' && x.type !== 'response.output_item.done',
    ))
      expect(e).toMatchObject({ response_id: r.id, item_id: itemId, output_index: 0, content_index: 0 });
    const done = events.at(-1)!;
    expect(done.response).toMatchObject({ id: r.id, status: 'completed', status_details: null });
    // the double's usage rule: 1 s heard = 50 audio tokens; 7 words written and spoken
    expect(done.response.usage).toEqual({
      total_tokens: 64,
      input_tokens: 50,
      output_tokens: 14,
      input_token_details: { cached_tokens: 0, text_tokens: 0, audio_tokens: 50 },
      output_token_details: { text_tokens: 7, audio_tokens: 7 },
    });
    expect(done.response.output[0]).toMatchObject({
      id: itemId,
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'audio', transcript: words.join(' ') }],
    });

    // Audio: 7 words × 40 ms at 16 kHz → 24 kHz: the 440 Hz sine at 0.5, continuous across chunks.
    const y = audioOf(events);
    expect(y.length).toBe(Math.ceil(words.length * 640 * 1.5));
    let err = 0;
    for (let i = 200; i < y.length - 200; i++)
      err = Math.max(err, Math.abs(y[i]! - 0.5 * Math.sin((2 * Math.PI * VOICE_HZ.ash! * i) / 24000)));
    expect(err).toBeLessThan(1e-3); // PCM16 steps are 3e-5; the resampler's error is below 1e-5
  });

  it('input_audio_buffer.clear empties the buffer: a commit then is an error', async () => {
    const c = await connect();
    stream(c, sine24(300, 0.2));
    c.send({ type: 'input_audio_buffer.clear' });
    await c.next('input_audio_buffer.cleared');
    c.send({ type: 'input_audio_buffer.commit', event_id: 'e1' });
    expect((await c.next('error')).error).toMatchObject({ code: 'input_audio_buffer_commit_empty', event_id: 'e1' });
  });

  it('input transcription: conversation.item.input_audio_transcription.completed with the model’s transcript', async () => {
    const c = await connect({ turn_detection: null, input_audio_transcription: { model: 'whisper-1' } });
    stream(c, sine24(500, 0.5));
    c.send({ type: 'input_audio_buffer.commit' });
    const { item_id } = await c.next('input_audio_buffer.committed');
    const t = await c.next('conversation.item.input_audio_transcription.completed');
    expect(t).toMatchObject({ item_id, content_index: 0 });
    expect(heard(t.transcript)).toEqual({ seconds: 0.5, hz: expect.closeTo(500, -0.7) });
  });
});

describe('text items and text responses', () => {
  it('conversation.item.create (user input_text) → a text response: text deltas, text.done, no audio', async () => {
    const c = await connect();
    c.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello there' }] },
    });
    const created = await c.next('conversation.item.created');
    expect(created.item).toMatchObject({ role: 'user', status: 'completed', content: [{ type: 'input_text', text: 'hello there' }] });
    c.send({
      type: 'response.create',
      response: { modalities: ['text'], instructions: 'Answer.', temperature: 0, max_response_output_tokens: 3 },
    });
    const events = await c.until('response.done');
    expect(types(events).some((t) => t.startsWith('response.audio'))).toBe(false);
    expect(
      events
        .filter((e) => e.type === 'response.text.delta')
        .map((e) => e.delta)
        .join(''),
    ).toBe('you said hello');
    expect(events.find((e) => e.type === 'response.text.done')!.text).toBe('you said hello');
    // cut by max_response_output_tokens: incomplete, as OpenAI's server reports it, with the double's usage
    expect(events.at(-1)!.response).toMatchObject({
      status: 'incomplete',
      status_details: { type: 'incomplete', reason: 'max_output_tokens' },
      usage: { input_tokens: 2, output_tokens: 3, output_token_details: { text_tokens: 3, audio_tokens: 0 } },
    });
    const call = model.calls.at(-1)!;
    expect(call.options).toMatchObject({ modalities: ['text'], temperature: 0, maxOutputTokens: 3, voice: 'ash' });
    expect(call.conversation[0]).toEqual({ role: 'system', content: [{ type: 'text', text: 'Answer.' }] });
    // the answer joins the conversation as what was said
    c.send({ type: 'response.create', response: { modalities: ['text'] } });
    await c.until('response.done');
    expect(model.calls.at(-1)!.conversation.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'you said hello' }] });
  });

  it('inserts after previous_item_id and at root; an unknown one is an error', async () => {
    const c = await connect();
    const add = (text: string, previous?: string) =>
      c.send({
        type: 'conversation.item.create',
        ...(previous ? { previous_item_id: previous } : {}),
        item: { id: text, role: 'user', content: [{ type: 'input_text', text }] },
      });
    add('a');
    add('b');
    add('c', 'a');
    add('z', 'root');
    const created = [
      await c.next('conversation.item.created'),
      await c.next('conversation.item.created'),
      await c.next('conversation.item.created'),
      await c.next('conversation.item.created'),
    ];
    expect(created.map((e) => [e.item.id, e.previous_item_id])).toEqual([
      ['a', null],
      ['b', 'a'],
      ['c', 'a'],
      ['z', null],
    ]);
    c.send({ type: 'response.create', response: { modalities: ['text'] } });
    await c.until('response.done');
    expect(model.calls.at(-1)!.conversation.map((i) => (i.content[0] as { text: string }).text)).toEqual(['z', 'a', 'c', 'b']);
    add('d', 'nope');
    expect((await c.next('error')).error).toMatchObject({ param: 'previous_item_id', code: 'item_not_found' });
    add('a');
    expect((await c.next('error')).error).toMatchObject({ param: 'item.id', code: 'duplicate_item_id' });
  });

  it('a user input_audio part is resampled to the model rate', async () => {
    const c = await connect();
    c.send({
      type: 'conversation.item.create',
      item: { role: 'user', content: [{ type: 'input_audio', audio: encodePcm16(sine24(250, 0.75)) }] },
    });
    await c.next('conversation.item.created');
    c.send({ type: 'response.create', response: { modalities: ['text'] } });
    const events = await c.until('response.done');
    const text = events.find((e) => e.type === 'response.text.done')!.text as string;
    expect(text.startsWith('you said ')).toBe(true);
    expect(heard(text.slice(9))).toEqual({ seconds: 0.75, hz: expect.closeTo(250, -0.7) });
  });
});

describe('cancel, interruption, failure, one response at a time', () => {
  it('response.cancel stops generation promptly: response.done cancelled (client_cancelled), the model’s iterator ended', async () => {
    model.stepMs = 20;
    const c = await connect();
    c.send({ type: 'conversation.item.create', item: { role: 'user', content: [{ type: 'input_text', text: 'forever' }] } });
    c.send({ type: 'response.create' });
    await c.next('response.audio.delta');
    c.send({ type: 'response.create', event_id: 'twice' });
    expect((await c.next('error')).error).toMatchObject({ code: 'conversation_already_has_active_response', event_id: 'twice' });
    const t0 = performance.now();
    c.send({ type: 'response.cancel' });
    const done = await c.next('response.done');
    expect(performance.now() - t0).toBeLessThan(500);
    expect(done.response).toMatchObject({ status: 'cancelled', status_details: { type: 'cancelled', reason: 'client_cancelled' } });
    expect(done.response.output[0].status).toBe('incomplete');
    expect(model.active).toBe(0);
    c.send({ type: 'response.cancel', event_id: 'none' });
    expect((await c.next('error')).error).toMatchObject({ code: 'response_cancel_not_active', event_id: 'none' });
  });

  it('a model that throws: response.done failed, and the session goes on', async () => {
    const c = await connect();
    c.send({ type: 'conversation.item.create', item: { role: 'user', content: [{ type: 'input_text', text: 'fail' }] } });
    c.send({ type: 'response.create', response: { modalities: ['text'] } });
    const done = await c.next('response.done');
    expect(done.response).toMatchObject({
      status: 'failed',
      status_details: { type: 'failed', error: { type: 'server_error', code: 'model_error' } },
    });
    expect(logs.some((l) => l.includes('the double failed on purpose'))).toBe(true);
    c.send({ type: 'session.update', session: {} });
    await c.next('session.updated');
  });

  it('the voice guard blocks: no audio after the block, response.done incomplete (content_filter)', async () => {
    let seen = 0;
    guard = { monitor: () => ({ push: (pcm) => ((seen += pcm.length) > 640 * 3 ? 'block' : 'ok') }) };
    const c = await connect();
    c.send({
      type: 'conversation.item.create',
      item: { role: 'user', content: [{ type: 'input_text', text: 'one two three four five six' }] },
    });
    c.send({ type: 'response.create' });
    const events = await c.until('response.done');
    expect(events.at(-1)!.response).toMatchObject({
      status: 'incomplete',
      status_details: { type: 'incomplete', reason: 'content_filter' },
    });
    // three 40 ms chunks passed the guard; the resampler held back its lag and no tail was flushed
    const y = audioOf(events);
    expect(y.length).toBeLessThan(3 * 640 * 1.5);
    expect(y.length).toBeGreaterThan(2 * 640 * 1.5);
    expect(model.active).toBe(0);
  });
});

describe('server VAD over the socket', () => {
  it('speech_started / speech_stopped at the known boundaries, then commit and an automatic response', async () => {
    const c = await connect({ turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 } });
    stream(c, concat(silence(1), sine24(200, 1.5, 0.3), silence(1)));
    const started = await c.next('input_audio_buffer.speech_started');
    const stopped = await c.next('input_audio_buffer.speech_stopped');
    expect(started.audio_start_ms).toBe(700); // 1000 ms − 300 ms padding
    expect(stopped.audio_end_ms).toBeGreaterThanOrEqual(3000); // 2500 ms + 500 ms silence
    expect(stopped.audio_end_ms).toBeLessThanOrEqual(3010);
    expect(stopped.item_id).toBe(started.item_id);
    expect((await c.next('input_audio_buffer.committed')).item_id).toBe(started.item_id);
    const done = await c.until('response.done');
    const transcript = done.find((e) => e.type === 'response.audio_transcript.done')!.transcript as string;
    // the committed turn is audio_start..audio_end: 2.30 s (± one 10 ms frame)
    expect(transcript).toMatch(/^you said 2\.3[01] seconds at \d+ hertz$/);
  });

  it('new speech interrupts a running response (turn_detected)', async () => {
    model.stepMs = 20;
    const c = await connect({ turn_detection: { type: 'server_vad' } });
    c.send({ type: 'conversation.item.create', item: { role: 'user', content: [{ type: 'input_text', text: 'forever' }] } });
    c.send({ type: 'response.create' });
    await c.next('response.audio.delta');
    stream(c, concat(silence(0.2), sine24(200, 0.3, 0.3)));
    await c.next('input_audio_buffer.speech_started');
    const done = await c.next('response.done');
    expect(done.response).toMatchObject({ status: 'cancelled', status_details: { type: 'cancelled', reason: 'turn_detected' } });
  });
});

describe('bad events: an error naming the field, never a crash', () => {
  it('answers each with an error event, and the session still works', async () => {
    const c = await connect();
    const cases: [string | Buffer, Record<string, unknown>][] = [
      ['{not json', { code: 'invalid_json', param: null }],
      ['[1,2]', { code: 'invalid_json' }],
      ['{"event_id":"x"}', { code: 'missing_required_parameter', param: 'type' }],
      ['{"type":"response.dance"}', { code: 'invalid_value', param: 'type' }],
      ['{"type":"input_audio_buffer.append","audio":"AA$A"}', { param: 'audio', code: 'invalid_value' }],
      ['{"type":"input_audio_buffer.append","audio":"AA=="}', { param: 'audio' }],
      ['{"type":"input_audio_buffer.append","audio":42}', { param: 'audio' }],
      ['{"type":"input_audio_buffer.append","audio":"AAAA","volume":1}', { param: 'volume', code: 'unknown_parameter' }],
      ['{"type":"input_audio_buffer.commit"}', { code: 'input_audio_buffer_commit_empty' }],
      ['{"type":"conversation.item.create"}', { param: 'item', code: 'missing_required_parameter' }],
      ['{"type":"conversation.item.create","item":{"role":"robot","content":[]}}', { param: 'item.role' }],
      [
        '{"type":"conversation.item.create","item":{"role":"assistant","content":[{"type":"input_audio","audio":""}]}}',
        { param: 'item.content[0].type' },
      ],
      ['{"type":"conversation.item.create","item":{"role":"user","content":[{"type":"input_text"}]}}', { param: 'item.content[0].text' }],
      ['{"type":"conversation.item.create","item":{"type":"function_call","role":"user","content":[]}}', { param: 'item.type' }],
      ['{"type":"response.create","response":{"voice":"alloy"}}', { param: 'response.voice' }],
      ['{"type":"response.create","response":{"modalities":["video"]}}', { param: 'response.modalities' }],
      ['{"type":"response.create","response":{"input":[]}}', { param: 'response.input', code: 'unsupported' }],
      ['{"type":"response.create","response":{"temperature":9}}', { param: 'response.temperature' }],
      ['{"type":"response.cancel"}', { code: 'response_cancel_not_active' }],
      ['{"type":"session.update"}', { param: 'session', code: 'missing_required_parameter' }],
      [Buffer.from([1, 2, 3]), { code: 'invalid_event' }],
    ];
    for (const [msg, want] of cases) {
      c.raw(msg);
      const e = await c.next('error');
      expect(e.error, String(msg)).toMatchObject({ type: 'invalid_request_error', ...want });
    }
    expect(
      c.events.filter(
        (e) => e.type !== 'error' && e.type !== 'session.created' && e.type !== 'conversation.created' && e.type !== 'session.updated',
      ),
    ).toEqual([]);
    // still alive and well
    c.send({ type: 'conversation.item.create', item: { role: 'user', content: [{ type: 'input_text', text: 'ok' }] } });
    c.send({ type: 'response.create', response: { modalities: ['text'] } });
    expect((await c.next('response.done')).response.status).toBe('completed');
  });
});

describe('serve() and memory', () => {
  it('serve() mounts /v1/realtime for a realtime model, and not for a text model', async () => {
    const rt = await serve(new OmniDouble(), { port: 0 });
    const text = await serve(new MirrorModel({ id: 'mirror', contextLength: 64 }), { port: 0 });
    try {
      const c = await RtClient.open(rt.url);
      await c.next('session.created');
      await c.close();
      await expect(RtClient.open(text.url)).rejects.toThrow('HTTP 404');
      expect((await fetch(`${rt.url}/v1/completions`, { method: 'POST', body: '{}' })).status).toBe(404);
    } finally {
      await rt.close();
      await text.close();
    }
  });

  it('one long session keeps only the newest audio for the model (keepAudioSeconds), transcripts in place of the rest', async () => {
    const double = new OmniDouble();
    const events: Ev[] = [];
    let wake: (() => void) | undefined;
    const session = new RealtimeSession(
      double,
      (e) => {
        events.push(e as Ev);
        wake?.();
      },
      { keepAudioSeconds: 5 },
    );
    const until = async (type: string, n: number) => {
      while (events.filter((e) => e.type === type).length < n) await new Promise<void>((r) => (wake = r));
    };
    session.start();
    session.handle(
      JSON.stringify({ type: 'session.update', session: { turn_detection: null, input_audio_transcription: { model: 'tony' } } }),
    );
    const turn = encodePcm16(sine24(300, 2));
    for (let i = 1; i <= 6; i++) {
      session.handle(JSON.stringify({ type: 'input_audio_buffer.append', audio: turn }));
      session.handle(JSON.stringify({ type: 'input_audio_buffer.commit' }));
      await until('conversation.item.input_audio_transcription.completed', i);
      session.handle(JSON.stringify({ type: 'response.create', response: { modalities: ['text'] } }));
      await until('response.done', i);
    }
    // the last respond() saw 6 user turns of 2 s (32,000 samples at 16 kHz): the newest two whole
    // turns fit 5 s, the four before them are their transcripts
    const users = double.calls.at(-1)!.conversation.filter((it) => it.role === 'user');
    expect(users.map((it) => it.content.map((c) => c.type))).toEqual([['text'], ['text'], ['text'], ['text'], ['audio'], ['audio']]);
    expect(users.slice(4).map((it) => (it.content[0] as { pcm: Float32Array }).pcm.length)).toEqual([32000, 32000]);
    const transcripts = events.filter((e) => e.type === 'conversation.item.input_audio_transcription.completed').map((e) => e.transcript);
    expect(transcripts[0]).toMatch(/^2\.00 seconds at/);
    expect(users.slice(0, 4).map((it) => (it.content[0] as { text: string }).text)).toEqual(transcripts.slice(0, 4));
    await session.close();
  });

  it('memory stays flat across 100 sessions (each: 2 s of audio, a committed turn, an audio response)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const audio = sine24(300, 2);
    const session = async () => {
      const c = await RtClient.open(url);
      await c.next('session.created');
      c.send({ type: 'session.update', session: { turn_detection: null } });
      stream(c, audio);
      c.send({ type: 'input_audio_buffer.commit' });
      c.send({ type: 'response.create' });
      await c.next('response.done');
      await c.close();
    };
    const heap = () => {
      gc();
      gc();
      // audio lives in ArrayBuffers, outside the V8 heap: count both
      const m = process.memoryUsage();
      return (m.heapUsed + m.arrayBuffers) / 2 ** 20;
    };
    for (let i = 0; i < 20; i++) await session();
    const h0 = heap();
    for (let i = 0; i < 80; i++) await session();
    await new Promise((r) => setTimeout(r, 50));
    const h1 = heap();
    // each session's conversation holds 2 s at 16 kHz (128 kB) and its events: 80 leaked sessions
    // would be ≳ 10 MB
    expect(h1 - h0).toBeLessThan(4);
  }, 300_000 /* 25 s on a quiet machine; 120 s was too little at load 10–15 */);
});
