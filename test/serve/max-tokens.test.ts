// Issue 21, item 14: `max_tokens: 0` is refused for what it is, not blamed on the prompt.
import { expect, it } from 'vitest';
import { ApiError, type Limits, parseCompletionRequest } from '../../src/serve/routes/openai.ts';

const limits: Limits = { modelId: 'm', contextLength: 256, maxTokens: 4096, maxN: 16, countTokens: (t) => t.length };

it('max_tokens 0 gets a 400 on max_tokens that says a completion needs at least 1 token', () => {
  let err: unknown;
  try {
    parseCompletionRequest({ model: 'm', prompt: 'x', max_tokens: 0 }, limits);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ApiError);
  const e = err as ApiError;
  expect([e.status, e.param, e.code]).toEqual([400, 'max_tokens', 'invalid_value']);
  expect(e.message).toMatch(/'max_tokens': 0\. A completion needs max_tokens of at least 1/);
  expect(e.message).not.toMatch(/prompt has/);
  // 1 is fine.
  expect(parseCompletionRequest({ model: 'm', prompt: 'x', max_tokens: 1 }, limits).req.maxTokens).toBe(1);
});
