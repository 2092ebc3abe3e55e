/**
 * Signed distance functions (SDFs) with colour fields, as plain JSON-serialisable trees.
 *
 * A shape is a `ShapeNode`: a coloured primitive placed at a point, a union of parts, a difference
 * (a part with another carved out) or a uniform scale + offset. `compileShape` turns a tree into
 * two closures: `sdf(x, y, z)` (negative inside, positive outside, in world units) and
 * `color(x, y, z, out)` (sRGB in [0, 1]).
 *
 * Exactness: every primitive's distance is exact (Inigo Quilez's closed forms, re-derived here),
 * translation, axis permutation and uniform scaling keep it exact, and `min` over parts whose
 * interiors do not overlap is exact too (the procedural scenes only touch, never overlap). A
 * difference `max(a, -b)` is exact inside the result (the ball of radius −a around an inside point
 * lies in A and the ball of radius b lies outside B, so the nearer of ∂A, ∂B is reached on ∂D) but
 * only a lower bound outside it; sign, zero set and |∇| ≤ 1 hold everywhere, which is all marching
 * cubes and sphere tracing need. `isExact` says whether a tree is exact everywhere.
 */
import { shapeError } from '../errors.ts';

export type Vec3 = [number, number, number];
/** Which world axis a primitive's own "up" (its axis of symmetry) points along. */
export type Axis = 'x' | 'y' | 'z';

/** Primitives; sizes are half-extents and radii in world units, centred on the origin. */
export type Primitive =
  | { kind: 'sphere'; radius: number }
  | { kind: 'box'; half: Vec3 }
  | { kind: 'roundbox'; half: Vec3; radius: number } // box with edges rounded by `radius`
  | { kind: 'torus'; major: number; minor: number; axis: Axis } // ring around `axis`
  | { kind: 'cylinder'; radius: number; halfHeight: number; axis: Axis }
  | { kind: 'cone'; radius: number; halfHeight: number; axis: Axis } // apex at +axis
  | { kind: 'capsule'; radius: number; halfHeight: number; axis: Axis } // segment ± halfHeight
  | { kind: 'octahedron'; radius: number }; // |x| + |y| + |z| = radius

export type ShapeNode =
  | { op: 'primitive'; primitive: Primitive; at: Vec3; color: Vec3 }
  | { op: 'union'; parts: ShapeNode[] }
  | { op: 'difference'; base: ShapeNode; cut: ShapeNode } // cut surfaces take the base's colour
  | { op: 'transform'; scale: number; offset: Vec3; child: ShapeNode }; // p ↦ scale·p + offset

/** A compiled shape: distance and colour at a point. */
export interface Field {
  sdf(x: number, y: number, z: number): number;
  /** Writes the sRGB colour of the nearest surface part into out[0..2]. */
  color(x: number, y: number, z: number, out: Float64Array | number[]): void;
}

// ---------------------------------------------------------------------------------------------
// Primitive distances, each in the primitive's frame with its axis along y.

// Math.hypot is exact but several times slower than sqrt in V8; these run per grid sample and per
// ray step, and the arguments here are far from overflow.
const len2 = (a: number, b: number) => Math.sqrt(a * a + b * b);
const len3 = (a: number, b: number, c: number) => Math.sqrt(a * a + b * b + c * c);

function sdBox(x: number, y: number, z: number, hx: number, hy: number, hz: number): number {
  const qx = Math.abs(x) - hx;
  const qy = Math.abs(y) - hy;
  const qz = Math.abs(z) - hz;
  const outside = len3(Math.max(qx, 0), Math.max(qy, 0), Math.max(qz, 0));
  return outside + Math.min(Math.max(qx, qy, qz), 0);
}

/** Capped cylinder in the (radial ρ, height y) half-plane: radius r, half-height h. */
function sdCylinder(rho: number, y: number, r: number, h: number): number {
  const dx = rho - r;
  const dy = Math.abs(y) - h;
  return Math.min(Math.max(dx, dy), 0) + len2(Math.max(dx, 0), Math.max(dy, 0));
}

/**
 * Cone with base radius r at y = -h and apex at y = +h. In the (ρ, y) half-plane the cross-section
 * is a triangle; the distance is the smaller of the distances to the base segment and to the
 * slanted side segment, negative when inside both the base slab and the slanted side.
 */
