/**
 * One Realtime session: the state machine behind a `/v1/realtime` connection, apart from the
 * socket (routes/realtime.ts feeds it messages and sends what it emits), so tests drive it directly.
 *
 * State: the session config (protocol.ts), the conversation (items in order), the input audio
 * buffer (input.ts) with the server VAD (vad.ts) when turn detection is on, and at most one running
 * response. A response streams the model's deltas out as they come: audio resampled from the
 * model's rate to 24 kHz chunk by chunk and checked by the voice guard before it leaves; cancel,
 * a new turn (VAD) or the guard abort it through the signal the model was given.
 *
 * Every client mistake is one `error` event and the session goes on; nothing a client sends
 * throws out of `handle`.
 */
import { randomBytes } from 'node:crypto';
import { resample } from '../../audio/resample.ts';
import type { OmniContent, OmniDelta, OmniItem, OmniModel, OmniUsage } from '../../models/omni/contract.ts';
import { InputBuffer } from './input.ts';
import { decodePcm16, encodePcm16, PROTOCOL_RATE, pcm16Problem, StreamResampler } from './pcm16.ts';
import {
  checkKeys,
  isObj,
  MAX_OUTPUT_TOKENS,
  maxTokens,
  modalities,
  parseEvent,
  RealtimeError,
  SERVER_VAD_DEFAULTS,
  type SessionConfig,
  str,
  temperature,
  updateSession,
  voice,
} from './protocol.ts';
import { EnergyVad } from './vad.ts';

/** A streaming check of the output voice (src/models/omni/voice-safety.ts implements it). */
export interface VoiceGuard {
  /** A fresh monitor for one response's audio at `sampleRate`. */
  monitor(sampleRate: number): VoiceMonitor;
}
interface VoiceMonitor {
  /** Feed the next audio; 'block' stops the response before this audio is sent. */
  push(pcm: Float32Array): 'ok' | 'block';
}

export interface SessionOptions {
  guard?: VoiceGuard;
  /**
   * Seconds of conversation audio kept for the model (default 60; the omni model's context holds
   * about 8 s of speech). Older audio parts give way to their transcripts, or go, so an hours-long
   * session does not keep every turn's audio.
   */
  keepAudioSeconds?: number;
  /** Unexpected errors (with stacks) go here; the client gets a server_error event. */
  log?: (line: string) => void;
}

/** Longest input buffer (24 kHz samples): 15 minutes, as OpenAI's server caps a session's buffer. */
const MAX_BUFFER_SAMPLES = 15 * 60 * PROTOCOL_RATE;

type Event = Record<string, unknown> & { type: string };

interface Item {
  id: string;
  role: OmniItem['role'];
  /** What the model reads. */
  content: OmniContent[];
  /** What the protocol shows (no audio bytes echoed back). */
  shown: Record<string, unknown>[];
  status: 'completed' | 'incomplete' | 'in_progress';
}

interface Running {
  id: string;
  ac: AbortController;
  /** Why it was stopped early, for response.done's status_details. */
  stop?: { status: 'cancelled' | 'incomplete'; reason: 'client_cancelled' | 'turn_detected' | 'content_filter' | 'max_output_tokens' };
  done: Promise<void>;
}

const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url')}`;

export class RealtimeSession {
  private config: SessionConfig;
  private readonly items: Item[] = [];
  private readonly input: InputBuffer;
  private vad: EnergyVad | undefined;
  /** Absolute sample where the VAD heard the current turn start (before padding), and its item id. */
  private turn: { start: number; itemId: string } | undefined;
  private running: Running | undefined;
  private voiceLocked = false;
  private closed = false;
  /** Transcriptions in flight, aborted on close. */
  private readonly pending = new Set<AbortController>();

