// The procedural GSM8K-format problems. Oracles: an independent solver that reads only the question
// text (regular expressions over its sentences, written from the phrasing, not from the generator's
// code) must reach the `#### N` answer; every `<<a op b=r>>` annotation is checked by exact integer
// arithmetic; held-out themes and number ranges are checked on the text itself.
import { describe, expect, it } from 'vitest';
import { evaluateArithmetic } from '../../src/evals/calculator.ts';
import { extractAnswer } from '../../src/evals/gsm8k.ts';
import { generateProblems, themeItems } from '../../src/math/problems.ts';

const PARTS: Record<string, number> = { half: 2, third: 3, quarter: 4, fifth: 5, sixth: 6 };

/** Solve a problem from its question alone: one running quantity, one rule per sentence kind. */
function solveFromQuestion(q: string): number {
  let x = Number.NaN;
  for (const s of q.split(/(?<=[.?])\s+/)) {
    let m: RegExpExecArray | null;
    if ((m = / has (\d+) /.exec(s)) && Number.isNaN(x)) x = Number(m[1]);
    else if ((m = /(\d+) more |another (\d+) /.exec(s))) x += Number(m[1] ?? m[2]);
    else if ((m = /gives (\d+) |^Then (\d+) of the /.exec(s))) x -= Number(m[1] ?? m[2]);
    else if ((m = / (\d+) [a-z ]+? with (\d+) |adds (\d+) [a-z ]+? of (\d+) /.exec(s))) x += Number(m[1] ?? m[3]) * Number(m[2] ?? m[4]);
    else if ((m = /(\d+) times as many/.exec(s))) x *= Number(m[1]);
    else if ((m = /into (\d+) groups/.exec(s))) x /= Number(m[1]);
    else if ((m = /one (half|third|quarter|fifth|sixth) of them/i.exec(s))) x /= PARTS[m[1]!]!;
    else if ((m = /for \$(\d+)\./.exec(s))) x *= Number(m[1]);
    else if (!/^How many/.test(s)) throw new Error(`unparsed sentence: ${s}`);
  }
  return x;
}

describe('procedural GSM8K problems', () => {
  const train = generateProblems({ split: 'train', count: 400, seed: 3 });
  const test = generateProblems({ split: 'test', count: 200, seed: 3 });

  it('answers follow from the question alone (independent solver)', () => {
    for (const p of [...train, ...test]) expect(String(solveFromQuestion(p.question))).toBe(extractAnswer(p.answer));
  });

  it("writes GSM8K's format: one exact <<a op b=r>> per reasoning line, r repeated after it, #### last", () => {
    for (const p of [...train, ...test]) {
      const lines = p.answer.split('\n');
      expect(lines.at(-1)).toMatch(/^#### \d+$/);
      for (const line of lines.slice(0, -1)) {
        const anns = [...line.matchAll(/<<(\d+)([-+*/])(\d+)=(\d+)>>(\d+)/g)];
        expect(anns).toHaveLength(1);
        const [, a, op, b, r, shown] = anns[0]!;
        const [A, B] = [BigInt(a!), BigInt(b!)];
        const exact = op === '+' ? A + B : op === '-' ? A - B : op === '*' ? A * B : A / B;
        if (op === '/') expect(A % B).toBe(0n); // whole answers only
        expect(BigInt(r!)).toBe(exact);
        expect(shown).toBe(r);
        // The repo's calculator agrees with every annotation (forcing would write the same text).
        expect(evaluateArithmetic(`${a}${op}${b}`)).toBe(Number(r));
        expect(Number(r)).toBeGreaterThan(0);
      }
      expect(lines.at(-1)).toBe(`#### ${p.steps.at(-1)!.result}`);
    }
  });

  it('has 2–8 calculations by default and honours the steps knobs', () => {
    const counts = new Set(train.map((p) => p.steps.length));
    expect(Math.min(...counts)).toBe(2);
    expect(Math.max(...counts)).toBe(8);
    for (const p of generateProblems({ split: 'train', count: 100, minSteps: 3, maxSteps: 3 })) expect(p.steps).toHaveLength(3);
    expect(() => generateProblems({ split: 'train', count: 1, minSteps: 1 })).toThrow(/minSteps/);
    expect(() => generateProblems({ split: 'train', count: 1, maxSteps: 9 })).toThrow(/maxSteps/);
  });

  it('keeps test themes and starting quantities out of training', () => {
    const trainText = train.map((p) => p.question + p.answer).join('\n');
    for (const item of themeItems('test')) expect(trainText).not.toContain(item);
    const start = (q: string) => Number(/ has (\d+) /.exec(q)![1]);
    expect(Math.max(...train.map((p) => start(p.question)))).toBeLessThanOrEqual(40);
    expect(Math.min(...test.map((p) => start(p.question)))).toBeGreaterThanOrEqual(41);
    expect(new Set(test.map((p) => p.theme)).size).toBe(3);
  });

  it('draws test problems from the training number range on request, themes still held out', () => {
    const start = (q: string) => Number(/ has (\d+) /.exec(q)![1]);
    const inRange = generateProblems({ split: 'test', count: 300, seed: 3, startRange: 'train' });
    const starts = inRange.map((p) => start(p.question));
    expect(Math.min(...starts)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...starts)).toBeLessThanOrEqual(40);
    expect(new Set(inRange.map((p) => p.theme))).toEqual(new Set(test.map((p) => p.theme)));
    const trainText = train.map((p) => p.question).join('\n');
    for (const p of inRange) expect(trainText).not.toContain(p.question);
  });

  it('is deterministic by seed, and seeds differ', () => {
    expect(generateProblems({ split: 'train', count: 20, seed: 3 })).toEqual(train.slice(0, 20));
    const other = generateProblems({ split: 'train', count: 20, seed: 4 });
    expect(other.filter((p, i) => p.question === train[i]!.question).length).toBeLessThan(2);
  });
});
