/**
 * The math text's entropy floor against brute force: the real generator (src/math/problems.ts) runs
 * with its Rng replaced by a scripted one, and a depth-first search over every draw's outcomes
 * enumerates its whole tree of random choices from a pinned start. Summing the probability of every
 * path that writes a text gives that text's exact probability — the oracle for problemLogProb, which
 * computes it in closed form from the text alone. Paths longer than MAX_DRAWS (retries after rejected
 * draws, an infinite tail) are cut; their total mass bounds the enumeration's error.
 */
import { describe, expect, it, vi } from 'vitest';

const script = vi.hoisted(() => {
  class Branch {
    constructor(readonly options: number) {}
  }
  const state = { draws: [] as number[], options: [] as number[], pos: 0, Branch };
  /** Each draw returns the scripted outcome, or asks the search to branch over its `n` outcomes. */
  const draw = (n: number): number => {
    if (state.pos === state.draws.length) throw new Branch(n);
    if (state.options.length === state.pos) state.options.push(n);
    return state.draws[state.pos++]!;
  };
  class ScriptedRng {
    constructor(_seed: number) {
      state.pos = 0;
    }
    readonly next = (): number => {
      throw new Error('the generator drew a raw float; the scripted Rng only knows int and pick');
    };
    readonly int = (lo: number, hi: number): number => lo + draw(hi - lo + 1);
    readonly pick = <T>(items: readonly T[]): T => items[draw(items.length)]!;
  }
  return { state, ScriptedRng, Branch };
});

vi.mock('../../src/random.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/random.ts')>()),
  Rng: script.ScriptedRng,
}));

const { generateProblems } = await import('../../src/math/problems.ts');
const { problemLogProb, problemText } = await import('../../src/scaling/math-entropy.ts');
const { TonyError } = await import('../../src/errors.ts');
type Opts = Parameters<typeof generateProblems>[0];

/** Paths with more draws than this are retries of rejected draws; their mass is counted, not followed. */
const MAX_DRAWS = 24;

/** Every text the generator writes from the pinned draws on, with its exact probability. */
function enumerate(opts: Opts, pinned: number[]) {
  const texts = new Map<string, { p: number; problem: ReturnType<typeof generateProblems>[0] }>();
  let cut = 0;
  // Each entry: draws so far and the outcome counts of those draws (known once drawn).
  const stack: Array<{ draws: number[]; options: number[] }> = [{ draws: pinned, options: [] }];
  while (stack.length) {
    const node = stack.pop()!;
    script.state.draws = node.draws;
    script.state.options = [...node.options];
    try {
      const problem = generateProblems({ ...opts, count: 1 })[0]!;
      const p = script.state.options.reduce((a, n) => a / n, 1);
      const text = problemText(problem);
      const seen = texts.get(text);
      texts.set(text, { p: (seen?.p ?? 0) + p, problem });
    } catch (err) {
      if (!(err instanceof script.Branch)) throw err;
      const options = [...script.state.options, err.options];
      if (node.draws.length >= MAX_DRAWS) {
        cut += options.slice(0, -1).reduce((a, n) => a / n, 1);
        continue;
      }
      for (let i = 0; i < err.options; i++) stack.push({ draws: [...node.draws, i], options });
    }
  }
  return { texts, cut };
}

/** The mass of the pinned draws: what the enumerated probabilities of a subtree sum to. */
function check(opts: Opts, pinned: number[], settings: Parameters<typeof problemLogProb>[1]) {
  const { texts, cut } = enumerate(opts, pinned);
  let total = 0;
  let worst = 0;
  for (const { p, problem } of texts.values()) {
    total += p;
    // Enumerated p ≤ true p ≤ p + cut: the closed form must land in that band.
    const q = Math.exp(problemLogProb(problem, settings));
    expect(q).toBeGreaterThanOrEqual(p * (1 - 1e-12));
    worst = Math.max(worst, q - p);
  }
  expect(worst).toBeLessThanOrEqual(cut + 1e-15);
  return { texts: texts.size, total, cut };
}

