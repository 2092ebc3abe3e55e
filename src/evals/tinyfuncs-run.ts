/**
 * Running a model on the tiny-function benchmark (tinyfuncs.ts): pass@k against sampling temperature
 * (Codex §3.1, PAPERS.md §1) and infilling success — FIM prompts against the prefix-only baseline
 * a left-to-right model deserves (PAPERS.md §2).
 *
 * Every program runs in the sandbox (execute.ts). A problem's identical completions are executed once:
 * the verdict is a function of the program text (the tests are deterministic, the limits generous),
 * and at low temperature most of 200 samples are the same few strings — so n = 200 costs the
 * distinct programs, not 200 sandbox starts.
 */
import type { CompletionModel } from '../models/gpt/completion.ts';
import { pool } from '../pool.ts';
import type { Problem } from './data.ts';
import { executeProgram } from './execute.ts';
import { assemble, CODEX_STOP } from './humaneval.ts';
import { meanPassAtK } from './passk.ts';
import type { Sandbox } from './sandbox.ts';

/** Tokens per completion: the longest canonical body is ~30 tokens in a 512-token BPE. */
const TINY_MAX_TOKENS = 48;

/**
 * Run each problem's completions (program = prompt + completion [+ suffix] against the tests), each
 * distinct one once; `passed[i][j]` for problem i's completion j.
 */
export async function runCompletions(
  sb: Sandbox,
  problems: readonly Problem[],
  completions: ReadonlyArray<readonly string[]>,
  opts: { workers?: number; onProgress?: (p: { done: number; total: number }) => void } = {},
): Promise<{ passed: boolean[][]; executed: number }> {
  const jobs: Array<{ p: number; completion: string }> = [];
  const index = problems.map(() => new Map<string, number>());
  completions.forEach((cs, p) => {
    for (const c of cs) {
      if (index[p]!.has(c)) continue;
      index[p]!.set(c, jobs.length);
      jobs.push({ p, completion: c });
    }
  });
  const verdicts = await pool(
    jobs,
    opts.workers ?? 2,
    async (j) => (await executeProgram(sb, assemble(problems[j.p]!, j.completion, 'python'))).passed,
    (done, total) => opts.onProgress?.({ done, total }),
  );
  return { passed: completions.map((cs, p) => cs.map((c) => verdicts[index[p]!.get(c)!]!)), executed: jobs.length };
}

export interface TemperatureRow {
  temperature: number;
  /** pass@k for each k, mean over problems (unbiased estimator). */
  metrics: Record<string, number>;
  /** Passing samples per problem, out of n. */
  correct: number[];
  /** Distinct completions executed. */
  executed: number;
}

/**
 * pass@k at each temperature from n samples per problem (nucleus `topP`, Codex's stop strings).
 *
 *   const rows = await passAtKByTemperature(model, sb, problems, { n: 200, temperatures: [0.2, 0.8], ks: [1, 10, 100] });
 */
export async function passAtKByTemperature(
  model: CompletionModel,
  sb: Sandbox,
  problems: readonly Problem[],
  opts: {
    n: number;
    temperatures: readonly number[];
    ks: readonly number[];
    topP?: number;
    seed?: number;
    workers?: number;
    onProgress?: (p: { done: number; total: number; info?: Record<string, string> }) => void;
  },
): Promise<TemperatureRow[]> {
  const rows: TemperatureRow[] = [];
  const total = opts.temperatures.length * problems.length;
  for (const [ti, temperature] of opts.temperatures.entries()) {
    const completions: string[][] = [];
    for (const [pi, p] of problems.entries()) {
      const r = await model.complete({
        prompt: p.prompt,
        n: opts.n,
        temperature,
        topP: opts.topP ?? 0.95,
        maxTokens: TINY_MAX_TOKENS,
        stop: CODEX_STOP.slice(0, 4),
        // A different stream per problem and temperature, the same on every rerun.
        seed: (opts.seed ?? 0) * 1_000_003 + ti * 10_007 + pi,
      });
      // Trailing whitespace changes no Python program; dropping it lets equal programs share one run.
      completions.push(r.choices.map((c) => `${cutAtAny(c.text, CODEX_STOP).trimEnd()}\n`));
      opts.onProgress?.({ done: ti * problems.length + pi + 1, total, info: { T: String(temperature), stage: 'sampling' } });
    }
    const { passed, executed } = await runCompletions(sb, problems, completions, { workers: opts.workers });
    const correct = passed.map((ps) => ps.filter(Boolean).length);
    rows.push({
      temperature,
      metrics: meanPassAtK(
        correct.map((c) => ({ n: opts.n, c })),
        opts.ks,
      ),
      correct,
      executed,
    });
  }
  return rows;
}

