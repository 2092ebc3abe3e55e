// pass@k against exact rational arithmetic: 1 − C(n−c, k)/C(n, k) computed with BigInt binomials
// (an independent oracle for the product form the code uses).
import { describe, expect, it } from 'vitest';
import { meanPassAtK, passAtK } from '../../src/evals/passk.ts';

function binom(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let r = 1n;
  for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i);
  return r;
}

/** 1 − C(n−c,k)/C(n,k) to ~1e-15 from exact integers. */
function exact(n: number, c: number, k: number): number {
  const num = binom(n - c, k);
  const den = binom(n, k);
  const SCALE = 10n ** 18n;
  return 1 - Number((num * SCALE) / den) / 1e18;
}

describe('passAtK', () => {
  it('equals the exact binomial form for every (n, c, k) up to n = 30', () => {
    for (let n = 1; n <= 30; n++) {
      for (let c = 0; c <= n; c++) {
        for (let k = 1; k <= n; k++) expect(Math.abs(passAtK(n, c, k) - exact(n, c, k))).toBeLessThan(1e-12);
      }
    }
  });

  it('stays exact at the paper scale (n = 200) and beyond', () => {
    for (const [n, c, k] of [
      [200, 1, 1],
      [200, 1, 100],
      [200, 57, 10],
      [200, 199, 100],
      [1000, 3, 500],
      [1000, 0, 1],
    ] as const) {
      expect(Math.abs(passAtK(n, c, k) - exact(n, c, k))).toBeLessThan(1e-12);
    }
  });

  it('is c/n at k = 1, 1 when n − c < k, 0 when c = 0', () => {
    expect(passAtK(10, 3, 1)).toBeCloseTo(0.3, 15);
    expect(passAtK(10, 8, 3)).toBe(1);
    expect(passAtK(10, 0, 5)).toBe(0);
  });

  it('is larger than the biased 1 − (1 − c/n)^k', () => {
    expect(passAtK(20, 2, 10)).toBeGreaterThan(1 - (1 - 2 / 20) ** 10);
  });

  it('rejects k > n and impossible counts', () => {
    expect(() => passAtK(5, 1, 10)).toThrow(/at least 10 samples/);
    expect(() => passAtK(5, 6, 1)).toThrow(/0 ≤ c ≤ n/);
  });
});

describe('meanPassAtK', () => {
  it('averages over problems and reports only k ≤ every n', () => {
    const m = meanPassAtK(
      [
        { n: 10, c: 1 },
        { n: 5, c: 5 },
      ],
      [1, 5, 10],
    );
    expect(Object.keys(m)).toEqual(['pass@1', 'pass@5']);
    expect(m['pass@1']).toBeCloseTo((0.1 + 1) / 2, 15);
    expect(m['pass@5']).toBeCloseTo((exact(10, 1, 5) + 1) / 2, 12);
  });
});
