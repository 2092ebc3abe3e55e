/**
 * OpenAI's wire format for the legacy Completions and the Chat Completions APIs (DESIGN.md,
 * Protocols): request bodies → a validated `CompletionRequest`, and `CompletionResult`s → response
 * objects and server-sent-event chunks in OpenAI's exact shapes. No I/O here; server.ts does that.
 *
 * Validation follows OpenAI's behaviour: every bad field is a 400 `invalid_request_error` whose
 * `param` names the field; `null` means "not given"; an argument OpenAI does not know is refused
 * ("Unrecognized request argument supplied"), and one OpenAI knows but Tony does not implement is
 * accepted only at its no-op value (e.g. `presence_penalty: 0`).
 */
import type { CompletionRequest, CompletionResult, TokenLogprobs } from '../../models/gpt/completion.ts';
import { HttpError as ApiError } from '../core/http.ts';
import { type ChatMessage, type ChatRole, chatPrompt, chatStops } from './chat.ts';

/** An error as the API returns it: the server core's one error type (core/http.ts). */
export { ApiError };

const invalidRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new ApiError(400, message, 'invalid_request_error', param, code);

/** The most stop strings and log-probability alternatives OpenAI accepts. */
const MAX_STOPS = 4;
const MAX_LOGPROBS = 5;
/** OpenAI's default max_tokens for legacy completions. */
const DEFAULT_COMPLETION_MAX_TOKENS = 16;
const MAX_TEMPERATURE = 2;

/** What the server allows and what the model can hold. */
export interface Limits {
  modelId: string;
  contextLength: number;
  /** Largest max_tokens a request may ask for. */
  maxTokens: number;
  /** Largest n. */
  maxN: number;
  countTokens(text: string): number;
}

/** A validated request: the model's request plus how to deliver the answer. */
export interface ParsedRequest {
  req: CompletionRequest;
  stream: boolean;
  /** `stream_options.include_usage`: end the stream with a usage chunk. */
  includeUsage: boolean;
}

// ---------------------------------------------------------------------------------------------
// Field readers. `null` and absent are the same ("use the default").

type Body = Record<string, unknown>;

function asBody(body: unknown): Body {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidRequest('The request body must be a JSON object.');
  }
  return body as Body;
}

const given = (b: Body, key: string) => b[key] !== undefined && b[key] !== null;

function num(b: Body, key: string, o: { min: number; max: number; integer?: boolean }): number | undefined {
  if (!given(b, key)) return undefined;
  const v = b[key];
  const what = o.integer ? 'an integer' : 'a number';
  if (typeof v !== 'number' || !Number.isFinite(v) || (o.integer && !Number.isInteger(v))) {
    throw invalidRequest(`Invalid type for '${key}': expected ${what}, but got ${describe(v)}.`, key, 'invalid_type');
  }
  if (v < o.min) throw invalidRequest(`Invalid '${key}': ${v} is less than the minimum of ${o.min}.`, key, 'invalid_value');
  if (v > o.max) throw invalidRequest(`Invalid '${key}': ${v} is greater than the maximum of ${o.max}.`, key, 'invalid_value');
  return v;
}

function bool(b: Body, key: string): boolean | undefined {
  if (!given(b, key)) return undefined;
  if (typeof b[key] !== 'boolean') {
    throw invalidRequest(`Invalid type for '${key}': expected a boolean, but got ${describe(b[key])}.`, key, 'invalid_type');
  }
  return b[key] as boolean;
}

