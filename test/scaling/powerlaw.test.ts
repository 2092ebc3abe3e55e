import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TonyError } from '../../src/errors.ts';
import { fitPowerLaw, type PowerLawForm, powerLaw } from '../../src/scaling/powerlaw.ts';
import { bootstrapPowerLaw, leaveOneOut, mulberry32 } from '../../src/scaling/resample.ts';

interface RefFit {
  lInf: number;
  x0: number;
  alpha: number;
  sse: number;
  r2: number;
}
interface RefCase {
  name: string;
  x: number[];
  loss: number[];
  irreducible: RefFit;
  pure: RefFit;
  looIrreducible: number[];
  looPure: number[];
}
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/scipy_fits.json', import.meta.url), 'utf8')) as { powerLaws: RefCase[] };

/** Standard normal draws from a seeded uniform RNG (Box–Muller). */
function gaussian(seed: number): () => number {
  const u = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

const geomspace = (a: number, b: number, n: number) => Array.from({ length: n }, (_, i) => a * (b / a) ** (i / (n - 1)));

describe('agreement with scipy.optimize.least_squares (fixtures/make_fixtures.py)', () => {
  for (const c of fixtures.powerLaws) {
    for (const form of ['irreducible', 'pure'] as PowerLawForm[]) {
      it(`${c.name}: ${form}`, () => {
        const ref = c[form];
        const fit = fitPowerLaw(c.x, c.loss, form);
        // Same objective, so the minimum must match closely; the parameters then agree as far as the
        // problem's conditioning allows (x0 is the least determined).
        expect(fit.sse).toBeLessThanOrEqual(ref.sse * (1 + 1e-6) + 1e-14);
        expect(fit.sse).toBeGreaterThanOrEqual(ref.sse * (1 - 1e-6) - 1e-14);
        expect(fit.r2).toBeCloseTo(ref.r2, 6);
        expect(fit.lInf).toBeCloseTo(ref.lInf, 4);
        expect(fit.alpha).toBeCloseTo(ref.alpha, 4);
        expect(Math.log(fit.x0)).toBeCloseTo(Math.log(ref.x0), 2);
      });
    }
    it(`${c.name}: leave-one-out errors`, () => {
      for (const form of ['irreducible', 'pure'] as PowerLawForm[]) {
        const ref = form === 'irreducible' ? c.looIrreducible : c.looPure;
        const loo = leaveOneOut(c.x, c.loss, form);
        loo.logErrors.forEach((e, i) => expect(e, `${form} point ${i}`).toBeCloseTo(ref[i]!, 4));
      }
    });
  }

  it('puts L∞ on its lower bound 0 when the data steepen', () => {
    const c = fixtures.powerLaws.find((p) => p.name.startsWith('steepening'))!;
    expect(fitPowerLaw(c.x, c.loss).lInf).toBeLessThan(1e-6);
  });
});

describe('recovery of known parameters', () => {
  it('is exact on noiseless data', () => {
    const truth = { lInf: 2.5, x0: 3e3, alpha: 0.35 };
    const xs = geomspace(1e4, 1e8, 7);
    const fit = fitPowerLaw(
      xs,
      xs.map((x) => powerLaw(truth, x)),
    );
    expect(fit.lInf).toBeCloseTo(truth.lInf, 6);
    expect(fit.alpha).toBeCloseTo(truth.alpha, 6);
    expect(fit.x0 / truth.x0).toBeCloseTo(1, 4);
    expect(fit.r2).toBeCloseTo(1, 10);
  });

  it('recovers L∞, x0 and α from noisy data, with intervals that cover them', () => {
    const truth = { lInf: 1.9, x0: 2e3, alpha: 0.3 };
    const xs = geomspace(1e4, 1e9, 12);
    const noise = gaussian(7);
    const NOISE_SD = 0.003; // 0.3 % multiplicative noise, like seed-to-seed variation of final losses
    const losses = xs.map((x) => powerLaw(truth, x) * Math.exp(NOISE_SD * noise()));
    const fit = fitPowerLaw(xs, losses);
    expect(Math.abs(fit.lInf - truth.lInf) / truth.lInf).toBeLessThan(0.02);
    expect(Math.abs(fit.alpha - truth.alpha) / truth.alpha).toBeLessThan(0.1);
    expect(fit.r2).toBeGreaterThan(0.99);
    const { intervals } = bootstrapPowerLaw(xs, losses, 'irreducible', { resamples: 200, seed: 3 });
    for (const key of ['lInf', 'x0', 'alpha'] as const) {
      expect(intervals[key].lo, key).toBeLessThanOrEqual(truth[key]);
      expect(intervals[key].hi, key).toBeGreaterThanOrEqual(truth[key]);
      expect(intervals[key].lo, key).toBeLessThanOrEqual(fit[key]);
      expect(intervals[key].hi, key).toBeGreaterThanOrEqual(fit[key]);
    }
    const loo = leaveOneOut(xs, losses, 'irreducible');
    expect(loo.rmsLogError).toBeLessThan(3 * NOISE_SD);
    expect(loo.alphaRange.lo).toBeLessThanOrEqual(fit.alpha);
    expect(loo.alphaRange.hi).toBeGreaterThanOrEqual(fit.alpha);
  });

  it('recovers a pure power law exactly by its log-log line', () => {
    const xs = [1e3, 1e4, 1e5, 1e6];
    const fit = fitPowerLaw(
      xs,
      xs.map((x) => (1e7 / x) ** 0.1),
      'pure',
    );
    expect(fit.alpha).toBeCloseTo(0.1, 12);
    expect(Math.log(fit.x0)).toBeCloseTo(Math.log(1e7), 9);
    expect(fit.lInf).toBe(0);
  });

  it('narrows its intervals when the noise drops', () => {
    const truth = { lInf: 1.5, x0: 1e3, alpha: 0.4 };
    const xs = geomspace(1e4, 1e8, 10);
    const widths = [0.02, 0.002].map((sd) => {
      const noise = gaussian(11);
      const losses = xs.map((x) => powerLaw(truth, x) * Math.exp(sd * noise()));
      const { intervals } = bootstrapPowerLaw(xs, losses, 'irreducible', { resamples: 100 });
      return intervals.alpha.hi - intervals.alpha.lo;
    });
    expect(widths[1]!).toBeLessThan(widths[0]! / 3);
  });
});

describe('degenerate input', () => {
  const expectDataError = (f: () => unknown, pattern: RegExp) => {
    let caught: unknown;
    try {
      f();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TonyError);
    expect((caught as TonyError).kind).toBe('data');
    expect((caught as TonyError).message).toMatch(pattern);
  };

  it('rejects fewer points than parameters', () => {
    expectDataError(() => fitPowerLaw([1e3, 1e4], [3, 2.5]), /2 distinct x value\(s\) but 3 parameters/);
    expectDataError(() => fitPowerLaw([1e3], [3], 'pure'), /1 distinct x value\(s\) but 2 parameters/);
    expectDataError(() => fitPowerLaw([1e3, 1e3, 1e3, 1e4], [3, 3.1, 2.9, 2.5]), /2 distinct/);
  });
  it('rejects x ≤ 0', () => {
    expectDataError(() => fitPowerLaw([0, 1e3, 1e4, 1e5], [4, 3, 2.5, 2.2]), /point 0 has x=0/);
    expectDataError(() => fitPowerLaw([1e2, -1e3, 1e4, 1e5], [4, 3, 2.5, 2.2], 'irreducible', 'params'), /point 1 has params=-1000/);
  });
  it('rejects NaN and infinite values', () => {
    expectDataError(() => fitPowerLaw([1e2, 1e3, 1e4, 1e5], [4, NaN, 2.5, 2.2]), /point 1 .*not finite/);
    expectDataError(() => fitPowerLaw([1e2, Infinity, 1e4, 1e5], [4, 3, 2.5, 2.2]), /point 1 .*not finite/);
  });
  it('rejects all-equal losses and non-positive losses', () => {
    expectDataError(() => fitPowerLaw([1e2, 1e3, 1e4, 1e5], [2, 2, 2, 2]), /all 4 losses equal 2/);
    expectDataError(() => fitPowerLaw([1e2, 1e3, 1e4, 1e5], [2, 1, 0, 0.5]), /loss=0/);
  });
  it('rejects losses that do not fall with x', () => {
    expectDataError(() => fitPowerLaw([1e3, 1e4, 1e5, 1e6], [2, 2.1, 2.2, 2.3]), /loss does not fall with x \(fitted α = 0/);
    expectDataError(() => fitPowerLaw([1e3, 1e4, 1e5], [2, 2.1, 2.2], 'pure'), /loss does not fall with x \(fitted α = -/);
  });
  it('rejects mismatched lengths', () => {
    expectDataError(() => fitPowerLaw([1e2, 1e3, 1e4], [2, 1]), /3 x values but 2 losses/);
  });
  it('says leave-one-out needs one point more than the fit', () => {
    expectDataError(
      () => leaveOneOut([1e2, 1e3, 1e4], [3, 2.5, 2.3], 'irreducible'),
      /leave-one-out: without point 0 \(x=100\), .*2 distinct x value\(s\) but 3 parameters/,
    );
  });
});

describe('L∞ fixed at a known floor', () => {
  // Exact points of L = 0.2 + (1e5/x)^0.4: the two-parameter fit with the right floor recovers x0
  // and α; with a wrong floor it cannot fit them exactly (SSE > 0), which is the test the floor faces.
  const xs = [1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6];
  const ls = xs.map((x) => 0.2 + (1e5 / x) ** 0.4);

  it('recovers x0 and α when the floor is right', () => {
    const f = fitPowerLaw(xs, ls, 'irreducible', 'x', 0.2);
    expect(f.lInf).toBe(0.2);
    expect(f.alpha).toBeCloseTo(0.4, 8);
    expect(f.x0 / 1e5).toBeCloseTo(1, 7);
    expect(f.nParams).toBe(2);
    expect(f.sse).toBeLessThan(1e-15);
  });

  it('fits worse with a wrong floor, and refuses a floor above a loss', () => {
    expect(fitPowerLaw(xs, ls, 'irreducible', 'x', 0).sse).toBeGreaterThan(1e-4);
    expect(() => fitPowerLaw(xs, ls, 'irreducible', 'x', Math.min(...ls) + 0.01)).toThrow(/not in \[0, /);
    expect(() => fitPowerLaw(xs, ls, 'pure', 'x', 0.2)).toThrow(TonyError);
  });
});
