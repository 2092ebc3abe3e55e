/**
 * Infilling ends (issue 21, item 9): at <EOT>, or where the middle starts writing out the suffix —
 * cut there; and a model trained without FIM refuses to infill. The cut is checked on a tiny GPT
 * whose huge position embeddings make its greedy tokens depend only on their positions: two
 * suffixes of the same length then yield the same raw text, so the text generated without a
 * matching suffix is the oracle for where the cut must fall.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../src/engine/checkpoint.ts';
import { TonyError } from '../../src/errors.ts';
import { GPT, gptConfig } from '../../src/models/gpt/gpt.ts';
import { loadCompletionModel, suffixHead, type TonyTextModel } from '../../src/models/gpt/model.ts';

const cfg = gptConfig({ vocabSize: 260, blockSize: 128, nLayer: 1, nHead: 2, dModel: 16 });
const root = mkdtempSync(join(tmpdir(), 'tony-infill-stop-'));
const models: TonyTextModel[] = [];

/** A checkpoint whose greedy output depends on positions only; `fim` as its config records it. */
async function save(name: string, fim: { rate: number } | undefined): Promise<string> {
  const params = new GPT(cfg).ps.initialize(6);
  const wte = params['wte.weight']!.data as Float32Array;
  for (let i = 0; i < wte.length; i++) wte[i]! *= 20; // well-separated greedy choices
  const wpe = params['wpe.weight']!.data as Float32Array;
  for (let i = 0; i < wpe.length; i++) wpe[i]! *= 1000; // the position drowns the token
  const dir = join(root, name);
  await saveCheckpoint(dir, {
    config: { kind: 'gpt', model: cfg, tokenizer: { kind: 'bytes' }, ...(fim ? { fim } : {}) },
    state: {},
    params,
  });
  return dir;
}

let fim: TonyTextModel;
let noFim: TonyTextModel;
beforeAll(async () => {
  fim = await loadCompletionModel(await save('fim', { rate: 0.5 }), { threads: 1 });
  noFim = await loadCompletionModel(await save('nofim', { rate: 0 }), { threads: 1 });
  models.push(fim, noFim);
});
afterAll(() => Promise.all(models.map((m) => m.close())));

const greedy = { temperature: 0, topP: 1, n: 1, stop: [] as string[], maxTokens: 40 };

describe('suffixHead', () => {
  it('takes the shortest start with 8 non-blank characters, the whole trimmed suffix when shorter, nothing under 4', () => {
    expect(suffixHead('\n    return c\n')).toBe('\n    return c'); // 7 non-blank: all of it
    expect(suffixHead('\n    return total\n')).toBe('\n    return to'); // r e t u r n t o: the 8th is 'o'
    expect(suffixHead(')\n    x = 1\n')).toBe(')\n    x = 1'); // ) x = 1: 4 non-blank
    expect(suffixHead(')\n')).toBeUndefined();
    expect(suffixHead('')).toBeUndefined();
  });
});

describe('infill stops', () => {
  it('cuts the middle where it starts writing out the suffix, and says so', async () => {
    const plain = '\n    return y\n'; // its head never appears in this model's output
    const raw = (await fim.complete({ prompt: 'def f(x):\n', suffix: plain, ...greedy })).choices[0]!;
    expect(raw.text).not.toContain(suffixHead(plain));
    // A run of ≥ 4 printable characters the model writes: made the head of a suffix of equal length.
    const m = /[!-~]{4,}/.exec(raw.text);
    expect(m, `no printable run in ${JSON.stringify(raw.text)}`).not.toBeNull();
    const run = m![0].slice(0, 8);
    const suffix = run.padEnd(Buffer.byteLength(plain), ' ');
    expect(suffixHead(suffix)).toBe(run);
    const cut = (await fim.complete({ prompt: 'def f(x):\n', suffix, ...greedy })).choices[0]!;
    expect(cut.text).toBe(raw.text.slice(0, raw.text.indexOf(run)));
    expect(cut.finishReason).toBe('stop');
    expect(cut.stopReason).toBe('suffix');
  });

  it('a model trained with FIM rate 0 refuses to infill, naming why; complete() still serves the non-FIM baseline', async () => {
    let err: unknown;
    try {
      noFim.checkCanInfill();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TonyError);
    expect((err as TonyError).message).toMatch(/trained with FIM rate 0/);
    expect((err as TonyError).hint).toMatch(/--fim-rate/);
    expect(() => fim.checkCanInfill()).not.toThrow();
    // The FIM paper's comparison scores a non-FIM model on infills: the library call still answers.
    expect((await noFim.complete({ prompt: 'def f(x):\n', suffix: 'return y', ...greedy })).choices).toHaveLength(1);
  });

  it('`tony infill` refuses a model whose config does not record FIM training', async () => {
    const dir = await save('unknown', undefined);
    const run = promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'infill', '--model', dir, '--prefix', 'a', '--suffix', 'b'],
      { encoding: 'utf8' },
    );
    const err = (await run.catch((e) => e)) as { code: number; stderr: string };
    expect(err.code).not.toBe(0);
    expect(err.stderr).toMatch(/does not record fill-in-the-middle training/);
    expect(err.stderr).not.toMatch(/\n\s+at /); // a message, not a stack
  }, 60_000);
});
