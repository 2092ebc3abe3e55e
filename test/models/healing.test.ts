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
import { tokenHealing } from '../../src/models/gpt/healing.ts';
import { loadCompletionModel, type TonyTextModel } from '../../src/models/gpt/model.ts';
import { BpeTokenizer } from '../../src/text/bpe.ts';

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

/**
 * A prompt that ends in indentation. A hand-built BPE (GPT-2's pre-tokenizer) whose merges make
 * "\n" + four spaces one token (256 "\n ", 257 "\n  ", 258 "\n   ", 259 "\n    ") and " r" another
 * (260). The pre-tokenizer gives a word its leading space, so "\n    return" is "\n   " + " r" +
 * "eturn" while a prompt ending in "\n    " ends in token 259. Healing takes 259 back; the allowed
 * sets below are worked out by hand from the five merges.
 */
describe('token healing of indentation (hand-built BPE)', () => {
  const tok = new BpeTokenizer([
    [10, 32],
    [256, 32],
    [257, 32],
    [258, 32],
    [32, 114],
  ]);
  const prompt = 'def f():\n    ';
  const ids = tok.encode(prompt);

  it('takes back the indentation token and allows what re-writes it', () => {
    expect(ids.at(-1)).toBe(259);
    expect(tok.encode('\n    return').slice(0, 2)).toEqual([258, 260]); // the premise, by the merges
    const h = tokenHealing(tok, ids)!;
    expect(h.text).toBe('\n    ');
    // Starting with "\n    ": 259; a prefix of it: "\n", "\n ", "\n  ", "\n   ".
    expect([...h.allowed('\n    ')].sort((a, b) => a - b)).toEqual([10, 256, 257, 258, 259]);
    // After "\n   ": what starts with " " (" ", " r"); " " is also its own prefix.
    expect([...h.allowed(' ')].sort((a, b) => a - b)).toEqual([32, 260]);
    // After "\n  ": nothing starts with "  " in this vocabulary, so only " ".
    expect([...h.allowed('  ')]).toEqual([32]);
    expect(tokenHealing(tok, tok.encode('def f():'))).toBeUndefined(); // not whitespace: no healing
  });

  it("accepts how training text continues the prompt — the old 'starts with the tail' rule did not", () => {
    const h = tokenHealing(tok, ids)!;
    for (const cont of ['return x', '(x)', 'x = 1', '\n', '  y']) {
      // The tokens of prompt + continuation after the healed prompt must pass the constraint.
      const full = tok.encode(prompt + cont);
      expect(full.slice(0, ids.length - 1)).toEqual(ids.slice(0, -1));
      let rest = h.text;
      for (const id of full.slice(ids.length - 1)) {
        if (!rest) break;
        expect(h.allowed(rest).has(id), `${JSON.stringify(cont)}: token ${id} after rest ${JSON.stringify(rest)}`).toBe(true);
        const piece = tok.decode([id]);
        rest = rest.startsWith(piece) ? rest.slice(piece.length) : '';
      }
    }
    // What the old rule allowed first: only tokens starting with the whole tail (here 259 alone).
    expect([...h.allowed(h.text)].filter((id) => tok.decode([id]).startsWith(h.text))).toEqual([259]);
  });

  it('a model with this tokenizer re-writes the tail outside max_tokens and the usage count', async () => {
    const bcfg = gptConfig({ vocabSize: tok.vocabSize, blockSize: 64, nLayer: 1, nHead: 2, dModel: 16 });
    const params = new GPT(bcfg).ps.initialize(5);
    const dir = join(mkdtempSync(join(tmpdir(), 'tony-healing-bpe-')), 'm');
    await saveCheckpoint(dir, { config: { kind: 'gpt', model: bcfg, tokenizer: tok.toJSON() }, state: {}, params });
    const m = await loadCompletionModel(dir, { threads: 1 });
    try {
      for (let seed = 0; seed < 6; seed++) {
        const res = await m.complete({ prompt, temperature: 1, topP: 1, n: 1, maxTokens: 5, seed, stop: [] });
        const c = res.choices[0]!;
        expect(res.usage.promptTokens).toBe(ids.length);
        // The healed tokens are not counted: a 'length' finish is exactly max_tokens new tokens.
        if (c.finishReason === 'length') expect(res.usage.completionTokens).toBe(5);
        expect(res.usage.completionTokens).toBeLessThanOrEqual(5);
      }
    } finally {
      await m.close();
    }
  });
});
