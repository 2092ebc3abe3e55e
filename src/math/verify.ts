/**
 * Test time with a verifier (PAPERS.md §3): score every sampled solution of every problem with the
 * verifier, then report test@1, majority vote, verifier best-of-N and top-k vote against N
 * (src/math/rank.ts). Samples are the eval's `{task_id: "gsm8k/<i>", completion}` lines (what
 * `tony math sample` and `tony eval gsm8k --model` write), in any order; each problem's samples
 * keep their file order, which is the order "the first n samples" means.
 */

import { dataError } from '../errors.ts';
import type { MathProblem } from '../evals/data.ts';
import type { VerifierModel } from '../models/verifier/model.ts';
import { type Candidates, type SelectionReport, selectionReport } from './rank.ts';

export interface VerifiedSample {
  task_id: string;
  completion: string;
  score: number;
}

/** Group samples by problem, in file order; a task_id that names no problem is an error naming the sample. */
export function groupSamples(
  problems: readonly MathProblem[],
  samples: ReadonlyArray<{ task_id: string; completion: string }>,
  source: string,
): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  samples.forEach((s, i) => {
    const m = /^gsm8k\/(\d+)$/.exec(s.task_id);
    const idx = m ? Number(m[1]) : Number.NaN;
    if (!(idx < problems.length))
      throw dataError(
        `${source}: sample ${i + 1} has task_id ${JSON.stringify(s.task_id)}, which names no problem of the ${problems.length} in the data file`,
        'task ids are "gsm8k/<0-based line of the problem>"; pass the --data the samples were drawn from',
      );
    const list = groups.get(idx) ?? [];
    list.push(s.completion);
    groups.set(idx, list);
  });
  return groups;
}

/** Score every sample with the verifier and report the selection methods against N. */
export async function verifySamples(
  verifier: Pick<VerifierModel, 'score'>,
  problems: readonly MathProblem[],
  groups: ReadonlyMap<number, readonly string[]>,
  opts: { vote: number; onProgress?: (p: { done: number; total: number }) => void },
): Promise<{ report: SelectionReport; scored: VerifiedSample[] }> {
  const items: Candidates[] = [];
  const scored: VerifiedSample[] = [];
  let done = 0;
  for (const [idx, texts] of groups) {
    const scores = await verifier.score(problems[idx]!.question, texts);
    items.push({ reference: problems[idx]!.answer, texts, scores });
    texts.forEach((completion, j) => scored.push({ task_id: `gsm8k/${idx}`, completion, score: scores[j]! }));
    opts.onProgress?.({ done: ++done, total: groups.size });
  }
  return { report: selectionReport(items, opts.vote), scored };
}
