/**
 * `tony eval … --model http://…/v1` against Tony's own server, in this process (issue 21, items 10
 * and 11): the model id comes from /v1/models, max_tokens is fitted to the context, and a prompt
 * longer than the context fails its problem with the reason instead of ending the run.
 *
 * The served GPT's huge position embeddings make its greedy tokens depend on positions only, so
 * it never stops early: a fitted completion runs exactly to the end of the context.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../src/engine/checkpoint.ts';
import { openProvider } from '../../src/evals/providers.ts';
import { GPT, gptConfig } from '../../src/models/gpt/gpt.ts';
import { loadCompletionModel, type TonyTextModel } from '../../src/models/gpt/model.ts';
import { serve } from '../../src/serve/index.ts';
import { PROBLEMS } from './toy-problems.ts';

const CONTEXT = 128;
const cfg = gptConfig({ vocabSize: 260, blockSize: CONTEXT, nLayer: 1, nHead: 2, dModel: 16 });
const dir = mkdtempSync(join(tmpdir(), 'tony-eval-server-'));
let model: TonyTextModel;
let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  const params = new GPT(cfg).ps.initialize(2); // a seed whose greedy text never hits a stop token here
  const wte = params['wte.weight']!.data as Float32Array;
  for (let i = 0; i < wte.length; i++) wte[i]! *= 20;
  const wpe = params['wpe.weight']!.data as Float32Array;
  for (let i = 0; i < wpe.length; i++) wpe[i]! *= 1000;
  await saveCheckpoint(join(dir, 'toy'), {
    config: { kind: 'gpt', model: cfg, tokenizer: { kind: 'bytes' }, fim: { rate: 0.5 } },
    state: {},
    params,
  });
  model = await loadCompletionModel(join(dir, 'toy'), { threads: 1 });
  server = await serve(model, { port: 0 });
});
afterAll(async () => {
  await server?.close();
  await model?.close();
});

const greedy = { temperature: 0, topP: 1 };

describe("an eval provider on Tony's server", () => {
  it('asks for the one model /v1/models lists and fits max_tokens 512 to the 128-token context', async () => {
    const provider = await openProvider(`${server.url}/v1`);
    const prompt = 'def f(x):\n'; // 10 bytes = 10 tokens: 118 left
    const [g] = await provider.generate(prompt, { n: 1, ...greedy, maxTokens: 512 });
    const direct = (await model.complete({ prompt, n: 1, stop: [], maxTokens: CONTEXT - 10, ...greedy })).choices[0]!;
    expect(direct.finishReason).toBe('length'); // the oracle ran to the end of the context
    expect(g).toEqual({ text: direct.text, finishReason: 'length' });
  });

  it('a prompt longer than the context fails its samples with the reason', async () => {
    const provider = await openProvider(`${server.url}/v1`);
    const out = await provider.generate('#'.repeat(200), { n: 2, ...greedy, maxTokens: 16 });
    expect(out).toEqual(
      Array(2).fill({
        text: '',
        finishReason: 'error',
        error: "the prompt has 200 tokens; the model's context is 128, leaving no room to generate",
      }),
    );
  });

  it('`tony eval humaneval --model URL` samples every problem, counts the one too long, and scores', async () => {
    const long = { ...PROBLEMS[0]!, task_id: 'Toy/long', prompt: `# ${'x'.repeat(300)}\n${PROBLEMS[0]!.prompt}` };
    const problems = join(dir, 'problems.jsonl');
    writeFileSync(problems, [PROBLEMS[0]!, long].map((p) => JSON.stringify(p)).join('\n'));
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
        `${server.url}/v1`,
        '--problems',
        problems,
        '--samples',
        samples,
        '--n',
        '1',
        '--k',
        '1',
      ],
      { encoding: 'utf8' },
    );
    expect(stdout).toMatch(/prompt longer than the context\s+1 problems \(failed\)/);
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ 'pass@1': 0 });
    const rows = readFileSync(samples, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { task_id: string; completion: string; error?: string });
    expect(rows.map((r) => r.task_id).sort()).toEqual(['Toy/0', 'Toy/long']);
    expect(rows.find((r) => r.task_id === 'Toy/long')).toMatchObject({ completion: '', error: expect.stringMatching(/context is 128/) });
    expect(rows.find((r) => r.task_id === 'Toy/0')!.completion.length).toBeGreaterThan(0);
  }, 120_000);
});
