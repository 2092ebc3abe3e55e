/**
 * Triangle meshes and point clouds as flat typed arrays, plus the measurements every other shape
 * module needs: surface area, enclosed volume, edge manifoldness, vertex normals, bounds.
 */
import { shapeError } from '../errors.ts';
import type { Vec3 } from './sdf.ts';

/** A triangle mesh. positions: (V, 3); indices: (F, 3), counter-clockwise seen from outside;
 * colors: optional (V, 3) sRGB in [0, 1]. */
export interface Mesh {
  positions: Float32Array;
  indices: Uint32Array;
  colors?: Float32Array;
}

/** A point cloud. xyz: (N, 3); rgb: optional (N, 3) sRGB in [0, 1]; normals: optional (N, 3). */
export interface PointCloud {
  xyz: Float32Array;
  rgb?: Float32Array;
  normals?: Float32Array;
}

export const vertexCount = (m: Mesh) => m.positions.length / 3;
export const faceCount = (m: Mesh) => m.indices.length / 3;
export const pointCount = (c: PointCloud) => c.xyz.length / 3;

/** Check array lengths and index ranges; throws a shape error naming the first problem. */
export function validateMesh(m: Mesh): void {
  if (m.positions.length % 3 !== 0) throw shapeError(`mesh positions length ${m.positions.length} is not a multiple of 3`);
  if (m.indices.length % 3 !== 0)
    throw shapeError(`mesh indices length ${m.indices.length} is not a multiple of 3`, 'faces must be triangles');
  if (m.colors && m.colors.length !== m.positions.length) {
    throw shapeError(`mesh colors length ${m.colors.length} != positions length ${m.positions.length}`);
  }
  const nv = vertexCount(m);
  for (let i = 0; i < m.indices.length; i++) {
    if (m.indices[i]! >= nv) throw shapeError(`mesh face index ${m.indices[i]} at ${i} is out of range (${nv} vertices)`);
  }
}

/** Total surface area: Σ ½|(b − a) × (c − a)|. */
export function meshArea(m: Mesh): number {
  const p = m.positions;
  const f = m.indices;
  let area = 0;
  for (let t = 0; t < f.length; t += 3) {
    const a = 3 * f[t]!;
    const b = 3 * f[t + 1]!;
    const c = 3 * f[t + 2]!;
    const ux = p[b]! - p[a]!,
      uy = p[b + 1]! - p[a + 1]!,
      uz = p[b + 2]! - p[a + 2]!;
    const vx = p[c]! - p[a]!,
      vy = p[c + 1]! - p[a + 1]!,
      vz = p[c + 2]! - p[a + 2]!;
    const cx = uy * vz - uz * vy,
      cy = uz * vx - ux * vz,
      cz = ux * vy - uy * vx;
    area += 0.5 * Math.sqrt(cx * cx + cy * cy + cz * cz);
  }
  return area;
}

/**
 * Enclosed volume by the divergence theorem: Σ a · (b × c) / 6 over faces. Exact for a closed,
 * consistently oriented mesh (positive when faces wind counter-clockwise seen from outside); the
 * origin cancels out, so a mesh need not contain it. Vertices are re-centred on the first vertex
 * first so float32 coordinates far from the origin do not lose precision.
 */
export function meshVolume(m: Mesh): number {
  const p = m.positions;
  const f = m.indices;
  if (p.length === 0) return 0;
  const ox = p[0]!,
    oy = p[1]!,
    oz = p[2]!;
  let six = 0;
  for (let t = 0; t < f.length; t += 3) {
    const a = 3 * f[t]!;
    const b = 3 * f[t + 1]!;
    const c = 3 * f[t + 2]!;
    const ax = p[a]! - ox,
      ay = p[a + 1]! - oy,
      az = p[a + 2]! - oz;
    const bx = p[b]! - ox,
      by = p[b + 1]! - oy,
      bz = p[b + 2]! - oz;
    const cx = p[c]! - ox,
      cy = p[c + 1]! - oy,
      cz = p[c + 2]! - oz;
    six += ax * (by * cz - bz * cy) + ay * (bz * cx - bx * cz) + az * (bx * cy - by * cx);
  }
  return six / 6;
}

