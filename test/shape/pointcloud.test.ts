// Point clouds: area-uniform sampling against analytic area fractions, FPS against a numpy
// fixture (test/shape/fixtures/make_fixtures.py) and its covering property, normalisation, and
// nearest-point colour transfer.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { meshField } from '../../src/shape/marching-cubes.ts';
import type { Mesh } from '../../src/shape/mesh.ts';
import {
  colorsFromPoints,
  farthestPointIndices,
  farthestPointSample,
  normalizeToUnitCube,
  sampleSurface,
} from '../../src/shape/pointcloud.ts';
import { compileShape } from '../../src/shape/sdf.ts';

const fx = JSON.parse(readFileSync(new URL('./fixtures/fixtures.json', import.meta.url), 'utf8'));

describe('surface sampling is uniform by area', () => {
  it('two triangles of areas 1 and 3 get 1/4 and 3/4 of the points; barycentric colours', () => {
    const mesh: Mesh = {
      positions: Float32Array.from([0, 0, 0, 1, 0, 0, 0, 2, 0, /* second, area 3: */ 0, 0, 1, 3, 0, 1, 0, 2, 1]),
      indices: Uint32Array.from([0, 1, 2, 3, 4, 5]),
      colors: Float32Array.from([1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1]),
    };
    const n = 40000;
    const c = sampleSurface(mesh, n, { seed: 1 });
    let second = 0;
    for (let i = 0; i < n; i++) {
      const z = c.xyz[3 * i + 2]!;
      if (z === 1) {
        second++;
        // Inside the second triangle: x/3 + y/2 ≤ 1; green weight equals the barycentric of vertex 4 = x/3.
        expect(c.xyz[3 * i]! / 3 + c.xyz[3 * i + 1]! / 2).toBeLessThanOrEqual(1 + 1e-6);
        expect(c.rgb![3 * i + 1]).toBeCloseTo(c.xyz[3 * i]! / 3, 5);
      } else expect([...c.rgb!.subarray(3 * i, 3 * i + 3)]).toEqual([1, 0, 0]);
    }
    // Binomial: sd = sqrt(n·p·(1−p)) ≈ 87; allow 5 sd.
    expect(Math.abs(second - 0.75 * n)).toBeLessThan(5 * Math.sqrt(n * 0.75 * 0.25));
  });

  it('uniform within a triangle: each of its 4 midpoint sub-triangles gets 1/4', () => {
    const mesh: Mesh = { positions: Float32Array.from([0, 0, 0, 1, 0, 0, 0.3, 0.8, 0]), indices: Uint32Array.from([0, 1, 2]) };
    const n = 40000;
    const c = sampleSurface(mesh, n, { seed: 2 });
    // Corner sub-triangle at vertex 0 = points whose barycentric weight of vertex 0 exceeds 1/2.
    // Solve barycentrics: p = w1·b + w2·c with b = (1, 0), c = (0.3, 0.8).
    let corner = 0;
    for (let i = 0; i < n; i++) {
      const y = c.xyz[3 * i + 1]!;
      const w2 = y / 0.8;
      const w1 = c.xyz[3 * i]! - 0.3 * w2;
      if (1 - w1 - w2 > 0.5) corner++;
    }
    expect(Math.abs(corner - n / 4)).toBeLessThan(5 * Math.sqrt(n * 0.25 * 0.75));
  });

  it('on a sphere, the cap z > r/2 holds 1/4 of the points (Archimedes)', () => {
    const r = 0.4;
    const mesh = meshField(
      compileShape({ op: 'primitive', primitive: { kind: 'sphere', radius: r }, at: [0, 0, 0], color: [1, 1, 1] }),
      48,
    );
    const n = 20000;
    const c = sampleSurface(mesh, n, { seed: 3 });
    let cap = 0;
    for (let i = 0; i < n; i++) if (c.xyz[3 * i + 2]! > r / 2) cap++;
    expect(Math.abs(cap - n / 4)).toBeLessThan(5 * Math.sqrt(n * 0.25 * 0.75));
    // Outward normals: n · p > 0.
    for (let i = 0; i < n; i += 97) {
      const d =
        c.normals![3 * i]! * c.xyz[3 * i]! + c.normals![3 * i + 1]! * c.xyz[3 * i + 1]! + c.normals![3 * i + 2]! * c.xyz[3 * i + 2]!;
      expect(d).toBeGreaterThan(0);
    }
  });

  it('is deterministic by seed', () => {
    const mesh: Mesh = { positions: Float32Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0]), indices: Uint32Array.from([0, 1, 2]) };
    expect(sampleSurface(mesh, 10, { seed: 5 }).xyz).toEqual(sampleSurface(mesh, 10, { seed: 5 }).xyz);
    expect(sampleSurface(mesh, 10, { seed: 5 }).xyz).not.toEqual(sampleSurface(mesh, 10, { seed: 6 }).xyz);
  });
});

