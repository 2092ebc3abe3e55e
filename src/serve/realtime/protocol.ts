/**
 * The OpenAI Realtime protocol's core events as this server speaks them: the session object, the
 * client events it accepts — each parsed field by field, as the `openai` package's
 * `resources/beta/realtime` types define them — and the `error` event for everything else.
 *
 * Event names are the beta API's (`response.audio.delta`, `response.audio_transcript.delta`,
 * `response.text.delta`), which the `openai` package's realtime clients pass through unchanged.
 * Fields the protocol defines but this server does not implement are accepted when they ask for
 * nothing (`tools: []`, `input_audio_noise_reduction: null`, `tracing`), and refused with an error
 * naming them when they would change the answer (function tools, non-PCM16 audio formats,
 * `semantic_vad`). Unknown fields are `unknown_parameter` errors, as OpenAI's server answers them.
 */

/** An error for the client: becomes one `error` event; the session goes on. */
export class RealtimeError extends Error {
  constructor(
    message: string,
    readonly param: string | null = null,
    readonly code = 'invalid_value',
    readonly type: 'invalid_request_error' | 'server_error' = 'invalid_request_error',
  ) {
    super(message);
  }
}

export interface ServerVad {
  type: 'server_vad';
  threshold: number;
  prefix_padding_ms: number;
  silence_duration_ms: number;
  create_response: boolean;
  interrupt_response: boolean;
}

/** The session object of session.created / session.updated. */
export interface SessionConfig {
  id: string;
  object: 'realtime.session';
  model: string;
  modalities: ('text' | 'audio')[];
  instructions: string;
  voice: string;
  input_audio_format: 'pcm16';
  output_audio_format: 'pcm16';
  input_audio_transcription: { model: string; language?: string; prompt?: string } | null;
  turn_detection: ServerVad | null;
  tools: [];
  tool_choice: 'auto' | 'none';
  temperature: number;
  max_response_output_tokens: number | 'inf';
  speed: number;
  tracing: 'auto' | Record<string, unknown> | null;
  input_audio_noise_reduction: null;
}

/** The protocol's server-VAD defaults (threshold 0.5, 300 ms padding, 500 ms silence). */
export const SERVER_VAD_DEFAULTS: ServerVad = {
  type: 'server_vad',
  threshold: 0.5,
  prefix_padding_ms: 300,
  silence_duration_ms: 500,
  create_response: true,
  interrupt_response: true,
};

/** Output tokens a response may take when the client says 'inf'. */
export const MAX_OUTPUT_TOKENS = 4096;
/**
 * Temperature range. The protocol documents [0.6, 1.2] for OpenAI's models; a small model answers
 * best near 0, so this server takes [0, 2] (the Chat API's range).
 */
const TEMPERATURE: [number, number] = [0, 2];

type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function checkKeys(o: Obj, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) throw new RealtimeError(`Unknown parameter: '${where}${k}'.`, `${where}${k}`, 'unknown_parameter');
}

function num(v: unknown, param: string, min: number, max: number, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v)))
    throw new RealtimeError(
      `Invalid '${param}': expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(v)}.`,
      param,
    );
  return v;
}

export function str(v: unknown, param: string): string {
  if (typeof v !== 'string') throw new RealtimeError(`Invalid '${param}': expected a string, got ${JSON.stringify(v)}.`, param);
  return v;
}

export function modalities(v: unknown, param: string): ('text' | 'audio')[] {
  const ok = Array.isArray(v) && v.length > 0 && v.every((m) => m === 'text' || m === 'audio') && new Set(v).size === v.length;
  if (!ok || (v.includes('audio') && !v.includes('text')))
    throw new RealtimeError(`Invalid '${param}': expected ["text"] or ["audio", "text"], got ${JSON.stringify(v)}.`, param);
  return [...(v as ('text' | 'audio')[])];
}

