/**
 * A procedural code-generation benchmark a small Tony model can partly solve: tiny Python functions,
 * each a signature and a docstring that says what to compute, a canonical body of one to three
 * lines, and a `check(candidate)` of hidden tests — HumanEval's format (PAPERS.md §1), so that
 * `tony eval humaneval|infilling` and the sandbox run it unchanged.
 *
 * Four families, each composed from small parts so that a held-out problem is a combination of parts
 * the model has seen but never this combination:
 *
 *   list    sum / list / largest of (x, x*k, x+k, …) for each x in xs (if x > k, even, …)   one line
 *   string  s with two of (upper case, reversed, 'a'→'b', first k characters, …) applied     one line
 *   arith   (a op b) op k                                                                      one line
 *   cond    if <condition on n>: return <expr> / return <expr>                                 three lines
 *
 * The split is by structure: a function's structure key (family and parts, no constants) hashes to
 * train or test, so no test structure occurs in the training corpus, whatever its constants.
 * Expected outputs are computed here by a reference evaluator that follows Python's semantics
 * (floor modulo, `max(..., default=0)`); test/evals/tinyfuncs.test.ts runs every canonical solution
 * in the sandbox against them, so Python itself checks that evaluator.
 *
 *   const { train, test } = tinyFunctions({ train: 5000, test: 40, seed: 0 });
 *   test[0].prompt   // 'def sum_plus_even(xs):\n    """Return the sum of x plus 3 for each x in xs that is even."""\n'
 */
import { TonyError } from '../errors.ts';
import { Rng } from '../random.ts';
import type { Problem } from './data.ts';

/** One generated function: a HumanEval problem plus the pieces infilling tasks are cut from. */
export interface TinyFunction extends Problem {
  family: 'list' | 'string' | 'arith' | 'cond';
  /** Family and parts without constants: what decides the train/test split. */
  structure: string;
  /** The whole function: prompt + canonical_solution. */
  text: string;
  /** Sub-expressions of the body (e.g. the map `x * 3`, the filter `x % 2 == 0`): expression-level middles. */
  expressions: string[];
}

type Value = number | string | number[];

/** A body part: its description, its Python, and how to evaluate it. */
interface Part<A> {
  key: string;
  words: (k: number) => string;
  code: (k: number) => string;
  run: (arg: A, k: number) => Value;
}

/** Python's `%` (the sign of the divisor), not JavaScript's. */
const pyMod = (a: number, b: number) => ((a % b) + b) % b;

const MAPS: Part<number>[] = [
  { key: 'x', words: () => 'x', code: () => 'x', run: (x) => x },
  { key: 'times', words: (k) => `x times ${k}`, code: (k) => `x * ${k}`, run: (x, k) => x * k },
  { key: 'plus', words: (k) => `x plus ${k}`, code: (k) => `x + ${k}`, run: (x, k) => x + k },
  { key: 'minus', words: (k) => `x minus ${k}`, code: (k) => `x - ${k}`, run: (x, k) => x - k },
  { key: 'square', words: () => 'x squared', code: () => 'x * x', run: (x) => x * x },
  { key: 'abs', words: () => 'the absolute value of x', code: () => 'abs(x)', run: (x) => Math.abs(x) },
];

/** Filters return 1 (keep) or 0 through `run`. */
const FILTERS: Part<number>[] = [
  { key: 'all', words: () => '', code: () => '', run: () => 1 },
  { key: 'greater', words: (k) => ` that is greater than ${k}`, code: (k) => `x > ${k}`, run: (x, k) => +(x > k) },
  { key: 'less', words: (k) => ` that is less than ${k}`, code: (k) => `x < ${k}`, run: (x, k) => +(x < k) },
  { key: 'even', words: () => ' that is even', code: () => 'x % 2 == 0', run: (x) => +(pyMod(x, 2) === 0) },
  { key: 'odd', words: () => ' that is odd', code: () => 'x % 2 == 1', run: (x) => +(pyMod(x, 2) === 1) },
  { key: 'not', words: (k) => ` that is not ${k}`, code: (k) => `x != ${k}`, run: (x, k) => +(x !== k) },
];

const REDUCERS = [
  { key: 'sum', words: 'the sum of', code: (g: string) => `sum(${g})`, run: (v: number[]) => v.reduce((s, x) => s + x, 0) },
  { key: 'list', words: 'the list of', code: (g: string) => `[${g}]`, run: (v: number[]) => v },
  {
    key: 'largest',
    words: 'the largest of',
    code: (g: string) => `max((${g}), default=0)`,
    run: (v: number[]) => (v.length ? Math.max(...v) : 0),
  },
] as const;

