/**
 * Grade-school word problems in exactly GSM8K's format (Cobbe et al. 2021, PAPERS.md §3), made
 * procedurally so that a model small enough to train on two CPU cores can learn them: a
 * `question`, and an `answer` whose reasoning lines annotate each calculation as `<<48/2=24>>` and
 * whose last line is `#### 72`.
 *
 * A problem follows one quantity (eggs, pages, dollars …) through a chain of 2–8 calculations, one
 * annotation each. A narrative *theme* supplies the names, the item, its unit and its containers; an
 * *event* is one step of the chain (find more, give away, buy packs of k, share equally, multiply,
 * sell at a price), each with a few phrasings. Generalisation is measured on problems the model has
 * never seen the like of: the `test` split uses themes kept out of `train`, and starting quantities
 * from a range kept out of training (TRAIN_START vs TEST_START).
 *
 * Deterministic: problem i of (split, seed) depends only on those three numbers.
 *
 *   const train = generateProblems({ split: 'train', count: 5000, seed: 0 });
 *   train[0].answer  // 'Mia buys 3*4 = <<3*4=12>>12 apples.\n…\n#### 19'
 */
import { TonyError } from '../errors.ts';
import type { MathProblem } from '../evals/data.ts';
import { Rng } from '../random.ts';

export type Split = 'train' | 'test';

interface Theme {
  /** Plural item, and the singular used with one of them ("apple"). */
  item: string;
  one: string;
  /** Where the items come in packs ("bags"), singular. */
  pack: string;
  /** A verb phrase for getting more of them ("picks"). */
  gets: string;
}

/**
 * Narrative themes. The last TEST_THEMES are the test split's and never appear in training
 * problems (their item nouns are checked against the training text in test/math/problems.test.ts).
 */
const THEMES: readonly Theme[] = [
  { item: 'apples', one: 'apple', pack: 'bag', gets: 'picks' },
  { item: 'cookies', one: 'cookie', pack: 'tray', gets: 'bakes' },
  { item: 'marbles', one: 'marble', pack: 'jar', gets: 'wins' },
  { item: 'stickers', one: 'sticker', pack: 'sheet', gets: 'collects' },
  { item: 'pencils', one: 'pencil', pack: 'box', gets: 'buys' },
  { item: 'eggs', one: 'egg', pack: 'carton', gets: 'gathers' },
  { item: 'books', one: 'book', pack: 'shelf', gets: 'borrows' },
  { item: 'cards', one: 'card', pack: 'deck', gets: 'trades for' },
  { item: 'flowers', one: 'flower', pack: 'bunch', gets: 'plants' },
  { item: 'shells', one: 'shell', pack: 'bucket', gets: 'finds' },
  { item: 'stamps', one: 'stamp', pack: 'album page', gets: 'orders' },
  { item: 'candles', one: 'candle', pack: 'crate', gets: 'makes' },
  // test themes
  { item: 'oranges', one: 'orange', pack: 'basket', gets: 'harvests' },
  { item: 'toy cars', one: 'toy car', pack: 'case', gets: 'receives' },
  { item: 'buttons', one: 'button', pack: 'tin', gets: 'sews on' },
];
const TEST_THEMES = 3;

const NAMES = ['Mia', 'Liam', 'Ava', 'Noah', 'Zoe', 'Omar', 'Lena', 'Ravi', 'Ines', 'Tom', 'Yuki', 'Sam', 'Nora', 'Ben', 'Kofi', 'Ana'];
const FRIENDS = ['her brother', 'a neighbour', 'the teacher', 'a friend', 'his cousin', 'the class'];

/** Starting quantities: training problems start in one range, test problems in another. */
const TRAIN_START = { lo: 2, hi: 40 };
const TEST_START = { lo: 41, hi: 90 };
/** The other operands (additions, pack sizes, factors, prices) come from these. */
const SMALL = { lo: 2, hi: 12 };
/** Running totals stay below this so the numbers read like grade-school ones. */
const MAX_VALUE = 5000;

