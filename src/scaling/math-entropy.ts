/**
 * The true entropy floor of the procedural math text (src/math/problems.ts): the log-probability of
 * each problem under the generator's own random choices, summed over a held-out split and divided by
 * its tokens. A model of that text cannot beat this loss in expectation, so it is an oracle for the L∞
 * of a scaling law (Henighan et al. 2020: L∞ ≈ the data's entropy; PAPERS.md §4) — no fit needed.
 *
 * The text of a problem determines every random choice that produced it (each event has its own
 * phrasings and every calculation is written out), except for draws the generator *rejected*: an event
 * whose numbers would pass MAX_VALUE returns without writing anything and the loop draws again from
 * the same state. So P(text) = P(theme) P(name) P(steps) P(start) · Π over events of
 * P(event | state) / (1 − r(state)), where r is the probability that one iteration in that state is
 * rejected (the sum of the geometric series of retries).
 *
 * The generator's constants are repeated here because problems.ts does not export them;
 * test/scaling/math-entropy.test.ts enumerates the real generator's draw tree and fails if they drift.
 *
 *   const lp = problemLogProb(generateProblems({ split: 'train', count: 1 })[0]!, { split: 'train' });  // ≈ −40 nats
 */
import { basename } from 'node:path';
import { TonyError } from '../errors.ts';
import { type GeneratedProblem, generateProblems, type Split } from '../math/problems.ts';
import { openShards } from '../text/dataset.ts';

/** Themes of each split (problems.ts THEMES: 12 for training, the last 3 for test). */
const THEMES = { train: 12, test: 3 } as const;
const NAMES = 16;
const FRIENDS = 6;
const START = { train: { lo: 2, hi: 40 }, test: { lo: 41, hi: 90 } } as const;
const SMALL = { lo: 2, hi: 12 };
const MAX_VALUE = 5000;
const DIVISORS = [2, 3, 4, 5, 6];
/** Every story event (all but the sale) picks one of two phrasings. */
const PHRASINGS = 2;
const STEPS = { min: 2, max: 8 };

export interface GeneratorSettings {
  split: Split;
  minSteps?: number;
  maxSteps?: number;
  /** Which range the starting quantity came from (default: the split's own), as in ProblemOptions. */
  startRange?: Split;
}

/** How many integers [lo, hi] holds: rng.int(lo, hi) draws each with probability 1/span. */
const span = (lo: number, hi: number) => hi - lo + 1;
/** P(u > limit) for u uniform on the integers [lo, hi]. */
const tailAbove = (limit: number, lo: number, hi: number) =>
  Math.min(Math.max(hi - Math.max(Math.floor(limit), lo - 1), 0), span(lo, hi)) / span(lo, hi);

/** The state a loop iteration of generateProblem sees, and what its choices are. */
function choicesAt(x: number, left: number, done: number) {
  const divisors = DIVISORS.filter((k) => x % k === 0 && x / k >= 1);
  const giveAway = x > 3;
  const packs = left >= 2;
  const multiply = x * 2 <= MAX_VALUE;
  const sell = left === 1 && done >= 1;
  const n = 1 + Number(giveAway) + Number(packs) + Number(multiply) + Number(divisors.length > 0) + Number(sell);
  // Rejection: "find more" with x + b > MAX, packs with x + k·m > MAX, a sale with x·p > MAX.
  let reject = tailAbove(MAX_VALUE - x, SMALL.lo, SMALL.hi * 3);
  if (packs) {
    let over = 0;
    for (let k = SMALL.lo; k <= SMALL.hi; k++) over += tailAbove((MAX_VALUE - x) / k, SMALL.lo, SMALL.hi);
    reject += over / span(SMALL.lo, SMALL.hi);
  }
  if (sell) reject += tailAbove(MAX_VALUE / x, SMALL.lo, SMALL.hi);
  return { n, divisors, giveAway, multiply, sell, reject: reject / n };
}

const inRange = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;

/**
 * ln P(problem) under the generator with `settings` (natural log; the text determines the problem, so
 * this is also ln P of its text). Throws a data TonyError when the problem cannot have come from it.
 */
