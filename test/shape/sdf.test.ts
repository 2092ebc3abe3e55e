// Primitive SDFs against an independent oracle: dense parametric samples of each surface (so the
// true distance lies within DELTA below the nearest-sample distance) and an analytic inside test.
import { describe, expect, it } from 'vitest';
import { makeRng } from '../../src/shape/random.ts';
import { compileShape, isExact, type Primitive, primitiveDistance, type ShapeNode, shapeBounds } from '../../src/shape/sdf.ts';

const DELTA = 0.006; // maximum gap between neighbouring surface samples
type P3 = [number, number, number];

/** Points on a grid over [a0,a1]×[b0,b1] with steps so that the image points are ≤ DELTA apart. */
function grid2(la: number, lb: number, f: (s: number, t: number) => P3 | null, out: P3[]): void {
  const na = Math.max(1, Math.ceil(la / DELTA));
  const nb = Math.max(1, Math.ceil(lb / DELTA));
  for (let i = 0; i <= na; i++)
    for (let j = 0; j <= nb; j++) {
      const p = f(i / na, j / nb);
      if (p) out.push(p);
    }
}

/** Surface of revolution around y from a profile curve (ρ(s), y(s)) of length `len`. */
function revolve(len: number, maxRho: number, prof: (s: number) => [number, number], out: P3[]): void {
  grid2(
    len,
    2 * Math.PI * maxRho,
    (s, t) => {
      const [rho, y] = prof(s);
      return [rho * Math.cos(2 * Math.PI * t), y, rho * Math.sin(2 * Math.PI * t)];
    },
    out,
  );
}

function surfaceSamples(p: Primitive): P3[] {
  const out: P3[] = [];
  switch (p.kind) {
    case 'sphere':
      revolve(Math.PI * p.radius, p.radius, (s) => [p.radius * Math.sin(Math.PI * s), -p.radius * Math.cos(Math.PI * s)], out);
      break;
    case 'box': {
      const [hx, hy, hz] = p.half;
      for (const sgn of [-1, 1]) {
        grid2(2 * hy, 2 * hz, (s, t) => [sgn * hx, -hy + 2 * hy * s, -hz + 2 * hz * t], out);
        grid2(2 * hx, 2 * hz, (s, t) => [-hx + 2 * hx * s, sgn * hy, -hz + 2 * hz * t], out);
        grid2(2 * hx, 2 * hy, (s, t) => [-hx + 2 * hx * s, -hy + 2 * hy * t, sgn * hz], out);
      }
      break;
    }
    case 'torus':
      revolve(
        2 * Math.PI * p.minor,
        p.major + p.minor,
        (s) => [p.major + p.minor * Math.cos(2 * Math.PI * s), p.minor * Math.sin(2 * Math.PI * s)],
        out,
      );
      break;
    case 'cylinder':
      revolve(2 * p.halfHeight, p.radius, (s) => [p.radius, -p.halfHeight + 2 * p.halfHeight * s], out);
      for (const y of [-p.halfHeight, p.halfHeight]) revolve(p.radius, p.radius, (s) => [p.radius * s, y], out);
      break;
    case 'cone': {
      const slant = Math.hypot(p.radius, 2 * p.halfHeight);
      revolve(slant, p.radius, (s) => [p.radius * s, p.halfHeight - 2 * p.halfHeight * s], out);
      revolve(p.radius, p.radius, (s) => [p.radius * s, -p.halfHeight], out);
      break;
    }
    case 'capsule':
      revolve(2 * p.halfHeight, p.radius, (s) => [p.radius, -p.halfHeight + 2 * p.halfHeight * s], out);
      for (const sgn of [-1, 1]) {
        revolve(
          (Math.PI / 2) * p.radius,
          p.radius,
          (s) => [p.radius * Math.cos((Math.PI / 2) * s), sgn * (p.halfHeight + p.radius * Math.sin((Math.PI / 2) * s))],
          out,
        );
      }
      break;
    case 'octahedron': {
      const s = p.radius;
      const edge = s * Math.SQRT2;
      for (const sx of [-1, 1])
        for (const sy of [-1, 1])
          for (const sz of [-1, 1]) {
            // Face with vertices s·e_x, s·e_y, s·e_z (signed): barycentric grid.
            grid2(edge, edge, (u, v) => (u + v > 1 ? null : [sx * s * u, sy * s * v, sz * s * (1 - u - v)]), out);
          }
      break;
    }
    default:
      throw new Error(`no oracle for ${p.kind}`);
  }
  return out;
}

