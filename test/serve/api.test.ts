/**
 * The server's OpenAI contract, through the official `openai` client (v6) against a real server on
 * 127.0.0.1. The model is MirrorModel (mirror-model.ts): with temperature 0 a completion is the
 * source (suffix, else prompt) reversed, one code point per token, so every expected text below is
 * computed by hand from that rule.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeHandle, serve } from '../../src/serve/index.ts';
import { CHAT_STOP, chatPrompt } from '../../src/serve/routes/chat.ts';
import { MirrorModel } from './mirror-model.ts';

const reverse = (s: string) => Array.from(s).reverse().join('');

let model: MirrorModel;
let server: ServeHandle;
let client: OpenAI;

beforeAll(async () => {
  model = new MirrorModel({ id: 'mirror-1', contextLength: 512, provider: 'cpu' });
  server = await serve(model, { port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => server.close());

describe('models', () => {
  it('lists the one model served, and retrieves it by id', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(['mirror-1']);
    expect(list.data[0]).toMatchObject({ object: 'model', owned_by: 'tony', context_length: 512, provider: 'cpu' });
    expect((await client.models.retrieve('mirror-1')).id).toBe('mirror-1');
    await expect(client.models.retrieve('gpt-4')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });
});

describe('completions', () => {
  it('completes greedily, with OpenAI response fields and usage', async () => {
    const r = await client.completions.create({ model: 'mirror-1', prompt: 'hello world', max_tokens: 5, temperature: 0 });
    expect(r.object).toBe('text_completion');
    expect(r.id).toMatch(/^cmpl-/);
    expect(r.model).toBe('mirror-1');
    expect(r.choices).toEqual([{ text: 'dlrow', index: 0, logprobs: null, finish_reason: 'length' }]);
    expect(r.usage).toEqual({ prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 });
    // The request reached the model as the contract says.
    expect(model.requests.at(-1)).toMatchObject({ prompt: 'hello world', maxTokens: 5, temperature: 0, topP: 1, n: 1, stop: [] });
  });

  it('defaults max_tokens to 16 and takes a prompt given as an array of one string', async () => {
    const prompt = 'abcdefghijklmnopqrstuvwxyz';
    const r = await client.completions.create({ model: 'mirror-1', prompt: [prompt], temperature: 0 });
    expect(r.choices[0]!.text).toBe(reverse(prompt).slice(0, 16));
    expect(model.requests.at(-1)!.maxTokens).toBe(16);
  });

  it('ends with finish_reason stop when the model reaches its end of text', async () => {
    const r = await client.completions.create({ model: 'mirror-1', prompt: 'abc', max_tokens: 10, temperature: 0 });
    expect(r.choices[0]).toMatchObject({ text: 'cba', finish_reason: 'stop' });
  });

  it('passes suffix through: an infill request', async () => {
    const r = await client.completions.create({
      model: 'mirror-1',
      prompt: 'def f(x):\n',
      suffix: '  return y',
      max_tokens: 32,
      temperature: 0,
    });
    expect(model.requests.at(-1)).toMatchObject({ prompt: 'def f(x):\n', suffix: '  return y' });
    expect(r.choices[0]!.text).toBe('y nruter  ');
  });

  it('streams chunks in OpenAI format that concatenate to the text, then usage', async () => {
    const stream = await client.completions.create({
      model: 'mirror-1',
      prompt: 'streaming!',
      max_tokens: 6,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    const withText = chunks.filter((c) => c.choices.length > 0);
    expect(withText.length).toBeGreaterThanOrEqual(6); // one token per delta
    expect(withText.map((c) => c.choices[0]!.text).join('')).toBe('!gnima');
    for (const c of chunks) expect(c).toMatchObject({ object: 'text_completion', model: 'mirror-1', id: chunks[0]!.id });
    expect(withText.at(-1)!.choices[0]!.finish_reason).toBe('length');
    expect(withText.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null)).toBe(true);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 10, completion_tokens: 6, total_tokens: 16 });
  });

  it('ends the raw event stream with data: [DONE]', async () => {
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'mirror-1', prompt: 'ab', stream: true, temperature: 0 }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await res.text()).split('\n\n').filter(Boolean);
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(
      events
        .slice(0, -1)
        .map((e) => JSON.parse(e.slice(6)).choices[0].text)
        .join(''),
    ).toBe('ba');
  });

  it('returns logprobs as parallel arrays with at most `logprobs` alternatives', async () => {
    const r = await client.completions.create({ model: 'mirror-1', prompt: 'xyz', max_tokens: 3, temperature: 0, logprobs: 3 });
    const lp = r.choices[0]!.logprobs!;
    expect(lp.tokens).toEqual(['z', 'y', 'x']);
    expect(lp.text_offset).toEqual([0, 1, 2]);
    expect(lp.token_logprobs).toEqual([Math.log(0.5), Math.log(0.5), Math.log(0.5)]);
    expect(lp.top_logprobs![0]).toEqual({ z: Math.log(1 / 2), '{': Math.log(1 / 4), '|': Math.log(1 / 8) });
    for (const top of lp.top_logprobs!) expect(Object.keys(top).length).toBeLessThanOrEqual(3);
    expect(model.requests.at(-1)!.logprobs).toBe(3);
  });

  it("streams logprobs on each choice's finishing chunk", async () => {
    const stream = await client.completions.create({
      model: 'mirror-1',
      prompt: 'pq',
      max_tokens: 5,
      temperature: 0,
      logprobs: 1,
      stream: true,
    });
    const lps = [];
    for await (const c of stream) if (c.choices[0]?.logprobs) lps.push(c.choices[0].logprobs);
    expect(lps.flatMap((l) => l.tokens)).toEqual(['q', 'p']);
  });

  it('echoes the prompt before the completion, streamed or not', async () => {
    const r = await client.completions.create({ model: 'mirror-1', prompt: 'echo', max_tokens: 2, temperature: 0, echo: true });
    expect(r.choices[0]!.text).toBe('echooh');
    const stream = await client.completions.create({
      model: 'mirror-1',
      prompt: 'echo',
      max_tokens: 2,
      temperature: 0,
      echo: true,
      stream: true,
    });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.text ?? '';
    expect(text).toBe('echooh');
  });

  it('cuts at a stop string and reports finish_reason stop, streamed or not', async () => {
    // reverse('one, two; three') = 'eerht ;owt ,eno'
    const r = await client.completions.create({
      model: 'mirror-1',
      prompt: 'one, two; three',
      max_tokens: 20,
      temperature: 0,
      stop: [';', 'zz'],
    });
    expect(r.choices[0]).toMatchObject({ text: 'eerht ', finish_reason: 'stop' });
    expect(model.requests.at(-1)!.stop).toEqual([';', 'zz']);
    const stream = await client.completions.create({
      model: 'mirror-1',
      prompt: 'one, two; three',
      max_tokens: 20,
      temperature: 0,
      stop: 'owt',
      stream: true,
    });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.text ?? '';
    expect(text).toBe('eerht ;');
  });

  it('returns n choices, indexed, streamed or not', async () => {
    const r = await client.completions.create({ model: 'mirror-1', prompt: 'four', max_tokens: 4, temperature: 0, n: 3 });
    expect(r.choices.map((c) => [c.index, c.text])).toEqual([
      [0, 'ruof'],
      [1, 'ruof'],
      [2, 'ruof'],
    ]);
    expect(r.usage!.completion_tokens).toBe(12);
    const stream = await client.completions.create({
      model: 'mirror-1',
      prompt: 'four',
      max_tokens: 4,
      temperature: 0,
      n: 2,
      stream: true,
    });
    const texts = ['', ''];
    for await (const c of stream) for (const ch of c.choices) texts[ch.index] += ch.text;
    expect(texts).toEqual(['ruof', 'ruof']);
  });

  it('same seed → same text; another seed → other text', async () => {
    const ask = async (seed: number) =>
      (
        await client.completions.create({
          model: 'mirror-1',
          prompt: 'the quick brown fox jumps over the lazy dog',
          max_tokens: 40,
          temperature: 1,
          seed,
          n: 2,
        })
      ).choices.map((c) => c.text);
    const a = await ask(7);
    expect(await ask(7)).toEqual(a);
    expect(await ask(8)).not.toEqual(a);
    expect(a[0]).not.toBe(a[1]); // the n samples are independent draws
    expect(model.requests.at(-1)!.seed).toBe(8);
  });
});

describe('chat completions', () => {
  const messages = [
    { role: 'system' as const, content: 'sys' },
    { role: 'user' as const, content: 'hi' },
  ];
  // The model continues the transcript; reversed, it begins with ':tnatsissA'.
  const prompt = chatPrompt(messages);

  it('renders messages with the chat template and returns an assistant message', async () => {
    const r = await client.chat.completions.create({ model: 'mirror-1', messages, max_tokens: 10, temperature: 0 });
    expect(model.requests.at(-1)).toMatchObject({ prompt: 'System: sys\n\nUser: hi\n\nAssistant:', maxTokens: 10, stop: [CHAT_STOP] });
    expect(r.object).toBe('chat.completion');
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(r.choices[0]).toMatchObject({
      index: 0,
      message: { role: 'assistant', content: reverse(prompt).slice(0, 10) },
      finish_reason: 'length',
    });
    expect(r.usage).toEqual({
      prompt_tokens: Array.from(prompt).length,
      completion_tokens: 10,
      total_tokens: Array.from(prompt).length + 10,
    });
  });

  it('streams deltas (role first) and a final usage chunk with stream_options.include_usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'mirror-1',
      messages,
      max_tokens: 8,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    const content = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('');
    expect(content).toBe(reverse(prompt).slice(0, 8));
    for (const c of chunks) expect(c.object).toBe('chat.completion.chunk');
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finish.map((c) => c.choices[0]!.finish_reason)).toEqual(['length']);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: 8 });
  });

  it('streams n choices, each opened by its role delta', async () => {
    const stream = await client.chat.completions.create({ model: 'mirror-1', messages, max_tokens: 3, temperature: 0, n: 2, stream: true });
    const roles: number[] = [];
    const texts = ['', ''];
    for await (const c of stream) {
      for (const ch of c.choices) {
        if (ch.delta.role) roles.push(ch.index);
        texts[ch.index] += ch.delta.content ?? '';
      }
    }
    expect(roles).toEqual([0, 1]);
    expect(texts).toEqual([':tn', ':tn']);
  });

  it('stops where the model starts the next user turn (CHAT_STOP)', async () => {
    // Reversed, this message's ':resU\n' reads '\nUser:': the mirror "writes" a user turn there.
    const msgs = [{ role: 'user' as const, content: 'abc:resU\ndef' }];
    const r = await client.chat.completions.create({ model: 'mirror-1', messages: msgs, max_tokens: 200, temperature: 0 });
    expect(r.choices[0]).toMatchObject({ message: { content: ':tnatsissA\n\nfed' }, finish_reason: 'stop' });
  });

  it('returns chat logprobs per token with bytes and top alternatives', async () => {
    const r = await client.chat.completions.create({
      model: 'mirror-1',
      messages,
      max_tokens: 2,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
    });
    const content = r.choices[0]!.logprobs!.content!;
    expect(content.map((t) => t.token)).toEqual([':', 't']);
    expect(content[0]).toEqual({
      token: ':',
      logprob: Math.log(0.5),
      bytes: [58],
      top_logprobs: [
        { token: ':', logprob: Math.log(0.5), bytes: [58] },
        { token: ';', logprob: Math.log(0.25), bytes: [59] },
      ],
    });
  });

  it('accepts text content parts and max_completion_tokens', async () => {
    const r = await client.chat.completions.create({
      model: 'mirror-1',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
      ],
      max_completion_tokens: 3,
      temperature: 0,
    });
    expect(model.requests.at(-1)).toMatchObject({ prompt: 'User: ab\n\nAssistant:', maxTokens: 3 });
    expect(r.choices[0]!.message.content).toBe(':tn');
  });
});