  constructor(
    private readonly model: OmniModel,
    private readonly send: (event: Event) => void,
    private readonly opts: SessionOptions = {},
  ) {
    this.config = {
      id: newId('sess'),
      object: 'realtime.session',
      model: model.id,
      modalities: ['audio', 'text'],
      instructions: '',
      voice: model.voices[0] ?? '',
      input_audio_format: 'pcm16',
      output_audio_format: 'pcm16',
      input_audio_transcription: null,
      turn_detection: { ...SERVER_VAD_DEFAULTS },
      tools: [],
      tool_choice: 'auto',
      temperature: 0.8,
      max_response_output_tokens: 'inf',
      speed: 1,
      tracing: null,
      input_audio_noise_reduction: null,
    };
    this.input = new InputBuffer(model.sampleRate);
    this.resetVad();
  }

  /** The first events of a session (session.created, conversation.created). */
  start(): void {
    this.emit({ type: 'session.created', session: { ...this.config } });
    this.emit({ type: 'conversation.created', conversation: { id: newId('conv'), object: 'realtime.conversation' } });
  }

  /** One client message. Errors become `error` events; this never throws. */
  handle(data: string): void {
    let eventId: string | null = null;
    try {
      const ev = parseEvent(data);
      eventId = ev.event_id;
      this.dispatch(ev.type, ev.body);
    } catch (err) {
      this.fail(err, eventId);
    }
  }

  /** The connection closed: stop the response and transcriptions, drop the audio. */
  async close(): Promise<void> {
    this.closed = true;
    for (const ac of this.pending) ac.abort();
    this.input.clear();
    const r = this.running;
    if (r) {
      r.ac.abort();
      await r.done;
    }
  }

  /** Resolves when the running response (if any) has sent response.done. */
  async idle(): Promise<void> {
    await this.running?.done;
  }

  // ---------------------------------------------------------------------------------------------

  private dispatch(type: string, e: Record<string, unknown>): void {
    switch (type) {
      case 'session.update':
        checkKeys(e, ['type', 'event_id', 'session'], '');
        this.config = updateSession(this.config, e.session, this.model.voices, this.voiceLocked);
        this.resetVad();
        this.emit({ type: 'session.updated', session: { ...this.config } });
        return;
      case 'input_audio_buffer.append':
        this.append(e);
        return;
      case 'input_audio_buffer.commit':
        checkKeys(e, ['type', 'event_id'], '');
        if (this.input.length === 0)
          throw new RealtimeError('Error committing input audio buffer: the buffer is empty.', null, 'input_audio_buffer_commit_empty');
        this.commit(this.turn ? this.turn.start : this.input.start, this.turn?.itemId);
        this.turn = undefined;
        this.resetVad();
        return;
      case 'input_audio_buffer.clear':
        checkKeys(e, ['type', 'event_id'], '');
        this.input.clear();
        this.turn = undefined;
        this.resetVad();
        this.emit({ type: 'input_audio_buffer.cleared' });
        return;
      case 'conversation.item.create':
        this.createItem(e);
        return;
      case 'response.create':
        this.createResponse(e);
        return;
      case 'response.cancel': {
        checkKeys(e, ['type', 'event_id', 'response_id'], '');
        const r = this.running;
        if (!r) throw new RealtimeError('Cancellation failed: no active response found.', null, 'response_cancel_not_active');
        if (e.response_id !== undefined && e.response_id !== r.id)
          throw new RealtimeError(
            `Cancellation failed: no active response with id ${JSON.stringify(e.response_id)}.`,
            'response_id',
            'response_cancel_not_active',
          );
        this.stopResponse('cancelled', 'client_cancelled');
        return;
      }
      default:
        throw new RealtimeError(
          `Invalid value: '${type}'. Supported values are: 'session.update', 'input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear', 'conversation.item.create', 'response.create', and 'response.cancel'.`,
          'type',
          'invalid_value',
        );
    }
  }

