/**
 * The verifier comparison with its noise (PAPERS.md §3): for several verifiers' scores of the same
 * samples, accuracy against N for test@1, majority vote, best-of-N and top-k vote, each with a 95 %
 * bootstrap interval over test problems, the paired difference best-of-N − majority with its own
 * interval (the two share samples, so their difference is far less noisy than either), and how
 * well each verifier orders solutions of the same problem (within-problem AUC), the quantity
 * best-of-N depends on.
 *
 *   const r = verifierReport(problems, { token: scoredToken, solution: scoredSolution }, { vote: 5 });
 *   r.verifiers.token.auc        // { mean: 0.71, problems: 112 }
 *   r.rows.find((x) => x.n === 64)!.methods['token best-of-N']   // { acc: 0.42, lo: 0.36, hi: 0.48 }
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { extractAnswer, majorityVote } from '../evals/gsm8k.ts';
import { Rng } from '../random.ts';
import { svgToPng } from '../scaling/plot.ts';
import { verifierVote } from './rank.ts';

/** One problem's samples in sampling order, with each verifier's scores of them. */
export interface ProblemSamples {
  reference: string;
  texts: readonly string[];
  /** Verifier name → one score per text. */
  scores: Readonly<Record<string, readonly number[]>>;
}

export interface Interval {
  /** The mean over problems (an accuracy, or a difference of two). */
  acc: number;
  lo: number;
  hi: number;
}

export interface VerifierReport {
  problems: number;
  samples: number;
  /** Share of all samples that are right, and problems with at least one right sample among N. */
  meanAccuracy: number;
  coverage: number;
  verifiers: Record<string, { auc: { mean: number; problems: number } }>;
  rows: Array<{ n: number; methods: Record<string, Interval> }>;
}

/**
 * Area under the ROC curve of `scores` separating `labels` (the Mann–Whitney statistic: the chance
 * that a random right solution outscores a random wrong one, ties counting half); undefined when
 * one class is empty.
 */
