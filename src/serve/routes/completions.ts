/**
 * The OpenAI-compatible route module over any `CompletionModel` (src/models/gpt/completion.ts):
 *
 *   GET  /                       the web playground (playground.html; no API key needed; the studio moves it)
 *   GET  /v1/models              the one model served (and /v1/models/{id})
 *   POST /v1/completions         legacy completions; `suffix` asks for an infill
 *   POST /v1/chat/completions    chat, through the transcript template in chat.ts
 *
 * Request validation and the wire shapes are openai.ts; this file is what the endpoints do. Each
 * request takes one admission slot of the server core, whatever its `n`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { CompletionDelta, CompletionModel, CompletionRequest, CompletionResult } from '../../models/gpt/completion.ts';
import { HttpError } from '../core/http.ts';
import type { RequestContext, RouteModule } from '../core/server.ts';
import { chatReply } from './chat.ts';
import {
  chatChunk,
  chatLogprobs,
  chatResponse,
  completionChunk,
  completionLogprobs,
  completionResponse,
  type Envelope,
  type Limits,
  parseChatRequest,
  parseCompletionRequest,
} from './openai.ts';

export const COMPLETIONS_DEFAULTS = {
  /** Largest max_tokens a request may ask for. */
  maxTokens: 4096,
  /** Largest n (samples per request). */
  maxN: 16,
};
export type CompletionsConfig = typeof COMPLETIONS_DEFAULTS;

/**
 * The model as served. `provider` (e.g. 'cpu', 'webgpu') is shown by /v1/models and the playground
 * when the model says which execution provider runs it.
 */
export type ServedModel = CompletionModel & { readonly provider?: string };

/** The playground page, read once. */
let playground: Buffer | undefined;

/**
 * `playgroundPath` is where the playground page is served: `/` for `tony serve`, elsewhere when
 * the studio (routes/studio.ts) holds `/`.
 */