describe('problemLogProb against the enumerated generator', () => {
  it('gives every 2-step training problem from 3 its exact probability (no give-away, one divisor)', () => {
    // Theme 0 of 12, name 0 of 16, one step count, start 3 (index 1 of 2…40): the rest is free.
    const r = check({ split: 'train', count: 1, minSteps: 2, maxSteps: 2 }, [0, 0, 0, 1], { split: 'train', minSteps: 2, maxSteps: 2 });
    expect(r.texts).toBeGreaterThan(10_000);
    expect(r.cut).toBe(0); // nothing is rejected this low
    // The subtree holds all the mass of its pinned draws: 1/12 · 1/16 · 1 · 1/39.
    expect(r.total).toBeCloseTo(1 / 12 / 16 / 39, 15);
  });

  it('accounts for rejected sales: test split from 90, ×5 to 450, where a price of 12 passes 5,000', () => {
    // Test themes (3), name, 2 or 3 steps (2), start 90 (index 49 of 41…90); the first event pinned to
    // "multiply" (choice 3 of find/give/packs/multiply/share) by 5 (index 3 of 2…5), phrasing 0.
    // Then 450 with one step left: a sale at $12 (450·12 > 5000) is drawn, rejected and redrawn.
    const opts = { split: 'test', count: 1, minSteps: 2, maxSteps: 3 } as const;
    const r = check(opts, [0, 0, 0, 49, 3, 3, 0], { split: 'test', minSteps: 2, maxSteps: 3 });
    expect(r.cut).toBeGreaterThan(0);
    expect(r.cut).toBeLessThan(1e-9);
    // Without the rejection term the sales would be off by 1/(1 − r), r = 1/5 · 1/11 at 450.
    const sale = [...enumerate(opts, [0, 0, 0, 49, 3, 3, 0]).texts.values()].find((t) => / sells every /.test(t.problem.question))!;
    const mass = 1 / 3 / 16 / 2 / 50 / 5 / 4 / 2; // the pinned draws
    expect(sale.p / mass).toBeCloseTo((1 / 5 / 11) * (1 / (1 - 1 / 55)), 9);
  });

  it('covers 3-step chains: a share from 12 to 2, then two free events (packs in the middle)', () => {
    // 12 (index 10) has divisors 2, 3, 4, 6: the first event pinned to a share (choice 4 of find/give/
    // packs/multiply/share) by 6 (index 3), phrasing 0; from 2 nothing can be given away.
    const r = check({ split: 'train', count: 1, minSteps: 3, maxSteps: 3 }, [5, 7, 0, 10, 4, 3, 0], {
      split: 'train',
      minSteps: 3,
      maxSteps: 3,
    });
    expect(r.texts).toBeGreaterThan(10_000);
    expect(r.total).toBeCloseTo(1 / 12 / 16 / 39 / 5 / 4 / 2, 15); // 5 choices at 12, 4 divisors
  });
});

describe('problemLogProb on bad input', () => {
  it('names the step that the generator could not have written', () => {
    script.state.draws = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    script.state.options = [];
    const p = generateProblems({ split: 'train', count: 1, minSteps: 2, maxSteps: 2 })[0]!;
    const tampered = { ...p, steps: p.steps.map((s, i) => (i === 1 ? { ...s, a: s.a + 1 } : s)) };
    expect(() => problemLogProb(tampered, { split: 'train', minSteps: 2, maxSteps: 2 })).toThrow(TonyError);
    expect(() => problemLogProb(tampered, { split: 'train', minSteps: 2, maxSteps: 2 })).toThrow(/step 2 starts from/);
    expect(() => problemLogProb(p, { split: 'train', minSteps: 3, maxSteps: 3 })).toThrow(/2 calculations outside 3–3/);
  });
});
