// `tony eval tiny-generate|tiny-passk|tiny-infill` as a user runs them: files written, and bad
// flags refused with a usage error (no stack trace) before any model is loaded.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = async (args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'eval', ...args], {
      encoding: 'utf8',
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
};

const dir = mkdtempSync(join(tmpdir(), 'tony-tiny-'));

describe('tony eval tiny-*', () => {
  it('tiny-generate writes the corpus in files and the held-out problems with their infilling tasks', async () => {
    const out = join(dir, 'tiny');
    const r = await run(['tiny-generate', '--out', out, '--train', '120', '--test', '8', '--per-file', '50']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(join(out, 'train')).sort()).toEqual(['tiny-0000.py', 'tiny-0001.py', 'tiny-0002.py']); // 50 + 50 + 20
    expect(readFileSync(join(out, 'train', 'tiny-0002.py'), 'utf8').match(/^def /gm)).toHaveLength(20);
    const problems = readFileSync(join(out, 'problems.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(problems).toHaveLength(8);
    expect(Object.keys(problems[0]).sort()).toEqual(['canonical_solution', 'entry_point', 'prompt', 'task_id', 'test']);
    for (const span of ['identifier', 'expression', 'line', 'span']) {
      const tasks = readFileSync(join(out, `infill-${span}.jsonl`), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(tasks).toHaveLength(8);
      tasks.forEach((t, i) => expect(t.prompt + t.canonical_solution + t.suffix).toBe(problems[i].prompt + problems[i].canonical_solution));
    }
  }, 60_000);

  it('refuses bad flags with a usage error before loading a model', async () => {
    const k = await run(['tiny-passk', '--model', join(dir, 'none'), '--problems', join(dir, 'none.jsonl'), '--n', '50', '--k', '1,100']);
    expect(k.code).not.toBe(0);
    expect(k.stderr).toMatch(/pass@100 needs at least 100 samples; --n is 50/);
    expect(k.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const t = await run(['tiny-passk', '--model', join(dir, 'none'), '--problems', join(dir, 'none.jsonl'), '--temperatures', '0.2,hot']);
    expect(t.stderr).toMatch(/--temperatures must be/);
    const s = await run(['tiny-infill', '--model', join(dir, 'none'), '--problems', dir, '--spans', 'identifier,words']);
    expect(s.code).not.toBe(0);
    expect(s.stderr).toMatch(/'words' is not a span kind/);
  }, 60_000);
});
