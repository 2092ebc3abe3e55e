/**
 * The command line as a user runs it: `tony train gpt` end to end (short), and bad input at the CLI
 * boundary — a one-line error with a hint and exit status 2, never a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tony-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tony = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/tony.js', ...args], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('tony CLI', () => {
  it('train gpt trains on node_modules sources, logs metrics, checkpoints, prints samples — and resumes', () => {
    const out = join(dir, 'start');
    const args = ['train', 'gpt', '--data', 'node_modules', '--ext', '.js', '--steps', '4', '--eval-every', '2', '--max-bytes', '300000', '--preset', 'tiny', '--out', out];
    const r = tony(...args);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('device cpu (onnxruntime-node');
    expect(r.stdout).toMatch(/--- sample 1 \(prompt "function "\) ---\nfunction /);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.filter((x) => 'loss' in x).map((x) => x.step)).toEqual([1, 2, 3, 4]);
    expect(rows.filter((x) => 'val_loss' in x).map((x) => x.step)).toEqual([2, 4]);
    expect(existsSync(join(out, 'ckpt-4', 'tony-checkpoint.json'))).toBe(true);
    const again = tony(...args.map((a) => (a === '4' ? '6' : a)));
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(`resuming from ${join(out, 'ckpt-4')}`);
    const sampled = tony('sample', '--model', out, '--prompt', 'let ', '--max-tokens', '8', '--n', '2');
    expect(sampled.status, sampled.stderr).toBe(0);
    expect(sampled.stdout).toMatch(/--- sample 1 ---\nlet [\s\S]*--- sample 2 ---\nlet /);
  });

  it.each([
    [['train', 'gpt'], /train gpt needs --data <dir>/],
    [['train', 'gpt', '--data', 'src', '--preset', 'huge'], /unknown preset 'huge'[\s\S]*hint: presets: tiny, small/],
    [['train', 'gpt', '--data', 'src', '--steps', 'ten'], /--steps must be a positive integer, got 'ten'/],
    [['train', 'gpt', '--data', 'src', '--set', 'nLayers=2'], /unknown gpt config key 'nLayers'[\s\S]*did you mean 'nLayer'/],
    [['train', 'gpt', '--data', join(dir, 'missing')], /--data '.*missing' does not exist/],
    [['sample', '--model', join(dir, 'nothing-here')], /checkpoint/],
    [['sample', '--model', 'x', '--temperature', '-1'], /--temperature must be a number in \[0, 10\], got '-1'/],
  ])('refuses %j with a clear error and status 2', (args, message) => {
    const r = tony(...(args as string[]));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