export function voice(v: unknown, param: string, voices: readonly string[]): string {
  if (typeof v !== 'string' || !voices.includes(v))
    throw new RealtimeError(`Invalid '${param}': ${JSON.stringify(v)} is not one of this model's voices (${voices.join(', ')}).`, param);
  return v;
}

export function maxTokens(v: unknown, param: string): number | 'inf' {
  return v === 'inf' ? 'inf' : num(v, param, 1, MAX_OUTPUT_TOKENS, true);
}

export function temperature(v: unknown, param: string): number {
  return num(v, param, ...TEMPERATURE);
}

function audioFormat(v: unknown, param: string): 'pcm16' {
  if (v !== 'pcm16')
    throw new RealtimeError(`Invalid '${param}': this server speaks only 'pcm16' (24 kHz mono), got ${JSON.stringify(v)}.`, param);
  return v;
}

function turnDetection(v: unknown, current: ServerVad | null): ServerVad | null {
  if (v === null) return null;
  const p = 'session.turn_detection';
  if (!isObj(v)) throw new RealtimeError(`Invalid '${p}': expected an object or null.`, p);
  checkKeys(
    v,
    ['type', 'threshold', 'prefix_padding_ms', 'silence_duration_ms', 'create_response', 'interrupt_response', 'eagerness'],
    `${p}.`,
  );
  if (v.type !== undefined && v.type !== 'server_vad')
    throw new RealtimeError(`Invalid '${p}.type': this server implements 'server_vad' only, got ${JSON.stringify(v.type)}.`, `${p}.type`);
  if (v.eagerness !== undefined)
    throw new RealtimeError(`'${p}.eagerness' applies to semantic_vad, which this server does not implement.`, `${p}.eagerness`);
  const base = current ?? SERVER_VAD_DEFAULTS;
  const bool = (x: unknown, name: string, d: boolean) => {
    if (x === undefined) return d;
    if (typeof x !== 'boolean') throw new RealtimeError(`Invalid '${p}.${name}': expected a boolean.`, `${p}.${name}`);
    return x;
  };
  return {
    type: 'server_vad',
    threshold: v.threshold === undefined ? base.threshold : num(v.threshold, `${p}.threshold`, 0, 1),
    prefix_padding_ms:
      v.prefix_padding_ms === undefined ? base.prefix_padding_ms : num(v.prefix_padding_ms, `${p}.prefix_padding_ms`, 0, 10000, true),
    silence_duration_ms:
      v.silence_duration_ms === undefined
        ? base.silence_duration_ms
        : num(v.silence_duration_ms, `${p}.silence_duration_ms`, 10, 10000, true),
    create_response: bool(v.create_response, 'create_response', base.create_response),
    interrupt_response: bool(v.interrupt_response, 'interrupt_response', base.interrupt_response),
  };
}

const SESSION_KEYS = [
  'modalities',
  'instructions',
  'voice',
  'input_audio_format',
  'output_audio_format',
  'input_audio_transcription',
  'turn_detection',
  'tools',
  'tool_choice',
  'temperature',
  'max_response_output_tokens',
  'speed',
  'tracing',
  'input_audio_noise_reduction',
  'model',
  'client_secret',
] as const;

/**
 * `session` of a session.update applied to `current`: a new config, or a RealtimeError naming the
 * first bad field (then nothing changes). `voiceLocked`: audio has been sent in the current voice.
 */
