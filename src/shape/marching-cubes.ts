/**
 * Marching cubes (Lorensen & Cline 1987) on a regular grid of scalar samples, with a case table
 * that is *derived* here rather than typed in, so that its crack-freedom is a property of the rule
 * instead of a property of 256 hand-checked rows.
 *
 * The rule: a corner is inside when its value is below the iso level. On every cube face, the
 * surface crosses the face along segments joining the face's sign-changing edges; on an ambiguous
 * face (two inside corners on a diagonal) the inside corners are always cut off separately. The
 * choice depends only on the face's four corners, so the two cubes that share a face draw the same
 * segments there: no cracks. Each sign-changing edge lies on exactly two faces, so the segments of
 * one cube close into loops; each loop becomes a triangle fan wound so that its normal points from
 * inside to outside. Vertices live on grid edges and are shared between the cubes around an edge,
 * which makes the mesh on a closed surface watertight by construction (every edge in two faces,
 * wound oppositely) — the tests check exactly that.
 *
 * Extraction walks the grid one z-slab at a time and keeps the edge → vertex caches for two planes
 * only, so memory is O(nx·ny) beyond the samples and the output.
 */
import { shapeError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import type { Mesh } from './mesh.ts';
import type { Field, Vec3 } from './sdf.ts';

// ---------------------------------------------------------------------------------------------
// Cube topology. Corner c has coordinates (c & 1, c >> 1 & 1, c >> 2 & 1). Edge e = 4·axis + k
// joins the corner whose `axis` bit is 0 to the one where it is 1; k enumerates the other two bits
// (lower axis bit first).

const EDGE_CORNERS: Array<[number, number]> = [];
for (let axis = 0; axis < 3; axis++) {
  const others = [0, 1, 2].filter((a) => a !== axis);
  for (let k = 0; k < 4; k++) {
    const c0 = ((k & 1) << others[0]!) | (((k >> 1) & 1) << others[1]!);
    EDGE_CORNERS.push([c0, c0 | (1 << axis)]);
  }
}

function edgeBetween(c0: number, c1: number): number {
  const e = EDGE_CORNERS.findIndex(([a, b]) => (a === c0 && b === c1) || (a === c1 && b === c0));
  if (e < 0) throw new Error(`corners ${c0} and ${c1} share no edge`);
  return e;
}

/** The six faces, each as its four corners in cyclic order. */
const FACES: number[][] = [];
for (let axis = 0; axis < 3; axis++) {
  const [u, v] = [(axis + 1) % 3, (axis + 2) % 3];
  for (const side of [0, 1]) {
    const base = side << axis;
    FACES.push([base, base | (1 << u), base | (1 << u) | (1 << v), base | (1 << v)]);
  }
}

/** Faces (indices into FACES) that an edge lies on. */
const EDGE_FACES: number[][] = EDGE_CORNERS.map(([a, b]) => FACES.flatMap((f, i) => (f.includes(a) && f.includes(b) ? [i] : [])));

/**
 * Where to start a loop's triangle fan so that no fan diagonal joins two edges of one cube face:
 * such a diagonal could coincide with a segment or diagonal of the neighbouring cube and make the
 * edge non-manifold. Returns -1 when no start works.
 */
function fanStart(loop: number[]): number {
  const shareFace = (a: number, b: number) => EDGE_FACES[a]!.some((f) => EDGE_FACES[b]!.includes(f));
  for (let s = 0; s < loop.length; s++) {
    let ok = true;
    for (let i = 2; i < loop.length - 1 && ok; i++) ok = !shareFace(loop[s]!, loop[(s + i) % loop.length]!);
    if (ok) return s;
  }
  return -1;
}

/**
 * Triangles for every corner-sign case, as local edge ids, three per triangle. Built once at load
 * (a few hundred microseconds). `TRI_OFFSET[c]..TRI_OFFSET[c+1]` indexes `TRI_EDGES`.
 */
function buildTable(): { offset: Int32Array; edges: Int8Array; crossing: Int32Array } {
  const offset = new Int32Array(257);
  const all: number[] = [];
  const crossing = new Int32Array(256); // bitmask of sign-changing edges per case
  for (let c = 0; c < 256; c++) {
    offset[c] = all.length;
    const inside = (corner: number) => ((c >> corner) & 1) === 1;
    // Segments on faces: adjacency between crossing edges.
    const link = new Map<number, number[]>();
    const connect = (a: number, b: number) => {
      link.set(a, [...(link.get(a) ?? []), b]);
      link.set(b, [...(link.get(b) ?? []), a]);
    };
    for (const face of FACES) {
      const e = [0, 1, 2, 3].map((i) => edgeBetween(face[i]!, face[(i + 1) % 4]!)); // e[i]: corner i → i+1
      const s = face.map(inside);
      const crossingIdx = [0, 1, 2, 3].filter((i) => s[i] !== s[(i + 1) % 4]);
      if (crossingIdx.length === 2) connect(e[crossingIdx[0]!]!, e[crossingIdx[1]!]!);
      else if (crossingIdx.length === 4) {
        // Ambiguous face: cut off each inside corner on its own. Corner i touches edges i-1 and i.
        for (let i = 0; i < 4; i++) if (s[i]) connect(e[(i + 3) % 4]!, e[i]!);
      }
    }
    for (const e of link.keys()) crossing[c]! |= 1 << e;
    // Walk the loops.
    const seen = new Set<number>();
    for (const start of link.keys()) {
      if (seen.has(start)) continue;
      const loop = [start];
      seen.add(start);
      let prev = -1;
      let cur = start;
      for (;;) {
        const nb = link.get(cur)!;
        const next = nb[0] !== prev ? nb[0]! : nb[1]!;
        if (next === start) break;
        loop.push(next);
        seen.add(next);
        [prev, cur] = [cur, next];
      }
      // Orient: the loop's normal (Newell, at edge midpoints) must point from inside to outside,
      // i.e. along the sum of the crossing edges' inside → outside directions.
      const mid = (e: number): Vec3 => {
        const [a, b] = EDGE_CORNERS[e]!;
        return [0, 1, 2].map((k) => (((a >> k) & 1) + ((b >> k) & 1)) / 2) as Vec3;
      };
      const n: Vec3 = [0, 0, 0];
      const out: Vec3 = [0, 0, 0];
      for (let i = 0; i < loop.length; i++) {
        const p = mid(loop[i]!);
        const q = mid(loop[(i + 1) % loop.length]!);
        n[0] += (p[1] - q[1]) * (p[2] + q[2]);
        n[1] += (p[2] - q[2]) * (p[0] + q[0]);
        n[2] += (p[0] - q[0]) * (p[1] + q[1]);
        const low = EDGE_CORNERS[loop[i]!]![0];
        const axis = Math.floor(loop[i]! / 4);
        out[axis]! += inside(low) ? 1 : -1; // outside lies toward +axis when the low corner is inside
      }
      const dot = n[0] * out[0] + n[1] * out[1] + n[2] * out[2];
      if (Math.abs(dot) < 1e-9) throw new Error(`marching cubes table: case ${c} has an unorientable loop`);
      if (dot < 0) loop.reverse();
      const first = fanStart(loop);
      if (first < 0) throw new Error(`marching cubes table: case ${c} has no manifold fan`);
      const l = [...loop.slice(first), ...loop.slice(0, first)];
      for (let i = 1; i + 1 < l.length; i++) all.push(l[0]!, l[i]!, l[i + 1]!);
    }
  }
  offset[256] = all.length;
  return { offset, edges: Int8Array.from(all), crossing };
}

const TABLE = buildTable();

/** Triangles per case (exported for the benchmark's numpy peer, which runs the same table). */
export function caseTable(): { offset: number[]; edges: number[]; edgeCorners: Array<[number, number]> } {
  return { offset: [...TABLE.offset], edges: [...TABLE.edges], edgeCorners: EDGE_CORNERS.map(([a, b]) => [a, b]) };
}

// ---------------------------------------------------------------------------------------------
// Grids.

/** Scalar samples on a regular grid: values[i + nx·(j + ny·k)] at origin + (i, j, k)·spacing. */
export interface Grid {
  values: Float32Array;
  dims: [number, number, number];
  origin: Vec3;
  spacing: Vec3;
}

/**
 * Sample a field's SDF on a grid of `res` cells per axis (res + 1 samples) spanning [lo, hi].
 *
 *   const grid = sampleGrid(compileShape(node), [-0.5, -0.5, -0.5], [0.5, 0.5, 0.5], 128);
 */
export function sampleGrid(
  field: Pick<Field, 'sdf'>,
  lo: Vec3,
  hi: Vec3,
  res: number | [number, number, number],
  onProgress?: (p: Progress) => void,
): Grid {
  const r = typeof res === 'number' ? [res, res, res] : res;
  if (!r.every((n) => Number.isInteger(n) && n >= 1)) {
    throw shapeError(`grid resolution must be a positive integer per axis, got ${JSON.stringify(res)}`);
  }
  const dims: [number, number, number] = [r[0]! + 1, r[1]! + 1, r[2]! + 1];
  const spacing: Vec3 = [0, 1, 2].map((k) => (hi[k]! - lo[k]!) / r[k]!) as Vec3;
  if (!spacing.every((s) => s > 0)) throw shapeError(`grid bounds must have hi > lo, got ${JSON.stringify([lo, hi])}`);
  const [nx, ny, nz] = dims;
  const values = new Float32Array(nx * ny * nz);
  let idx = 0;
  for (let k = 0; k < nz; k++) {
    const z = lo[2] + k * spacing[2];
    for (let j = 0; j < ny; j++) {
      const y = lo[1] + j * spacing[1];
      for (let i = 0; i < nx; i++) values[idx++] = field.sdf(lo[0] + i * spacing[0], y, z);
    }
    onProgress?.({ done: k + 1, total: nz });
  }
  return { values, dims, origin: [...lo], spacing };
}

// ---------------------------------------------------------------------------------------------
// Extraction.

/** A growable float/uint buffer (extraction does not know the output size in advance). */
class Grow<T extends Float32Array | Uint32Array> {
  data: T;
  length = 0;
  constructor(
    private readonly make: (n: number) => T,
    cap: number,
  ) {
    this.data = make(cap);
  }
  reserve(n: number): void {
    if (this.length + n <= this.data.length) return;
    const next = this.make(Math.max(2 * this.data.length, this.length + n));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
  result(): T {
    return this.data.slice(0, this.length) as T;
  }
}

export interface MarchingCubesOptions {
  /** Iso level; a sample is inside when below it (default 0, the SDF surface). */
  iso?: number;
  /** Vertex colours from a colour field evaluated at each vertex. */
  color?: Field['color'];
  onProgress?: (p: Progress) => void;
}

/**
 * Extract the iso-surface of a grid as a triangle mesh wound counter-clockwise seen from outside
 * (where values exceed `iso`). For an SDF sampled on a grid whose border lies outside the shape,
 * the result is closed and watertight.
 *
 *   const mesh = marchingCubes(sampleGrid(field, lo, hi, 128), { color: field.color });
 */
export function marchingCubes(grid: Grid, opts: MarchingCubesOptions = {}): Mesh {
  const iso = opts.iso ?? 0;
  const [nx, ny, nz] = grid.dims;
  const v = grid.values;
  if (v.length !== nx * ny * nz) throw shapeError(`grid values length ${v.length} != ${nx}·${ny}·${nz}`);
  if (nx < 2 || ny < 2 || nz < 2) throw shapeError(`grid needs at least 2 samples per axis, got ${grid.dims.join('×')}`);
  const [ox, oy, oz] = grid.origin;
  const [sx, sy, sz] = grid.spacing;
  const plane = nx * ny;

  const pos = new Grow((n) => new Float32Array(n), 3 * 4096);
  const tri = new Grow((n) => new Uint32Array(n), 3 * 8192);
  // Vertex caches, −1 = none yet: x- and y-edges on the slab's bottom and top planes, z-edges
  // between them.
  let xBot = new Int32Array(plane).fill(-1);
  let xTop = new Int32Array(plane).fill(-1);
  let yBot = new Int32Array(plane).fill(-1);
  let yTop = new Int32Array(plane).fill(-1);
  const zMid = new Int32Array(plane);
  const cellEdge = new Int32Array(12); // this cell's local edge → vertex id
  const { offset, edges, crossing } = TABLE;

  const addVertex = (a: number, b: number, ia: number, ja: number, ka: number, axis: number): number => {
    const va = v[a]!;
    const t = (iso - va) / (v[b]! - va);
    pos.reserve(3);
    const d = pos.data;
    const n = pos.length;
    d[n] = ox + (ia + (axis === 0 ? t : 0)) * sx;
    d[n + 1] = oy + (ja + (axis === 1 ? t : 0)) * sy;
    d[n + 2] = oz + (ka + (axis === 2 ? t : 0)) * sz;
    pos.length += 3;
    return n / 3;
  };

  for (let k = 0; k < nz - 1; k++) {
    zMid.fill(-1);
    const base0 = k * plane;
    for (let j = 0; j < ny - 1; j++) {
      for (let i = 0; i < nx - 1; i++) {
        const p = base0 + j * nx + i; // sample index of corner 0
        // Corner c at p + (c&1) + nx·(c>>1&1) + plane·(c>>2).
        let c = 0;
        if (v[p]! < iso) c |= 1;
        if (v[p + 1]! < iso) c |= 2;
        if (v[p + nx]! < iso) c |= 4;
        if (v[p + nx + 1]! < iso) c |= 8;
        if (v[p + plane]! < iso) c |= 16;
        if (v[p + plane + 1]! < iso) c |= 32;
        if (v[p + plane + nx]! < iso) c |= 64;
        if (v[p + plane + nx + 1]! < iso) c |= 128;
        if (c === 0 || c === 255) continue;
        const mask = crossing[c]!;
        const q = j * nx + i; // in-plane index of corner 0
        for (let e = 0; e < 12; e++) {
          if (((mask >> e) & 1) === 0) continue;
          const axis = e >> 2;
          const kk = e & 3;
          // The two "other" bits of edge e, lower axis first (see EDGE_CORNERS).
          const b0 = kk & 1;
          const b1 = (kk >> 1) & 1;
          let cache: Int32Array;
          let slot: number;
          let di = 0,
            dj = 0,
            dk = 0;
          if (axis === 0) {
            // others: y (b0), z (b1)
            cache = b1 ? xTop : xBot;
            dj = b0;
            dk = b1;
            slot = q + nx * dj;
          } else if (axis === 1) {
            // others: x (b0), z (b1)
            cache = b1 ? yTop : yBot;
            di = b0;
            dk = b1;
            slot = q + di;
          } else {
            // others: x (b0), y (b1)
            cache = zMid;
            di = b0;
            dj = b1;
            slot = q + di + nx * dj;
          }
          let id = cache[slot]!;
          if (id < 0) {
            const a = p + di + nx * dj + plane * dk;
            const b = a + (axis === 0 ? 1 : axis === 1 ? nx : plane);
            id = addVertex(a, b, i + di, j + dj, k + dk, axis);
            cache[slot] = id;
          }
          cellEdge[e] = id;
        }
        const end = offset[c + 1]!;
        tri.reserve(end - offset[c]!);
        const td = tri.data;
        for (let t = offset[c]!; t < end; t++) td[tri.length++] = cellEdge[edges[t]!]!;
      }
    }
    // The top plane becomes the next slab's bottom.
    [xBot, xTop] = [xTop, xBot];
    [yBot, yTop] = [yTop, yBot];
    xTop.fill(-1);
    yTop.fill(-1);
    opts.onProgress?.({ done: k + 1, total: nz - 1 });
  }

  const positions = pos.result();
  const mesh: Mesh = { positions, indices: tri.result() };
  if (opts.color) mesh.colors = colorsFromField(positions, opts.color);
  return mesh;
}

/** Vertex colours from a colour field evaluated at each vertex. */
export function colorsFromField(positions: Float32Array, color: Field['color']): Float32Array {
  const out = new Float32Array(positions.length);
  const rgb = new Float64Array(3);
  for (let i = 0; i < positions.length; i += 3) {
    color(positions[i]!, positions[i + 1]!, positions[i + 2]!, rgb);
    out[i] = rgb[0]!;
    out[i + 1] = rgb[1]!;
    out[i + 2] = rgb[2]!;
  }
  return out;
}

/**
 * Mesh a compiled shape: sample its SDF on a res³ grid over [lo, hi] and run marching cubes with
 * vertex colours from its colour field. The default bounds are the unit cube's plus a two-cell
 * margin, so shapes normalised to [−½, ½]³ come out closed.
 */
export function meshField(field: Field, res: number, opts: { lo?: Vec3; hi?: Vec3; onProgress?: (p: Progress) => void } = {}): Mesh {
  const margin = 2 / res;
  const lo = opts.lo ?? [-0.5 - margin, -0.5 - margin, -0.5 - margin];
  const hi = opts.hi ?? [0.5 + margin, 0.5 + margin, 0.5 + margin];
  const grid = sampleGrid(field, lo, hi, res, opts.onProgress && ((p) => opts.onProgress!({ done: p.done, total: 2 * p.total - 1 })));
  const total = grid.dims[2];
  return marchingCubes(grid, {
    color: field.color,
    onProgress: opts.onProgress && ((p) => opts.onProgress!({ done: total + p.done, total: 2 * total - 1 })),
  });
}
