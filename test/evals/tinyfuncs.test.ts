// The tiny-function benchmark (src/evals/tinyfuncs.ts) and its runner (tinyfuncs-run.ts).
// Oracles: Python itself (every canonical solution, and every infilling task's canonical middle,
// passes its tests in the sandbox; wrong bodies fail), hand-written values, and pass@k from exact
// binomials (BigInt) for a scripted model whose pass counts are known in advance.
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Problem } from '../../src/evals/data.ts';
import { Sandbox } from '../../src/evals/sandbox.ts';
import { INFILL_SPANS, infillProblem, isTestStructure, pyRepr, tinyFunctions } from '../../src/evals/tinyfuncs.ts';
import { infillSuccess, passAtKByTemperature, runCompletions } from '../../src/evals/tinyfuncs-run.ts';
import type { CompletionModel, CompletionRequest, CompletionResult } from '../../src/models/gpt/completion.ts';
import { Rng } from '../../src/random.ts';
import { BUBBLEWRAP, requires } from '../system.ts';

const { train, test } = tinyFunctions({ train: 3000, test: 40, seed: 7 });

describe('tiny functions: generation', () => {
  it('holds out whole structures: no test structure occurs in training', () => {
    expect(test).toHaveLength(40);
    expect(train).toHaveLength(3000);
    const trainStructures = new Set(train.map((f) => f.structure));
    for (const f of test) {
      expect(trainStructures.has(f.structure), f.structure).toBe(false);
      expect(isTestStructure(f.structure)).toBe(true);
    }
    // At most three per structure, all four families present, all distinct.
    const per = new Map<string, number>();
    for (const f of test) per.set(f.structure, (per.get(f.structure) ?? 0) + 1);
    expect(Math.max(...per.values())).toBeLessThanOrEqual(3);
    expect(new Set(test.map((f) => f.family))).toEqual(new Set(['list', 'string', 'arith', 'cond']));
    expect(new Set(test.map((f) => f.text)).size).toBe(40);
  });

  it('writes Python literals (hand-checked)', () => {
    expect(pyRepr(-3)).toBe('-3');
    expect(pyRepr([1, -2, 0])).toBe('[1, -2, 0]');
    expect(pyRepr([])).toBe('[]');
    expect(pyRepr('abx')).toBe("'abx'");
  });

  it('cuts infilling tasks that rebuild the function, of the kind asked', () => {
    const rng = new Rng(3);
    for (const f of test) {
      for (const span of INFILL_SPANS) {
        const p = infillProblem(f, span, rng);
        expect(p.prompt + p.canonical_solution + p.suffix, `${f.task_id} ${span}`).toBe(f.text);
        expect(p.prompt.length).toBeGreaterThanOrEqual(f.prompt.length); // never inside the docstring
        const mid = p.canonical_solution;
        if (span === 'identifier') expect(mid).toMatch(/^[A-Za-z_]\w*$/);
        if (span === 'expression') expect(f.expressions).toContain(mid);
        if (span === 'line') {
          expect(mid).not.toContain('\n');
          expect(p.prompt.endsWith(' ') || p.prompt.endsWith('\n')).toBe(true);
          expect(p.suffix!.startsWith('\n')).toBe(true);
        }
        if (span === 'span') expect(mid.length).toBeGreaterThanOrEqual(2);
      }
    }
  });
});

/** A model that answers from a script: `answers(req)` gives the n texts. */
function scripted(answers: (req: CompletionRequest) => string[]): CompletionModel & { requests: CompletionRequest[] } {
  const requests: CompletionRequest[] = [];
  return {
    id: 'scripted',
    contextLength: 1024,
    countTokens: (t: string) => t.length,
    requests,
    complete: async (req: CompletionRequest): Promise<CompletionResult> => {
      requests.push(req);
      const texts = answers(req);
      expect(texts).toHaveLength(req.n);
      return {
        choices: texts.map((text, index) => ({ index, text, finishReason: 'stop' as const })),
        usage: { promptTokens: 0, completionTokens: 0 },
      } as CompletionResult;
    },
  };
}

/** 1 − C(n−c, k)/C(n, k) with exact integers: the estimator's definition, not its product form. */
function exactPassAtK(n: number, c: number, k: number): number {
  const choose = (a: number, b: number): bigint => {
    if (b < 0 || b > a) return 0n;
    let r = 1n;
    for (let i = 0; i < b; i++) r = (r * BigInt(a - i)) / BigInt(i + 1);
    return r;
  };
  const SCALE = 10n ** 15n;
  return 1 - Number((choose(n - c, k) * SCALE) / choose(n, k)) / 1e15;
}

