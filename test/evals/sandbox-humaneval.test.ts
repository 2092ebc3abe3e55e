// Real data through the sandbox: OpenAI's HumanEval (fixtures/HumanEval.jsonl.gz, see
// fixtures/README.md). Oracle: the reference harness passes all 164 canonical solutions, and a
// `pass` body (returns None) passes none. Runs as root and as an ordinary user (.ci/run does both),
// two workers, as `tony eval humaneval` runs them.
import { fileURLToPath } from 'node:url';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadProblems } from '../../src/evals/data.ts';
import { evaluateHumanEval } from '../../src/evals/humaneval.ts';
import { Sandbox } from '../../src/evals/sandbox.ts';
import { BUBBLEWRAP, requires } from '../system.ts';

const HUMANEVAL = fileURLToPath(new URL('fixtures/HumanEval.jsonl.gz', import.meta.url));
let sb: Sandbox;
// Without bubblewrap the tests are reported as not run, naming the package (test/system.ts).
beforeEach((ctx) => requires(ctx, BUBBLEWRAP));
beforeAll(async () => {
  if (BUBBLEWRAP.missing()) return;
  sb = await Sandbox.open();
  if (process.getuid?.() === 0) expect(sb.level).toBe('full');
});

describe('HumanEval in the sandbox', () => {
  it('passes all 164 canonical solutions and no `pass` stub', async () => {
    const problems = await loadProblems(HUMANEVAL);
    expect(problems.size).toBe(164);
    const ids = [...problems.keys()];
    // Every canonical solution, and a stub for every fourth problem (the verdicts must differ).
    const samples = [
      ...ids.map((id) => ({ task_id: id, completion: problems.get(id)!.canonical_solution })),
      ...ids.filter((_, i) => i % 4 === 0).map((id) => ({ task_id: id, completion: '    pass\n' })),
    ];
    const r = await evaluateHumanEval({ problems: HUMANEVAL, samples, ks: [1], workers: 2, sandbox: sb });
    const failedCanonical = r.results
      .slice(0, 164)
      .filter((x) => !x.passed)
      .map((x) => `${x.task_id}: ${x.result}`);
    expect(failedCanonical).toEqual([]);
    expect(
      r.results
        .slice(164)
        .filter((x) => x.passed)
        .map((x) => x.task_id),
    ).toEqual([]);
    // pass@1 per problem: 1 for problems with only the canonical sample, 1/2 where a stub was added.
    expect(r.metrics['pass@1']).toBeCloseTo((123 + 41 * 0.5) / 164, 12);
  });
});
