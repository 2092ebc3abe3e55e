// Metrics against numpy/scipy (fixtures/make_fixtures.py: cKDTree Chamfer and F-score, Hungarian
// EMD) and analytic cases; the k-d tree against brute force; mesh area and volume of a cube.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KdTree } from '../../src/shape/kdtree.ts';
import type { Mesh } from '../../src/shape/mesh.ts';
import { chamferDistance, emdApprox, fScore, meshArea, meshVolume } from '../../src/shape/metrics.ts';
import { makeRng } from '../../src/shape/random.ts';

const fx = JSON.parse(readFileSync(new URL('./fixtures/fixtures.json', import.meta.url), 'utf8'));
const f32 = (a: number[]) => Float32Array.from(a);

function randomCloud(n: number, seed: number): Float32Array {
  const rng = makeRng(seed);
  return Float32Array.from({ length: 3 * n }, () => rng() - 0.5);
}

function shifted(xyz: Float32Array, t: [number, number, number]): Float32Array {
  return xyz.map((v, i) => v + t[i % 3]!);
}

describe('k-d tree', () => {
  it('finds the same nearest distance as brute force', () => {
    const pts = randomCloud(3000, 1);
    const tree = new KdTree(pts);
    const rng = makeRng(2);
    for (let q = 0; q < 300; q++) {
      const [x, y, z] = [rng() - 0.5, rng() - 0.5, rng() - 0.5].map((v) => v * 1.4);
      let best = Infinity;
      for (let i = 0; i < 3000; i++)
        best = Math.min(best, (pts[3 * i]! - x!) ** 2 + (pts[3 * i + 1]! - y!) ** 2 + (pts[3 * i + 2]! - z!) ** 2);
      expect(tree.nearest(x!, y!, z!).d2).toBe(best);
    }
  });
});

describe('Chamfer distance and F-score', () => {
  it('match scipy cKDTree on two random clouds', () => {
    const a = f32(fx.chamfer.a);
    const b = f32(fx.chamfer.b);
    const cd = chamferDistance(a, b);
    expect(cd.aToB).toBeCloseTo(fx.chamfer.aToB, 10);
    expect(cd.bToA).toBeCloseTo(fx.chamfer.bToA, 10);
    const fs = fScore(a, b, fx.chamfer.tau);
    expect(fs.precision).toBe(fx.chamfer.precision);
    expect(fs.recall).toBe(fx.chamfer.recall);
    expect(fs.fscore).toBeCloseTo(fx.chamfer.fscore, 12);
  });

  it('is 0 for identical clouds (in any order) and F-score is 1', () => {
    const a = randomCloud(500, 3);
    const reversed = new Float32Array(a.length);
    for (let i = 0; i < 500; i++) reversed.set(a.subarray(3 * i, 3 * i + 3), 3 * (499 - i));
    expect(chamferDistance(a, reversed).chamfer).toBe(0);
    expect(fScore(a, reversed, 1e-6).fscore).toBe(1);
  });

  it('grows as 2|t|² under a small translation, and monotonically with noise', () => {
    // A lattice with spacing 0.1: shifts below half the spacing keep each point's partner.
    const pts: number[] = [];
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) for (let k = 0; k < 8; k++) pts.push(i / 10, j / 10, k / 10);
    const a = Float32Array.from(pts);
    for (const t of [0.005, 0.01, 0.02]) {
      const b = shifted(a, [t, 0, 0]);
      const expected = 2 * Math.fround(t) ** 2; // float32 rounding of the shift is far below the tolerance
      expect(chamferDistance(a, b).chamfer).toBeCloseTo(expected, 8);
    }
    let prev = 0;
    for (const sigma of [0.002, 0.01, 0.03]) {
      const rng = makeRng(4);
      const noisy = a.map((v) => v + sigma * (rng() - 0.5) * Math.sqrt(12));
      const cd = chamferDistance(a, noisy).chamfer;
      expect(cd).toBeGreaterThan(prev);
      prev = cd;
    }
  });

  it('F-score at τ: precision and recall from distances', () => {
    const a = f32([0, 0, 0, 1, 0, 0]);
    const b = f32([0, 0.05, 0, 5, 5, 5, 6, 6, 6]);
    const fs = fScore(a, b, 0.1);
    expect(fs.precision).toBe(0.5);
    expect(fs.recall).toBeCloseTo(1 / 3, 12);
    expect(fs.fscore).toBeCloseTo(0.4, 12);
  });
});

describe('approximate EMD', () => {
  it('is within ε above the exact optimum (scipy linear_sum_assignment)', () => {
    const eps = 1e-3;
    const { emd, assignment } = emdApprox(f32(fx.emd.a), f32(fx.emd.b), { epsilon: eps });
    expect(emd).toBeGreaterThanOrEqual(fx.emd.emd - 1e-9);
    expect(emd).toBeLessThanOrEqual(fx.emd.emd + eps);
    expect(new Set(assignment).size).toBe(96); // a permutation
  });

  it('is 0 for a permuted copy and |t| for a translation', () => {
    const a = randomCloud(128, 5);
    const perm = new Float32Array(a.length);
    for (let i = 0; i < 128; i++) perm.set(a.subarray(3 * i, 3 * i + 3), 3 * ((i * 37) % 128));
    expect(emdApprox(a, perm, { epsilon: 1e-6 }).emd).toBeCloseTo(0, 5);
    const t: [number, number, number] = [0.3, -0.4, 0];
    const e = emdApprox(a, shifted(a, t), { epsilon: 1e-4 }).emd;
    expect(e).toBeGreaterThanOrEqual(0.5 - 1e-6);
    expect(e).toBeLessThanOrEqual(0.5 + 1e-4 + 1e-6);
  });

  it('rejects clouds of different sizes', () => {
    expect(() => emdApprox(randomCloud(3, 1), randomCloud(4, 1))).toThrow(/equal size/);
  });
});

describe('mesh area and volume', () => {
  // Unit cube [0,1]³ offset far from the origin, 12 outward-wound triangles.
  const o = 100;
  const positions = Float32Array.from([0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1].map((v) => v + o));
  const quads = [
    [0, 3, 2, 1],
    [4, 5, 6, 7],
    [0, 1, 5, 4],
    [2, 3, 7, 6],
    [1, 2, 6, 5],
    [0, 4, 7, 3],
  ];
  const cube: Mesh = { positions, indices: Uint32Array.from(quads.flatMap(([a, b, c, d]) => [a!, b!, c!, a!, c!, d!])) };

  it('a unit cube has area 6 and volume 1; reversed winding gives −1', () => {
    expect(meshArea(cube)).toBeCloseTo(6, 10);
    expect(meshVolume(cube)).toBeCloseTo(1, 10);
    const flipped: Mesh = { positions, indices: cube.indices.map((_, i, a) => a[i - (i % 3) + (2 - (i % 3))]!) };
    expect(meshVolume(flipped)).toBeCloseTo(-1, 10);
  });
});
