// Tony's own text models as a provider: a tiny random GPT saved as a checkpoint, sampled through
// the provider and compared with the model's own completions (greedy, so deterministic); then the
// whole `tony eval humaneval --model DIR` path.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../src/engine/checkpoint.ts';
import { openProvider, type Provider } from '../../src/evals/providers.ts';
import { GPT, gptConfig } from '../../src/models/gpt/gpt.ts';
import { loadCompletionModel, type TonyTextModel } from '../../src/models/gpt/model.ts';
import { PROBLEMS } from './toy-problems.ts';

const cfg = gptConfig({ vocabSize: 260, blockSize: 512, nLayer: 1, nHead: 2, dModel: 16 });
const dir = mkdtempSync(join(tmpdir(), 'tony-gpt-'));
let provider: Provider;
let model: TonyTextModel;

beforeAll(async () => {
  const params = new GPT(cfg).ps.initialize(7);
  // A random model is near-uniform; a larger embedding separates greedy choices (fewer ties).
  const wte = params['wte.weight']!.data as Float32Array;
  for (let i = 0; i < wte.length; i++) wte[i]! *= 20;
  await saveCheckpoint(dir, { config: { kind: 'gpt', model: cfg, tokenizer: { kind: 'bytes' }, fim: { rate: 0.5 } }, state: {}, params });
  provider = await openProvider(dir);
  model = await loadCompletionModel(dir, { threads: 1 });
});
afterAll(async () => {
  await provider?.close?.();
  await model?.close();
});

const greedy = { temperature: 0, topP: 1, maxTokens: 12 };

describe('a Tony model as a provider', () => {
  it('returns the model’s own greedy completions, cut at every stop (also past the API’s four)', async () => {
    expect(provider.name).toMatch(/^tony:tony-gpt-/);
    const direct = (await model.complete({ prompt: 'def f(x):\n', n: 1, stop: [], ...greedy })).choices[0]!.text;
    expect(direct.length).toBeGreaterThan(3);
    const stop = direct[2]!;
    const out = await provider.generate('def f(x):\n', { n: 2, ...greedy, stop: ['\u0000a', '\u0000b', '\u0000c', '\u0000d', stop] });
    const want = direct.slice(0, direct.indexOf(stop));
    expect(out.map((g) => g.text)).toEqual([want, want]);
  });

  it('passes the suffix for infilling', async () => {
    const direct = (await model.complete({ prompt: 'def f(x):\n', suffix: '\n    return y\n', n: 1, stop: [], ...greedy })).choices[0]!
      .text;
    const [g] = await provider.generate('def f(x):\n', { n: 1, ...greedy, suffix: '\n    return y\n' });
    expect(g!.text).toBe(direct);
  });

  it('a prompt longer than the context fails its own samples with the reason (issue 21, item 11)', async () => {
    const out = await provider.generate('#'.repeat(600), { n: 2, ...greedy });
    expect(out).toEqual(
      Array(2).fill({
        text: '',
        finishReason: 'error',
        error: "the prompt has 600 tokens; this model's context is 512, leaving no room to generate",
      }),
    );
    // The next problem is sampled as usual.
    expect((await provider.generate('def f(x):\n', { n: 1, ...greedy }))[0]!.error).toBeUndefined();
  });

  it('refuses to infill with a model whose config does not record FIM training', async () => {
    const plain = mkdtempSync(join(tmpdir(), 'tony-gpt-nofim-'));
    await saveCheckpoint(plain, {
      config: { kind: 'gpt', model: cfg, tokenizer: { kind: 'bytes' } },
      state: {},
      params: new GPT(cfg).ps.initialize(1),
    });
    const p = await openProvider(plain);
    try {
      await expect(p.generate('def f(x):\n', { n: 1, ...greedy, suffix: 'return y' })).rejects.toThrow(
        /does not record fill-in-the-middle training/,
      );
    } finally {
      await p.close?.();
    }
  });

  it('drives `tony eval humaneval --model DIR` end to end', async () => {
    const problems = join(dir, 'problems.jsonl');
    writeFileSync(problems, PROBLEMS.map((p) => JSON.stringify(p)).join('\n'));
    const samples = join(dir, 'samples.jsonl');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'eval',
        'humaneval',
        '--model',
        dir,
        '--problems',
        problems,
        '--samples',
        samples,
        '--n',
        '2',
        '--max-tokens',
        '8',
        '--k',
        '1,2',
      ],
      { encoding: 'utf8' },
    );
    // Eight random bytes never complete these functions.
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ 'pass@1': 0, 'pass@2': 0 });
    expect(readFileSync(samples, 'utf8').trim().split('\n')).toHaveLength(6);
  });
});