function str(b: Body, key: string): string | undefined {
  if (!given(b, key)) return undefined;
  if (typeof b[key] !== 'string') {
    throw invalidRequest(`Invalid type for '${key}': expected a string, but got ${describe(b[key])}.`, key, 'invalid_type');
  }
  return b[key] as string;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'number' && !Number.isInteger(v)) return `a decimal (${v})`;
  if (typeof v === 'number') return `an integer (${v})`;
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** `stop`: a string or up to MAX_STOPS non-empty strings. */
function stops(b: Body): string[] {
  if (!given(b, 'stop')) return [];
  const v = b.stop;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
    throw invalidRequest(
      `Invalid type for 'stop': expected a string or an array of strings, but got ${describe(v)}.`,
      'stop',
      'invalid_type',
    );
  }
  if (list.length > MAX_STOPS) {
    throw invalidRequest(
      `Invalid 'stop': array too long. Expected an array with maximum length ${MAX_STOPS}, but got an array with length ${list.length} instead.`,
      'stop',
      'array_above_max_length',
    );
  }
  if (list.some((s) => s.length === 0)) throw invalidRequest(`Invalid 'stop': stop strings must not be empty.`, 'stop', 'invalid_value');
  return list as string[];
}

/** The `model` field: required, and it must name the model this server runs. */
function checkModel(b: Body, limits: Limits): void {
  const model = str(b, 'model');
  if (model === undefined) throw invalidRequest(`You must provide a model parameter.`, 'model', 'missing_required_parameter');
  if (model !== limits.modelId) {
    throw new ApiError(
      404,
      `The model \`${model}\` does not exist. This server runs \`${limits.modelId}\` (GET /v1/models).`,
      'invalid_request_error',
      'model',
      'model_not_found',
    );
  }
}

/**
 * Refuse unknown arguments; accept the known-but-unimplemented ones only at their no-op value.
 * `accepted` lists the arguments the endpoint implements.
 */
function checkArguments(b: Body, accepted: readonly string[], noops: Record<string, (v: unknown) => boolean>): void {
  for (const key of Object.keys(b)) {
    if (accepted.includes(key)) continue;
    const isNoop = noops[key];
    if (!isNoop) throw invalidRequest(`Unrecognized request argument supplied: ${key}`, key, 'unknown_parameter');
    if (b[key] !== null && !isNoop(b[key])) {
      throw invalidRequest(
        `'${key}' is not supported by this server; leave it out or at ${key === 'user' ? 'any' : 'its default'} value.`,
        key,
        'unsupported_parameter',
      );
    }
  }
}

const isZero = (v: unknown) => v === 0;
const isEmpty = (v: unknown) => typeof v === 'object' && v !== null && Object.keys(v).length === 0;
const anything = () => true;

