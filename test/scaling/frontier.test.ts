import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TonyError } from '../../src/errors.ts';
import {
  bootstrapOptimalSize,
  type CurvePoint,
  computeFrontier,
  envelopeFrontier,
  fitOptimalSize,
  leaveOutOptimalSize,
  nearFrontier,
} from '../../src/scaling/frontier.ts';

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/scipy_fits.json', import.meta.url), 'utf8')) as {
  frontier: { points: CurvePoint[]; frontier: number[]; beta: number; coefficient: number };
};

const pt = (run: string, params: number, compute: number, loss: number): CurvePoint => ({ run, params, compute, loss });

describe('computeFrontier on hand-made curves', () => {
  // Three learning curves (sizes 1e4 < 1e5 < 1e6) and one stray expensive point. In log-log space:
  // - a's first two points are the cheapest way to each loss there;
  // - b at 1e13 (2.3) lies above the chord from b@1e12 (2.6) to c@1e14 (2.0), whose log-midpoint is
  //   √(2.6·2.0) ≈ 2.280, so it is not on the hull, and neither is c@1e13 (2.4);
  // - c@1e15 (1.95) is the lowest loss; d@1e16 (2.1) is on the hull but past the lowest loss, so it
  //   is not frontier.
  const points = [
    pt('a', 1e4, 0, 6.2), // step 0: no place on a log axis
    pt('a', 1e4, 1e10, 4.0),
    pt('a', 1e4, 1e11, 3.0),
    pt('a', 1e4, 1e12, 2.8),
    pt('a', 1e4, 1e13, 2.75),
    pt('b', 1e5, 1e11, 3.5),
    pt('b', 1e5, 1e12, 2.6),
    pt('b', 1e5, 1e13, 2.3),
    pt('b', 1e5, 1e14, 2.25),
    pt('c', 1e6, 1e12, 3.2),
    pt('c', 1e6, 1e13, 2.4),
    pt('c', 1e6, 1e14, 2.0),
    pt('c', 1e6, 1e15, 1.95),
    pt('d', 1e7, 1e16, 2.1),
  ];

  it('keeps exactly the lower-hull points up to the lowest loss', () => {
    const f = computeFrontier(points);
    expect(f.map((p) => [p.run, p.compute, p.loss])).toEqual([
      ['a', 1e10, 4.0],
      ['a', 1e11, 3.0],
      ['b', 1e12, 2.6],
      ['c', 1e14, 2.0],
      ['c', 1e15, 1.95],
    ]);
  });

  it('does not depend on the order of the points', () => {
    const shuffled = [...points].reverse();
    expect(computeFrontier(shuffled)).toEqual(computeFrontier(points));
  });

  it('envelope: every point below all cheaper ones, also where the hull skips it', () => {
    // By compute: 1e10 a 4.0 (first); 1e11 a 3.0 (b's 3.5 there is higher); 1e12 b 2.6 (a 2.8 and
    // c 3.2 higher); 1e13 b 2.3 (c 2.4, a 2.75 higher); 1e14 c 2.0 (b 2.25 higher); 1e15 c 1.95;
    // 1e16 d 2.1 is not below 1.95. b@1e13, off the hull, is on the envelope.
    const f = envelopeFrontier([...points].reverse());
    expect(f.map((p) => [p.run, p.compute, p.loss])).toEqual([
      ['a', 1e10, 4.0],
      ['a', 1e11, 3.0],
      ['b', 1e12, 2.6],
      ['b', 1e13, 2.3],
      ['c', 1e14, 2.0],
      ['c', 1e15, 1.95],
    ]);
  });

  it('keeps the lower of two points at the same compute', () => {
    const f = computeFrontier([pt('x', 1, 10, 3), pt('y', 2, 10, 2.5), pt('y', 2, 100, 2)]);
    expect(f.map((p) => p.loss)).toEqual([2.5, 2]);
  });

  it('drops collinear middle points (a straight power law has only its ends as hull vertices)', () => {
    const f = computeFrontier([1e10, 1e11, 1e12].map((c) => pt('a', 1, c, (1e9 / c) ** 0.1 * 3)));
    expect(f.map((p) => p.compute)).toEqual([1e10, 1e12]);
  });

  it('fits N_opt(C) through the frontier sizes', () => {
    // Frontier above: sizes 1e4,1e4,1e5,1e6,1e6 at compute 1e10,1e11,1e12,1e14,1e15 (log10: 10,11,12,14,15).
    // Least squares of log10 N (4,4,5,6,6) on log10 C (mean 12.4): Sxx = 17.2, Sxy = 2.4+1.4+0+1.6+2.6 = 8.
    const o = fitOptimalSize(computeFrontier(points));
    expect(o.beta).toBeCloseTo(8 / 17.2, 12);
  });

  it('rejects non-finite or non-positive losses', () => {
    expect(() => computeFrontier([pt('a', 1, 1e3, NaN)])).toThrow(TonyError);
    expect(() => computeFrontier([pt('a', 1, 1e3, 0)])).toThrow(/loss=0/);
  });

  it('says when one model makes the whole frontier', () => {
    const f = computeFrontier([pt('a', 1e4, 1e10, 4), pt('a', 1e4, 1e11, 3), pt('b', 1e5, 1e11, 3.5)]);
    expect(() => fitOptimalSize(f)).toThrow(/at least 2 model sizes.*from 1 size/);
  });
});