export function auc(scores: readonly number[], labels: readonly boolean[]): number | undefined {
  const pos = scores.filter((_, i) => labels[i]);
  const neg = scores.filter((_, i) => !labels[i]);
  if (!pos.length || !neg.length) return undefined;
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

/**
 * The mean of `values` (one per test problem) with a 95 % percentile-bootstrap interval over
 * problems: `reps` resamples of the problems with replacement, seeded.
 */
export function bootstrapMean(values: readonly number[], reps = 2000, seed = 0): Interval {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const rng = new Rng(seed);
  const means = new Float64Array(reps);
  for (let r = 0; r < reps; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[Math.floor(rng.next() * n)]!;
    means[r] = s / n;
  }
  means.sort();
  return { acc: mean, lo: means[Math.floor(0.025 * (reps - 1))]!, hi: means[Math.ceil(0.975 * (reps - 1))]! };
}

/** N values reported: powers of two, the decades' round numbers, and N itself. */
const nsUpTo = (N: number) =>
  [...new Set([1, 2, 4, 8, 16, 32, 50, 64, 100, 128, 200, 256, 400, N].filter((n) => n <= N))].sort((a, b) => a - b);

export function verifierReport(items: readonly ProblemSamples[], opts: { vote: number; reps?: number; seed?: number }): VerifierReport {
  const N = Math.min(...items.map((c) => c.texts.length));
  const names = Object.keys(items[0]?.scores ?? {});
  const want = items.map((c) => extractAnswer(c.reference));
  const right = items.map((c, i) => c.texts.map((t) => want[i] !== undefined && extractAnswer(t) === want[i]));
  const hit = (i: number, answer: string | undefined) => (want[i] !== undefined && answer === want[i] ? 1 : 0);
  const interval = (values: number[]) => bootstrapMean(values, opts.reps, opts.seed);
  const rows = nsUpTo(N).map((n) => {
    const majority = items.map((c, i) => hit(i, majorityVote(c.texts.slice(0, n))));
    const picks = new Map<string, { best: number[]; vote: number[] }>();
    const methods: Record<string, Interval> = {
      'test@1': interval(items.map((c, i) => hit(i, extractAnswer(c.texts[0]!)))),
      majority: interval(majority),
      // The ceiling of any selection among the n: at least one of them is right.
      'any right (pass@n)': interval(right.map((r) => (r.slice(0, n).some(Boolean) ? 1 : 0))),
    };
    for (const name of names) {
      const pick = (k: number) =>
        items.map((c, i) =>
          hit(
            i,
            verifierVote(
              c.texts.slice(0, n).map((text, j) => ({ text, score: c.scores[name]![j]! })),
              k,
            ),
          ),
        );
      const best = pick(1);
      const vote = pick(Math.min(opts.vote, n));
      picks.set(name, { best, vote });
      methods[`${name} best-of-N`] = interval(best);
      methods[`${name} top-${opts.vote} vote`] = interval(vote);
      methods[`${name} best-of-N − majority`] = interval(best.map((b, i) => b - majority[i]!));
      methods[`${name} top-${opts.vote} vote − majority`] = interval(vote.map((b, i) => b - majority[i]!));
    }
    // The first two verifiers against each other, paired on the same samples (token- vs solution-level).
    if (names.length >= 2) {
      const [a, b] = [picks.get(names[0]!)!, picks.get(names[1]!)!];
      methods[`${names[0]} − ${names[1]} best-of-N`] = interval(a.best.map((x, i) => x - b.best[i]!));
      methods[`${names[0]} − ${names[1]} top-${opts.vote} vote`] = interval(a.vote.map((x, i) => x - b.vote[i]!));
    }
    return { n, methods };
  });
  const verifiers: VerifierReport['verifiers'] = {};
  for (const name of names) {
    const per = items.map((c, i) => auc(c.scores[name]!.slice(0, N), right[i]!.slice(0, N))).filter((a) => a !== undefined);
    verifiers[name] = { auc: { mean: per.reduce((a, b) => a + b, 0) / Math.max(1, per.length), problems: per.length } };
  }
  const all = right.flatMap((r) => r.slice(0, N));
  return {
    problems: items.length,
    samples: N,
    meanAccuracy: all.filter(Boolean).length / Math.max(1, all.length),
    coverage: right.filter((r) => r.slice(0, N).some(Boolean)).length / items.length,
    verifiers,
    rows,
  };
}

/** The report as a markdown table: one row per N, one column per method, "acc [lo, hi]" in percent. */
export function reportTable(r: VerifierReport): string {
  const cols = Object.keys(r.rows[0]?.methods ?? {});
  const pct = (x: number) => (100 * x).toFixed(1);
  const cell = (v: Interval) => `${pct(v.acc)} [${pct(v.lo)}, ${pct(v.hi)}]`;
  return [
    `| N | ${cols.join(' | ')} |`,
    `|---|${cols.map(() => '---').join('|')}|`,
    ...r.rows.map((row) => `| ${row.n} | ${cols.map((c) => cell(row.methods[c]!)).join(' | ')} |`),
  ].join('\n');
}

/**
 * Accuracy against N on a log axis, one line per method with its 95 % band (the paired
 * differences are left to the table). Vega-Lite, rendered as the scaling plot is (src/scaling/plot.ts).
 */
export async function reportPlot(r: VerifierReport, title: string): Promise<Uint8Array> {
  const values = r.rows.flatMap((row) =>
    Object.entries(row.methods)
      .filter(([m]) => !m.includes('−'))
      .map(([method, v]) => ({ n: row.n, method, acc: 100 * v.acc, lo: 100 * v.lo, hi: 100 * v.hi })),
  );
  const x = { field: 'n', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'samples per problem N' };
  const color = { field: 'method', type: 'nominal', title: null };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 640,
    height: 420,
    background: 'white',
    data: { values },
    layer: [
      { mark: { type: 'area', opacity: 0.08 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
      {
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'acc', type: 'quantitative', title: 'test problems solved (%)', scale: { zero: false } }, color },
      },
    ],
  };
  const view = new vega.View(vega.parse(compile(spec as unknown as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return svgToPng(await view.toSVG());
  } finally {
    view.finalize();
  }
}
