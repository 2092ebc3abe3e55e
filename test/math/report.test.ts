// The verifier report against hand computation: AUC as the Mann–Whitney count worked by hand, the
// bootstrap interval against the binomial's normal approximation, and every method's accuracy at
// every N on problems whose picks are worked out below.
import { describe, expect, it } from 'vitest';
import { auc, bootstrapMean, reportTable, verifierReport } from '../../src/math/report.ts';

describe('auc', () => {
  it('is the share of (right, wrong) pairs ordered correctly, ties counting half', () => {
    // right: 0.9, 0.5; wrong: 0.5, 0.1 → pairs 0.9>0.5, 0.9>0.1, 0.5=0.5 (½), 0.5>0.1 → 3.5 / 4.
    expect(auc([0.9, 0.5, 0.5, 0.1], [true, false, true, false])).toBe(0.875);
    expect(auc([0.1, 0.2, 0.3], [true, false, false])).toBe(0);
    expect(auc([0.1, 0.2], [true, true])).toBeUndefined();
  });
});

describe('bootstrapMean', () => {
  it('gives the mean and an interval matching the binomial standard error', () => {
    // 400 problems, 120 solved: p = 0.3, se = sqrt(0.3·0.7/400) = 0.0229; 95 % ≈ ±1.96 se = ±0.0449.
    const v = Array.from({ length: 400 }, (_, i) => (i % 10 < 3 ? 1 : 0));
    const r = bootstrapMean(v, 4000, 1);
    expect(r.acc).toBeCloseTo(0.3, 12);
    expect(r.lo).toBeGreaterThan(0.3 - 0.0449 - 0.008);
    expect(r.lo).toBeLessThan(0.3 - 0.0449 + 0.008);
    expect(r.hi).toBeGreaterThan(0.3 + 0.0449 - 0.008);
    expect(r.hi).toBeLessThan(0.3 + 0.0449 + 0.008);
    expect(bootstrapMean(v, 500, 7)).toEqual(bootstrapMean(v, 500, 7));
  });
});

describe('verifierReport', () => {
  // Problem A (answer 5): samples #### 4, #### 5, #### 4, #### 5; scores 0.1, 0.9, 0.2, 0.3.
  // Problem B (answer 7): samples #### 7, #### 8, #### 8, (none); scores 0.2, 0.8, 0.1, 0.95.
  const items = [
    { reference: '#### 5', texts: ['#### 4', '#### 5', '#### 4', '#### 5'], scores: { v: [0.1, 0.9, 0.2, 0.3] } },
    { reference: '#### 7', texts: ['#### 7', '#### 8', '#### 8', 'no answer'], scores: { v: [0.2, 0.8, 0.1, 0.95] } },
  ];
  const r = verifierReport(items, { vote: 2, reps: 200 });
  const at = (n: number, m: string) => r.rows.find((x) => x.n === n)!.methods[m]!.acc;

  it('computes each method at each N as worked by hand', () => {
    expect(r.rows.map((x) => x.n)).toEqual([1, 2, 4]);
    // test@1: A's first is 4 (wrong), B's first is 7 (right).
    expect(at(4, 'test@1')).toBe(0.5);
    // N = 2. Majority: A {4, 5} tie → first seen 4, wrong; B {7, 8} → 7, right. Best: A 0.9 → 5 right; B 0.8 → 8 wrong.
    expect(at(2, 'majority')).toBe(0.5);
    expect(at(2, 'v best-of-N')).toBe(0.5);
    expect(at(2, 'v best-of-N − majority')).toBe(0);
    // N = 4. Majority: A 4:2, 5:2 → 4 (first seen), wrong; B 8:2 → wrong. Best: A 5 right; B 'no answer' wrong.
    expect(at(4, 'majority')).toBe(0);
    expect(at(4, 'v best-of-N')).toBe(0.5);
    expect(at(4, 'v best-of-N − majority')).toBe(0.5);
    // Top-2 vote at N = 4: A 0.9 (5), 0.3 (5) → 5 right; B 0.95 (none), 0.8 (8) → 8 wrong.
    expect(at(4, 'v top-2 vote')).toBe(0.5);
    expect(at(4, 'v top-2 vote − majority')).toBe(0.5);
    expect(at(1, 'any right (pass@n)')).toBe(0.5);
    expect(at(2, 'any right (pass@n)')).toBe(1);
  });

  it('reports within-problem AUC, mean accuracy and coverage', () => {
    // A: right {0.9, 0.3}, wrong {0.1, 0.2} → 1. B: right {0.2}, wrong {0.8, 0.1, 0.95} → 1/3.
    expect(r.verifiers.v!.auc.problems).toBe(2);
    expect(r.verifiers.v!.auc.mean).toBeCloseTo((1 + 1 / 3) / 2, 12);
    expect(r.meanAccuracy).toBe(3 / 8);
    expect(r.coverage).toBe(1);
    expect(reportTable(r).split('\n')[2]).toMatch(/^\| 1 \| 50\.0 \[/);
  });
});