function insideAnalytic(p: Primitive, x: number, y: number, z: number): boolean {
  const rho = Math.hypot(x, z);
  switch (p.kind) {
    case 'sphere':
      return Math.hypot(x, y, z) < p.radius;
    case 'box':
      return Math.abs(x) < p.half[0] && Math.abs(y) < p.half[1] && Math.abs(z) < p.half[2];
    case 'torus':
      return (rho - p.major) ** 2 + y * y < p.minor ** 2;
    case 'cylinder':
      return rho < p.radius && Math.abs(y) < p.halfHeight;
    case 'cone':
      return y > -p.halfHeight && rho < (p.radius * (p.halfHeight - y)) / (2 * p.halfHeight);
    case 'capsule':
      return Math.hypot(x, y - Math.max(-p.halfHeight, Math.min(p.halfHeight, y)), z) < p.radius;
    case 'octahedron':
      return Math.abs(x) + Math.abs(y) + Math.abs(z) < p.radius;
    default:
      throw new Error(p.kind);
  }
}

const PRIMS: Primitive[] = [
  { kind: 'sphere', radius: 0.4 },
  { kind: 'box', half: [0.3, 0.2, 0.4] },
  { kind: 'torus', major: 0.3, minor: 0.1, axis: 'y' },
  { kind: 'cylinder', radius: 0.25, halfHeight: 0.35, axis: 'y' },
  { kind: 'cone', radius: 0.3, halfHeight: 0.35, axis: 'y' },
  { kind: 'capsule', radius: 0.2, halfHeight: 0.2, axis: 'y' },
  { kind: 'octahedron', radius: 0.45 },
];

describe('primitive SDFs are exact', () => {
  for (const prim of PRIMS) {
    it(`${prim.kind}: |sdf| = distance to the surface, sign = inside`, () => {
      const samples = surfaceSamples(prim);
      const rng = makeRng(7);
      for (let q = 0; q < 60; q++) {
        const [x, y, z] = [rng() - 0.5, rng() - 0.5, rng() - 0.5].map((v) => v * 1.3);
        let best = Infinity;
        for (const s of samples) best = Math.min(best, Math.hypot(x! - s[0], y! - s[1], z! - s[2]));
        const d = primitiveDistance(prim, x!, y!, z!);
        expect(Math.abs(d)).toBeLessThanOrEqual(best + 1e-9);
        expect(Math.abs(d)).toBeGreaterThanOrEqual(best - DELTA);
        expect(d < 0).toBe(insideAnalytic(prim, x!, y!, z!));
      }
    });
  }

  it('rounded box = inner box dilated by its radius', () => {
    const half: P3 = [0.3, 0.25, 0.2];
    const r = 0.08;
    const inner: Primitive = { kind: 'box', half: [half[0] - r, half[1] - r, half[2] - r] };
    const rng = makeRng(3);
    for (let q = 0; q < 200; q++) {
      const [x, y, z] = [rng() - 0.5, rng() - 0.5, rng() - 0.5];
      expect(primitiveDistance({ kind: 'roundbox', half, radius: r }, x!, y!, z!)).toBeCloseTo(
        primitiveDistance(inner, x!, y!, z!) - r,
        12,
      );
    }
  });

  it('axis x and z are the y shape with coordinates permuted', () => {
    const base = { kind: 'cone', radius: 0.3, halfHeight: 0.35 } as const;
    expect(primitiveDistance({ ...base, axis: 'x' }, 0.35, 0.1, 0.05)).toBeCloseTo(
      primitiveDistance({ ...base, axis: 'y' }, 0.1, 0.35, 0.05),
      12,
    );
    expect(primitiveDistance({ ...base, axis: 'z' }, 0.1, 0.05, 0.35)).toBeCloseTo(
      primitiveDistance({ ...base, axis: 'y' }, 0.1, 0.35, 0.05),
      12,
    );
  });
});