  private append(e: Record<string, unknown>): void {
    checkKeys(e, ['type', 'event_id', 'audio'], '');
    const b64 = str(e.audio, 'audio');
    const problem = pcm16Problem(b64);
    if (problem) throw new RealtimeError(`Invalid 'audio': the value ${problem}.`, 'audio', 'invalid_value');
    const x = decodePcm16(b64);
    if (this.input.length + x.length > MAX_BUFFER_SAMPLES)
      throw new RealtimeError(
        `The input audio buffer would exceed ${MAX_BUFFER_SAMPLES / PROTOCOL_RATE / 60} minutes; commit or clear it first.`,
        'audio',
        'input_audio_buffer_too_long',
      );
    if (!this.vad) {
      this.input.append(x);
      return;
    }
    // Walk the chunk through the VAD: a turn that stops inside it is committed with the audio up to
    // the stop, and the rest of the chunk begins the next buffer.
    const origin = this.input.end;
    let fed = 0;
    for (const ev of this.vad.push(x)) {
      const at = this.vadOrigin + ev.sample;
      if (ev.type === 'start') {
        const td = this.config.turn_detection!;
        const start = Math.max(this.input.start, at - Math.round((td.prefix_padding_ms * PROTOCOL_RATE) / 1000));
        this.turn = { start, itemId: newId('item') };
        this.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: ms(start), item_id: this.turn.itemId });
        if (td.interrupt_response && this.running) this.stopResponse('cancelled', 'turn_detected');
      } else {
        const upto = Math.max(at - origin, fed);
        this.input.append(x.subarray(fed, upto));
        fed = upto;
        const turn = this.turn!;
        this.turn = undefined;
        this.emit({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: ms(at), item_id: turn.itemId });
        this.commit(turn.start, turn.itemId);
        if (this.config.turn_detection!.create_response && !this.running) this.respond({}, null);
      }
    }
    this.input.append(x.subarray(fed));
    if (!this.turn) {
      const keep = Math.round((this.config.turn_detection!.prefix_padding_ms * PROTOCOL_RATE) / 1000);
      this.input.release(this.input.end - keep);
    }
  }

  /** Where the VAD's sample 0 is, in absolute 24 kHz samples. */
  private vadOrigin = 0;

  private resetVad(): void {
    const td = this.config.turn_detection;
    this.vad = td
      ? new EnergyVad({ sampleRate: PROTOCOL_RATE, threshold: td.threshold, silenceDurationMs: td.silence_duration_ms })
      : undefined;
    this.vadOrigin = this.input.end;
    this.turn = undefined;
  }

  /** Buffer [from, end) → a user item (input_audio_buffer.committed, conversation.item.created). */
  private commit(from: number, itemId = newId('item')): void {
    const pcm = this.input.take(from);
    const previous = this.items.at(-1)?.id ?? null;
    const item: Item = {
      id: itemId,
      role: 'user',
      content: [{ type: 'audio', pcm }],
      shown: [{ type: 'input_audio', transcript: null }],
      status: 'completed',
    };
    this.items.push(item);
    this.trimAudio();
    this.emit({ type: 'input_audio_buffer.committed', previous_item_id: previous, item_id: itemId });
    this.emit({ type: 'conversation.item.created', previous_item_id: previous, item: this.shown(item) });
    if (this.config.input_audio_transcription) void this.transcribe(item, pcm);
  }

  private async transcribe(item: Item, pcm: Float32Array): Promise<void> {
    const ac = new AbortController();
    this.pending.add(ac);
    try {
      const transcript = await this.model.transcribe(pcm, ac.signal);
      if (this.closed) return;
      item.shown[0] = { type: 'input_audio', transcript };
      if (item.content.length === 0 && transcript) item.content = [{ type: 'text', text: transcript }]; // its audio was trimmed meanwhile
      this.emit({ type: 'conversation.item.input_audio_transcription.completed', item_id: item.id, content_index: 0, transcript });
    } catch (err) {
      if (this.closed) return;
      this.opts.log?.(`realtime: transcription failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      this.emit({
        type: 'conversation.item.input_audio_transcription.failed',
        item_id: item.id,
        content_index: 0,
        error: { type: 'server_error', code: 'transcription_failed', message: String((err as Error)?.message ?? err), param: null },
      });
    } finally {
      this.pending.delete(ac);
    }
  }

  private createItem(e: Record<string, unknown>): void {
    checkKeys(e, ['type', 'event_id', 'item', 'previous_item_id'], '');
    const it = e.item;
    if (!isObj(it)) throw new RealtimeError("Missing required parameter: 'item'.", 'item', 'missing_required_parameter');
    checkKeys(it, ['id', 'type', 'object', 'status', 'role', 'content'], 'item.');
    if (it.type !== undefined && it.type !== 'message')
      throw new RealtimeError(
        `Invalid 'item.type': this server takes 'message' items only (no function calls), got ${JSON.stringify(it.type)}.`,
        'item.type',
      );
    const role = it.role;
    if (role !== 'user' && role !== 'assistant' && role !== 'system')
      throw new RealtimeError(`Invalid 'item.role': expected 'user', 'assistant' or 'system', got ${JSON.stringify(role)}.`, 'item.role');
    if (!Array.isArray(it.content) || it.content.length === 0)
      throw new RealtimeError("Invalid 'item.content': expected a non-empty array of content parts.", 'item.content');
    const id = it.id === undefined ? newId('item') : str(it.id, 'item.id');
    if (this.items.some((x) => x.id === id))
      throw new RealtimeError(`Invalid 'item.id': an item ${id} already exists.`, 'item.id', 'duplicate_item_id');
    // Which part types each role may carry (the protocol's table).
    const allowed = { user: ['input_text', 'input_audio'], system: ['input_text'], assistant: ['text'] }[role];
    const content: OmniContent[] = [];
    const shown: Record<string, unknown>[] = [];
    it.content.forEach((c: unknown, i: number) => {
      const p = `item.content[${i}]`;
      if (!isObj(c)) throw new RealtimeError(`Invalid '${p}': expected an object.`, p);
      checkKeys(c, ['type', 'text', 'audio', 'transcript', 'id'], `${p}.`);
      if (typeof c.type !== 'string' || !allowed.includes(c.type))
        throw new RealtimeError(
          `Invalid '${p}.type': a ${role} item takes ${allowed.join(' or ')}, got ${JSON.stringify(c.type)}.`,
          `${p}.type`,
        );
      if (c.type === 'input_audio') {
        const b64 = str(c.audio, `${p}.audio`);
        const problem = pcm16Problem(b64);
        if (problem) throw new RealtimeError(`Invalid '${p}.audio': the value ${problem}.`, `${p}.audio`);
        content.push({ type: 'audio', pcm: Float32Array.from(resample(decodePcm16(b64), PROTOCOL_RATE, this.model.sampleRate)) });
        shown.push({ type: 'input_audio', transcript: typeof c.transcript === 'string' ? c.transcript : null });
      } else {
        const text = str(c.text, `${p}.text`);
        content.push({ type: 'text', text });
        shown.push({ type: c.type, text });
      }
    });
    let at = this.items.length;
    const prev = e.previous_item_id;
    if (prev === 'root') at = 0;
    else if (prev !== undefined && prev !== null) {
      const i = this.items.findIndex((x) => x.id === prev);
      if (i < 0)
        throw new RealtimeError(
          `Invalid 'previous_item_id': no item ${JSON.stringify(prev)} in the conversation.`,
          'previous_item_id',
          'item_not_found',
        );
      at = i + 1;
    }
    const item: Item = { id, role, content, shown, status: 'completed' };
    this.items.splice(at, 0, item);
    this.trimAudio();
    this.emit({ type: 'conversation.item.created', previous_item_id: this.items[at - 1]?.id ?? null, item: this.shown(item) });
  }

  private createResponse(e: Record<string, unknown>): void {
    checkKeys(e, ['type', 'event_id', 'response'], '');
    if (this.running)
      throw new RealtimeError(
        `Conversation already has an active response in progress: ${this.running.id}. Wait until the response is finished before creating a new one.`,
        null,
        'conversation_already_has_active_response',
      );
    const r = e.response ?? {};
    if (!isObj(r)) throw new RealtimeError("Invalid 'response': expected an object.", 'response');
    checkKeys(
      r,
      [
        'modalities',
        'instructions',
        'voice',
        'output_audio_format',
        'temperature',
        'max_response_output_tokens',
        'conversation',
        'metadata',
        'tools',
        'tool_choice',
        'input',
      ],
      'response.',
    );
    if (r.input !== undefined)
      throw new RealtimeError("'response.input' (a custom context) is not supported; leave it out.", 'response.input', 'unsupported');
    if (r.tools !== undefined && (!Array.isArray(r.tools) || r.tools.length > 0))
      throw new RealtimeError("'response.tools': this server has no function calling.", 'response.tools', 'unsupported');
    if (r.output_audio_format !== undefined && r.output_audio_format !== 'pcm16')
      throw new RealtimeError("Invalid 'response.output_audio_format': only 'pcm16'.", 'response.output_audio_format');
    if (r.conversation !== undefined && r.conversation !== 'auto' && r.conversation !== 'none')
      throw new RealtimeError("Invalid 'response.conversation': expected 'auto' or 'none'.", 'response.conversation');
    if (r.metadata !== undefined && r.metadata !== null && !isObj(r.metadata))
      throw new RealtimeError("Invalid 'response.metadata': expected an object.", 'response.metadata');
    const opts = {
      modalities: r.modalities === undefined ? undefined : modalities(r.modalities, 'response.modalities'),
      instructions: r.instructions === undefined ? undefined : str(r.instructions, 'response.instructions'),
      voice: r.voice === undefined ? undefined : voice(r.voice, 'response.voice', this.model.voices),
      temperature: r.temperature === undefined ? undefined : temperature(r.temperature, 'response.temperature'),
      maxTokens:
        r.max_response_output_tokens === undefined
          ? undefined
          : maxTokens(r.max_response_output_tokens, 'response.max_response_output_tokens'),
      outOfBand: r.conversation === 'none',
    };
    if (opts.voice !== undefined && this.voiceLocked && opts.voice !== this.config.voice)
      throw new RealtimeError('Cannot change the voice once assistant audio is present.', 'response.voice', 'cannot_update_voice');
    this.respond(opts, (r.metadata as Record<string, unknown> | undefined) ?? null);
  }

  // ---------------------------------------------------------------------------------------------
  // A response: the model's deltas out as they come.

  private respond(
    o: {
      modalities?: ('text' | 'audio')[];
      instructions?: string;
      voice?: string;
      temperature?: number;
      maxTokens?: number | 'inf';
      outOfBand?: boolean;
    },
    metadata: Record<string, unknown> | null,
  ): void {
    const c = this.config;
    const mods = o.modalities ?? c.modalities;
    const max = o.maxTokens ?? c.max_response_output_tokens;
    const settings = {
      modalities: mods,
      voice: o.voice ?? c.voice,
      temperature: o.temperature ?? c.temperature,
      max_output_tokens: max,
      output_audio_format: 'pcm16' as const,
    };
    const instructions = o.instructions ?? c.instructions;
    const conversation: OmniItem[] = [
      ...(instructions ? [{ role: 'system' as const, content: [{ type: 'text' as const, text: instructions }] }] : []),
      ...this.items.map((it) => ({ role: it.role, content: it.content })),
    ];
    const ac = new AbortController();
    const running: Running = { id: newId('resp'), ac, done: Promise.resolve() };
    this.running = running;
    running.done = this.stream(running, conversation, settings, metadata, o.outOfBand ?? false, {
      modalities: mods,
      voice: settings.voice,
      temperature: settings.temperature,
      maxOutputTokens: max === 'inf' ? MAX_OUTPUT_TOKENS : max,
      signal: ac.signal,
    }).finally(() => {
      if (this.running === running) this.running = undefined;
    });
  }

  private stopResponse(status: 'cancelled' | 'incomplete', reason: NonNullable<Running['stop']>['reason']): void {
    const r = this.running;
    if (!r || r.ac.signal.aborted) return;
    r.stop = { status, reason };
    r.ac.abort();
  }

  private async stream(
    r: Running,
    conversation: OmniItem[],
    settings: Record<string, unknown> & { modalities: ('text' | 'audio')[] },
    metadata: Record<string, unknown> | null,
    outOfBand: boolean,
    options: Parameters<OmniModel['respond']>[1],
  ): Promise<void> {
    const base = { object: 'realtime.response', id: r.id, conversation_id: outOfBand ? null : 'conv_default', ...settings, metadata };
    this.emit({ type: 'response.created', response: { ...base, status: 'in_progress', status_details: null, output: [], usage: null } });
    const audio = settings.modalities.includes('audio');
    const itemId = newId('item');
    const previous = this.items.at(-1)?.id ?? null;
    const item = {
      id: itemId,
      object: 'realtime.item',
      type: 'message',
      role: 'assistant',
      status: 'in_progress',
      content: [] as unknown[],
    };
    const at = { response_id: r.id, item_id: itemId, output_index: 0 };
    this.emit({ type: 'response.output_item.added', response_id: r.id, output_index: 0, item: { ...item } });
    if (!outOfBand) this.emit({ type: 'conversation.item.created', previous_item_id: previous, item: { ...item } });

    // Content parts open on their first delta: audio (with its transcript) and/or text.
    const parts: { kind: 'audio' | 'text'; index: number; text: string }[] = [];
    const part = (kind: 'audio' | 'text') => {
      let p = parts.find((x) => x.kind === kind);
      if (!p) {
        p = { kind, index: parts.length, text: '' };
        parts.push(p);
        this.emit({
          type: 'response.content_part.added',
          ...at,
          content_index: p.index,
          part: kind === 'audio' ? { type: 'audio', transcript: '' } : { type: 'text', text: '' },
        });
      }
      return p;
    };
    const toProtocol = new StreamResampler(this.model.sampleRate, PROTOCOL_RATE);
    const monitor = audio ? this.opts.guard?.monitor(this.model.sampleRate) : undefined;
    const sendAudio = (y: Float32Array) => {
      if (y.length) this.emit({ type: 'response.audio.delta', ...at, content_index: part('audio').index, delta: encodePcm16(y) });
    };
    let failure: unknown;
    let usage: OmniUsage | undefined;
    try {
      for await (const d of this.model.respond(conversation, options) as AsyncIterable<OmniDelta>) {
        if (r.ac.signal.aborted) break;
        if (d.type === 'done') {
          usage = d.usage;
          if (d.reason === 'max_output_tokens') r.stop ??= { status: 'incomplete', reason: 'max_output_tokens' };
        } else if (d.type === 'audio') {
          if (!audio) continue;
          if (monitor?.push(d.pcm) === 'block') {
            this.stopResponse('incomplete', 'content_filter');
            break;
          }
          this.voiceLocked = true;
          sendAudio(toProtocol.push(d.pcm));
        } else if (d.type === 'transcript') {
          if (!audio) continue;
          const p = part('audio');
          p.text += d.text;
          this.emit({ type: 'response.audio_transcript.delta', ...at, content_index: p.index, delta: d.text });
        } else {
          const p = part('text');
          p.text += d.text;
          this.emit({ type: 'response.text.delta', ...at, content_index: p.index, delta: d.text });
        }
      }
    } catch (err) {
      if (!r.ac.signal.aborted) failure = err;
    }
    // A response stopped by the guard sends none of its remaining audio; a cancelled one sends none
    // either (the client asked it to stop); a complete one flushes the resampler's tail.
    if (!r.ac.signal.aborted && !failure) sendAudio(toProtocol.flush());
    for (const p of parts) {
      if (p.kind === 'audio') {
        this.emit({ type: 'response.audio.done', ...at, content_index: p.index });
        this.emit({ type: 'response.audio_transcript.done', ...at, content_index: p.index, transcript: p.text });
      } else this.emit({ type: 'response.text.done', ...at, content_index: p.index, text: p.text });
      this.emit({
        type: 'response.content_part.done',
        ...at,
        content_index: p.index,
        part: p.kind === 'audio' ? { type: 'audio', transcript: p.text } : { type: 'text', text: p.text },
      });
    }
    const status = failure ? 'failed' : (r.stop?.status ?? (r.ac.signal.aborted ? 'cancelled' : 'completed'));
    const shown = parts.map((p) => (p.kind === 'audio' ? { type: 'audio', transcript: p.text } : { type: 'text', text: p.text }));
    const done = { ...item, status: status === 'completed' ? 'completed' : 'incomplete', content: shown };
    this.emit({ type: 'response.output_item.done', response_id: r.id, output_index: 0, item: done });
    if (!outOfBand) {
      // The model reads its own earlier answers as text (what it said), not as audio.
      const said = parts
        .map((p) => p.text)
        .join(' ')
        .trim();
      this.items.push({
        id: itemId,
        role: 'assistant',
        content: said ? [{ type: 'text', text: said }] : [],
        shown,
        status: done.status as Item['status'],
      });
    }
    if (failure)
      this.opts.log?.(
        `realtime: response ${r.id} failed: ${failure instanceof Error ? (failure.stack ?? failure.message) : String(failure)}`,
      );
    const details = failure
      ? { type: 'failed', error: { type: 'server_error', code: 'model_error', message: String((failure as Error)?.message ?? failure) } }
      : r.stop
        ? { type: r.stop.status, reason: r.stop.reason }
        : status === 'cancelled'
          ? { type: 'cancelled', reason: 'client_cancelled' }
          : null;
    // Usage comes from the model's last delta; a response cancelled, stopped or failed before it has none.
    this.emit({ type: 'response.done', response: { ...base, status, status_details: details, output: [done], usage: usageEvent(usage) } });
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Keep the newest `keepAudioSeconds` of audio in what the model reads: walking back from the
   * last item, audio parts past the budget become their transcript (when one is known) or go. What
   * the protocol shows of an item does not change.
   */
  private trimAudio(): void {
    let budget = (this.opts.keepAudioSeconds ?? 60) * this.model.sampleRate;
    for (let i = this.items.length - 1; i >= 0; i--) {
      const it = this.items[i]!;
      if (!it.content.some((c) => c.type === 'audio')) continue;
      it.content = it.content.flatMap((c, k): OmniContent[] => {
        if (c.type !== 'audio') return [c];
        if (c.pcm.length <= budget) {
          budget -= c.pcm.length;
          return [c];
        }
        budget = 0;
        const transcript = it.shown[k]?.transcript;
        return typeof transcript === 'string' && transcript ? [{ type: 'text', text: transcript }] : [];
      });
    }
  }

  private shown(it: Item): Record<string, unknown> {
    return { id: it.id, object: 'realtime.item', type: 'message', status: it.status, role: it.role, content: it.shown };
  }

  private emit(event: Event): void {
    if (this.closed) return;
    this.send({ event_id: newId('event'), ...event });
  }

  private fail(err: unknown, eventId: string | null): void {
    const e =
      err instanceof RealtimeError
        ? err
        : new RealtimeError(
            `The server had an error while processing the event: ${(err as Error)?.message ?? String(err)}`,
            null,
            'server_error',
            'server_error',
          );
    if (!(err instanceof RealtimeError)) this.opts.log?.(`realtime: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    this.emit({ type: 'error', error: { type: e.type, code: e.code, message: e.message, param: e.param, event_id: eventId } });
  }
}

const ms = (samples: number) => Math.round((samples * 1000) / PROTOCOL_RATE);

/** The model's token counts in response.done's usage shape (nothing is cached: cached_tokens 0). */
function usageEvent(u: OmniUsage | undefined): Record<string, unknown> | null {
  if (!u) return null;
  const input = u.input.text + u.input.audio;
  const output = u.output.text + u.output.audio;
  return {
    total_tokens: input + output,
    input_tokens: input,
    output_tokens: output,
    input_token_details: { cached_tokens: 0, text_tokens: u.input.text, audio_tokens: u.input.audio },
    output_token_details: { text_tokens: u.output.text, audio_tokens: u.output.audio },
  };
}