describe('farthest-point sampling', () => {
  const pts = Float32Array.from(fx.fps.points as number[]);

  it('matches the numpy reference', () => {
    expect([...farthestPointIndices(pts, fx.fps.k, fx.fps.start)]).toEqual(fx.fps.indices);
  });

  it('covers: every point is within the final covering radius ≤ the chosen set’s minimum spacing', () => {
    const idx = farthestPointIndices(pts, 40);
    const d = (i: number, j: number) =>
      Math.hypot(pts[3 * i]! - pts[3 * j]!, pts[3 * i + 1]! - pts[3 * j + 1]!, pts[3 * i + 2]! - pts[3 * j + 2]!);
    let cover = 0;
    for (let i = 0; i < pts.length / 3; i++) cover = Math.max(cover, Math.min(...[...idx].map((j) => d(i, j))));
    let spacing = Infinity;
    for (const a of idx) for (const b of idx) if (a !== b) spacing = Math.min(spacing, d(a, b));
    expect(cover).toBeLessThanOrEqual(spacing + 1e-12);
    expect(new Set(idx).size).toBe(40);
  });

  it('carries colours along', () => {
    const cloud = { xyz: Float32Array.from([0, 0, 0, 1, 0, 0, 0.1, 0, 0]), rgb: Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) };
    const s = farthestPointSample(cloud, 2);
    expect([...s.xyz]).toEqual([0, 0, 0, 1, 0, 0]);
    expect([...s.rgb!]).toEqual([1, 0, 0, 0, 1, 0]);
    expect(() => farthestPointIndices(cloud.xyz, 4)).toThrow(/cannot take 4/);
  });
});

describe('normalisation and colour transfer', () => {
  it('maps the bounding box to the unit cube centred at 0, longest side 1', () => {
    const { cloud, center, scale } = normalizeToUnitCube({ xyz: Float32Array.from([1, 2, 3, 5, 3, 4, 2, 2.5, 3.5]) });
    expect(center).toEqual([3, 2.5, 3.5]);
    expect(scale).toBe(0.25);
    expect([...cloud.xyz]).toEqual([-0.5, -0.125, -0.125, 0.5, 0.125, 0.125, -0.25, 0, 0]);
  });

  it('colours positions from the nearest point (brute-force check)', () => {
    const cloud = sampleSurface(
      {
        positions: Float32Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0]),
        indices: Uint32Array.from([0, 1, 2]),
        colors: Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]),
      },
      500,
      { seed: 9 },
    );
    const queries = Float32Array.from([0.1, 0.1, 0.05, 0.7, 0.2, -0.1, 0.2, 0.6, 0]);
    const got = colorsFromPoints(queries, cloud);
    for (let q = 0; q < 3; q++) {
      let best = 0,
        bestD = Infinity;
      for (let i = 0; i < 500; i++) {
        const d = Math.hypot(
          cloud.xyz[3 * i]! - queries[3 * q]!,
          cloud.xyz[3 * i + 1]! - queries[3 * q + 1]!,
          cloud.xyz[3 * i + 2]! - queries[3 * q + 2]!,
        );
        if (d < bestD) [best, bestD] = [i, d];
      }
      expect([...got.subarray(3 * q, 3 * q + 3)]).toEqual([...cloud.rgb!.subarray(3 * best, 3 * best + 3)]);
    }
  });
});