export function problemLogProb(p: Pick<GeneratedProblem, 'question' | 'steps'>, settings: GeneratorSettings): number {
  const minSteps = settings.minSteps ?? STEPS.min;
  const maxSteps = settings.maxSteps ?? STEPS.max;
  const range = START[settings.startRange ?? settings.split];
  const bad = (why: string) =>
    new TonyError(
      'data',
      `math entropy: ${why} (question: '${p.question.slice(0, 80)}…')`,
      'score only problems of `tony math generate` with the same split and step range',
    );
  const m = /^\S+ has (\d+) /.exec(p.question);
  if (!m) throw bad('the question does not open with "<name> has <n> "');
  let x = Number(m[1]);
  const steps = p.steps;
  if (!inRange(x, range.lo, range.hi)) throw bad(`starting quantity ${x} outside ${range.lo}–${range.hi}`);
  if (!inRange(steps.length, minSteps, maxSteps)) throw bad(`${steps.length} calculations outside ${minSteps}–${maxSteps}`);
  const sold = / sells every /.test(p.question);

  let lp = -Math.log(THEMES[settings.split]) - Math.log(NAMES) - Math.log(span(minSteps, maxSteps)) - Math.log(span(range.lo, range.hi));
  let i = 0;
  while (i < steps.length) {
    const s = steps[i]!;
    const c = choicesAt(x, steps.length - i, i);
    let event: number; // P(this event's draws), given that it is the choice picked
    let used = 1;
    const next = steps[i + 1];
    if (s.op === '*' && next && next.op === '+' && next.a === x && next.b === s.result) {
      // Packs: k·m, then x + k·m.
      if (!(steps.length - i >= 2 && inRange(s.a, SMALL.lo, SMALL.hi) && inRange(s.b, SMALL.lo, SMALL.hi)))
        throw bad(`step ${i + 1} is no pack event`);
      event = 1 / span(SMALL.lo, SMALL.hi) ** 2 / PHRASINGS;
      used = 2;
    } else if (s.a !== x) {
      throw bad(`step ${i + 1} starts from ${s.a}, not the running total ${x}`);
    } else if (s.op === '+') {
      if (!inRange(s.b, SMALL.lo, SMALL.hi * 3)) throw bad(`step ${i + 1} adds ${s.b}`);
      event = 1 / span(SMALL.lo, SMALL.hi * 3) / PHRASINGS;
    } else if (s.op === '-') {
      if (!c.giveAway || !inRange(s.b, 1, Math.min(x - 1, SMALL.hi * 3))) throw bad(`step ${i + 1} gives away ${s.b} of ${x}`);
      event = 1 / span(1, Math.min(x - 1, SMALL.hi * 3)) / FRIENDS / PHRASINGS;
    } else if (s.op === '*' && sold && i === steps.length - 1) {
      if (!c.sell || !inRange(s.b, SMALL.lo, SMALL.hi)) throw bad(`step ${i + 1} is no sale`);
      event = 1 / span(SMALL.lo, SMALL.hi); // a sale has one phrasing
    } else if (s.op === '*') {
      const hi = Math.min(5, Math.floor(MAX_VALUE / x));
      if (!c.multiply || !inRange(s.b, 2, hi)) throw bad(`step ${i + 1} multiplies ${x} by ${s.b}`);
      event = 1 / span(2, hi) / PHRASINGS;
    } else {
      if (!c.divisors.includes(s.b)) throw bad(`step ${i + 1} divides ${x} by ${s.b}`);
      event = 1 / c.divisors.length / PHRASINGS;
    }
    lp += Math.log(event / c.n) - Math.log1p(-c.reject);
    x = steps[i + used - 1]!.result;
    i += used;
  }
  if (sold && steps.at(-1)!.op !== '*') throw bad('the question sells but the last step is no sale');
  return lp;
}

/** One problem as the math sweep's corpus writes it (docs/results/scaling/run-sweeps.sh). */
export const problemText = (p: Pick<GeneratedProblem, 'question' | 'answer'>) => `Q: ${p.question}\nA: ${p.answer}\n\n`;

export interface EntropyFloor {
  /** Σ −ln P(problem) over the split's problems. */
  nats: number;
  /** The split's tokens, each document's end-of-text included (what validation loss averages over). */
  tokens: number;
  problems: number;
  documents: number;
  /** nats / tokens: the lowest expected loss per token any model of this text can reach. */
  natsPerToken: number;
}

/**
 * The entropy floor of a shard directory's `split` built from math-NNN.txt files of `perFile`
 * problems each (file f holds problems perFile·f … perFile·(f+1) − 1 of `tony math generate --seed`).
 * Each document's decoded text is checked against the regenerated problems, so a floor is never
 * computed for text the generator did not write.
 */
export async function mathEntropyFloor(
  dataDir: string,
  opts: GeneratorSettings & { seed: number; perFile: number; shardSplit?: 'train' | 'val' },
): Promise<EntropyFloor> {
  const shards = await openShards(dataDir);
  try {
    const docs = [...shards.documents(opts.shardSplit ?? 'val')];
    if (docs.length === 0) throw new TonyError('data', `math entropy: '${dataDir}' has no ${opts.shardSplit ?? 'val'} documents`);
    const files = docs.map((d) => {
      const m = /^math-(\d+)\.txt$/.exec(basename(d.path));
      if (!m)
        throw new TonyError(
          'data',
          `math entropy: document '${d.path}' is not a math-NNN.txt file`,
          'build the shards from run-sweeps.sh math text',
        );
      return Number(m[1]);
    });
    const problems = generateProblems({
      split: opts.split,
      count: opts.perFile * (Math.max(...files) + 1),
      seed: opts.seed,
      ...(opts.minSteps !== undefined ? { minSteps: opts.minSteps } : {}),
      ...(opts.maxSteps !== undefined ? { maxSteps: opts.maxSteps } : {}),
      ...(opts.startRange !== undefined ? { startRange: opts.startRange } : {}),
    });
    let nats = 0;
    let tokens = 0;
    docs.forEach((d, j) => {
      const mine = problems.slice(opts.perFile * files[j]!, opts.perFile * (files[j]! + 1));
      const text = shards.tokenizer.decode([...d.ids.subarray(0, -1)]); // without the end-of-text
      if (text !== mine.map(problemText).join(''))
        throw new TonyError(
          'data',
          `math entropy: '${d.path}' is not problems ${opts.perFile * files[j]!}…${opts.perFile * (files[j]! + 1) - 1} of seed ${opts.seed}`,
          'pass the --seed, --per-file and split the corpus was generated with',
        );
      for (const p of mine) nats -= problemLogProb(p, opts);
      tokens += d.ids.length;
    });
    return { nats, tokens, problems: docs.length * opts.perFile, documents: docs.length, natsPerToken: nats / tokens };
  } finally {
    shards.close();
  }
}
