/**
 * `tony math generate | sample | rank` — the GSM8K verifier pipeline's commands (PAPERS.md §3), flags →
 * src/math. Training is `tony train math-generator` and `tony train verifier` (registry rows).
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Device } from '../engine/runtime.ts';
import { TonyError } from '../errors.ts';
import { loadMathProblems, parseJsonl } from '../evals/data.ts';
import { openProvider, type Provider } from '../evals/providers.ts';
import { checkWritable, readText, writeFileAtomic } from '../io.ts';
import { generateProblems, type Split } from '../math/problems.ts';
import type { SelectionReport } from '../math/rank.ts';
import { reportPlot, reportTable, verifierReport } from '../math/report.ts';
import { BUNDLED_MATH, openMathGenerator, sampleSolutions } from '../math/sample.ts';
import { groupSamples, verifySamples } from '../math/verify.ts';
import type { TonyTextModel } from '../models/gpt/model.ts';
import { loadVerifier } from '../models/verifier/model.ts';
import { collect, count, integer, number, runtimeOptions } from './flags.ts';
import { progressBar } from './progress.ts';

const jsonl = (rows: ReadonlyArray<Record<string, unknown>>) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** The accuracy table: one row per N, columns for each way to pick an answer. */
function formatReport(r: SelectionReport): string {
  const pct = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(1)} %`);
  const lines = [
    `problems ${r.problems}, samples per problem ${r.samples}; test@1 ${pct(r['test@1'])}, mean sample accuracy ${pct(r['mean accuracy'])}`,
    `${'N'.padStart(5)}  ${'majority'.padStart(9)}  ${'verifier'.padStart(9)}  ${`top-${r.k} vote`.padStart(11)}`,
    ...r.rows.map(
      (x) => `${String(x.n).padStart(5)}  ${pct(x.majority).padStart(9)}  ${pct(x.verifier).padStart(9)}  ${pct(x.vote).padStart(11)}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** A generator: a math-generator run (batched sampling, calculator in the decoding loop) or an endpoint. */
async function openGenerator(model: string, o: { device: Device; threads?: number }): Promise<TonyTextModel | Provider> {
  return (await openMathGenerator(model, o)) ?? openProvider(model, { concurrency: 4, ...o });
}

