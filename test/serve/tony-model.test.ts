/**
 * The server with a real Tony model (a tiny random GPT saved as a checkpoint and loaded back), through
 * the official `openai` client: completions, infilling via `suffix`, streaming, seeds, limits.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../src/engine/checkpoint.ts';
import { GPT, gptConfig } from '../../src/models/gpt/gpt.ts';
import { loadCompletionModel, type TonyTextModel } from '../../src/models/gpt/model.ts';
import { serve } from '../../src/serve/index.ts';

let dir: string;
let model: TonyTextModel;
let server: Awaited<ReturnType<typeof serve>>;
let client: OpenAI;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-serve-model-'));
  const cfg = gptConfig({ vocabSize: 260, blockSize: 64, nLayer: 1, nHead: 2, dModel: 16 });
  await saveCheckpoint(join(dir, 'tiny'), {
    config: { kind: 'gpt', model: { ...cfg }, tokenizer: { kind: 'bytes' } },
    state: { step: 0 },
    params: new GPT(cfg).ps.initialize(1),
  });
  model = await loadCompletionModel(join(dir, 'tiny'), { threads: 1 });
  server = await serve(model, { port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
  await model?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('tony serve with a Tony GPT', () => {
  it('lists the model and completes; the same seed gives the same text', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny']);
    const ask = (seed: number) => client.completions.create({ model: 'tiny', prompt: 'def f(', max_tokens: 12, temperature: 1, seed });
    const [a, b, c] = [await ask(3), await ask(3), await ask(4)];
    expect(a.choices[0]!.text).toBe(b.choices[0]!.text);
    expect(a.choices[0]!.text).not.toBe(c.choices[0]!.text);
    expect(a.usage!.prompt_tokens).toBe(6); // byte-level: one token per byte
    expect(a.usage!.completion_tokens).toBeLessThanOrEqual(12);
  });

  it('infills with suffix and streams deltas that add up to the non-streamed text', async () => {
    const req = { model: 'tiny', prompt: 'x = ', suffix: '\nprint(x)', max_tokens: 10, temperature: 0.7, seed: 9, n: 2 } as const;
    const whole = await client.completions.create(req);
    const parts = ['', ''];
    for await (const chunk of await client.completions.create({ ...req, stream: true })) {
      for (const ch of chunk.choices) parts[ch.index] += ch.text;
    }
    expect(parts).toEqual(whole.choices.map((c) => c.text));
    expect(whole.usage!.prompt_tokens).toBe(3 + 4 + 9); // <PRE> x = <SUF> \nprint(x) <MID>
  });

  it('refuses a prompt longer than the context with a 400 that says so, and keeps serving', async () => {
    await expect(client.completions.create({ model: 'tiny', prompt: 'a'.repeat(100), max_tokens: 4 })).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/maximum context length is 64/),
    });
    const ok = await client.completions.create({ model: 'tiny', prompt: 'ok', max_tokens: 2, temperature: 0 });
    expect(ok.choices).toHaveLength(1);
  });
});
