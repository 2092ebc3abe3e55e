/**
 * Random ops and dropout. ONNX Runtime's generator bits cannot be reproduced, so its lowering is
 * tested statistically (mean, variance, range/shape of the distribution, with tolerances of
 * Z standard errors for the sample size) and for the determinism src/engine/ops/random.ts
 * documents: equal seeds in fresh sessions agree, runs of one session continue the stream,
 * different seeds differ. All seeds are fixed, so these tests are deterministic, not flaky.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';
import { TonyError } from '../../src/errors.ts';

/** Standard errors allowed: a 5σ miss has probability ~6e-7. */
const Z = 5;
const N = 20_000;

const values = (h: T.HostTensor) => Array.from(T.toNumbers(h));
const meanOf = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const varOf = (v: readonly number[]) => {
  const m = meanOf(v);
  return v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1);
};

/** Uniform on [lo, hi): range, mean, variance and a 10-bin histogram within Z standard errors. */
function expectUniform(v: readonly number[], lo: number, hi: number, what: string) {
  const n = v.length;
  const w = hi - lo;
  expect(Math.min(...v), `${what}: min`).toBeGreaterThanOrEqual(lo);
  expect(Math.max(...v), `${what}: max`).toBeLessThanOrEqual(hi);
  // σ² = w²/12; the sample variance's variance is (μ4 − σ⁴)/n with μ4 = w⁴/80
  expect(Math.abs(meanOf(v) - (lo + hi) / 2), `${what}: mean`).toBeLessThan((Z * w) / Math.sqrt(12 * n));
  expect(Math.abs(varOf(v) - w ** 2 / 12), `${what}: variance`).toBeLessThan(Z * w ** 2 * Math.sqrt((1 / 80 - 1 / 144) / n));
  const bins = new Array<number>(10).fill(0);
  for (const x of v) bins[Math.min(9, Math.floor(((x - lo) / w) * 10))]!++;
  for (const c of bins) expect(Math.abs(c - n / 10), `${what}: histogram`).toBeLessThan(Z * Math.sqrt(n * 0.1 * 0.9));
}

/** Normal N(mu, sd²): mean, variance, and the mass within 1σ and 2σ, within Z standard errors. */
function expectNormal(v: readonly number[], mu: number, sd: number, what: string) {
  const n = v.length;
  expect(Math.abs(meanOf(v) - mu), `${what}: mean`).toBeLessThan((Z * sd) / Math.sqrt(n));
  expect(Math.abs(varOf(v) - sd ** 2), `${what}: variance`).toBeLessThan(Z * sd ** 2 * Math.sqrt(2 / n));
  for (const [k, p] of [
    [1, 0.682689],
    [2, 0.9545],
  ] as const) {
    const frac = v.filter((x) => Math.abs(x - mu) < k * sd).length / n;
    expect(Math.abs(frac - p), `${what}: mass within ${k}σ`).toBeLessThan(Z * Math.sqrt((p * (1 - p)) / n));
  }
}

/** Run a graph without inputs `runs` times in one session. */
async function draws(rt: T.Runtime, y: T.Tensor, opts: { float64?: boolean; runs?: number } = {}): Promise<number[][]> {
  const s = await rt.load(T.exportOnnx([], { y }, { float64: opts.float64 }));
  const out: number[][] = [];
  for (let i = 0; i < (opts.runs ?? 1); i++) out.push(values((await rt.run(s, {})).y!));
  return out;
}

const fresh = () => T.Runtime.start({ device: 'cpu', threads: 1 });