export interface ProblemOptions {
  split: Split;
  count: number;
  seed?: number;
  /** Calculations per problem (annotations): each problem draws its own in [minSteps, maxSteps]. */
  minSteps?: number;
  maxSteps?: number;
  /**
   * Which range starting quantities come from (default: the split's own). A test split with the
   * training range keeps the held-out themes but measures reasoning rather than the copying of
   * never-seen numbers, which otherwise dominates a small byte-level model's test errors.
   */
  startRange?: Split;
}

/** One calculation of a solution: `a op b = result`, as written in its annotation. */
interface Step {
  a: number;
  op: '+' | '-' | '*' | '/';
  b: number;
  result: number;
}

export interface GeneratedProblem extends MathProblem {
  /** The calculations in order (what the answer's annotations say), for tests and analysis. */
  steps: Step[];
  /** Which theme it came from (index into the theme list). */
  theme: number;
}

/** GSM8K's own bounds on reasoning length: 2–8 calculations. */
const MIN_STEPS = 2;
const MAX_STEPS = 8;

/** `count` problems of a split, deterministic in (split, seed, index). */
export function generateProblems(opts: ProblemOptions): GeneratedProblem[] {
  const minSteps = opts.minSteps ?? MIN_STEPS;
  const maxSteps = opts.maxSteps ?? MAX_STEPS;
  if (!Number.isInteger(minSteps) || !Number.isInteger(maxSteps) || minSteps < MIN_STEPS || maxSteps > MAX_STEPS || minSteps > maxSteps) {
    throw new TonyError(
      'config',
      `math problems: steps must satisfy ${MIN_STEPS} ≤ minSteps ≤ maxSteps ≤ ${MAX_STEPS}, got ${minSteps}…${maxSteps}`,
      `e.g. --min-steps 2 --max-steps 4`,
    );
  }
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new TonyError('config', `math problems: count must be ≥ 1, got ${opts.count}`);
  const seed = opts.seed ?? 0;
  return Array.from({ length: opts.count }, (_, i) =>
    generateProblem(opts.split, seed, i, minSteps, maxSteps, opts.startRange ?? opts.split),
  );
}

/** Themes of a split, as indices into THEMES. */
function themesOf(split: Split): number[] {
  const n = THEMES.length - TEST_THEMES;
  return split === 'train' ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: TEST_THEMES }, (_, i) => n + i);
}

/** The item nouns of a split's themes (for checking that test themes never leak into training). */
export const themeItems = (split: Split): string[] => themesOf(split).map((t) => THEMES[t]!.item);

