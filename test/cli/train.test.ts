/**
 * The command line as a user runs it: `tony train gpt` end to end (short), and bad input at the CLI
 * boundary — a one-line error with a hint and exit status 2, never a stack trace.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTextModel } from '../../src/models/index.ts';
import { tony as run } from '../tony.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tony = (...args: string[]) => run(args);

describe('tony CLI', () => {
  it('train gpt trains on node_modules sources, logs metrics, checkpoints, prints samples — and resumes', async () => {
    const out = join(dir, 'start');
    const args = [
      'train',
      'gpt',
      '--data',
      'node_modules',
      '--ext',
      '.js',
      '--steps',
      '4',
      '--eval-every',
      '2',
      '--max-bytes',
      '300000',
      '--preset',
      'tiny',
      '--out',
      out,
    ];
    const r = await tony(...args);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('device cpu (onnxruntime-node');
    expect(r.stdout).toMatch(/--- sample 1 \(prompt "function "\) ---\nfunction /);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.filter((x) => 'loss' in x).map((x) => x.step)).toEqual([1, 2, 3, 4]);
    expect(rows.filter((x) => 'val_loss' in x).map((x) => x.step)).toEqual([2, 4]);
    expect(existsSync(join(out, 'ckpt-4', 'tony-checkpoint.json'))).toBe(true);
    const again = await tony(...args.map((a) => (a === '4' ? '6' : a)));
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(`resuming from ${join(out, 'ckpt-4')}`);
    // Resuming on other data is refused, naming the change, before the data is read.
    const other = await tony(...args.map((a) => (a === '.js' ? '.ts' : a)));
    expect(other.status, other.stderr).toBe(2);
    expect(other.stderr).toContain(`tony: ${out} was trained on other data (ext [".js"] there, [".ts"] now)\n  hint: `);
    expect(other.stderr).not.toContain('tony: corpus');
    const sampled = await tony('sample', '--model', out, '--prompt', 'let ', '--max-tokens', '8', '--n', '2');
    expect(sampled.status, sampled.stderr).toBe(0);
    expect(sampled.stdout).toMatch(/--- sample 1 ---\nlet [\s\S]*--- sample 2 ---\nlet /);
  });

  it('train lm builds a BPE and shards, trains with FIM, and the run infills, exports and serves as a model', async () => {
    const src = join(dir, 'pysrc');
    mkdirSync(src);
    for (let i = 0; i < 30; i++)
      writeFileSync(join(src, `m${i}.py`), `def f${i}(x):\n    y = x * ${i}\n    return y + ${i}\n\n\nclass C${i}:\n    pass\n`);
    const out = join(dir, 'lm');
    const r = await tony(
      'train',
      'lm',
      '--data',
      src,
      '--include',
      '**/*.py',
      '--vocab',
      '300',
      '--preset',
      'tiny',
      '--set',
      'blockSize=16',
      '--steps',
      '4',
      '--eval-every',
      '2',
      '--out',
      out,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/tony: data 30 files, [\d,]+ train \/ [\d,]+ val tokens \(bpe-300, vocabulary 300\)/);
    expect(r.stderr).toContain('FIM 0.5 joint context-level char spans');
    expect(existsSync(join(out, 'data', 'index.json'))).toBe(true);
    const infill = (model: string) =>
      tony(
        'infill',
        '--model',
        model,
        '--prefix',
        'def f(x):\n',
        '--suffix',
        '\n',
        '--max-tokens',
        '4',
        '--temperature',
        '0',
        '--format',
        'spm',
        '--threads',
        '1',
      );
    const fill = await infill(out);
    expect(fill.status, fill.stderr).toBe(0);
    const exported = await tony('export', '--run', out, '--out', join(dir, 'exported'));
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stderr).toContain(`exported step 4 of ${out}`);
    expect(existsSync(join(dir, 'exported', 'optimizer.safetensors'))).toBe(false);
    // Export copies the run's last weights byte for byte.
    expect(readFileSync(join(dir, 'exported', 'model.safetensors')).equals(readFileSync(join(out, 'ckpt-4', 'model.safetensors')))).toBe(
      true,
    );
    // The exported model infills exactly what the run did, and what the library's greedy infill of
    // the same weights returns: the CLI prints the model's middle and nothing else.
    const fillExported = await infill(join(dir, 'exported'));
    expect(fillExported.status, fillExported.stderr).toBe(0);
    expect(fillExported.stdout).toBe(fill.stdout);
    const model = await loadTextModel(join(dir, 'exported'), { threads: 1, infillFormat: 'spm' });
    try {
      const res = await model.complete({ prompt: 'def f(x):\n', suffix: '\n', maxTokens: 4, temperature: 0, topP: 1, n: 1, stop: [] });
      expect(fill.stdout).toBe(`${res.choices[0]!.text}\n`);
      expect(res.usage.completionTokens).toBeGreaterThan(0);
    } finally {
      await model.close();
    }
    const sampled = await tony('sample', '--model', join(dir, 'exported'), '--prompt', 'def', '--max-tokens', '4');
    expect(sampled.status, sampled.stderr).toBe(0);
    expect(sampled.stdout.startsWith('def')).toBe(true);
  });

  it.each([
    [['train', 'gpt'], /train gpt needs --data <dir>/],
    [['train', 'gpt', '--data', 'src', '--preset', 'huge'], /unknown preset 'huge'[\s\S]*hint: presets: tiny, small/],
    [['train', 'gpt', '--data', 'src', '--steps', 'ten'], /--steps must be a positive integer, got 'ten'/],
    [['train', 'gpt', '--data', 'src', '--set', 'nLayers=2'], /unknown gpt config key 'nLayers'[\s\S]*did you mean 'nLayer'/],
    [['train', 'gpt', '--data', join(dir, 'missing')], /--data '.*missing' does not exist/],
    [['sample', '--model', join(dir, 'nothing-here')], /checkpoint/],
    [['sample', '--model', 'x', '--temperature', '-1'], /--temperature must be a number in \[0, 10\], got '-1'/],
  ])('refuses %j with a clear error and status 2', async (args, message) => {
    const r = await tony(...(args as string[]));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
