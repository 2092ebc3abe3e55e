/**
 * What a model writes after <MID>: the greedy middles of the first few tiny-infill tasks of a span
 * kind, beside the canonical middle (docs/results/fim.md, "PSM-only training"). From the repository root:
 *
 *   node --import tsx docs/results/fim/show-middles.mts <model dir> <tiny problems dir> expression 8
 */
import { join } from 'node:path';
import { loadProblems } from '../../../src/evals/data.ts';
import { Sandbox } from '../../../src/evals/sandbox.ts';
import { infillSuccess } from '../../../src/evals/tinyfuncs-run.ts';
import { loadTextModel } from '../../../src/models/index.ts';

const [modelDir, problemsDir, span = 'expression', nArg = '8'] = process.argv.slice(2);
const problems = [...(await loadProblems(join(problemsDir!, `infill-${span}.jsonl`), { infilling: true })).values()].slice(0, Number(nArg));
const sb = await Sandbox.open({ unsafeNoSandbox: false, limits: { timeoutMs: 5000 } });
const model = await loadTextModel(modelDir!, { infillFormat: 'psm', threads: 1 }, 'show-middles');
try {
  const r = await infillSuccess(model, sb, problems, 'fim', { singleLine: span !== 'span', workers: 1 });
  problems.forEach((p, i) => {
    console.log(`--- ${p.task_id}: canonical ${JSON.stringify(p.canonical_solution)}  passed ${r.passed[i]}`);
    console.log(`    wrote ${JSON.stringify(r.completions[i]!.slice(0, 120))}`);
  });
} finally {
  await model.close();
}