describe('frontier against scipy.spatial.ConvexHull and numpy.polyfit (fixtures/make_fixtures.py)', () => {
  const { points, frontier, beta, coefficient } = fixtures.frontier;

  it('selects the same points as Qhull', () => {
    const f = computeFrontier(points);
    expect(f.map((p) => points.indexOf(p))).toEqual(frontier);
  });

  it('gives the same β and coefficient as polyfit, and an interval around β', () => {
    const f = computeFrontier(points);
    const o = fitOptimalSize(f);
    expect(o.beta).toBeCloseTo(beta, 10);
    expect(o.coefficient / coefficient).toBeCloseTo(1, 8);
    const iv = bootstrapOptimalSize(f, { resamples: 300 });
    expect(iv.beta.lo).toBeLessThan(beta);
    expect(iv.beta.hi).toBeGreaterThan(beta);
    expect(iv.coefficient.lo).toBeLessThan(coefficient);
    expect(iv.coefficient.hi).toBeGreaterThan(coefficient);
  });
});

describe('leave-out check of β', () => {
  it('refits β without each point and each size (hand-computed slopes)', () => {
    // log10 C = 2, 4, 6, 8 and log10 N = 1, 2, 3, 6: the first three lie on N = C^0.5 exactly.
    const pts = [
      { run: 'a', params: 1e1, compute: 1e2, loss: 4 },
      { run: 'b', params: 1e2, compute: 1e4, loss: 3 },
      { run: 'c', params: 1e3, compute: 1e6, loss: 2 },
      { run: 'd', params: 1e6, compute: 1e8, loss: 1 },
    ];
    // All four: Σdu·dw / Σdu² = 16 / 20.
    expect(fitOptimalSize(pts).beta).toBeCloseTo(0.8, 12);
    const lo = leaveOutOptimalSize(pts);
    // Without a: 8/8; without b: 132/168; without c: 16·9/168; without d: the exact line, 0.5.
    const expected = [1, 132 / 168, (16 * 9) / 168, 0.5];
    lo.withoutPoint.forEach((b, i) => expect(b).toBeCloseTo(expected[i]!, 12));
    expect(Object.keys(lo.withoutSize)).toEqual(['a', 'b', 'c', 'd']);
    Object.values(lo.withoutSize).forEach((b, i) => expect(b).toBeCloseTo(expected[i]!, 12));
    expect(lo.range.lo).toBeCloseTo(0.5, 12);
    expect(lo.range.hi).toBeCloseTo(1, 12);
  });

  it('leaves a size out entirely, and says when one size remains', () => {
    const pts = [
      { run: 'a', params: 10, compute: 1e2, loss: 4 },
      { run: 'a', params: 10, compute: 1e3, loss: 3.5 },
      { run: 'b', params: 100, compute: 1e4, loss: 3 },
    ];
    const lo = leaveOutOptimalSize(pts);
    expect(lo.withoutSize).toEqual({ a: undefined, b: undefined }); // one size left: no β
    expect(lo.withoutPoint[2]).toBeUndefined();
    // Without the first point: sizes 10 at C=1e3 and 100 at C=1e4 → slope 1.
    expect(lo.withoutPoint[0]).toBeCloseTo(1, 12);
  });
});

describe('nearFrontier', () => {
  it('keeps curve points within the tolerance of the log-log hull (hand-computed interpolation)', () => {
    const hull = [pt('a', 10, 1e2, 4), pt('b', 100, 1e4, 2)];
    // Halfway in log C, the hull's log loss is the mean of log 4 and log 2: loss √8.
    const on = pt('c', 30, 1e3, Math.sqrt(8));
    const justAbove = pt('c', 30, 1e3 * 1.0001, Math.sqrt(8) * 1.005);
    const tooHigh = pt('d', 50, 1e3, Math.sqrt(8) * 1.02);
    const beyond = pt('e', 500, 1e5, 1);
    const kept = nearFrontier([...hull, on, justAbove, tooHigh, beyond], hull, 0.01);
    expect(kept).toEqual([...hull, on, justAbove]);
    expect(nearFrontier([tooHigh], hull, 0.03)).toEqual([tooHigh]);
    expect(() => nearFrontier(hull, hull, -1)).toThrow(TonyError);
  });
});