/** String steps are postfix in Python (`s.upper()[::-1]`), so two compose by concatenation. */
const STRING_STEPS: Part<string>[] = [
  { key: 'upper', words: () => 'in upper case', code: () => '.upper()', run: (s) => s.toUpperCase() },
  { key: 'reversed', words: () => 'reversed', code: () => '[::-1]', run: (s) => [...s].reverse().join('') },
  { key: 'swap', words: () => "with every 'a' replaced by 'e'", code: () => ".replace('a', 'e')", run: (s) => s.replaceAll('a', 'e') },
  { key: 'first', words: (k) => `cut to its first ${k} characters`, code: (k) => `[:${k}]`, run: (s, k) => s.slice(0, k) },
  { key: 'drop', words: (k) => `without its first ${k} characters`, code: (k) => `[${k}:]`, run: (s, k) => s.slice(k) },
  { key: 'double', words: () => 'written twice', code: () => ' * 2', run: (s) => s + s },
];

const ARITH_OPS = [
  { key: 'plus', words: 'plus', code: '+', run: (a: number, b: number) => a + b },
  { key: 'minus', words: 'minus', code: '-', run: (a: number, b: number) => a - b },
  { key: 'times', words: 'times', code: '*', run: (a: number, b: number) => a * b },
] as const;

const CONDITIONS: Part<number>[] = [
  { key: 'greater', words: (k) => `n is greater than ${k}`, code: (k) => `n > ${k}`, run: (n, k) => +(n > k) },
  { key: 'less', words: (k) => `n is less than ${k}`, code: (k) => `n < ${k}`, run: (n, k) => +(n < k) },
  { key: 'even', words: () => 'n is even', code: () => 'n % 2 == 0', run: (n) => +(pyMod(n, 2) === 0) },
  { key: 'equal', words: (k) => `n equals ${k}`, code: (k) => `n == ${k}`, run: (n, k) => +(n === k) },
];

const BRANCHES: Part<number>[] = [
  { key: 'n', words: () => 'n', code: () => 'n', run: (n) => n },
  { key: 'times', words: (k) => `n times ${k}`, code: (k) => `n * ${k}`, run: (n, k) => n * k },
  { key: 'plus', words: (k) => `n plus ${k}`, code: (k) => `n + ${k}`, run: (n, k) => n + k },
  { key: 'neg', words: () => 'minus n', code: () => '-n', run: (n) => -n },
  { key: 'const', words: (k) => `${k}`, code: (k) => `${k}`, run: (_n, k) => k },
];

/** Test inputs per function: enough that a wrong body rarely passes by luck. */
const TESTS_PER_FUNCTION = 6;
/** Held-out functions per structure, at most. */
const MAX_PER_STRUCTURE = 3;
/** Share of structure keys held out for the test split. */
const TEST_SHARE = 0.2;

/** Python's repr of the values these functions take and return (ints, lists of ints, [a-z] strings). */
export function pyRepr(v: Value): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v}'`;
  return `[${v.map(String).join(', ')}]`;
}

/** FNV-1a of the structure key, as a fraction in [0, 1): deterministic and independent of the seed. */
function structureHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h / 2 ** 32;
}

/** Whether a structure key belongs to the held-out split. */
export function isTestStructure(structure: string): boolean {
  return structureHash(structure) < TEST_SHARE;
}

interface Draft {
  family: TinyFunction['family'];
  structure: string;
  name: string;
  args: string;
  doc: string;
  body: string[];
  expressions: string[];
  inputs: (rng: Rng) => Value[];
  /** Inputs every test includes (a condition's threshold and its neighbours: random draws miss `n == 3`). */
  edges?: Value[][];
  run: (inputs: Value[]) => Value;
}

const intList = (rng: Rng) => Array.from({ length: rng.int(0, 6) }, () => rng.int(-9, 9));
const word = (rng: Rng) => Array.from({ length: rng.int(0, 8) }, () => rng.pick(['a', 'b', 'c', 'd', 'e', 'x'])).join('');

function draftList(rng: Rng): Draft {
  const r = rng.pick(REDUCERS);
  const m = rng.pick(MAPS);
  const f = rng.pick(FILTERS);
  const mk = rng.int(2, 5);
  const fk = rng.int(-3, 3);
  const gen = `${m.code(mk)} for x in xs${f.key === 'all' ? '' : ` if ${f.code(fk)}`}`;
  return {
    family: 'list',
    structure: `list/${r.key}/${m.key}/${f.key}`,
    name: `${r.key}_${m.key}_${f.key}`,
    args: 'xs',
    doc: `Return ${r.words} ${m.words(mk)} for each x in xs${f.words(fk)}.`,
    body: [`return ${r.code(gen)}`],
    expressions: [m.code(mk), ...(f.key === 'all' ? [] : [f.code(fk)])],
    inputs: (g) => [intList(g)],
    run: ([xs]) => r.run((xs as number[]).filter((x) => f.run(x, fk)).map((x) => m.run(x, mk) as number)),
  };
}

