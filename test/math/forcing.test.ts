// Calculator forcing inside batched KV-cache decoding (GenerateOptions.force). A tiny random GPT
// never writes `<<expr=` by itself, so a scripted hook forces the opening first and the calculator
// then answers. Oracles: the forced results are the hand-computed values; after forcing, the model
// continues exactly as greedy decoding from a prompt that already holds the forced text (so the
// forced tokens went through the cache like any other); and an expression outside the calculator's
// grammar changes nothing: the continuation is the model's own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';
import { stateKey } from '../../src/engine/optim.ts';
import { calculatorHook } from '../../src/evals/calculator.ts';
import { generate } from '../../src/models/gpt/generate.ts';
import { GPT, gptConfig } from '../../src/models/gpt/gpt.ts';
import { ByteTokenizer } from '../../src/text/tokenizer.ts';

const cfg = gptConfig({ vocabSize: 260, blockSize: 48, nLayer: 1, nHead: 2, dModel: 16 });
const tok = new ByteTokenizer();
let rt: T.Runtime;

beforeAll(async () => {
  rt = await T.Runtime.start({ threads: 1 });
  const init = new GPT(cfg).ps.initialize(5);
  // A random model is near-uniform; a larger embedding separates greedy choices.
  const wte = init['wte.weight']!.data as Float32Array;
  for (let i = 0; i < wte.length; i++) wte[i]! *= 20;
  await rt.setState(Object.fromEntries(Object.entries(init).map(([k, v]) => [stateKey.param(k), v])));
});
afterAll(() => rt.close());

/** A hook that opens an annotation after the first generated character, then defers to `then`. */
const opening = (expr: string, then: (t: string) => string | undefined) => (t: string) => (t.length === 1 ? `<<${expr}=` : then(t));
const prompt = tok.encode('Q: ');
const greedy = (p: number[], maxNewTokens: number, force?: (t: string) => string | undefined) =>
  generate(rt, cfg, tok, [p], { maxNewTokens, temperature: 0, ...(force ? { force } : {}) }).then((g) => g[0]!.text);

describe('calculator forcing in the sampler', () => {
  it('forces exact results, and the model continues from them as from a prompt', async () => {
    for (const [expr, result] of [
      ['48/2', '24'],
      ['1/3', '0.3333333333'],
      ['(3+4)*-2', '-14'],
      ['1,000*12', '12000'],
    ]) {
      const text = await greedy(prompt, 30, opening(expr!, calculatorHook));
      const forced = `<<${expr}=${result}>>`;
      expect(text.slice(1, 1 + forced.length)).toBe(forced);
      const head = text.slice(0, 1 + forced.length);
      const rest = await greedy([...prompt, ...tok.encode(head)], 30 - tok.encode(head).length);
      expect(text.slice(head.length)).toBe(rest);
    }
  });

  it('leaves an expression outside the grammar to the model', async () => {
    for (const expr of ['2**3', 'a+b', '3+', 'x=1']) {
      const withCalc = await greedy(prompt, 24, opening(expr, calculatorHook));
      const without = await greedy(
        prompt,
        24,
        opening(expr, () => undefined),
      );
      expect(withCalc).toBe(without);
      expect(withCalc.slice(1)).toMatch(new RegExp(`^<<${expr.replace(/[*+]/g, '\\$&')}=`));
    }
  });

  it('forces each row of a sampled batch on its own', async () => {
    const gens = await generate(rt, cfg, tok, new Array(5).fill(prompt), {
      maxNewTokens: 20,
      temperature: 1,
      seed: 3,
      // Random bytes may be part of a multi-byte character, so rows open at different lengths.
      force: (t) => (t.length >= 2 && !t.includes('<<') ? '<<7*6=' : calculatorHook(t)),
    });
    expect(new Set(gens.map((g) => g.text)).size).toBe(5); // the rows really are different samples
    for (const g of gens) {
      const at = g.text.indexOf('<<');
      expect(g.text.slice(at, at + 10)).toBe('<<7*6=42>>');
    }
  });
});