function generateProblem(
  split: Split,
  seed: number,
  index: number,
  minSteps: number,
  maxSteps: number,
  startRange: Split,
): GeneratedProblem {
  // One stream per problem: Knuth's multiplicative hash spreads (seed, index) over 32 bits.
  const rng = new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77) ^ (split === 'test' ? 0x5bd1e995 : 0)) >>> 0);
  const themeIndex = rng.pick(themesOf(split));
  const th = THEMES[themeIndex]!;
  const name = rng.pick(NAMES);
  const range = startRange === 'train' ? TRAIN_START : TEST_START;
  const target = rng.int(minSteps, maxSteps);
  const start = rng.int(range.lo, range.hi);
  const story: string[] = [`${name} has ${start} ${th.item}.`];
  const lines: string[] = [];
  const steps: Step[] = [];
  let x = start;

  const calc = (a: number, op: Step['op'], b: number): number => {
    const result = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b;
    steps.push({ a, op, b, result });
    return result;
  };
  const ann = (a: number, op: Step['op'], b: number, r: number) => `${a}${op}${b} = <<${a}${op}${b}=${r}>>${r}`;

  // Events until the chain has `target` calculations. The last one may be a sale (price × count),
  // which turns the question into one about money.
  let sold: number | undefined;
  while (steps.length < target) {
    const left = target - steps.length;
    const choices: Array<() => void> = [];
    // Find more: x + b.
    choices.push(() => {
      const b = rng.int(SMALL.lo, SMALL.hi * 3);
      if (x + b > MAX_VALUE) return;
      story.push(rng.pick([`Then ${name} ${th.gets} ${b} more ${th.item}.`, `Later, ${name} ${th.gets} another ${b} ${th.item}.`]));
      const r = calc(x, '+', b);
      lines.push(`${name} now has ${ann(x, '+', b, r)} ${th.item}.`);
      x = r;
    });
    // Give away: x − b, never below one.
    if (x > 3)
      choices.push(() => {
        const b = rng.int(1, Math.min(x - 1, SMALL.hi * 3));
        const who = rng.pick(FRIENDS);
        story.push(rng.pick([`${name} gives ${b} ${th.item} to ${who}.`, `Then ${b} of the ${th.item} go to ${who}.`]));
        const r = calc(x, '-', b);
        lines.push(`After giving some away, ${name} has ${ann(x, '-', b, r)} ${th.item} left.`);
        x = r;
      });
    // Packs: k packs of m each (two calculations: k·m, then x + k·m).
    if (left >= 2)
      choices.push(() => {
        const k = rng.int(SMALL.lo, SMALL.hi);
        const m = rng.int(SMALL.lo, SMALL.hi);
        if (x + k * m > MAX_VALUE) return;
        story.push(
          rng.pick([
            `${name} ${th.gets} ${k} ${plural(th.pack)} with ${m} ${th.item} in each ${th.pack}.`,
            `Next, ${name} adds ${k} ${plural(th.pack)} of ${m} ${th.item} each.`,
          ]),
        );
        const km = calc(k, '*', m);
        lines.push(`The ${plural(th.pack)} hold ${ann(k, '*', m, km)} ${th.item}.`);
        const r = calc(x, '+', km);
        lines.push(`So ${name} has ${ann(x, '+', km, r)} ${th.item}.`);
        x = r;
      });
    // Multiply: x · k.
    if (x * 2 <= MAX_VALUE)
      choices.push(() => {
        const k = rng.int(2, Math.min(5, Math.floor(MAX_VALUE / x)));
        story.push(
          rng.pick([`The number of ${th.item} then grows to ${k} times as many.`, `${name} ends up with ${k} times as many ${th.item}.`]),
        );
        const r = calc(x, '*', k);
        lines.push(`${k} times as many is ${ann(x, '*', k, r)} ${th.item}.`);
        x = r;
      });
    // Share equally: x / k, only when k divides x (answers stay whole, as GSM8K's do).
    const divisors = [2, 3, 4, 5, 6].filter((k) => x % k === 0 && x / k >= 1);
    if (divisors.length)
      choices.push(() => {
        const k = rng.pick(divisors);
        story.push(
          rng.pick([
            `${name} splits the ${th.item} equally into ${k} groups and keeps one group.`,
            `Only one ${ordinalPart(k)} of them is kept.`,
          ]),
        );
        const r = calc(x, '/', k);
        lines.push(`One ${ordinalPart(k)} of them is ${ann(x, '/', k, r)} ${th.item}.`);
        x = r;
      });
    // Sell: the last calculation only.
    if (left === 1 && steps.length >= 1)
      choices.push(() => {
        const p = rng.int(SMALL.lo, SMALL.hi);
        if (x * p > MAX_VALUE) return;
        const r = calc(x, '*', p);
        lines.push(`Selling them all at $${p} each brings in ${ann(x, '*', p, r)} dollars.`);
        sold = p;
        x = r;
      });
    rng.pick(choices)();
  }
  const question =
    sold === undefined
      ? `${story.join(' ')} How many ${th.item} does ${name} have now?`
      : `${story.join(' ')} ${name} sells every ${th.one} for $${sold}. How many dollars does ${name} get?`;
  return { question, answer: `${lines.join('\n')}\n#### ${x}`, steps, theme: themeIndex };
}

const plural = (noun: string) => (/(x|sh|ch)$/.test(noun) ? `${noun}es` : noun.endsWith('f') ? `${noun.slice(0, -1)}ves` : `${noun}s`);
const ordinalPart = (k: number) => ['', '', 'half', 'third', 'quarter', 'fifth', 'sixth'][k]!;
