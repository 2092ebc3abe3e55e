/**
 * GSM8K (Cobbe et al. 2021): grade-school math word problems scored by exact match of the final
 * answer, with majority voting over several samples.
 *
 * Extraction follows the released code: the first match of `#### (-?[0-9.,]+)`, commas removed,
 * compared as strings. The released model samples end in `A: 72` instead; that form is accepted
 * when there is no `####`.
 */
import { dataError } from '../errors.ts';
import { readText, writeFileAtomic } from '../io.ts';
import { loadMathProblems, type MathProblem, parseJsonl, resultsPath } from './data.ts';

export const GSM8K_TEST_URL = 'https://github.com/openai/grade-school-math/raw/master/grade_school_math/data/test.jsonl';

const ANSWER_RE = /#### (-?[0-9.,]+)/;
const MODEL_ANSWER_RE = /A: (-?[0-9.,]+)/g;

/** The final answer of a solution, or undefined (`INVALID` in the reference). */
export function extractAnswer(text: string): string | undefined {
  const m = ANSWER_RE.exec(text);
  if (m) return m[1]!.trim().replace(/,/g, '');
  const all = [...text.matchAll(MODEL_ANSWER_RE)];
  const last = all[all.length - 1];
  return last ? last[1]!.trim().replace(/,/g, '') : undefined;
}

/** Whether a sample's answer equals the reference solution's (string equality after extraction). */
export function isCorrect(sample: string, referenceAnswer: string): boolean {
  const want = extractAnswer(referenceAnswer);
  if (want === undefined) throw dataError(`reference answer has no '#### N' line: ${JSON.stringify(referenceAnswer.slice(-80))}`);
  return extractAnswer(sample) === want;
}

/** The most common extracted answer (ties → the one seen first); undefined if none is valid. */
export function majorityVote(samples: readonly string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const s of samples) {
    const a = extractAnswer(s);
    if (a !== undefined) counts.set(a, (counts.get(a) ?? 0) + 1);
  }
  let best: string | undefined;
  let bestN = 0;
  for (const [a, n] of counts) if (n > bestN) [best, bestN] = [a, n];
  return best;
}

export interface Gsm8kReport {
  /** accuracy of the first sample per problem (test@1), mean accuracy over all samples, majority vote. */
  metrics: { 'test@1': number; 'mean accuracy': number; [majority: `maj@${number}`]: number };
  problems: number;
  samples: number;
  results: Array<{ task_id: string; completion: string; answer: string | null; correct: boolean }>;
  resultsFile?: string;
}

/**
 * Score GSM8K samples. Samples are `{task_id, completion}` where task_id is `gsm8k/<i>` (the 0-based
 * line of the problem in the data file) — or carry the problem's `question` verbatim instead.
 */
export async function evaluateGsm8k(opts: {
  data?: string;
  samples: string | Array<{ task_id?: string; question?: string; completion: string }>;
}): Promise<Gsm8kReport> {
  const dataSource = opts.data ?? GSM8K_TEST_URL;
  const problems: MathProblem[] = await loadMathProblems(dataSource);
  const byQuestion = new Map(problems.map((p, i) => [p.question, i]));
  const samples = typeof opts.samples === 'string' ? await loadSamplesLoose(opts.samples) : opts.samples;
  const perProblem = new Map<number, string[]>();
  const results: Gsm8kReport['results'] = samples.map((s, i) => {
    let idx: number | undefined;
    if (typeof s.task_id === 'string' && /^gsm8k\/\d+$/.test(s.task_id)) idx = Number(s.task_id.split('/')[1]);
    else if (typeof s.question === 'string') idx = byQuestion.get(s.question);
    if (idx === undefined || idx >= problems.length) {
      throw dataError(
        `sample ${i + 1}: cannot match it to a problem of ${dataSource} (task_id ${JSON.stringify(s.task_id)})`,
        `use task_id "gsm8k/<line index, from 0>" or copy the problem's question into a "question" field`,
      );
    }
    const list = perProblem.get(idx) ?? [];
    list.push(s.completion);
    perProblem.set(idx, list);
    const answer = extractAnswer(s.completion);
    return {
      task_id: `gsm8k/${idx}`,
      completion: s.completion,
      answer: answer ?? null,
      correct: isCorrect(s.completion, problems[idx]!.answer),
    };
  });
  if (results.length === 0) throw dataError('no samples to evaluate');
  const tasks = [...perProblem.entries()];
  const first = tasks.filter(([idx, list]) => isCorrect(list[0]!, problems[idx]!.answer)).length / tasks.length;
  const minN = Math.min(...tasks.map(([, l]) => l.length));
  const maj =
    tasks.filter(([idx, list]) => majorityVote(list.slice(0, minN)) === extractAnswer(problems[idx]!.answer)).length / tasks.length;
  const report: Gsm8kReport = {
    metrics: { 'test@1': first, 'mean accuracy': results.filter((r) => r.correct).length / results.length, [`maj@${minN}`]: maj },
    problems: tasks.length,
    samples: results.length,
    results,
  };
  if (typeof opts.samples === 'string') {
    report.resultsFile = resultsPath(opts.samples);
    await writeFileAtomic(report.resultsFile, results.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }
  return report;
}

/** GSM8K samples name their problem by `task_id` or by `question`. */
async function loadSamplesLoose(path: string): Promise<Array<{ task_id?: string; question?: string; completion: string }>> {
  return parseJsonl(await readText(path), path).map(({ line, value }) => {
    if (typeof value.completion !== 'string' || (typeof value.task_id !== 'string' && typeof value.question !== 'string')) {
      throw dataError(`${path}:${line}: a GSM8K sample needs a string 'completion' and a 'task_id' or 'question'`);
    }
    return value as { task_id?: string; question?: string; completion: string };
  });
}