export function updateSession(current: SessionConfig, session: unknown, voices: readonly string[], voiceLocked: boolean): SessionConfig {
  if (!isObj(session)) throw new RealtimeError(`Invalid 'session': expected an object.`, 'session', 'missing_required_parameter');
  checkKeys(session, SESSION_KEYS, 'session.');
  const s = session;
  const next: SessionConfig = { ...current };
  if (s.modalities !== undefined) next.modalities = modalities(s.modalities, 'session.modalities');
  if (s.instructions !== undefined) next.instructions = str(s.instructions, 'session.instructions');
  if (s.voice !== undefined) {
    next.voice = voice(s.voice, 'session.voice', voices);
    if (voiceLocked && next.voice !== current.voice)
      throw new RealtimeError(
        "Cannot update a conversation's voice once assistant audio is present.",
        'session.voice',
        'cannot_update_voice',
      );
  }
  if (s.input_audio_format !== undefined) next.input_audio_format = audioFormat(s.input_audio_format, 'session.input_audio_format');
  if (s.output_audio_format !== undefined) next.output_audio_format = audioFormat(s.output_audio_format, 'session.output_audio_format');
  if (s.input_audio_transcription !== undefined) {
    const t = s.input_audio_transcription;
    const p = 'session.input_audio_transcription';
    if (t === null) next.input_audio_transcription = null;
    else if (!isObj(t)) throw new RealtimeError(`Invalid '${p}': expected an object or null.`, p);
    else {
      checkKeys(t, ['model', 'language', 'prompt'], `${p}.`);
      next.input_audio_transcription = {
        // Any model name is taken: the transcript always comes from the served model itself.
        model: t.model === undefined ? 'tony' : str(t.model, `${p}.model`),
        ...(t.language !== undefined ? { language: str(t.language, `${p}.language`) } : {}),
        ...(t.prompt !== undefined ? { prompt: str(t.prompt, `${p}.prompt`) } : {}),
      };
    }
  }
  if (s.turn_detection !== undefined) next.turn_detection = turnDetection(s.turn_detection, current.turn_detection);
  if (s.tools !== undefined) {
    if (!Array.isArray(s.tools) || s.tools.length > 0)
      throw new RealtimeError(
        `'session.tools': this server has no function calling; send [] or leave it out.`,
        'session.tools',
        'unsupported',
      );
  }
  if (s.tool_choice !== undefined) {
    if (s.tool_choice !== 'auto' && s.tool_choice !== 'none')
      throw new RealtimeError(`Invalid 'session.tool_choice': expected 'auto' or 'none' (there are no tools).`, 'session.tool_choice');
    next.tool_choice = s.tool_choice;
  }
  if (s.temperature !== undefined) next.temperature = temperature(s.temperature, 'session.temperature');
  if (s.max_response_output_tokens !== undefined)
    next.max_response_output_tokens = maxTokens(s.max_response_output_tokens, 'session.max_response_output_tokens');
  if (s.speed !== undefined && num(s.speed, 'session.speed', 0.25, 1.5) !== 1)
    throw new RealtimeError(`'session.speed': this model speaks at 1.0 only.`, 'session.speed', 'unsupported');
  if (s.tracing !== undefined) next.tracing = s.tracing as SessionConfig['tracing'];
  if (s.input_audio_noise_reduction !== undefined && s.input_audio_noise_reduction !== null)
    throw new RealtimeError(
      `'session.input_audio_noise_reduction': this server has none; send null.`,
      'session.input_audio_noise_reduction',
      'unsupported',
    );
  if (s.model !== undefined) str(s.model, 'session.model'); // the served model answers, whatever the name
  return next;
}

/** A client event's `type` and `event_id`, or a RealtimeError for a message that is not an event. */
export function parseEvent(data: string): { type: string; event_id: string | null; body: Obj } {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch (err) {
    throw new RealtimeError(`The message is not valid JSON: ${(err as Error).message}.`, null, 'invalid_json');
  }
  if (!isObj(v)) throw new RealtimeError('A client event must be a JSON object with a "type".', null, 'invalid_json');
  if (typeof v.type !== 'string') throw new RealtimeError("Missing required parameter: 'type'.", 'type', 'missing_required_parameter');
  const eventId = typeof v.event_id === 'string' ? v.event_id : null;
  if (v.event_id !== undefined && eventId === null) throw new RealtimeError("Invalid 'event_id': expected a string.", 'event_id');
  return { type: v.type, event_id: eventId, body: v };
}