describe('randomUniform / randomNormal on ONNX Runtime', () => {
  let rt: T.Runtime;
  beforeAll(async () => {
    rt = await fresh();
  });
  afterAll(() => rt.close());

  it('uniform: range, mean, variance and histogram (float32, float64 dtype, float64 checking mode)', async () => {
    const u = T.randomUniform([100, N / 100], { low: -2, high: 3, seed: 11 });
    expect(u.shape).toEqual([100, N / 100]);
    expectUniform((await draws(rt, u))[0]!, -2, 3, 'float32');
    expectUniform((await draws(rt, u, { float64: true }))[0]!, -2, 3, 'checking mode');
    expectUniform((await draws(rt, T.randomUniform([N], { seed: 12, dtype: 'float64' })))[0]!, 0, 1, 'float64 dtype');
  });

  it('normal: mean, variance, 1σ and 2σ mass (float32, float64 checking mode)', async () => {
    const z = T.randomNormal([N], { mean: 1.5, std: 0.5, seed: 21 });
    expectNormal((await draws(rt, z))[0]!, 1.5, 0.5, 'float32');
    expectNormal((await draws(rt, z, { float64: true }))[0]!, 1.5, 0.5, 'checking mode');
  });

  it('same seed in a fresh session: the same first draw; later runs continue the stream reproducibly', async () => {
    const y = T.add(T.randomUniform([64], { seed: 5 }), T.randomNormal([64], { seed: 6 }));
    const other = await fresh();
    try {
      const [a1, a2] = await draws(rt, y, { runs: 2 });
      const [b1, b2] = await draws(other, y, { runs: 2 });
      expect(b1).toEqual(a1);
      expect(b2).toEqual(a2);
      expect(a2).not.toEqual(a1); // the stream continues across runs of one session
    } finally {
      await other.close();
    }
  });

  it('different seeds differ (including 0 and 1, which ORT itself would conflate)', async () => {
    const seeds = [0, 1, 2, 3, 1000, 2 ** 24 - 2];
    const first = await Promise.all(seeds.map(async (seed) => (await draws(rt, T.randomUniform([32], { seed })))[0]!));
    for (let i = 0; i < seeds.length; i++) {
      for (let j = i + 1; j < seeds.length; j++) expect(first[i], `seeds ${seeds[i]} and ${seeds[j]}`).not.toEqual(first[j]);
      // ORT's generator starts small seeds with a draw ≈ seed·8e-6; the scrambled seeds do not
      if (seeds[i]! <= 1000) expect(first[i]![0], `first draw of seed ${seeds[i]}`).toBeGreaterThan(1e-3);
    }
    // and the scrambling is injective over a sample of the seed range
    const sample = Array.from({ length: 5000 }, (_, i) => (i * 3371) % (2 ** 24 - 1));
    expect(new Set(sample.map(T.ortSeed)).size).toBe(new Set(sample).size);
  });

  it('two nodes with the same seed draw the same values; different seeds in one graph differ', async () => {
    const a = T.randomNormal([16], { seed: 9 });
    const b = T.randomNormal([16], { seed: 9 });
    const c = T.randomNormal([16], { seed: 10 });
    const [[same], [diff]] = [await draws(rt, T.sub(a, b)), await draws(rt, T.sub(a, c))];
    expect(same!.every((v) => v === 0)).toBe(true);
    expect(diff!.some((v) => v !== 0)).toBe(true);
  });
});

describe('random reference implementation', () => {
  it('is a seeded PRNG with the right distributions', () => {
    const [u, u2, u3] = T.interpret(
      [
        T.randomUniform([N], { low: 1, high: 4, seed: 3 }),
        T.randomUniform([N], { low: 1, high: 4, seed: 3 }),
        T.randomUniform([N], { low: 1, high: 4, seed: 4 }),
      ],
      {},
    );
    expectUniform(values(u!), 1, 4, 'reference uniform');
    expect(values(u2!)).toEqual(values(u!));
    expect(values(u3!)).not.toEqual(values(u!));
    expectNormal(values(T.interpret([T.randomNormal([N], { mean: -1, std: 2, seed: 3 })], {})[0]!), -1, 2, 'reference normal');
  });

  it('rejects bad seeds and parameters with a shape error naming the value', () => {
    const bad = (f: () => unknown, re: RegExp) => {
      expect(f).toThrow(TonyError);
      expect(f).toThrow(re);
    };
    bad(() => T.randomUniform([2], { seed: 1.5 }), /seed must be an integer in \[0, 16777215\), got 1.5/);
    bad(() => T.randomUniform([2], { seed: 2 ** 24 }), /seed must be an integer/);
    bad(() => T.randomUniform([2], { seed: 1, low: 1, high: 1 }), /need finite low < high/);
    bad(() => T.randomNormal([2], { seed: 1, std: 0 }), /std > 0/);
    bad(() => T.randomNormal([2], { seed: 1, dtype: 'int64' }), /dtype must be float32 or float64/);
  });
});