function draftString(rng: Rng): Draft {
  // 'double' (` * 2`) only last: `s * 2[::-1]` would index the 2.
  const a = rng.pick(STRING_STEPS.filter((p) => p.key !== 'double'));
  let b = rng.pick(STRING_STEPS);
  while (b.key === a.key) b = rng.pick(STRING_STEPS);
  const ka = rng.int(1, 4);
  const kb = rng.int(1, 4);
  return {
    family: 'string',
    structure: `string/${a.key}/${b.key}`,
    name: `${a.key}_then_${b.key}`,
    args: 's',
    doc: `Return s ${a.words(ka)}, then ${b.words(kb)}.`,
    body: [`return s${a.code(ka)}${b.code(kb)}`],
    expressions: [`s${a.code(ka)}`, `s${a.code(ka)}${b.code(kb)}`],
    inputs: (g) => [word(g)],
    run: ([s]) => b.run(a.run(s as string, ka) as string, kb),
  };
}

function draftArith(rng: Rng): Draft {
  const o1 = rng.pick(ARITH_OPS);
  const o2 = rng.pick(ARITH_OPS);
  const k = rng.int(2, 9);
  return {
    family: 'arith',
    structure: `arith/${o1.key}/${o2.key}`,
    name: `${o1.key}_then_${o2.key}`,
    args: 'a, b',
    doc: `Return a ${o1.words} b, then ${o2.words} ${k}.`,
    body: [`return (a ${o1.code} b) ${o2.code} ${k}`],
    expressions: [`a ${o1.code} b`, `(a ${o1.code} b) ${o2.code} ${k}`],
    inputs: (g) => [g.int(-20, 20), g.int(-20, 20)],
    run: ([a, b]) => o2.run(o1.run(a as number, b as number), k),
  };
}

function draftCond(rng: Rng): Draft {
  const c = rng.pick(CONDITIONS);
  const t = rng.pick(BRANCHES);
  let e = rng.pick(BRANCHES);
  while (e.key === t.key) e = rng.pick(BRANCHES);
  const [ck, tk, ek] = [rng.int(-3, 5), rng.int(2, 5), rng.int(2, 5)];
  return {
    family: 'cond',
    structure: `cond/${c.key}/${t.key}/${e.key}`,
    name: `${t.key}_if_${c.key}_else_${e.key}`,
    args: 'n',
    doc: `Return ${t.words(tk)} if ${c.words(ck)}, otherwise ${e.words(ek)}.`,
    body: [`if ${c.code(ck)}:`, `    return ${t.code(tk)}`, `return ${e.code(ek)}`],
    expressions: [c.code(ck), t.code(tk), e.code(ek)],
    inputs: (g) => [g.int(-8, 8)],
    edges: [[ck], [ck + 1], [ck - 1]],
    run: ([n]) => (c.run(n as number, ck) ? t.run(n as number, tk) : e.run(n as number, ek)),
  };
}

const DRAFTS = [draftList, draftString, draftArith, draftCond];

/**
 * Turn a draft into a HumanEval problem with its tests; undefined when the function is constant on
 * its tests (`s[:2][3:]` is always ''), which any constant body would pass.
 */
function finish(d: Draft, id: string, rng: Rng): TinyFunction | undefined {
  const prompt = `def ${d.name}(${d.args}):\n    """${d.doc}"""\n`;
  const canonical = d.body.map((l) => `    ${l}\n`).join('');
  const asserts: string[] = [];
  const outputs = new Set<string>();
  const seen = new Set<string>();
  const candidates = [...(d.edges ?? [])];
  // Distinct inputs (a few tries each): repeated ones would test less than they seem to.
  for (let tries = 0; asserts.length < TESTS_PER_FUNCTION && tries < 10 * TESTS_PER_FUNCTION; tries++) {
    const inputs = candidates.shift() ?? d.inputs(rng);
    const call = inputs.map(pyRepr).join(', ');
    if (seen.has(call)) continue;
    seen.add(call);
    const out = pyRepr(d.run(inputs));
    outputs.add(out);
    asserts.push(`    assert candidate(${call}) == ${out}`);
  }
  if (outputs.size < 2) return undefined;
  return {
    task_id: id,
    prompt,
    canonical_solution: canonical,
    entry_point: d.name,
    test: `def check(candidate):\n${asserts.join('\n')}\n`,
    family: d.family,
    structure: d.structure,
    text: prompt + canonical,
    expressions: d.expressions,
  };
}

