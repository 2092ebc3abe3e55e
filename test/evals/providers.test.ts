// The OpenAI-compatible provider against a small server on 127.0.0.1: request fields (suffix,
// stop, n), chat, the API key, retries with backoff, the concurrency cap, client-side stops, the
// calculator hook over HTTP, and the error for a Tony model directory.
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculatorHook } from '../../src/evals/calculator.ts';
import { OpenAIProvider, openProvider } from '../../src/evals/providers.ts';

type Handler = (body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse) => unknown;
let handler: Handler = () => ({});
const bodies: Array<Record<string, unknown>> = [];
const server = createServer((req, res) => {
  let data = '';
  req.on('data', (d) => (data += d));
  req.on('end', async () => {
    const body = JSON.parse(data || '{}');
    bodies.push({ ...body, _path: req.url, _auth: req.headers.authorization });
    const out = await handler(body, req, res);
    if (!res.headersSent) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(out));
    }
  });
});
let base = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => server.close());

const choices = (texts: string[], finish = 'stop') => ({ choices: texts.map((text, index) => ({ index, text, finish_reason: finish })) });

describe('OpenAIProvider', () => {
  it('sends prompt, suffix, n, sampling fields and at most four stops; cuts at every stop itself', async () => {
    bodies.length = 0;
    handler = (b) => choices(Array.from({ length: b.n as number }, (_, i) => `    return ${i}\n\ndef helper():\n    pass`));
    const p = new OpenAIProvider({ baseUrl: `${base}/completions`, modelName: 'm', apiKey: 'sk-test' });
    const out = await p.generate('def f():\n', {
      n: 3,
      temperature: 0.8,
      topP: 0.95,
      maxTokens: 64,
      stop: ['\nclass', '\nif', '\n#', '\nprint', '\ndef'],
      suffix: 'SUF',
    });
    expect(out.map((g) => g.text)).toEqual(['    return 0\n', '    return 1\n', '    return 2\n']);
    expect(out[0]!.finishReason).toBe('stop');
    const b = bodies[0]!;
    expect(b).toMatchObject({
      _path: '/v1/completions',
      _auth: 'Bearer sk-test',
      model: 'm',
      prompt: 'def f():\n',
      suffix: 'SUF',
      n: 3,
      temperature: 0.8,
      top_p: 0.95,
      max_tokens: 64,
    });
    expect(b.stop).toEqual(['\nclass', '\nif', '\n#', '\nprint']);
  });

  it('splits large n into requests the server accepts, keeping choice order', async () => {
    bodies.length = 0;
    let call = 0;
    handler = (b) => {
      const k = call++;
      // Out-of-order indices, as servers may return them.
      return {
        choices: Array.from({ length: b.n as number }, (_, i) => ({
          index: (b.n as number) - 1 - i,
          text: `${k}:${(b.n as number) - 1 - i}`,
          finish_reason: 'length',
        })),
      };
    };
    const p = new OpenAIProvider({ baseUrl: base, modelName: 'm', maxNPerRequest: 2 });
    const out = await p.generate('x', { n: 5, temperature: 1, topP: 1, maxTokens: 1 });
    expect(out.map((g) => g.text)).toEqual(['0:0', '0:1', '1:0', '1:1', '2:0']);
    expect(bodies.map((b) => b.n)).toEqual([2, 2, 1]);
  });

  it('speaks chat completions', async () => {
    bodies.length = 0;
    handler = () => ({ choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] });
    const p = new OpenAIProvider({ baseUrl: base, modelName: 'c', api: 'chat' });
    expect((await p.generate('hello', { n: 1, temperature: 0, topP: 1, maxTokens: 5 }))[0]!.text).toBe('hi');
    expect(bodies[0]).toMatchObject({ _path: '/v1/chat/completions', messages: [{ role: 'user', content: 'hello' }] });
    await expect(p.generate('x', { n: 1, temperature: 0, topP: 1, maxTokens: 5, suffix: 's' })).rejects.toThrow(
      /infilling needs the completions API/,
    );
  });

  it('retries 429 and 5xx with backoff, and gives up with a clear error', async () => {
    let calls = 0;
    handler = (_b, _req, res) => {
      calls++;
      if (calls <= 2) {
        res.statusCode = calls === 1 ? 429 : 503;
        res.end('busy');
        return;
      }
      return choices(['ok']);
    };
    const p = new OpenAIProvider({ baseUrl: base, modelName: 'm', retryBaseMs: 5 });
    expect((await p.generate('x', { n: 1, temperature: 0, topP: 1, maxTokens: 1 }))[0]!.text).toBe('ok');
    expect(calls).toBe(3);

    calls = 0;
    handler = (_b, _req, res) => {
      calls++;
      res.statusCode = 500;
      res.end('down');
    };
    const q = new OpenAIProvider({ baseUrl: base, modelName: 'm', retryBaseMs: 1, maxRetries: 2 });
    await expect(q.generate('x', { n: 1, temperature: 0, topP: 1, maxTokens: 1 })).rejects.toThrow(
      /failed after 3 attempts: HTTP 500: down/,
    );
    expect(calls).toBe(3);

    calls = 0;
    handler = (_b, _req, res) => {
      calls++;
      res.statusCode = 401;
      res.end('no key');
    };
    await expect(q.generate('x', { n: 1, temperature: 0, topP: 1, maxTokens: 1 })).rejects.toThrow(/refused the request: HTTP 401/);
    expect(calls).toBe(1); // client errors are not retried
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    handler = async () => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 30));
      inFlight--;
      return choices(['x']);
    };
    const p = new OpenAIProvider({ baseUrl: base, modelName: 'm', concurrency: 2 });
    await Promise.all(Array.from({ length: 6 }, () => p.generate('x', { n: 1, temperature: 0, topP: 1, maxTokens: 1 })));
    expect(peak).toBe(2);
  });

  it('runs the GSM8K calculator over HTTP: stops at "=", forces the result, continues', async () => {
    bodies.length = 0;
    // A scripted model: it would get 48/2 wrong by itself; the calculator overrides it.
    handler = (b) => {
      const prompt = b.prompt as string;
      if (prompt.endsWith('Answer:')) return choices([' She sold <<48/2']);
      if (prompt.endsWith('<<48/2=24>>')) return choices([' 24 clips, then <<24+48']);
      if (prompt.endsWith('<<24+48=72>>')) return choices([' 72.\n#### 72']);
      return choices([' WRONG']);
    };
    const p = new OpenAIProvider({ baseUrl: base, modelName: 'm' });
    const [g] = await p.generate('Q\nAnswer:', {
      n: 1,
      temperature: 0,
      topP: 1,
      maxTokens: 100,
      hook: { stopAt: '=', force: calculatorHook },
    });
    expect(g!.text).toBe(' She sold <<48/2=24>> 24 clips, then <<24+48=72>> 72.\n#### 72');
    expect(bodies.every((b) => (b.stop as string[])[0] === '=')).toBe(true);
  });
});