export function register(program: Command): void {
  const math = program.command('math').description('grade-school math: procedural problems, sampling with the calculator, verifiers');

  math
    .command('generate')
    .description('write procedural GSM8K-format problems (JSONL {question, answer})')
    .requiredOption('--out <file>', 'where to write them')
    .option('--split <split>', "'train', or 'test' (themes and starting numbers kept out of train)", 'train')
    .option('--count <n>', 'problems', count('count'), 1000)
    .option('--seed <n>', 'seed', integer('seed', 0, 2 ** 31), 0)
    .option('--min-steps <n>', 'fewest calculations per problem (2–8)', integer('min-steps', 2, 8), 2)
    .option('--max-steps <n>', 'most calculations per problem (2–8)', integer('max-steps', 2, 8), 8)
    .option('--start-range <split>', "starting quantities from 'train' (2–40) or 'test' (41–90); default: the split's own")
    .action(
      async (o: { out: string; split: string; count: number; seed: number; minSteps: number; maxSteps: number; startRange?: string }) => {
        for (const [flag, v] of [
          ['--split', o.split],
          ['--start-range', o.startRange ?? o.split],
        ])
          if (v !== 'train' && v !== 'test') throw new TonyError('usage', `${flag} must be train or test, got '${v}'`);
        await checkWritable(o.out, 'file');
        const problems = generateProblems({
          split: o.split as Split,
          count: o.count,
          seed: o.seed,
          minSteps: o.minSteps,
          maxSteps: o.maxSteps,
          startRange: (o.startRange ?? o.split) as Split,
        });
        await writeFileAtomic(o.out, jsonl(problems.map(({ question, answer }) => ({ question, answer }))));
        process.stderr.write(`tony: wrote ${problems.length} ${o.split} problems to ${o.out}\n`);
      },
    );

  const sample = math
    .command('sample')
    .description('sample N solutions per problem, labelled by final-answer correctness (a verifier’s training data)')
    .option('--model <dir|url>', 'generator: a math-generator run, or an OpenAI-compatible base URL', join(BUNDLED_MATH, 'generator'))
    .requiredOption('--data <file>', 'problems (JSONL {question, answer}: tony math generate, or GSM8K’s train/test.jsonl)')
    .requiredOption('--out <file>', 'labelled samples (JSONL {task_id, question, completion, answer, correct})')
    .option('--n <n>', 'samples per problem', count('n'), 100)
    .option('--limit <n>', 'only the first n problems', count('limit'))
    .option('--temperature <x>', 'sampling temperature (the paper: 0.7 for verifier data)', number('temperature', { min: 0, max: 10 }), 0.7)
    .option('--top-p <x>', 'nucleus sampling mass', number('top-p', { min: 0, max: 1 }), 1)
    .option('--max-tokens <n>', 'tokens per solution', count('max-tokens'), 400)
    .option('--no-calculator', 'let the model do its own arithmetic')
    .option('--seed <n>', 'sampling seed', integer('seed', 0, 2 ** 31), 0);
  for (const opt of runtimeOptions()) sample.addOption(opt);
  sample.action(async (o) => {
    await checkWritable(o.out, 'file');
    const problems = (await loadMathProblems(o.data)).slice(0, o.limit);
    const generator = await openGenerator(o.model, o);
    const bar = progressBar('sampling', 'problems');
    try {
      const samples = await sampleSolutions(generator, problems, {
        n: o.n,
        temperature: o.temperature,
        topP: o.topP,
        maxTokens: o.maxTokens,
        calculator: o.calculator,
        seed: o.seed,
        onProgress: (p) => bar.update(p),
      });
      bar.stop();
      await writeFileAtomic(o.out, jsonl(samples));
      const right = samples.filter((s) => s.correct).length;
      const first = problems.filter((_, i) => samples[i * o.n]!.correct).length;
      process.stderr.write(
        `tony: wrote ${samples.length} samples to ${o.out}: ${right} correct (${((100 * right) / samples.length).toFixed(1)} %), ` +
          `test@1 ${((100 * first) / problems.length).toFixed(1)} % over ${problems.length} problems` +
          `${o.calculator ? '' : ' (no calculator)'}\n`,
      );
    } finally {
      bar.stop();
      await generator.close?.();
    }
  });

  const rank = math
    .command('rank')
    .description('score samples with a verifier: test@1, majority vote, best-of-N and top-k vote against N')
    .option('--verifier <dir>', 'a verifier run (tony train verifier)', join(BUNDLED_MATH, 'verifier'))
    .requiredOption('--samples <file>', 'samples {task_id: "gsm8k/<i>", completion} (tony math sample, tony eval gsm8k)')
    .requiredOption('--data <file>', 'the problems the samples answer')
    .option('--vote <k>', 'the top k by verifier score vote on the answer', count('vote'), 5)
    .option('--out <file>', 'also write every sample with its score (JSONL)');
  for (const opt of runtimeOptions()) rank.addOption(opt);
  rank.action(async (o) => {
    if (o.out) await checkWritable(o.out, 'file');
    process.stdout.write(await rankSamples(o));
  });

  math
    .command('report')
    .description('compare verifiers on the same samples: accuracy against N with bootstrap intervals, within-problem AUC, a plot')
    .requiredOption('--data <file>', 'the problems the samples answer')
    .option('--scored <name=file>', 'samples scored by a verifier (tony math rank --out); repeatable', collect, [])
    .option('--samples <file>', 'or unscored samples (tony math sample): test@1, majority vote and pass@N only')
    .option('--vote <k>', 'the top k by verifier score vote on the answer', count('vote'), 5)
    .option('--reps <n>', 'bootstrap resamples', count('reps'), 2000)
    .option('--seed <n>', 'bootstrap seed', integer('seed', 0, 2 ** 31), 0)
    .option('--out <file>', 'the report as JSON')
    .option('--plot <file.png>', 'accuracy against N as a PNG')
    .option('--title <text>', 'the plot title', 'accuracy against N')
    .action(async (o) => {
      for (const f of [o.out, o.plot]) if (f) await checkWritable(f, 'file');
      process.stdout.write(await compareVerifiers(o));
    });
}