/** How the mesh's edges are shared. A closed, consistently oriented 2-manifold has every
 * undirected edge in exactly two faces and every directed edge exactly once. */
export interface EdgeReport {
  edges: number;
  /** Undirected edges used by one face only (holes, cracks). */
  boundary: number;
  /** Undirected edges used by three or more faces. */
  nonManifold: number;
  /** Directed edges used twice (neighbouring faces wound inconsistently). */
  misoriented: number;
}

/** Count boundary, non-manifold and misoriented edges (0, 0, 0 means watertight and oriented). */
export function edgeReport(m: Mesh): EdgeReport {
  const f = m.indices;
  const nv = vertexCount(m);
  // Key an undirected edge by (min, max) packed into one float64-safe integer.
  const count = new Map<number, number>(); // undirected key → number of faces
  const directed = new Map<number, number>(); // directed key → uses
  for (let t = 0; t < f.length; t += 3) {
    for (let e = 0; e < 3; e++) {
      const a = f[t + e]!;
      const b = f[t + ((e + 1) % 3)]!;
      const key = Math.min(a, b) * nv + Math.max(a, b);
      count.set(key, (count.get(key) ?? 0) + 1);
      const dkey = a * nv + b;
      directed.set(dkey, (directed.get(dkey) ?? 0) + 1);
    }
  }
  let boundary = 0;
  let nonManifold = 0;
  for (const c of count.values()) {
    if (c === 1) boundary++;
    else if (c > 2) nonManifold++;
  }
  let misoriented = 0;
  for (const c of directed.values()) if (c > 1) misoriented++;
  return { edges: count.size, boundary, nonManifold, misoriented };
}

/** True when every edge is shared by exactly two faces, wound in opposite directions. */
export function isWatertight(m: Mesh): boolean {
  const r = edgeReport(m);
  return r.boundary === 0 && r.nonManifold === 0 && r.misoriented === 0;
}

/** Area-weighted vertex normals (unit length; zero for isolated vertices). */
export function vertexNormals(m: Mesh): Float32Array {
  const p = m.positions;
  const f = m.indices;
  const n = new Float32Array(p.length);
  for (let t = 0; t < f.length; t += 3) {
    const a = 3 * f[t]!;
    const b = 3 * f[t + 1]!;
    const c = 3 * f[t + 2]!;
    const ux = p[b]! - p[a]!,
      uy = p[b + 1]! - p[a + 1]!,
      uz = p[b + 2]! - p[a + 2]!;
    const vx = p[c]! - p[a]!,
      vy = p[c + 1]! - p[a + 1]!,
      vz = p[c + 2]! - p[a + 2]!;
    // The unnormalised cross product has length 2·area: the weighting comes for free.
    const nx = uy * vz - uz * vy,
      ny = uz * vx - ux * vz,
      nz = ux * vy - uy * vx;
    for (const v of [a, b, c]) {
      n[v]! += nx;
      n[v + 1]! += ny;
      n[v + 2]! += nz;
    }
  }
  for (let i = 0; i < n.length; i += 3) {
    const len = Math.hypot(n[i]!, n[i + 1]!, n[i + 2]!);
    if (len > 0) {
      n[i]! /= len;
      n[i + 1]! /= len;
      n[i + 2]! /= len;
    }
  }
  return n;
}

/** Axis-aligned bounds of flat xyz data, as [min, max]. Empty data gives [0,0,0] twice. */
export function bounds(xyz: Float32Array): [Vec3, Vec3] {
  if (xyz.length === 0)
    return [
      [0, 0, 0],
      [0, 0, 0],
    ];
  const lo: Vec3 = [Infinity, Infinity, Infinity];
  const hi: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < xyz.length; i += 3) {
    for (let k = 0; k < 3; k++) {
      const v = xyz[i + k]!;
      if (v < lo[k]!) lo[k] = v;
      if (v > hi[k]!) hi[k] = v;
    }
  }
  return [lo, hi];
}
