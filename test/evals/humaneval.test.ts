// End to end: small HumanEval-format problem files (written here), samples with known correctness,
// pass@k against hand-computed values, the reference results format, infilling, JS and TS.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { evaluateHumanEval } from '../../src/evals/humaneval.ts';
import { Sandbox } from '../../src/evals/sandbox.ts';
import { BUBBLEWRAP, requires } from '../system.ts';
import { PROBLEMS } from './toy-problems.ts';

let sb: Sandbox;
let dir: string;
beforeAll(async () => {
  if (!BUBBLEWRAP.missing()) sb = await Sandbox.open({ limits: { timeoutMs: 3000 } });
  dir = mkdtempSync(join(tmpdir(), 'tony-he-'));
});
beforeEach((ctx) => requires(ctx, BUBBLEWRAP));

const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('evaluateHumanEval', () => {
  it('passes every canonical solution', async () => {
    const problems = join(dir, 'problems.jsonl.gz');
    writeFileSync(problems, gzipSync(jsonl(PROBLEMS)));
    const r = await evaluateHumanEval({
      problems,
      samples: PROBLEMS.map((p) => ({ task_id: p.task_id, completion: p.canonical_solution })),
      ks: [1],
      sandbox: sb,
    });
    expect(r.results.map((x) => x.result)).toEqual(['passed', 'passed', 'passed']);
    expect(r.metrics).toEqual({ 'pass@1': 1 });
  });

  it('computes pass@k over known outcomes and writes the reference results format', async () => {
    const problems = join(dir, 'p.jsonl');
    writeFileSync(problems, jsonl(PROBLEMS));
    const S = (task: number, completion: string) => ({ task_id: `Toy/${task}`, completion });
    const samples = [
      S(0, '    return a + b\n'),
      S(0, '    return b + a\n'),
      S(0, '    return sum([a, b])\n'), // 3 of 3
      S(1, PROBLEMS[1]!.canonical_solution),
      S(1, '    return 0.0\n'),
      S(1, '    return xs[0]\n'), // 1 of 3
      S(2, '    return [sum(numbers), 1]\n'),
      S(2, '    return (0, 1)\n'),
      S(2, '    return sum(numbers)\n'), // 0 of 3
    ];
    const file = join(dir, 'samples.jsonl');
    writeFileSync(file, jsonl(samples));
    const r = await evaluateHumanEval({ problems, samples: file, ks: [1, 2, 3, 10], sandbox: sb });
    // pass@1 = mean(c/n) = (1 + 1/3 + 0)/3; pass@2 for c=1,n=3: 1 − C(2,2)/C(3,2) = 2/3; pass@3 = (1+1+0)/3.
    expect(r.metrics['pass@1']).toBeCloseTo(4 / 9, 12);
    expect(r.metrics['pass@2']).toBeCloseTo((1 + 2 / 3 + 0) / 3, 12);
    expect(r.metrics['pass@3']).toBeCloseTo(2 / 3, 12);
    expect(r.metrics['pass@10']).toBeUndefined(); // fewer than 10 samples per problem
    const lines = readFileSync(`${file}_results.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.task_id, l.completion, l.passed])).toEqual(
      samples.map((s, i) => [s.task_id, s.completion, [0, 1, 2, 3].includes(i)]),
    );
    expect(lines[6].result).toMatch(/^failed: /);
    const summary = JSON.parse(readFileSync(`${file}_summary.json`, 'utf8'));
    expect(summary).toMatchObject({ problems: 3, attempted: 3, samples: 9, passed: 4 });
  });

  it('scores infilling: prompt + completion + suffix', async () => {
    // The upstream example problem's shape.
    const problems = join(dir, 'infill.jsonl');
    writeFileSync(
      problems,
      jsonl([
        {
          task_id: 'test/0',
          prompt: 'def return1():\n',
          suffix: '1',
          canonical_solution: '    return ',
          test: 'def check(candidate):\n    assert candidate() == 1',
          entry_point: 'return1',
        },
      ]),
    );
    const r = await evaluateHumanEval({
      problems,
      infilling: 'single-line',
      samples: [
        { task_id: 'test/0', completion: '    return ' },
        { task_id: 'test/0', completion: '    return 2*' },
        { task_id: 'test/0', completion: '    return 0+' },
      ],
      ks: [1],
      sandbox: sb,
    });
    expect(r.results.map((x) => x.passed)).toEqual([true, false, true]);
    expect(r.metrics['pass@1']).toBeCloseTo(2 / 3, 12);
  });

  it('runs JavaScript and TypeScript problems', async () => {
    const js = join(dir, 'js.jsonl');
    const test =
      "const assert = require('node:assert');\nfunction check(candidate) {\n  assert.deepStrictEqual(candidate([3, 1, 2]), [1, 2, 3]);\n  assert.deepStrictEqual(candidate([]), []);\n}\n";
    writeFileSync(
      js,
      jsonl([
        {
          task_id: 'JS/0',
          prompt: 'function sorted(xs) {\n',
          canonical_solution: '  return [...xs].sort((a, b) => a - b);\n}\n',
          test,
          entry_point: 'sorted',
        },
      ]),
    );
    const r = await evaluateHumanEval({
      problems: js,
      language: 'js',
      samples: [
        { task_id: 'JS/0', completion: '  return [...xs].sort((a, b) => a - b);\n}\n' },
        { task_id: 'JS/0', completion: '  return xs;\n}\n' },
      ],
      ks: [1],
      sandbox: sb,
    });
    expect(r.results.map((x) => x.passed)).toEqual([true, false]);

    const ts = join(dir, 'ts.jsonl');
    writeFileSync(
      ts,
      jsonl([
        {
          task_id: 'TS/0',
          prompt: 'function sorted(xs: number[]): number[] {\n',
          canonical_solution: '  return [...xs].sort((a, b) => a - b);\n}\n',
          test,
          entry_point: 'sorted',
        },
      ]),
    );
    const t = await evaluateHumanEval({
      problems: ts,
      language: 'ts',
      samples: [{ task_id: 'TS/0', completion: '  const ys: number[] = [...xs];\n  return ys.sort((a, b) => a - b);\n}\n' }],
      ks: [1],
      sandbox: sb,
    });
    expect(t.results[0]!.result).toBe('passed');
  });

  it('runs problems without canonical solutions whose test calls the entry point by name (MultiPL-E style)', async () => {
    const problems = join(dir, 'multipl-e.jsonl');
    const test =
      "const assert = require('node:assert');\nfunction test() {\n  let candidate = sorted;\n  assert.deepStrictEqual(candidate([2, 1]), [1, 2]);\n}\ntest();\n";
    writeFileSync(
      problems,
      jsonl([
        { task_id: 'M/0', prompt: '// sort ascending\nfunction sorted(xs) {\n', canonical_solution: '', test, entry_point: 'sorted' },
      ]),
    );
    const r = await evaluateHumanEval({
      problems,
      language: 'js',
      samples: [
        { task_id: 'M/0', completion: '  return [...xs].sort((a, b) => a - b);\n}\n' },
        { task_id: 'M/0', completion: '  return xs;\n}\n' },
      ],
      ks: [1],
      sandbox: sb,
    });
    expect(r.results.map((x) => x.passed)).toEqual([true, false]);
  });

  it('runs without isolation only when asked (--unsafe-no-sandbox)', async () => {
    const problems = join(dir, 'u.jsonl');
    writeFileSync(problems, jsonl([PROBLEMS[0]!]));
    const unsafe = await Sandbox.open({ unsafeNoSandbox: true });
    expect(unsafe.unsafe).toBe(true);
    const r = await evaluateHumanEval({
      problems,
      samples: [
        { task_id: 'Toy/0', completion: '    return a + b\n' },
        { task_id: 'Toy/0', completion: '    return a\n' },
      ],
      ks: [1],
      sandbox: unsafe,
    });
    expect(r.results.map((x) => x.passed)).toEqual([true, false]);
  });

  it('carries keyword arguments and builtin exceptions across the judge boundary', async () => {
    const problems = join(dir, 'exc.jsonl');
    const prompt = 'def parse(s, base=10):\n    """int(s, base); ValueError on junk."""\n';
    const test =
      'def check(candidate):\n    assert candidate("ff", base=16) == 255\n    try:\n        candidate("zz")\n        assert False, "no error"\n' +
      '    except ValueError as e:\n        assert "invalid literal" in str(e)\n';
    writeFileSync(
      problems,
      jsonl([{ task_id: 'E/0', prompt, canonical_solution: '    return int(s, base)\n', test, entry_point: 'parse' }]),
    );
    const r = await evaluateHumanEval({
      problems,
      samples: [
        { task_id: 'E/0', completion: '    return int(s, base)\n' },
        { task_id: 'E/0', completion: '    try:\n        return int(s, base)\n    except ValueError:\n        return -1\n' },
      ],
      ks: [1],
      sandbox: sb,
    });
    expect(r.results.map((x) => x.result)).toEqual(['passed', 'failed: no error']);
  });

  it('rejects samples for unknown tasks, naming them', async () => {
    const problems = join(dir, 'p2.jsonl');
    writeFileSync(problems, jsonl(PROBLEMS));
    await expect(evaluateHumanEval({ problems, samples: [{ task_id: 'Nope/1', completion: '' }], sandbox: sb })).rejects.toThrow(
      /sample 1 has task_id 'Nope\/1'/,
    );
  });
});