export function completionRoutes(
  model: ServedModel,
  cfg: Readonly<CompletionsConfig> = COMPLETIONS_DEFAULTS,
  { playgroundPath = '/' }: { playgroundPath?: string } = {},
): RouteModule {
  const limits: Limits = {
    modelId: model.id,
    contextLength: model.contextLength,
    maxTokens: cfg.maxTokens,
    maxN: cfg.maxN,
    countTokens: (t) => model.countTokens(t),
  };
  const created = Math.floor(Date.now() / 1000);
  const modelCard = () => ({
    id: model.id,
    object: 'model',
    created,
    owned_by: 'tony',
    // Not OpenAI's fields; vLLM and llama.cpp add similar ones.
    context_length: model.contextLength,
    ...(model.provider ? { provider: model.provider } : {}),
  });
  const envelope = (prefix: string): Envelope => ({
    id: `${prefix}-${randomUUID().replaceAll('-', '')}`,
    created: Math.floor(Date.now() / 1000),
    model: model.id,
  });

  async function completions(ctx: RequestContext): Promise<void> {
    const { req: creq, stream, includeUsage } = parseCompletionRequest(await ctx.json(), limits);
    const e = envelope('cmpl');
    await ctx.withSlot(async () => {
      if (!stream) {
        ctx.send(200, completionResponse(e, await model.complete(creq, undefined, ctx.signal)));
        return;
      }
      const sse = ctx.events();
      const chunk = (index: number, text: string, logprobs: unknown = null, finish: string | null = null) =>
        sse.send(completionChunk(e, [{ index, text, logprobs, finish_reason: finish }], includeUsage));
      const result = await streamChoices(
        model,
        creq,
        ctx.signal,
        (index, text) => chunk(index, text),
        (c) => chunk(c.choice.index, c.rest, completionLogprobs(c.choice.logprobs), c.choice.finishReason),
      );
      if (includeUsage) sse.send(completionChunk(e, [], true, result.usage));
      sse.done();
    });
  }

  async function chat(ctx: RequestContext): Promise<void> {
    const { req: creq, stream, includeUsage, logprobs } = parseChatRequest(await ctx.json(), limits);
    const e = envelope('chatcmpl');
    await ctx.withSlot(async () => {
      if (!stream) {
        const result = await model.complete(creq, undefined, ctx.signal);
        ctx.send(
          200,
          chatResponse(
            e,
            result,
            result.choices.map((c) => chatReply(c.text)),
            logprobs,
          ),
        );
        return;
      }
      const sse = ctx.events();
      const chunk = (index: number, delta: { role?: 'assistant'; content?: string }, lp: unknown = null, finish: string | null = null) =>
        sse.send(chatChunk(e, [{ index, delta, logprobs: lp, finish_reason: finish }], includeUsage));
      // The reply's leading blanks follow the template's colon (chat.ts); drop them until text starts.
      const started: boolean[] = [];
      const content = (index: number, text: string) => {
        const t = started[index] ? text : chatReply(text);
        if (!t) return;
        started[index] = true;
        chunk(index, { content: t });
      };
      for (let i = 0; i < creq.n; i++) chunk(i, { role: 'assistant', content: '' });
      const result = await streamChoices(model, creq, ctx.signal, content, (c) => {
        if (c.rest) content(c.choice.index, c.rest);
        chunk(c.choice.index, {}, logprobs ? chatLogprobs(c.choice.logprobs) : null, c.choice.finishReason);
      });
      if (includeUsage) sse.send(chatChunk(e, [], true, result.usage));
      sse.done();
    });
  }

  return {
    routes: [
      {
        method: 'GET',
        path: playgroundPath,
        public: true,
        async handle({ res }) {
          playground ??= readFileSync(new URL('./playground.html', import.meta.url));
          res.writeHead(200, {
            'Content-Type': 'text/html; charset=utf-8',
            'Content-Length': playground.length,
            'Cache-Control': 'no-cache',
            'X-Content-Type-Options': 'nosniff',
          });
          res.end(playground);
        },
      },
      { method: 'GET', path: '/v1/models', handle: async (ctx) => ctx.send(200, { object: 'list', data: [modelCard()] }) },
      {
        method: 'GET',
        path: /\/v1\/models\/(.+)/,
        async handle(ctx) {
          const want = ctx.params[0]!;
          if (want !== model.id)
            throw new HttpError(404, `The model \`${want}\` does not exist.`, 'invalid_request_error', 'model', 'model_not_found');
          ctx.send(200, modelCard());
        },
      },
      { method: 'POST', path: '/v1/completions', handle: completions },
      { method: 'POST', path: '/v1/chat/completions', handle: chat },
    ],
  };
}

/**
 * Run `creq`, passing streamed text to `onText` as it comes, and call `onFinish` once per choice
 * when its end is known. A choice ends when the model marks its last delta — except when
 * log-probabilities were asked for: the contract's deltas carry only text, so the finish is held
 * back until the result and carries the whole choice's logprobs. `rest` is any text of the final
 * choice the deltas did not deliver (all of it, for a model that does not stream).
 */
async function streamChoices(
  model: CompletionModel,
  creq: CompletionRequest,
  signal: AbortSignal,
  onText: (index: number, text: string) => void,
  onFinish: (c: { choice: CompletionResult['choices'][number]; rest: string }) => void,
): Promise<CompletionResult> {
  const holdFinish = creq.logprobs !== undefined;
  const sent: string[] = [];
  const finished = new Set<number>();
  const onDelta = (d: CompletionDelta) => {
    if (signal.aborted || finished.has(d.index)) return;
    if (d.text) {
      sent[d.index] = (sent[d.index] ?? '') + d.text;
      onText(d.index, d.text);
    }
    if (d.finishReason && !holdFinish) {
      finished.add(d.index);
      onFinish({ choice: { index: d.index, text: sent[d.index] ?? '', finishReason: d.finishReason }, rest: '' });
    }
  };
  const result = await model.complete(creq, onDelta, signal);
  for (const choice of result.choices) {
    if (finished.has(choice.index)) continue;
    const s = sent[choice.index] ?? '';
    onFinish({ choice, rest: choice.text.startsWith(s) ? choice.text.slice(s.length) : '' });
  }
  return result;
}
