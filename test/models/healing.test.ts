/**
 * Token healing (src/models/gpt/model.ts): a prompt that ends in whitespace has its last token taken
 * back, and the first generated token must re-write it. With the byte tokenizer the only token whose
 * text starts with "\n" is "\n" itself, so the healed run must generate exactly what the unhealed run
 * does (same model, same prompt): the unhealed run — healing is off when logprobs are asked for — is
 * the oracle. The healed text must also never be cut by a stop string that it alone contains.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../src/engine/checkpoint.ts';
import { GPT, gptConfig } from '../../src/models/gpt/gpt.ts';
import { loadCompletionModel, type TonyTextModel } from '../../src/models/gpt/model.ts';

const cfg = gptConfig({ vocabSize: 260, blockSize: 64, nLayer: 1, nHead: 2, dModel: 16 });
let model: TonyTextModel;
beforeAll(async () => {
  const params = new GPT(cfg).ps.initialize(3);
  const wte = params['wte.weight']!.data as Float32Array;
  for (let i = 0; i < wte.length; i++) wte[i]! *= 20; // well-separated greedy choices
  const wpe = params['wpe.weight']!.data as Float32Array;
  for (let i = 0; i < wpe.length; i++) wpe[i]! *= 1000; // varied output: the position drowns the token
  const dir = join(mkdtempSync(join(tmpdir(), 'tony-healing-')), 'm');
  await saveCheckpoint(dir, { config: { kind: 'gpt', model: cfg, tokenizer: { kind: 'bytes' } }, state: {}, params });
  model = await loadCompletionModel(dir, { threads: 1 });
});
afterAll(() => model.close());

const greedy = { temperature: 0, topP: 1, n: 1, maxTokens: 24 };

describe('token healing', () => {
  it('with the byte tokenizer, a healed prompt generates exactly what the unhealed one does', async () => {
    for (const prompt of ['def f(x):\n', 'x = 1\n\n', 'a b  ']) {
      const healed = await model.complete({ ...greedy, prompt, stop: [] });
      const plain = await model.complete({ ...greedy, prompt, stop: [], logprobs: 1 });
      expect(healed.choices[0]!.text).toBe(plain.choices[0]!.text);
      expect(healed.choices[0]!.text.length).toBeGreaterThan(0);
      // The re-written token counts as the prompt's, as without healing.
      expect(healed.usage).toEqual(plain.usage);
    }
  });

  it('a stop string is not matched inside the re-written prompt tail', async () => {
    const prompt = 'def f(x):\n';
    const plain = (await model.complete({ ...greedy, prompt, stop: [], logprobs: 1 })).choices[0]!.text;
    // "\n" + the first generated character: present at the start of the healed row's text (the
    // prompt's "\n" re-written, then the completion), which must not count.
    const stop = `\n${plain[0]}`;
    const at = plain.indexOf(stop);
    const expected = at < 0 ? plain : plain.slice(0, at);
    const healed = await model.complete({ ...greedy, prompt, stop: [stop] });
    expect(healed.choices[0]!.text).toBe(expected);
  });

  it('streams what it returns, without the prompt’s tail', async () => {
    const prompt = 'x = 1\n';
    let streamed = '';
    const res = await model.complete({ ...greedy, prompt, stop: [] }, (d) => {
      streamed += d.text;
    });
    expect(streamed).toBe(res.choices[0]!.text);
  });
});