/** `tony math report`: samples scored by several verifiers (tony math rank --out) → intervals, AUC, plot. */
async function compareVerifiers(o: {
  data: string;
  scored: string[];
  samples?: string;
  vote: number;
  reps: number;
  seed: number;
  out?: string;
  plot?: string;
  title: string;
}): Promise<string> {
  if (!o.scored.length === !o.samples)
    throw new TonyError(
      'usage',
      'tony math report needs --scored name=file (repeatable) or --samples file, not both',
      'e.g. --scored token=scored-token.jsonl',
    );
  const problems = await loadMathProblems(o.data);
  let groups: Map<number, string[]> | undefined;
  if (o.samples) {
    const file = o.samples;
    const rows = parseJsonl(await readText(file), file).map(({ line, value }) => {
      if (typeof value.task_id !== 'string' || typeof value.completion !== 'string')
        throw new TonyError('data', `${file}:${line}: a sample needs a string 'task_id' and 'completion'`);
      return { task_id: value.task_id, completion: value.completion };
    });
    groups = groupSamples(problems, rows, file);
  }
  const scores = new Map<string, Map<number, number[]>>();
  for (const spec of o.scored) {
    const eq = spec.indexOf('=');
    if (eq < 1) throw new TonyError('usage', `--scored '${spec}': expected name=file`, 'e.g. --scored token=scored-token.jsonl');
    const [name, file] = [spec.slice(0, eq), spec.slice(eq + 1)];
    const rows = parseJsonl(await readText(file), file).map(({ line, value }) => {
      if (typeof value.task_id !== 'string' || typeof value.completion !== 'string' || typeof value.score !== 'number')
        throw new TonyError(
          'data',
          `${file}:${line}: a scored sample needs 'task_id', 'completion' and a numeric 'score' (tony math rank --out)`,
        );
      return { task_id: value.task_id, completion: value.completion, score: value.score };
    });
    const g = groupSamples(problems, rows, file);
    // Every verifier must have scored the same samples, in the same order, for the comparison to be paired.
    if (groups && (g.size !== groups.size || [...g].some(([i, t]) => t.join('\u0000') !== groups!.get(i)?.join('\u0000'))))
      throw new TonyError(
        'data',
        `${file}: its samples differ from those of the first --scored file`,
        'score one sample file with every verifier',
      );
    groups ??= g;
    const byProblem = new Map<number, number[]>();
    for (const r of rows) {
      const i = Number(r.task_id.split('/')[1]);
      byProblem.set(i, [...(byProblem.get(i) ?? []), r.score]);
    }
    scores.set(name, byProblem);
  }
  const items = [...groups!].map(([i, texts]) => ({
    reference: problems[i]!.answer,
    texts,
    scores: Object.fromEntries([...scores].map(([name, m]) => [name, m.get(i)!])),
  }));
  const report = verifierReport(items, { vote: o.vote, reps: o.reps, seed: o.seed });
  if (o.out) await writeFileAtomic(o.out, `${JSON.stringify(report, null, 1)}\n`);
  if (o.plot) await writeFileAtomic(o.plot, await reportPlot(report, o.title));
  const auc = Object.entries(report.verifiers).map(([n, v]) => `${n} ${v.auc.mean.toFixed(3)} over ${v.auc.problems} problems`);
  return (
    `problems ${report.problems}, samples per problem ${report.samples}; mean sample accuracy ${(100 * report.meanAccuracy).toFixed(1)} %, ` +
    `at least one right ${(100 * report.coverage).toFixed(1)} %\n${auc.length ? `within-problem AUC: ${auc.join('; ')}\n` : ''}` +
    `accuracy % [95 % bootstrap interval over problems, ${o.reps} resamples]\n${reportTable(report)}\n`
  );
}

/** `tony math rank`, and `tony eval gsm8k --verifier`: the report as text. */
export async function rankSamples(o: {
  verifier: string;
  samples: string;
  data: string;
  vote: number;
  out?: string;
  device?: Device;
  threads?: number;
}): Promise<string> {
  const problems = await loadMathProblems(o.data);
  const rows = parseJsonl(await readText(o.samples), o.samples).map(({ line, value }) => {
    if (typeof value.task_id !== 'string' || typeof value.completion !== 'string')
      throw new TonyError('data', `${o.samples}:${line}: a sample needs a string 'task_id' and 'completion'`);
    return { task_id: value.task_id, completion: value.completion };
  });
  const groups = groupSamples(problems, rows, o.samples);
  const verifier = await loadVerifier(o.verifier, { device: o.device, threads: o.threads });
  const bar = progressBar('verifying', 'problems');
  try {
    const { report, scored } = await verifySamples(verifier, problems, groups, { vote: o.vote, onProgress: (p) => bar.update(p) });
    bar.stop();
    if (o.out) await writeFileAtomic(o.out, jsonl(scored as unknown as Array<Record<string, unknown>>));
    return `${formatReport(report)}${JSON.stringify(report)}\n`;
  } finally {
    bar.stop();
    await verifier.close();
  }
}