describe('dropout', () => {
  let rt: T.Runtime;
  beforeAll(async () => {
    rt = await fresh();
  });
  afterAll(() => rt.close());

  it('is the identity at p = 0 and rejects p outside [0, 1)', () => {
    const x = T.input('x', [3]);
    expect(T.dropout(x, 0, 1)).toBe(x);
    expect(() => T.dropout(x, 1, 1)).toThrow(/p must be in \[0, 1\), got 1/);
    expect(() => T.dropout(x, -0.1, 1)).toThrow(TonyError);
  });

  for (const float64 of [false, true]) {
    it(`on ORT${float64 ? ' (float64 checking mode)' : ''}: scales survivors by 1/(1 − p), keeps 1 − p, and the gradient uses the same mask`, async () => {
      const p = 0.3;
      const shape = [50, 200];
      const x = T.input('x', shape);
      const w = T.input('w', shape);
      const y = T.dropout(x, p, 17);
      const [gx] = T.grad(T.sumAll(T.mul(y, w)), [x]);
      const s = await rt.load(T.exportOnnx([x, w], { y, gx: gx! }, { float64 }));
      const n = shape[0]! * shape[1]!;
      const dtype = float64 ? 'float64' : 'float32';
      // x and w bounded away from 0 so a dropped element is recognisable
      const xs = Array.from({ length: n }, (_, i) => 1 + (i % 7));
      const ws = Array.from({ length: n }, (_, i) => 2 + (i % 5));
      const feeds = { x: T.hostTensor(dtype, shape, xs), w: T.hostTensor(dtype, shape, ws) };
      const masks: boolean[][] = [];
      for (let run = 0; run < 2; run++) {
        const res = await rt.run(s, feeds);
        const yv = values(res.y!);
        const gv = values(res.gx!);
        const kept = yv.map((v) => v !== 0);
        const tol = float64 ? 1e-12 : 1e-6;
        // float32 constants are rounded at trace time, in checking mode too
        const scale = Math.fround(1 / (1 - p));
        yv.forEach((v, i) => {
          const want = kept[i] ? xs[i]! * scale : 0;
          expect(Math.abs(v - want), `y[${i}]`).toBeLessThan(tol * (1 + Math.abs(want)));
          // dy/dx = 1/(1 − p) exactly where the forward kept the element
          const g = kept[i] ? ws[i]! * scale : 0;
          expect(Math.abs(gv[i]! - g), `gx[${i}]`).toBeLessThan(tol * (1 + Math.abs(g)));
        });
        const frac = kept.filter(Boolean).length / n;
        expect(Math.abs(frac - (1 - p)), 'kept fraction').toBeLessThan(Z * Math.sqrt((p * (1 - p)) / n));
        masks.push(kept);
      }
      expect(masks[1]).not.toEqual(masks[0]); // a new mask every step
    });
  }

  it('VJP vs central finite differences on the reference interpreter (its mask is deterministic)', () => {
    const shape = [4, 6];
    const x = T.input('x', shape, 'float64');
    const wv = Array.from({ length: 24 }, (_, i) => Math.sin(i + 1));
    const loss = T.sumAll(T.mul(T.dropout(x, 0.4, 3), T.constant(T.hostTensor('float64', shape, wv))));
    const [gx] = T.grad(loss, [x]);
    const xv = Array.from({ length: 24 }, (_, i) => Math.cos(3 * i));
    const at = (v: number[]) => T.toNumbers(T.interpret([loss], { x: T.hostTensor('float64', shape, v) })[0]!)[0]!;
    const g = values(T.interpret([gx!], { x: T.hostTensor('float64', shape, xv) })[0]!);
    const h = 1e-6;
    const fd = xv.map((_, i) => (at(xv.map((v, j) => (j === i ? v + h : v))) - at(xv.map((v, j) => (j === i ? v - h : v)))) / (2 * h));
    g.forEach((gi, i) => expect(Math.abs(gi - fd[i]!), `d/dx[${i}]`).toBeLessThan(1e-7));
    expect(g.filter((v) => v === 0).length, 'some elements dropped').toBeGreaterThan(0);
    expect(g.filter((v) => v !== 0).length, 'some elements kept').toBeGreaterThan(0);
  });
});
