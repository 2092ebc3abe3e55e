// Marching cubes against analytic truth: areas and volumes of a sphere and a torus at 128³,
// watertightness (every edge in exactly two faces, wound oppositely) on closed surfaces including
// random fields that exercise every ambiguous case, exact planes, and vertex colours.
import { describe, expect, it } from 'vitest';
import { caseTable, type Grid, marchingCubes, meshField, sampleGrid } from '../../src/shape/marching-cubes.ts';
import { edgeReport, isWatertight, meshArea, meshVolume } from '../../src/shape/mesh.ts';
import { makeRng } from '../../src/shape/random.ts';
import { compileShape } from '../../src/shape/sdf.ts';

const LO: [number, number, number] = [-0.5, -0.5, -0.5];
const HI: [number, number, number] = [0.5, 0.5, 0.5];

describe('marching cubes at 128³ recovers analytic area and volume', () => {
  it('sphere r = 0.37 (off-grid centre): area 4πr², volume 4/3πr³ within 1 %, watertight', () => {
    const r = 0.37;
    const f = compileShape({ op: 'primitive', primitive: { kind: 'sphere', radius: r }, at: [0.013, -0.007, 0.021], color: [1, 0, 0] });
    const mesh = marchingCubes(sampleGrid(f, LO, HI, 128));
    expect(Math.abs(meshArea(mesh) / (4 * Math.PI * r * r) - 1)).toBeLessThan(0.01);
    expect(Math.abs(meshVolume(mesh) / ((4 / 3) * Math.PI * r ** 3) - 1)).toBeLessThan(0.01);
    expect(edgeReport(mesh)).toMatchObject({ boundary: 0, nonManifold: 0, misoriented: 0 });
  });

  it('torus R = 0.3, r = 0.12 lying on its side: area 4π²Rr, volume 2π²Rr² within 1 %, watertight', () => {
    const [R, r] = [0.3, 0.12];
    const f = compileShape({
      op: 'primitive',
      primitive: { kind: 'torus', major: R, minor: r, axis: 'z' },
      at: [0.01, 0.02, -0.015],
      color: [0, 1, 0],
    });
    const mesh = marchingCubes(sampleGrid(f, LO, HI, 128));
    expect(Math.abs(meshArea(mesh) / (4 * Math.PI ** 2 * R * r) - 1)).toBeLessThan(0.01);
    expect(Math.abs(meshVolume(mesh) / (2 * Math.PI ** 2 * R * r * r) - 1)).toBeLessThan(0.01);
    expect(isWatertight(mesh)).toBe(true);
  });
});

describe('marching cubes topology', () => {
  it('is watertight and consistently oriented on random fields (every case, every ambiguity)', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 12; seed++) {
      const rng = makeRng(seed);
      const n = 14;
      // Random signs inside, positive on the border so the surface is closed; some exact zeros.
      const grid = sampleGrid(
        { sdf: (x, y, z) => (Math.max(Math.abs(x), Math.abs(y), Math.abs(z)) > 0.45 ? 1 : rng() < 0.1 ? 0 : rng() - 0.5) },
        LO,
        HI,
        n,
      );
      const v = grid.values;
      const [nx, ny] = grid.dims;
      for (let k = 0; k < n; k++)
        for (let j = 0; j < n; j++)
          for (let i = 0; i < n; i++) {
            let c = 0;
            for (let b = 0; b < 8; b++) if (v[i + (b & 1) + nx * (j + ((b >> 1) & 1) + ny * (k + (b >> 2)))]! < 0) c |= 1 << b;
            seen.add(c);
          }
      expect(edgeReport(marchingCubes(grid))).toMatchObject({ boundary: 0, nonManifold: 0, misoriented: 0 });
    }
    expect(seen.size).toBeGreaterThan(250); // nearly all 256 corner cases occurred
  });

  it('the derived case table: no triangles for empty/full cubes, one for a lone corner, complements alike', () => {
    const t = caseTable();
    const tris = (c: number) => (t.offset[c + 1]! - t.offset[c]!) / 3;
    expect(tris(0)).toBe(0);
    expect(tris(255)).toBe(0);
    for (let corner = 0; corner < 8; corner++) expect(tris(1 << corner)).toBe(1);
    expect(tris(0b00001111)).toBe(2); // a plane through the cube: one quad
  });

  it('reproduces a plane exactly (linear interpolation of a linear field)', () => {
    const grid = sampleGrid({ sdf: (_x, y) => y - 0.123 }, LO, HI, 10);
    const mesh = marchingCubes(grid);
    for (let i = 1; i < mesh.positions.length; i += 3) expect(mesh.positions[i]).toBeCloseTo(0.123, 6);
    expect(meshArea(mesh)).toBeCloseTo(1, 5);
  });

  it('handles non-cubic grids and an iso level', () => {
    const grid: Grid = sampleGrid({ sdf: (x, y, z) => Math.hypot(x, y, z) }, [-0.5, -0.4, -0.3], [0.5, 0.4, 0.3], [20, 16, 12]);
    const mesh = marchingCubes(grid, { iso: 0.25 });
    expect(isWatertight(mesh)).toBe(true);
    expect(meshVolume(mesh) / ((4 / 3) * Math.PI * 0.25 ** 3)).toBeGreaterThan(0.95);
  });

  it('colours vertices from the colour field', () => {
    const f = compileShape({
      op: 'union',
      parts: [
        { op: 'primitive', primitive: { kind: 'sphere', radius: 0.2 }, at: [-0.2, 0, 0], color: [1, 0, 0] },
        { op: 'primitive', primitive: { kind: 'box', half: [0.15, 0.15, 0.15] }, at: [0.25, 0, 0], color: [0, 0, 1] },
      ],
    });
    const mesh = meshField(f, 32);
    expect(isWatertight(mesh)).toBe(true);
    for (let i = 0; i < mesh.positions.length; i += 3) {
      const blue = mesh.positions[i]! > 0.05; // the box's side of the gap
      expect([...mesh.colors!.subarray(i, i + 3)]).toEqual(blue ? [0, 0, 1] : [1, 0, 0]);
    }
  });

  it('rejects malformed grids', () => {
    expect(() => marchingCubes({ values: new Float32Array(7), dims: [2, 2, 2], origin: [0, 0, 0], spacing: [1, 1, 1] })).toThrow(
      /grid values length/,
    );
    expect(() => sampleGrid({ sdf: () => 0 }, LO, HI, 0)).toThrow(/positive integer/);
  });
});
