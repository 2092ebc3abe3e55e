/**
 * HumanEval (Chen et al. 2021) and HumanEval-infilling (Bavarian et al. 2022): functional
 * correctness of code samples by execution, scored with unbiased pass@k.
 *
 * Programs are assembled as the reference harnesses do — `prompt + completion [+ suffix]`, then the
 * test and `check(entry_point)` — except that the test runs in its own process against the code
 * under test (execute.ts explains why). Results are written like the reference's:
 * `<samples>_results.jsonl` (each sample plus `result` and `passed`) and a summary beside it.
 */
import { dataError, TonyError } from '../errors.ts';
import { writeFileAtomic } from '../io.ts';
import { pool } from '../pool.ts';
import { loadProblems, loadSamples, type Problem, resultsPath, type Sample } from './data.ts';
import { type Execution, executeProgram, type Language } from './execute.ts';
import { meanPassAtK } from './passk.ts';
import { Sandbox, type SandboxLimits } from './sandbox.ts';

/** Upstream copies of the datasets (nothing is bundled; pass a local path to work offline). */
export const HUMANEVAL_URL = 'https://github.com/openai/human-eval/raw/master/data/HumanEval.jsonl.gz';
const INFILLING_BASE = 'https://github.com/openai/human-eval-infilling/raw/master/data/';
/** The four FIM benchmarks and their files (the upstream loader names the random-span ones wrongly). */
export const INFILLING_BENCHMARKS = {
  'single-line': `${INFILLING_BASE}HumanEval-SingleLineInfilling.jsonl.gz`,
  'multi-line': `${INFILLING_BASE}HumanEval-MultiLineInfilling.jsonl.gz`,
  'random-span': `${INFILLING_BASE}HumanEval-RandomSpanInfilling.jsonl.gz`,
  'random-span-light': `${INFILLING_BASE}HumanEval-RandomSpanInfillingLight.jsonl.gz`,
} as const;
export type InfillingBenchmark = keyof typeof INFILLING_BENCHMARKS;

/** Codex's stop sequences for HumanEval (paper §3.2). */
export const CODEX_STOP = ['\nclass', '\ndef', '\n#', '\nif', '\nprint'];
export const DEFAULT_KS = [1, 10, 100];

export interface SampleResult extends Sample {
  result: string;
  passed: boolean;
}

export interface HumanEvalReport {
  /** `{ 'pass@1': …, … }` for the k every attempted problem has samples for. */
  metrics: Record<string, number>;
  results: SampleResult[];
  problems: number;
  attempted: number;
  samples: number;
  /** Where results and summary were written (when a samples path was given). */
  resultsFile?: string;
  summaryFile?: string;
  wallMs: number;
}

export interface HumanEvalOptions {
  /** Path or URL of the problems; defaults to the upstream file of the benchmark. */
  problems?: string;
  /** Path of a samples file, or the samples themselves. */
  samples: string | Sample[];
  /** Set for HumanEval-infilling; the problems must then carry `suffix`. */
  infilling?: InfillingBenchmark;
  ks?: number[];
  workers?: number;
  language?: Language;
  unsafeNoSandbox?: boolean;
  limits?: Partial<SandboxLimits>;
  /** Called after each sample; `info.passed` counts passes so far. */
  onProgress?: (p: { done: number; total: number; info?: Record<string, string> }) => void;
  /** An open sandbox to reuse (otherwise one is opened, which probes the machine). */
  sandbox?: Sandbox;
}

/** The three program parts for one sample (see execute.ts). */
export function assemble(problem: Problem, completion: string, language: Language) {
  const suffix = problem.suffix ?? '';
  return {
    language,
    candidate: problem.prompt + completion + suffix,
    reference: problem.prompt + problem.canonical_solution + suffix,
    test: problem.test,
    entryPoint: problem.entry_point,
  };
}

/**
 * Score samples against problems: run each in the sandbox, compute pass@k, write the results.
 *
 *   const r = await evaluateHumanEval({ problems: 'HumanEval.jsonl.gz', samples: 'samples.jsonl' });
 *   r.metrics // { 'pass@1': 0.29 }
 */
export async function evaluateHumanEval(opts: HumanEvalOptions): Promise<HumanEvalReport> {
  const started = performance.now();
  const language = opts.language ?? 'python';
  const problemsSource = opts.problems ?? (opts.infilling ? INFILLING_BENCHMARKS[opts.infilling] : HUMANEVAL_URL);
  const problems = await loadProblems(problemsSource, { infilling: !!opts.infilling });
  const samples = typeof opts.samples === 'string' ? await loadSamples(opts.samples) : opts.samples;
  if (samples.length === 0) throw dataError('no samples to evaluate', 'the samples file is empty');
  samples.forEach((s, i) => {
    if (!problems.has(s.task_id)) {
      throw dataError(
        `sample ${i + 1} has task_id '${s.task_id}', which is not in ${problemsSource}`,
        opts.infilling ? `check that the samples belong to the ${opts.infilling} benchmark` : 'check --problems',
      );
    }
  });
  const sb = opts.sandbox ?? (await Sandbox.open({ unsafeNoSandbox: opts.unsafeNoSandbox, limits: opts.limits }));
  let passedSoFar = 0;
  const executions: Execution[] = await pool(
    samples,
    opts.workers ?? 2,
    async (s) => {
      const e = await executeProgram(sb, assemble(problems.get(s.task_id)!, s.completion, language));
      if (e.passed) passedSoFar++;
      return e;
    },
    (done, total) => opts.onProgress?.({ done, total, info: { passed: String(passedSoFar) } }),
  );
  const results: SampleResult[] = samples.map((s, i) => ({ ...s, result: executions[i]!.result, passed: executions[i]!.passed }));

  const perTask = new Map<string, { n: number; c: number }>();
  for (const r of results) {
    const t = perTask.get(r.task_id) ?? { n: 0, c: 0 };
    t.n++;
    if (r.passed) t.c++;
    perTask.set(r.task_id, t);
  }
  const ks = opts.ks ?? DEFAULT_KS;
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 1) throw new TonyError('usage', `k must be a positive integer, got ${k}`);
  }
  const metrics = meanPassAtK([...perTask.values()], ks);
  const report: HumanEvalReport = {
    metrics,
    results,
    problems: problems.size,
    attempted: perTask.size,
    samples: samples.length,
    wallMs: performance.now() - started,
  };
  if (typeof opts.samples === 'string') {
    report.resultsFile = resultsPath(opts.samples);
    report.summaryFile = `${opts.samples}_summary.json`;
    await writeFileAtomic(report.resultsFile, results.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await writeFileAtomic(
      report.summaryFile,
      JSON.stringify(
        {
          benchmark: opts.infilling ? `humaneval-infilling/${opts.infilling}` : 'humaneval',
          problems_file: problemsSource,
          language,
          sandbox: sb.unsafe ? 'NONE (--unsafe-no-sandbox)' : 'bwrap+seccomp+cgroups+nobody',
          problems: report.problems,
          attempted: report.attempted,
          samples: report.samples,
          passed: results.filter((r) => r.passed).length,
          timed_out: results.filter((r) => r.result === 'timed out').length,
          ...metrics,
        },
        null,
        2,
      ) + '\n',
    );
  }
  return report;
}