function sdCone(rho: number, y: number, r: number, h: number): number {
  // Base segment: from (0, -h) to (r, -h).
  const baseX = rho - Math.min(rho, r);
  const baseY = y + h;
  // Side segment: from apex (0, h) to rim (r, -h); project (ρ, y) onto it.
  const ex = r;
  const ey = -2 * h;
  const t = Math.min(Math.max((rho * ex + (y - h) * ey) / (ex * ex + ey * ey), 0), 1);
  const sideX = rho - t * ex;
  const sideY = y - h - t * ey;
  // Inside: above the base and on the axis side of the slanted edge.
  const inside = y > -h && rho * 2 * h + (y - h) * r < 0;
  const d = Math.sqrt(Math.min(baseX * baseX + baseY * baseY, sideX * sideX + sideY * sideY));
  return inside ? -d : d;
}

function sdOctahedron(x: number, y: number, z: number, s: number): number {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const az = Math.abs(z);
  const m = ax + ay + az - s;
  // Reorder so that q0 is the coordinate of the face region the point projects into.
  let q0: number, q1: number, q2: number;
  if (3 * ax < m) [q0, q1, q2] = [ax, ay, az];
  else if (3 * ay < m) [q0, q1, q2] = [ay, az, ax];
  else if (3 * az < m) [q0, q1, q2] = [az, ax, ay];
  else return m * INV_SQRT3; // the nearest feature is the face itself
  const k = Math.min(Math.max(0.5 * (q2 - q1 + s), 0), s);
  return len3(q0, q1 - s + k, q2 - k);
}
const INV_SQRT3 = 1 / Math.sqrt(3);

/**
 * A solid of revolution's distance `d2(ρ, h)` seen in world space: ρ is the distance from the
 * symmetry axis, h the coordinate along it (an exact permutation of coordinates).
 */
function revolve(axis: Axis, d2: (rho: number, h: number) => number): (x: number, y: number, z: number) => number {
  if (axis === 'x') return (x, y, z) => d2(len2(y, z), x);
  if (axis === 'y') return (x, y, z) => d2(len2(x, z), y);
  return (x, y, z) => d2(len2(x, y), z);
}

/** The exact distance function of a primitive centred at the origin, specialised to its kind. */
export function primitiveSdf(p: Primitive): (x: number, y: number, z: number) => number {
  switch (p.kind) {
    case 'sphere': {
      const r = p.radius;
      return (x, y, z) => len3(x, y, z) - r;
    }
    case 'box': {
      const [hx, hy, hz] = p.half;
      return (x, y, z) => sdBox(x, y, z, hx, hy, hz);
    }
    case 'roundbox': {
      // A box shrunk by r, dilated by r: the Minkowski sum with a ball is exact.
      const r = p.radius;
      const [hx, hy, hz] = p.half.map((h) => h - r) as Vec3;
      return (x, y, z) => sdBox(x, y, z, hx, hy, hz) - r;
    }
    case 'torus': {
      const { major, minor } = p;
      return revolve(p.axis, (rho, h) => len2(rho - major, h) - minor);
    }
    case 'cylinder': {
      const { radius, halfHeight } = p;
      return revolve(p.axis, (rho, h) => sdCylinder(rho, h, radius, halfHeight));
    }
    case 'cone': {
      const { radius, halfHeight } = p;
      return revolve(p.axis, (rho, h) => sdCone(rho, h, radius, halfHeight));
    }
    case 'capsule': {
      const { radius, halfHeight } = p;
      return revolve(p.axis, (rho, h) => len2(rho, h - Math.min(Math.max(h, -halfHeight), halfHeight)) - radius);
    }
    case 'octahedron': {
      const r = p.radius;
      return (x, y, z) => sdOctahedron(x, y, z, r);
    }
  }
}

/** Exact distance from a point (in the primitive's own frame, centred) to a primitive. */
export function primitiveDistance(p: Primitive, x: number, y: number, z: number): number {
  return primitiveSdf(p)(x, y, z);
}

/** Axis-aligned half-extents of a primitive around its centre. */
export function primitiveHalfExtents(p: Primitive): Vec3 {
  const along = (axis: Axis, radial: number, axial: number): Vec3 =>
    axis === 'x' ? [axial, radial, radial] : axis === 'y' ? [radial, axial, radial] : [radial, radial, axial];
  switch (p.kind) {
    case 'sphere':
    case 'octahedron':
      return [p.radius, p.radius, p.radius];
    case 'box':
    case 'roundbox':
      return [...p.half];
    case 'torus':
      return along(p.axis, p.major + p.minor, p.minor);
    case 'cylinder':
    case 'cone':
      return along(p.axis, p.radius, p.halfHeight);
    case 'capsule':
      return along(p.axis, p.radius, p.halfHeight + p.radius);
  }
}