describe('the model and its context (issue 21, item 10)', () => {
  const card = (id: string, extra: object = {}) => ({ id, object: 'model', owned_by: 'x', ...extra });

  it('without a model name asks GET /models once, uses its one model and caps max_tokens at its context', async () => {
    bodies.length = 0;
    handler = (b, req) =>
      req.method === 'GET' ? { object: 'list', data: [card('code', { context_length: 256 })] } : choices(Array(b.n as number).fill('x'));
    const p = new OpenAIProvider({ baseUrl: base });
    await p.generate('a', { n: 1, temperature: 0, topP: 1, maxTokens: 512 });
    await p.generate('b', { n: 1, temperature: 0, topP: 1, maxTokens: 100 });
    expect(bodies.map((b) => b._path)).toEqual(['/v1/models', '/v1/completions', '/v1/completions']);
    expect(bodies.slice(1).map((b) => [b.model, b.max_tokens])).toEqual([
      ['code', 255],
      ['code', 100],
    ]); // 256 − 1 prompt token
  });

  it("reads vLLM's max_model_len too, and refuses to guess among several models", async () => {
    bodies.length = 0;
    handler = (b, req) => (req.method === 'GET' ? { data: [card('v', { max_model_len: 64 })] } : choices(Array(b.n as number).fill('x')));
    await new OpenAIProvider({ baseUrl: base }).generate('a', { n: 1, temperature: 0, topP: 1, maxTokens: 512 });
    expect(bodies.at(-1)!.max_tokens).toBe(63);
    handler = () => ({ data: [card('a'), card('b')] });
    await expect(
      new OpenAIProvider({ baseUrl: base }).generate('a', { n: 1, temperature: 0, topP: 1, maxTokens: 5 }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/lists 2 models \(a, b\)/), hint: expect.stringMatching(/--model-name/) });
  });

  it('on context_length_exceeded retries with max_tokens = context − prompt tokens; a prompt that fills the context fails its samples', async () => {
    const tooLong = (ctx: number, prompt: number, max: number) => ({
      error: {
        message: `This model's maximum context length is ${ctx} tokens, however you requested ${prompt + max} tokens (${prompt} in your prompt; ${max} for the completion). Please reduce your prompt; or completion length.`,
        type: 'invalid_request_error',
        param: prompt >= ctx ? 'prompt' : 'max_tokens',
        code: 'context_length_exceeded',
      },
    });
    // A server that counts one token per character, with a context of 100.
    handler = (b, _req, res) => {
      const prompt = (b.prompt as string).length;
      if (prompt + (b.max_tokens as number) > 100) {
        res.statusCode = 400;
        return tooLong(100, prompt, b.max_tokens as number);
      }
      return choices(Array(b.n as number).fill('ok'), 'length');
    };
    bodies.length = 0;
    const p = new OpenAIProvider({ baseUrl: base, modelName: 'm' });
    expect(await p.generate('y'.repeat(30), { n: 2, temperature: 0, topP: 1, maxTokens: 512 })).toEqual([
      { text: 'ok', finishReason: 'length' },
      { text: 'ok', finishReason: 'length' },
    ]);
    expect(bodies.map((b) => b.max_tokens)).toEqual([512, 70]);
    const failed = await p.generate('z'.repeat(100), { n: 2, temperature: 0, topP: 1, maxTokens: 16 });
    expect(failed).toHaveLength(2);
    expect(failed[0]).toEqual({
      text: '',
      finishReason: 'error',
      error: "the prompt has 100 tokens; the model's context is 100, leaving no room to generate",
    });
  });
});

describe('openProvider', () => {
  it('reads the key from the named environment variable', async () => {
    bodies.length = 0;
    handler = () => choices(['x']);
    process.env.TONY_TEST_KEY = 'sk-env';
    await (await openProvider(base, { modelName: 'm', apiKeyEnv: 'TONY_TEST_KEY' })).generate('x', {
      n: 1,
      temperature: 0,
      topP: 1,
      maxTokens: 1,
    });
    delete process.env.TONY_TEST_KEY;
    expect(bodies[0]!._auth).toBe('Bearer sk-env');
  });

  it('treats a directory as a Tony model and names what is wrong with it', async () => {
    const dir = mkdtempSync(`${tmpdir()}/tony-model-`);
    await expect(openProvider(dir)).rejects.toThrow(/checkpoint/);
    await expect(openProvider('not-a-url-or-dir')).rejects.toThrow(/neither an http\(s\) URL nor a directory/);
  });
});