/** Cut at the first of the stop strings (the model applies at most four; Codex has five). */
function cutAtAny(text: string, stops: readonly string[]): string {
  let end = text.length;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && i < end) end = i;
  }
  return text.slice(0, end);
}

export interface InfillScore {
  tasks: number;
  /** Greedy middle equals the canonical middle (prefix mode: the rest of the function equals middle + suffix). */
  exactMatch: number;
  /** prompt + completion [+ suffix] passes the tests. */
  passRate: number;
  /**
   * FIM mode with `singleLine`: the same with the middle cut at its first newline, as single-line
   * infilling harnesses do — for middles known to lie within one line, a model that writes the right
   * middle and then fails to emit <EOT> is not charged for what it writes after the line ends.
   */
  firstLine?: { exactMatch: number; passRate: number };
}

/**
 * Greedy infilling success on infilling problems (`suffix` set). `fim`: the model sees prefix and
 * suffix in its FIM layout and writes the middle; `prefix`: the left-to-right baseline — the model
 * sees only the prefix and writes the rest of the function, and the program is prefix + that (the
 * suffix is dropped: a left-to-right model never conditions on it).
 */
export async function infillSuccess(
  model: CompletionModel,
  sb: Sandbox,
  problems: readonly Problem[],
  mode: 'fim' | 'prefix',
  opts: { singleLine?: boolean; workers?: number; onProgress?: (p: { done: number; total: number }) => void } = {},
): Promise<{ score: InfillScore; completions: string[]; passed: boolean[] }> {
  const completions: string[] = [];
  for (const [i, p] of problems.entries()) {
    const r = await model.complete({
      prompt: p.prompt,
      ...(mode === 'fim' ? { suffix: p.suffix ?? '' } : {}),
      n: 1,
      temperature: 0,
      topP: 1,
      maxTokens: TINY_MAX_TOKENS,
      stop: mode === 'fim' ? [] : CODEX_STOP.slice(0, 4),
    });
    completions.push(mode === 'fim' ? r.choices[0]!.text : cutAtAny(r.choices[0]!.text, CODEX_STOP));
    opts.onProgress?.({ done: i + 1, total: problems.length });
  }
  const firstLine = mode === 'fim' && opts.singleLine ? completions.map((c) => c.split('\n')[0]!) : undefined;
  const programs = mode === 'fim' ? problems : problems.map((p) => ({ ...p, suffix: '' }));
  const { passed } = await runCompletions(
    sb,
    programs,
    completions.map((c, i) => (firstLine ? [c, firstLine[i]!] : [c])),
    { workers: opts.workers },
  );
  const exactOf = (cs: string[]) =>
    cs.filter((c, i) =>
      mode === 'fim'
        ? c === problems[i]!.canonical_solution
        : c.trimEnd() === (problems[i]!.canonical_solution + (problems[i]!.suffix ?? '')).trimEnd(),
    ).length / problems.length;
  const rate = (j: number) => passed.filter((ps) => ps[j]).length / problems.length;
  return {
    score: {
      tasks: problems.length,
      exactMatch: exactOf(completions),
      passRate: rate(0),
      ...(firstLine ? { firstLine: { exactMatch: exactOf(firstLine), passRate: rate(1) } } : {}),
    },
    completions,
    passed: passed.map((ps) => ps[0]!),
  };
}