export interface TinyFunctionOptions {
  /** Training functions (structures outside the test split). */
  train: number;
  /** Held-out functions (test structures only). */
  test: number;
  seed: number;
}

/** Generate the training corpus and the held-out problems. Same options → same functions. */
export function tinyFunctions(opts: TinyFunctionOptions): { train: TinyFunction[]; test: TinyFunction[] } {
  for (const [k, v] of [
    ['train', opts.train],
    ['test', opts.test],
    ['seed', opts.seed],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new TonyError('usage', `tiny functions: ${k} must be a non-negative integer, got ${v}`);
  }
  const rng = new Rng(opts.seed);
  const train: TinyFunction[] = [];
  const test: TinyFunction[] = [];
  const testTexts = new Set<string>();
  const perStructure = new Map<string, number>();
  // Held-out problems first, each distinct, so that their count does not depend on the training size;
  // at most MAX_PER_STRUCTURE per structure, so that a few structures do not make up the benchmark.
  for (let guard = 0; test.length < opts.test; guard++) {
    if (guard > 1000 * (opts.test + 1))
      throw new TonyError('usage', `tiny functions: cannot draw ${opts.test} distinct test functions`, 'ask for fewer test functions');
    const d = rng.pick(DRAFTS)(rng);
    if (!isTestStructure(d.structure) || (perStructure.get(d.structure) ?? 0) >= MAX_PER_STRUCTURE) continue;
    const f = finish(d, `tiny/${test.length}`, rng);
    if (!f || testTexts.has(f.text)) continue;
    testTexts.add(f.text);
    perStructure.set(d.structure, (perStructure.get(d.structure) ?? 0) + 1);
    test.push(f);
  }
  while (train.length < opts.train) {
    const d = rng.pick(DRAFTS)(rng);
    if (isTestStructure(d.structure)) continue;
    const f = finish(d, `tiny-train/${train.length}`, rng);
    if (f) train.push(f);
  }
  return { train, test };
}

/** How an infilling middle is cut from a held-out function (the FIM paper's benchmarks, in small). */
export type InfillSpan = 'identifier' | 'expression' | 'line' | 'span';
export const INFILL_SPANS: readonly InfillSpan[] = ['identifier', 'expression', 'line', 'span'];

/**
 * One infilling problem from a held-out function: `prompt` is the text before the middle, `suffix`
 * the text after, `canonical_solution` the middle; running prompt + completion + suffix against the
 * tests is its pass/fail. Identifiers and expressions are cut from the body only (the docstring
 * would give them away verbatim); a line is a whole body line without its indentation (as
 * HumanEval single-line infilling); a span is 2–12 characters of the body (random-span-light).
 */
export function infillProblem(f: TinyFunction, span: InfillSpan, rng: Rng): Problem {
  const bodyStart = f.prompt.length;
  const body = f.canonical_solution;
  let start: number;
  let end: number;
  if (span === 'identifier') {
    const ids = [...body.matchAll(/[A-Za-z_]\w*/g)].filter((m) => !['return', 'if', 'for', 'in', 'default'].includes(m[0]));
    const m = rng.pick(ids);
    start = m.index;
    end = start + m[0].length;
  } else if (span === 'expression') {
    const e = rng.pick(f.expressions);
    start = body.indexOf(e);
    if (start < 0) throw new TonyError('usage', `tiny function ${f.task_id}: expression '${e}' is not in its body`);
    end = start + e.length;
  } else if (span === 'line') {
    const lines = body.split('\n').slice(0, -1);
    const i = rng.int(0, lines.length - 1);
    const before = lines.slice(0, i).join('\n').length + (i > 0 ? 1 : 0);
    const indent = /^ */.exec(lines[i]!)![0].length;
    start = before + indent;
    end = before + lines[i]!.length;
  } else {
    const content = body.trimEnd().length;
    const len = Math.min(rng.int(2, 12), content - 4);
    start = rng.int(4, content - len); // after the first line's indentation
    end = start + len;
  }
  return {
    task_id: `${f.task_id}/${span}`,
    prompt: f.text.slice(0, bodyStart + start),
    suffix: f.text.slice(bodyStart + end),
    canonical_solution: body.slice(start, end),
    entry_point: f.entry_point,
    test: f.test,
  };
}

/** The corpus text of training functions: each function a document, separated as files would be. */
export function corpusText(fns: readonly TinyFunction[]): string {
  return fns.map((f) => f.text).join('\n\n');
}