describe('tiny functions in the sandbox', () => {
  let sb: Sandbox;
  beforeEach((ctx) => requires(ctx, BUBBLEWRAP));
  beforeAll(async () => {
    if (BUBBLEWRAP.missing()) return;
    sb = await Sandbox.open();
  });

  it('every canonical solution passes its tests under Python, and a constant body fails them', async () => {
    const r = await runCompletions(
      sb,
      test,
      test.map((f) => [f.canonical_solution, '    return 0\n']),
    );
    expect(test.filter((_, i) => !r.passed[i]![0]).map((f) => f.task_id)).toEqual([]);
    // The generator drops functions constant on their tests, so `return 0` passes none.
    expect(test.filter((_, i) => r.passed[i]![1]).map((f) => f.task_id)).toEqual([]);
  }, 120_000);

  it('pass@k by temperature: exact for a scripted model, each distinct program run once', async () => {
    const problems = test.slice(0, 3);
    const n = 20;
    const correct = [0, 5, 20]; // per problem
    const model = scripted((req) => {
      const i = problems.findIndex((p) => p.prompt === req.prompt);
      return Array.from({ length: req.n }, (_, j) => (j < correct[i]! ? problems[i]!.canonical_solution : '    return None\n'));
    });
    const rows = await passAtKByTemperature(model, sb, problems, { n, temperatures: [0.3, 0.9], ks: [1, 10] });
    expect(rows.map((r) => r.temperature)).toEqual([0.3, 0.9]);
    for (const r of rows) {
      expect(r.correct).toEqual(correct);
      expect(r.executed).toBe(4); // problem 0: one wrong program; 1: right + wrong; 2: right
      expect(r.metrics['pass@1']).toBeCloseTo((0 + 5 / 20 + 1) / 3, 12);
      expect(r.metrics['pass@10']).toBeCloseTo((0 + exactPassAtK(20, 5, 10) + 1) / 3, 12);
    }
    // Nucleus 0.95 and the temperature reach the model; seeds differ per problem and temperature.
    expect(model.requests.every((q) => q.topP === 0.95 && q.n === n)).toBe(true);
    expect(new Set(model.requests.map((q) => q.seed)).size).toBe(6);
  }, 120_000);

  it('infilling success: canonical middles pass; the prefix-only baseline is judged without the suffix', async () => {
    const rng = new Rng(5);
    const problems: Problem[] = test.slice(0, 6).map((f, i) => infillProblem(f, INFILL_SPANS[i % 4]!, rng));
    const perfect = scripted((req) => [problems.find((p) => p.prompt === req.prompt)!.canonical_solution]);
    const fim = await infillSuccess(perfect, sb, problems, 'fim');
    expect(fim.score).toEqual({ tasks: 6, exactMatch: 1, passRate: 1 });
    expect(perfect.requests.every((q) => q.suffix !== undefined && q.temperature === 0)).toBe(true);

    // Prefix mode: the model must write the middle AND the rest; the suffix is not appended for it.
    const rest = scripted((req) => {
      const p = problems.find((q) => q.prompt === req.prompt)!;
      expect(req.suffix).toBeUndefined();
      return [p.canonical_solution + p.suffix];
    });
    expect((await infillSuccess(rest, sb, problems, 'prefix')).score).toEqual({ tasks: 6, exactMatch: 1, passRate: 1 });
    const middleOnly = scripted((req) => [problems.find((q) => q.prompt === req.prompt)!.canonical_solution]);
    const m = await infillSuccess(middleOnly, sb, problems, 'prefix');
    // Only tasks whose middle ends the function (suffix blank) are complete without the suffix.
    const ends = problems.filter((p) => p.suffix!.trim() === '').length;
    expect(ends).toBeLessThan(6);
    expect(m.score.exactMatch).toBeCloseTo(ends / 6, 12);
    expect(m.score.passRate).toBeCloseTo(ends / 6, 12);
  }, 120_000);

  it('single-line infilling: a right middle followed by junk fails raw and passes cut at its first newline', async () => {
    const rng = new Rng(9);
    const problems: Problem[] = test.slice(0, 4).map((f) => infillProblem(f, 'identifier', rng));
    const rambling = scripted((req) => [`${problems.find((p) => p.prompt === req.prompt)!.canonical_solution}\n\ndef junk(:\n`]);
    const r = await infillSuccess(rambling, sb, problems, 'fim', { singleLine: true });
    expect(r.score.exactMatch).toBe(0);
    expect(r.score.passRate).toBe(0); // the junk makes every program a syntax error
    expect(r.score.firstLine).toEqual({ exactMatch: 1, passRate: 1 });
    // Without singleLine (random spans, which may cross lines) there is no cut score.
    expect((await infillSuccess(rambling, sb, problems, 'fim')).score.firstLine).toBeUndefined();
  }, 60_000);

  it('runs identical completions once', async () => {
    const p = test.slice(0, 2);
    const r = await runCompletions(sb, p, [
      [p[0]!.canonical_solution, p[0]!.canonical_solution, '    return None\n'],
      ['    return None\n'],
    ]);
    expect(r.executed).toBe(3);
    expect(r.passed).toEqual([[true, true, false], [false]]);
  }, 60_000);
});
