import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseSplit, finalPoints, parseRunsJsonl, readRuns } from '../../src/scaling/runs.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-scaling-runs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** A run directory as Tony's trainer writes it. */
async function writeRunDir(path: string, nonembedding: number, lines: string[]): Promise<void> {
  await mkdir(path, { recursive: true });
  await writeFile(
    join(path, 'config.json'),
    JSON.stringify({ model: { nLayer: 2, dModel: 64 }, params: nonembedding + 32768, nonembedding_params: nonembedding }),
  );
  await writeFile(join(path, 'metrics.jsonl'), lines.join('\n'));
}

describe('runs JSONL', () => {
  it('reads rows and fills compute = 6·N·tokens when absent', () => {
    const rows = parseRunsJsonl(
      jsonl([
        { run: 'a', params: 1200, nonembedding_params: 1000, tokens: 500, loss: 3.2, split: 'val' },
        { run: 'a', params: 1200, nonembedding_params: 1000, tokens: 500, compute: 7, loss: 3.3, split: 'train' },
      ]),
    );
    expect(rows[0]).toEqual({
      run: 'a',
      params: 1200,
      nonembedding_params: 1000,
      tokens: 500,
      compute: 6 * 1000 * 500,
      loss: 3.2,
      split: 'val',
    });
    expect(rows[1]!.compute).toBe(7);
  });

  it('names the line and the key of a bad row', () => {
    const good = { run: 'a', params: 1, nonembedding_params: 1, tokens: 1, loss: 1, split: 'val' };
    expect(() => parseRunsJsonl(jsonl([good, { ...good, loss: 'x' }]), 'r.jsonl')).toThrow(
      /r\.jsonl:2: 'loss' must be a finite number, got "x"/,
    );
    expect(() => parseRunsJsonl(jsonl([good, { ...good, tokens: undefined }]), 'r.jsonl')).toThrow(
      /r\.jsonl:2: 'tokens' must be a finite number/,
    );
    expect(() => parseRunsJsonl('{"run": "a"\n', 'r.jsonl')).toThrow(/r\.jsonl:1: not valid JSON/);
    expect(() => parseRunsJsonl('\n\n', 'r.jsonl')).toThrow(/has no rows/);
  });

  it('reads a file from disk, gzipped or not', async () => {
    const path = join(dir, 'runs.jsonl');
    await writeFile(path, jsonl([{ run: 'a', params: 2, nonembedding_params: 1, tokens: 10, loss: 2, split: 'val' }]));
    expect((await readRuns(path)).length).toBe(1);
    const { gzipSync } = await import('node:zlib');
    await writeFile(`${path}.gz`, gzipSync(await (await import('node:fs/promises')).readFile(path)));
    expect((await readRuns(`${path}.gz`))[0]!.compute).toBe(60);
  });
});

describe("Tony's training metrics logs", () => {
  const train = (step: number, tokens: number, loss: number) => JSON.stringify({ step, tokens, loss, lr: 6e-4, time_s: step / 10 });
  const val = (step: number, tokens: number, loss: number) => JSON.stringify({ step, tokens, val_loss: loss });

  it('reads one run directory into train and val rows', async () => {
    const run = join(dir, 'single', 'gpt-d64');
    await writeRunDir(run, 50_000, [
      train(100, 204800, 2.31),
      val(100, 204800, 2.4),
      JSON.stringify({ step: 150, event: 'checkpoint' }),
      train(200, 409600, 2.1),
    ]);
    const rows = await readRuns(run);
    expect(rows).toEqual([
      {
        run: 'gpt-d64',
        params: 82768,
        nonembedding_params: 50_000,
        tokens: 204800,
        compute: 6 * 50_000 * 204800,
        loss: 2.31,
        split: 'train',
      },
      { run: 'gpt-d64', params: 82768, nonembedding_params: 50_000, tokens: 204800, compute: 6 * 50_000 * 204800, loss: 2.4, split: 'val' },
      {
        run: 'gpt-d64',
        params: 82768,
        nonembedding_params: 50_000,
        tokens: 409600,
        compute: 6 * 50_000 * 409600,
        loss: 2.1,
        split: 'train',
      },
    ]);
  });

  it('reads a directory of run directories, skipping a torn last line of a run still writing', async () => {
    const sweep = join(dir, 'sweep');
    await writeRunDir(join(sweep, 's1'), 1000, [train(1, 100, 3), val(1, 100, 3.1), '{"step": 2, "tok']);
    await writeRunDir(join(sweep, 's2'), 2000, [train(1, 100, 2.9), val(1, 100, 3.0), '']);
    await mkdir(join(sweep, 'not-a-run'));
    const rows = await readRuns(sweep);
    expect(rows.map((r) => `${r.run}/${r.split}`)).toEqual(['s1/train', 's1/val', 's2/train', 's2/val']);
  });

  it('still rejects a broken line in the middle', async () => {
    const run = join(dir, 'broken', 'r');
    await writeRunDir(run, 1000, [train(1, 100, 3), '{oops', train(2, 200, 2.9)]);
    await expect(readRuns(run)).rejects.toThrow(/metrics\.jsonl:2: not valid JSON/);
  });

  it('says what is missing from config.json', async () => {
    const run = join(dir, 'noconf', 'r');
    await mkdir(run, { recursive: true });
    await writeFile(join(run, 'config.json'), JSON.stringify({ model: {}, params: 10 }));
    await writeFile(join(run, 'metrics.jsonl'), train(1, 1, 1));
    await expect(readRuns(run)).rejects.toThrow(/config\.json: 'nonembedding_params' must be a finite number/);
  });

  it('rejects a directory with no runs', async () => {
    await mkdir(join(dir, 'empty'));
    await expect(readRuns(join(dir, 'empty'))).rejects.toThrow(/no run directories/);
  });
});

describe('choosing points', () => {
  const rows = parseRunsJsonl(
    jsonl([
      { run: 'a', params: 2, nonembedding_params: 1, tokens: 10, loss: 3, split: 'train' },
      { run: 'a', params: 2, nonembedding_params: 1, tokens: 20, loss: 2.5, split: 'train' },
      { run: 'a', params: 2, nonembedding_params: 1, tokens: 20, loss: 2.7, split: 'val' },
      { run: 'b', params: 4, nonembedding_params: 3, tokens: 30, loss: 2.2, split: 'train' },
      { run: 'b', params: 4, nonembedding_params: 3, tokens: 10, loss: 2.9, split: 'train' },
    ]),
  );
  it("prefers 'val', and checks a requested split exists", () => {
    expect(chooseSplit(rows)).toBe('val');
    expect(chooseSplit(rows, 'train')).toBe('train');
    expect(() => chooseSplit(rows, 'test')).toThrow(/no rows with split 'test'/);
  });
  it('takes each run’s point with the most tokens', () => {
    expect(finalPoints(rows, 'train').map((p) => [p.run, p.loss])).toEqual([
      ['a', 2.5],
      ['b', 2.2],
    ]);
  });
});