/** Sampling fields both endpoints share, with OpenAI's ranges. */
function sampling(b: Body, limits: Limits) {
  const topK = num(b, 'top_k', { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
  const seed = num(b, 'seed', { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, integer: true });
  return {
    temperature: num(b, 'temperature', { min: 0, max: MAX_TEMPERATURE }) ?? 1,
    topP: num(b, 'top_p', { min: 0, max: 1 }) ?? 1,
    // top_k is not OpenAI's (vLLM and llama.cpp accept it); 0 means off, as there.
    ...(topK ? { topK } : {}),
    n: num(b, 'n', { min: 1, max: limits.maxN, integer: true }) ?? 1,
    ...(seed !== undefined ? { seed } : {}),
  };
}

/** `stream` and `stream_options` (only allowed with stream: true, as OpenAI does). */
function streaming(b: Body): { stream: boolean; includeUsage: boolean } {
  const stream = bool(b, 'stream') ?? false;
  if (!given(b, 'stream_options')) return { stream, includeUsage: false };
  if (!stream)
    throw invalidRequest(`The 'stream_options' parameter is only allowed when 'stream' is enabled.`, 'stream_options', 'invalid_value');
  const so = b.stream_options;
  if (typeof so !== 'object' || so === null || Array.isArray(so)) {
    throw invalidRequest(
      `Invalid type for 'stream_options': expected an object, but got ${describe(so)}.`,
      'stream_options',
      'invalid_type',
    );
  }
  for (const key of Object.keys(so)) {
    if (key !== 'include_usage') throw invalidRequest(`Unrecognized stream option: ${key}`, `stream_options.${key}`, 'unknown_parameter');
  }
  const iu = (so as Body).include_usage;
  if (iu !== undefined && iu !== null && typeof iu !== 'boolean') {
    throw invalidRequest(
      `Invalid type for 'stream_options.include_usage': expected a boolean, but got ${describe(iu)}.`,
      'stream_options.include_usage',
      'invalid_type',
    );
  }
  return { stream, includeUsage: iu === true };
}

/** Prompt + completion must fit the model's context. */
function checkContext(promptTokens: number, maxTokens: number, limits: Limits, promptParam: string): void {
  if (promptTokens + maxTokens <= limits.contextLength) return;
  const msg = `This model's maximum context length is ${limits.contextLength} tokens, however you requested ${promptTokens + maxTokens} tokens (${promptTokens} in your prompt; ${maxTokens} for the completion). Please reduce your prompt; or completion length.`;
  throw invalidRequest(msg, promptTokens >= limits.contextLength ? promptParam : 'max_tokens', 'context_length_exceeded');
}

// ---------------------------------------------------------------------------------------------
// POST /v1/completions

const COMPLETION_ARGS = [
  'model',
  'prompt',
  'suffix',
  'max_tokens',
  'temperature',
  'top_p',
  'top_k',
  'n',
  'stream',
  'stream_options',
  'logprobs',
  'echo',
  'stop',
  'seed',
];
const COMPLETION_NOOPS: Record<string, (v: unknown) => boolean> = {
  user: anything,
  frequency_penalty: isZero,
  presence_penalty: isZero,
  logit_bias: isEmpty,
  best_of: (v) => v === 1,
};

/** Validate a legacy Completions body. */
export function parseCompletionRequest(body: unknown, limits: Limits): ParsedRequest {
  const b = asBody(body);
  checkArguments(b, COMPLETION_ARGS, COMPLETION_NOOPS);
  checkModel(b, limits);
  // OpenAI also takes token arrays and batches of prompts; one text prompt per request here.
  let prompt = b.prompt;
  if (Array.isArray(prompt) && prompt.length === 1) prompt = prompt[0];
  if (prompt === undefined || prompt === null)
    throw invalidRequest(`You must provide a prompt parameter.`, 'prompt', 'missing_required_parameter');
  if (typeof prompt !== 'string') {
    throw invalidRequest(
      `Invalid 'prompt': expected a string or an array of one string, but got ${describe(prompt)}${Array.isArray(prompt) ? ` of length ${prompt.length}` : ''}.`,
      'prompt',
      'invalid_type',
    );
  }
  const suffix = str(b, 'suffix');
  const maxTokens = num(b, 'max_tokens', { min: 0, max: limits.maxTokens, integer: true }) ?? DEFAULT_COMPLETION_MAX_TOKENS;
  if (maxTokens === 0) {
    // OpenAI takes 0 with echo to score a prompt without generating; Tony returns no prompt logprobs.
    throw invalidRequest(
      `Invalid 'max_tokens': 0. A completion needs max_tokens of at least 1 (max_tokens 0, which scores only the prompt, is not supported here).`,
      'max_tokens',
      'invalid_value',
    );
  }
  const logprobs = num(b, 'logprobs', { min: 0, max: MAX_LOGPROBS, integer: true });
  const echo = bool(b, 'echo') ?? false;
  const promptTokens = limits.countTokens(prompt) + (suffix ? limits.countTokens(suffix) : 0);
  checkContext(promptTokens, maxTokens, limits, 'prompt');
  const req: CompletionRequest = {
    prompt,
    ...(suffix !== undefined ? { suffix } : {}),
    maxTokens,
    ...sampling(b, limits),
    stop: stops(b),
    ...(logprobs !== undefined ? { logprobs } : {}),
    ...(echo ? { echo } : {}),
  };
  return { req, ...streaming(b) };
}

// ---------------------------------------------------------------------------------------------
// POST /v1/chat/completions

const CHAT_ARGS = [
  'model',
  'messages',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'top_k',
  'n',
  'stream',
  'stream_options',
  'logprobs',
  'top_logprobs',
  'stop',
  'seed',
];
const CHAT_NOOPS: Record<string, (v: unknown) => boolean> = {
  user: anything,
  metadata: anything,
  store: (v) => v === false,
  service_tier: anything,
  frequency_penalty: isZero,
  presence_penalty: isZero,
  logit_bias: isEmpty,
  tools: (v) => Array.isArray(v) && v.length === 0,
  tool_choice: (v) => v === 'none',
  parallel_tool_calls: anything,
  response_format: (v) => typeof v === 'object' && v !== null && (v as Body).type === 'text',
};
const CHAT_ROLES: readonly ChatRole[] = ['system', 'developer', 'user', 'assistant'];

/** A validated chat request; `logprobs` says whether to return them (the chat API's boolean). */
export interface ParsedChatRequest extends ParsedRequest {
  logprobs: boolean;
}

/** Validate a Chat Completions body and render its messages with the chat template (chat.ts). */
export function parseChatRequest(body: unknown, limits: Limits): ParsedChatRequest {
  const b = asBody(body);
  checkArguments(b, CHAT_ARGS, CHAT_NOOPS);
  checkModel(b, limits);
  const messages = parseMessages(b.messages);
  const prompt = chatPrompt(messages);
  const promptTokens = limits.countTokens(prompt);
  const asked =
    num(b, 'max_completion_tokens', { min: 1, max: limits.maxTokens, integer: true }) ??
    num(b, 'max_tokens', { min: 1, max: limits.maxTokens, integer: true });
  // OpenAI's chat default is "the rest of the context"; capped by the server's limit here.
  const maxTokens = asked ?? Math.max(1, Math.min(limits.maxTokens, limits.contextLength - promptTokens));
  checkContext(promptTokens, maxTokens, limits, 'messages');
  const logprobs = bool(b, 'logprobs') ?? false;
  const top = num(b, 'top_logprobs', { min: 0, max: MAX_LOGPROBS, integer: true });
  if (top !== undefined && !logprobs)
    throw invalidRequest(`'top_logprobs' requires 'logprobs' to be true.`, 'top_logprobs', 'invalid_value');
  const req: CompletionRequest = {
    prompt,
    maxTokens,
    ...sampling(b, limits),
    stop: chatStops(stops(b), MAX_STOPS),
    ...(logprobs ? { logprobs: top ?? 0 } : {}),
  };
  return { req, logprobs, ...streaming(b) };
}

function parseMessages(v: unknown): ChatMessage[] {
  if (v === undefined || v === null)
    throw invalidRequest(`Missing required parameter: 'messages'.`, 'messages', 'missing_required_parameter');
  if (!Array.isArray(v))
    throw invalidRequest(`Invalid type for 'messages': expected an array, but got ${describe(v)}.`, 'messages', 'invalid_type');
  if (v.length === 0)
    throw invalidRequest(`Invalid 'messages': empty array. Expected an array with minimum length 1.`, 'messages', 'empty_array');
  return v.map((m: unknown, i): ChatMessage => {
    const at = `messages[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m))
      throw invalidRequest(`Invalid type for '${at}': expected an object, but got ${describe(m)}.`, at, 'invalid_type');
    const { role, content } = m as Body;
    if (!CHAT_ROLES.includes(role as ChatRole)) {
      throw invalidRequest(
        `Invalid value for '${at}.role': ${JSON.stringify(role)}. Supported values are: ${CHAT_ROLES.map((r) => `'${r}'`).join(', ')}.`,
        `${at}.role`,
        'invalid_value',
      );
    }
    return { role: role as ChatRole, content: messageText(content, `${at}.content`) };
  });
}

/** A message's content: a string, or an array of `{type: 'text', text}` parts (joined). */
function messageText(content: unknown, at: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown, j) => {
        const p = part as Body | null;
        if (typeof p !== 'object' || p === null || p.type !== 'text' || typeof p.text !== 'string') {
          throw invalidRequest(
            `Invalid '${at}[${j}]': only text parts ({type: 'text', text}) are supported.`,
            `${at}[${j}]`,
            'invalid_value',
          );
        }
        return p.text;
      })
      .join('');
  }
  throw invalidRequest(
    `Invalid type for '${at}': expected a string or an array of text parts, but got ${describe(content)}.`,
    at,
    'invalid_type',
  );
}

// ---------------------------------------------------------------------------------------------
// Responses and stream chunks

export interface Envelope {
  id: string;
  created: number;
  model: string;
}

function usage(u: CompletionResult['usage']) {
  return { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.promptTokens + u.completionTokens };
}

/** Legacy completions logprobs: parallel arrays. */
export function completionLogprobs(lp: TokenLogprobs | undefined) {
  if (!lp) return null;
  return { tokens: lp.tokens, token_logprobs: lp.tokenLogprobs, top_logprobs: lp.topLogprobs, text_offset: lp.textOffset };
}

const utf8 = (s: string) => [...Buffer.from(s, 'utf8')];

/** Chat logprobs: one entry per token, alternatives as a list. */
export function chatLogprobs(lp: TokenLogprobs | undefined) {
  if (!lp) return null;
  return {
    content: lp.tokens.map((token, i) => ({
      token,
      logprob: lp.tokenLogprobs[i]!,
      bytes: utf8(token),
      top_logprobs: Object.entries(lp.topLogprobs[i] ?? {}).map(([t, logprob]) => ({ token: t, logprob, bytes: utf8(t) })),
    })),
    refusal: null,
  };
}

export function completionResponse(e: Envelope, result: CompletionResult) {
  return {
    id: e.id,
    object: 'text_completion',
    created: e.created,
    model: e.model,
    choices: result.choices.map((c) => ({
      text: c.text,
      index: c.index,
      logprobs: completionLogprobs(c.logprobs),
      finish_reason: c.finishReason,
    })),
    usage: usage(result.usage),
  };
}

/**
 * One completions stream chunk (the same object type as the full response, as OpenAI sends). With
 * include_usage every chunk carries `usage: null` and the last one (empty `choices`) the totals.
 */
export function completionChunk(
  e: Envelope,
  choices: Array<{ index: number; text: string; logprobs: unknown; finish_reason: string | null }>,
  includeUsage: boolean,
  u?: CompletionResult['usage'],
) {
  return {
    id: e.id,
    object: 'text_completion',
    created: e.created,
    model: e.model,
    choices,
    ...(includeUsage ? { usage: u ? usage(u) : null } : {}),
  };
}

export function chatResponse(e: Envelope, result: CompletionResult, contents: readonly string[], withLogprobs: boolean) {
  return {
    id: e.id,
    object: 'chat.completion',
    created: e.created,
    model: e.model,
    choices: result.choices.map((c, i) => ({
      index: c.index,
      message: { role: 'assistant', content: contents[i]!, refusal: null },
      logprobs: withLogprobs ? chatLogprobs(c.logprobs) : null,
      finish_reason: c.finishReason,
    })),
    usage: usage(result.usage),
  };
}

/**
 * One chat stream chunk. With include_usage every chunk carries `usage: null` and the last one
 * (empty `choices`) the totals, as OpenAI documents.
 */
export function chatChunk(
  e: Envelope,
  choices: Array<{ index: number; delta: { role?: 'assistant'; content?: string }; logprobs: unknown; finish_reason: string | null }>,
  includeUsage: boolean,
  u?: CompletionResult['usage'],
) {
  return {
    id: e.id,
    object: 'chat.completion.chunk',
    created: e.created,
    model: e.model,
    choices,
    ...(includeUsage ? { usage: u ? usage(u) : null } : {}),
  };
}