/** Axis-aligned bounding box of a shape tree, as [min, max]. */
export function shapeBounds(node: ShapeNode): [Vec3, Vec3] {
  switch (node.op) {
    case 'primitive': {
      const h = primitiveHalfExtents(node.primitive);
      const a = node.at;
      return [
        [a[0] - h[0], a[1] - h[1], a[2] - h[2]],
        [a[0] + h[0], a[1] + h[1], a[2] + h[2]],
      ];
    }
    case 'union': {
      const lo: Vec3 = [Infinity, Infinity, Infinity];
      const hi: Vec3 = [-Infinity, -Infinity, -Infinity];
      for (const part of node.parts) {
        const [a, b] = shapeBounds(part);
        for (let i = 0; i < 3; i++) {
          lo[i] = Math.min(lo[i]!, a[i]!);
          hi[i] = Math.max(hi[i]!, b[i]!);
        }
      }
      return [lo, hi];
    }
    case 'difference':
      return shapeBounds(node.base);
    case 'transform': {
      const [a, b] = shapeBounds(node.child);
      const s = node.scale;
      const o = node.offset;
      return [
        [a[0] * s + o[0], a[1] * s + o[1], a[2] * s + o[2]],
        [b[0] * s + o[0], b[1] * s + o[1], b[2] * s + o[2]],
      ];
    }
  }
}

/** True when `compileShape(node).sdf` is the exact distance everywhere (no difference node in the tree). */
export function isExact(node: ShapeNode): boolean {
  if (node.op === 'difference') return false;
  if (node.op === 'union') return node.parts.every(isExact);
  if (node.op === 'transform') return isExact(node.child);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Compilation to closures (a tree walk per evaluation would allocate; closures do not).

/**
 * Compile a shape tree into its distance and colour fields.
 *
 *   const f = compileShape({ op: 'primitive', primitive: { kind: 'sphere', radius: 0.4 }, at: [0, 0, 0], color: [1, 0, 0] });
 *   f.sdf(1, 0, 0); // 0.6
 */
export function compileShape(node: ShapeNode): Field {
  switch (node.op) {
    case 'primitive': {
      const prim = node.primitive;
      validatePrimitive(prim);
      const [ax, ay, az] = node.at;
      const [r, g, b] = node.color;
      const d = primitiveSdf(prim);
      return {
        sdf: (x, y, z) => d(x - ax, y - ay, z - az),
        color: (_x, _y, _z, out) => {
          out[0] = r;
          out[1] = g;
          out[2] = b;
        },
      };
    }
    case 'union': {
      if (node.parts.length === 0) throw shapeError('a union needs at least one part', 'give `parts` one or more shapes');
      const parts = node.parts.map(compileShape);
      const nearest = (x: number, y: number, z: number): number => {
        let best = 0;
        let bestD = Infinity;
        for (let i = 0; i < parts.length; i++) {
          const d = parts[i]!.sdf(x, y, z);
          if (d < bestD) [best, bestD] = [i, d];
        }
        return best;
      };
      return {
        sdf: (x, y, z) => {
          let d = Infinity;
          for (const p of parts) d = Math.min(d, p.sdf(x, y, z));
          return d;
        },
        color: (x, y, z, out) => parts[nearest(x, y, z)]!.color(x, y, z, out),
      };
    }
    case 'difference': {
      const base = compileShape(node.base);
      const cut = compileShape(node.cut);
      return {
        sdf: (x, y, z) => Math.max(base.sdf(x, y, z), -cut.sdf(x, y, z)),
        color: base.color,
      };
    }
    case 'transform': {
      const s = node.scale;
      if (!(s > 0)) throw shapeError(`transform scale must be > 0, got ${s}`);
      const [ox, oy, oz] = node.offset;
      const child = compileShape(node.child);
      return {
        sdf: (x, y, z) => s * child.sdf((x - ox) / s, (y - oy) / s, (z - oz) / s),
        color: (x, y, z, out) => child.color((x - ox) / s, (y - oy) / s, (z - oz) / s, out),
      };
    }
  }
}

function validatePrimitive(p: Primitive): void {
  const sizes: Array<[string, number]> = [];
  for (const [k, v] of Object.entries(p)) {
    if (typeof v === 'number') sizes.push([k, v]);
    else if (Array.isArray(v)) v.forEach((x: number, i) => sizes.push([`${k}[${i}]`, x]));
  }
  for (const [k, v] of sizes) {
    if (!(v > 0) || !Number.isFinite(v)) throw shapeError(`${p.kind} ${k} must be a positive number, got ${v}`);
  }
  if (p.kind === 'roundbox' && p.radius > Math.min(...p.half)) {
    throw shapeError(`roundbox radius ${p.radius} exceeds its smallest half-extent ${Math.min(...p.half)}`);
  }
  if (p.kind === 'torus' && p.minor >= p.major) {
    throw shapeError(
      `torus minor radius ${p.minor} must be below its major radius ${p.major}`,
      'a torus with minor ≥ major self-intersects',
    );
  }
}