describe('shape trees', () => {
  const sphere = (r: number, at: P3, color: P3): ShapeNode => ({ op: 'primitive', primitive: { kind: 'sphere', radius: r }, at, color });

  it('a union of touching parts is exact and coloured by the nearest part', () => {
    const node: ShapeNode = { op: 'union', parts: [sphere(0.2, [-0.2, 0, 0], [1, 0, 0]), sphere(0.2, [0.2, 0, 0], [0, 0, 1])] };
    const f = compileShape(node);
    expect(isExact(node)).toBe(true);
    // Inside the left ball, 0.05 from its centre toward the contact point: distance to the union's boundary is 0.15.
    expect(f.sdf(-0.15, 0, 0)).toBeCloseTo(-0.15, 12);
    const c = [0, 0, 0];
    f.color(0.3, 0.1, 0, c);
    expect(c).toEqual([0, 0, 1]);
  });

  it('transform scales distances exactly and moves bounds', () => {
    const node: ShapeNode = { op: 'transform', scale: 0.5, offset: [0.1, 0, 0], child: sphere(0.4, [0, 0, 0], [1, 1, 1]) };
    const f = compileShape(node);
    expect(f.sdf(0.1 + 0.5, 0, 0)).toBeCloseTo(0.3, 12);
    expect(shapeBounds(node)).toEqual([
      [0.1 - 0.2, -0.2, -0.2],
      [0.1 + 0.2, 0.2, 0.2],
    ]);
  });

  it('a difference has the exact sign and zero set, bounded distance, and the base colour', () => {
    const node: ShapeNode = { op: 'difference', base: sphere(0.4, [0, 0, 0], [1, 0, 0]), cut: sphere(0.2, [0.4, 0, 0], [0, 1, 0]) };
    const f = compileShape(node);
    expect(isExact(node)).toBe(false);
    expect(f.sdf(0.3, 0, 0)).toBeGreaterThan(0); // carved away
    expect(f.sdf(0.2, 0, 0)).toBeCloseTo(0, 12); // on the carved surface
    expect(f.sdf(-0.3, 0, 0)).toBeLessThan(0);
    const c = [0, 0, 0];
    f.color(0.2, 0, 0, c);
    expect(c).toEqual([1, 0, 0]);
  });

  it('a difference is exact inside (ball argument), only a lower bound outside', () => {
    // A box with a cylindrical hole along z: ∂D = box faces outside the drill + drill wall inside the box.
    const box: Primitive = { kind: 'box', half: [0.3, 0.3, 0.2] };
    const drill: Primitive = { kind: 'cylinder', radius: 0.12, halfHeight: 0.2, axis: 'z' };
    const node: ShapeNode = {
      op: 'difference',
      base: { op: 'primitive', primitive: box, at: [0, 0, 0], color: [1, 1, 1] },
      cut: { op: 'primitive', primitive: { ...drill, halfHeight: 1 }, at: [0, 0, 0], color: [1, 1, 1] },
    };
    const f = compileShape(node);
    const boundary = [
      ...surfaceSamples(box).filter(([x, y]) => Math.hypot(x, y) >= 0.12),
      ...surfaceSamples({ ...drill, axis: 'y' })
        .map(([x, y, z]) => [x, z, y] as P3)
        .filter(([x, y]) => Math.hypot(x, y) > 0.12 - 1e-9),
    ];
    const rng = makeRng(5);
    let inside = 0;
    for (let q = 0; q < 400 && inside < 40; q++) {
      const [x, y, z] = [rng() - 0.5, rng() - 0.5, rng() - 0.5].map((v) => v * 0.8);
      let best = Infinity;
      for (const s of boundary) best = Math.min(best, Math.hypot(x! - s[0], y! - s[1], z! - s[2]));
      const d = f.sdf(x!, y!, z!);
      if (d < 0) {
        inside++;
        expect(-d).toBeLessThanOrEqual(best + 1e-9);
        expect(-d).toBeGreaterThanOrEqual(best - DELTA);
      } else expect(d).toBeLessThanOrEqual(best + 1e-9);
    }
    expect(inside).toBe(40);
  });

  it('rejects bad sizes with a shape error', () => {
    expect(() => compileShape(sphere(-1, [0, 0, 0], [1, 1, 1]))).toThrow(/radius must be a positive number/);
    expect(() =>
      compileShape({ op: 'primitive', primitive: { kind: 'torus', major: 0.1, minor: 0.2, axis: 'y' }, at: [0, 0, 0], color: [1, 1, 1] }),
    ).toThrow(/minor radius/);
  });
});
