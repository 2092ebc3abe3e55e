/**
 * Point clouds from meshes: surface sampling uniform by area (with colours interpolated from the
 * vertices), farthest-point subsampling, normalisation to the unit cube, and nearest-point colour
 * transfer. Point-E trains on clouds sampled this way (4,096 points, then FPS down to 1,024) and
 * colours its meshes from the nearest point, which `colorsFromPoints` does.
 */
import { shapeError } from '../errors.ts';
import { KdTree } from './kdtree.ts';
import { bounds, type Mesh, type PointCloud } from './mesh.ts';
import { makeRng } from './random.ts';
import type { Vec3 } from './sdf.ts';

/**
 * Sample `n` points uniformly by area on a mesh's surface: a face is chosen with probability
 * proportional to its area (binary search in the cumulative areas), then a point uniformly inside
 * it with barycentrics (1 − √r₁, √r₁(1 − r₂), √r₁·r₂). Colours (if the mesh has them) are
 * interpolated with the same barycentrics; normals are the faces' unit normals.
 *
 *   const cloud = sampleSurface(mesh, 4096, { seed: 0 });
 */
export function sampleSurface(mesh: Mesh, n: number, opts: { seed?: number } = {}): PointCloud {
  if (!Number.isInteger(n) || n < 0) throw shapeError(`sample count must be a non-negative integer, got ${n}`);
  const p = mesh.positions;
  const f = mesh.indices;
  const nf = f.length / 3;
  const cum = new Float64Array(nf);
  let total = 0;
  for (let t = 0; t < nf; t++) {
    const a = 3 * f[3 * t]!,
      b = 3 * f[3 * t + 1]!,
      c = 3 * f[3 * t + 2]!;
    const ux = p[b]! - p[a]!,
      uy = p[b + 1]! - p[a + 1]!,
      uz = p[b + 2]! - p[a + 2]!;
    const vx = p[c]! - p[a]!,
      vy = p[c + 1]! - p[a + 1]!,
      vz = p[c + 2]! - p[a + 2]!;
    const cx = uy * vz - uz * vy,
      cy = uz * vx - ux * vz,
      cz = ux * vy - uy * vx;
    total += 0.5 * Math.sqrt(cx * cx + cy * cy + cz * cz);
    cum[t] = total;
  }
  if (n > 0 && !(total > 0))
    throw shapeError(`cannot sample a mesh with zero surface area (${nf} faces)`, 'mesh the shape first, or check its faces');

  const rng = makeRng(opts.seed ?? 0);
  const xyz = new Float32Array(3 * n);
  const normals = new Float32Array(3 * n);
  const rgb = mesh.colors ? new Float32Array(3 * n) : undefined;
  for (let i = 0; i < n; i++) {
    // Face by area: first t with cum[t] > u·total.
    const u = rng() * total;
    let lo = 0;
    let hi = nf - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    const ia = f[3 * lo]!,
      ib = f[3 * lo + 1]!,
      ic = f[3 * lo + 2]!;
    const s = Math.sqrt(rng());
    const r2 = rng();
    const wa = 1 - s,
      wb = s * (1 - r2),
      wc = s * r2;
    for (let k = 0; k < 3; k++) {
      xyz[3 * i + k] = wa * p[3 * ia + k]! + wb * p[3 * ib + k]! + wc * p[3 * ic + k]!;
      if (rgb) rgb[3 * i + k] = wa * mesh.colors![3 * ia + k]! + wb * mesh.colors![3 * ib + k]! + wc * mesh.colors![3 * ic + k]!;
    }
    const ux = p[3 * ib]! - p[3 * ia]!,
      uy = p[3 * ib + 1]! - p[3 * ia + 1]!,
      uz = p[3 * ib + 2]! - p[3 * ia + 2]!;
    const vx = p[3 * ic]! - p[3 * ia]!,
      vy = p[3 * ic + 1]! - p[3 * ia + 1]!,
      vz = p[3 * ic + 2]! - p[3 * ia + 2]!;
    const nx = uy * vz - uz * vy,
      ny = uz * vx - ux * vz,
      nz = ux * vy - uy * vx;
    const len = Math.sqrt(nx * nx + ny * ny + nz * nz) || 1;
    normals[3 * i] = nx / len;
    normals[3 * i + 1] = ny / len;
    normals[3 * i + 2] = nz / len;
  }
  return rgb ? { xyz, rgb, normals } : { xyz, normals };
}

/**
 * Farthest-point sampling: start from point `start`, then repeatedly take the point farthest from
 * everything taken so far. O(N·k). Returns the chosen indices in the order taken.
 */
export function farthestPointIndices(xyz: Float32Array, k: number, start = 0): Uint32Array {
  const n = xyz.length / 3;
  if (!Number.isInteger(k) || k < 0 || k > n) throw shapeError(`cannot take ${k} farthest points from a cloud of ${n}`);
  if (k === 0) return new Uint32Array(0);
  if (!(start >= 0 && start < n)) throw shapeError(`FPS start index ${start} is out of range (${n} points)`);
  const out = new Uint32Array(k);
  const d2 = new Float64Array(n).fill(Infinity); // squared distance to the chosen set
  let cur = start;
  for (let s = 0; s < k; s++) {
    out[s] = cur;
    const cx = xyz[3 * cur]!,
      cy = xyz[3 * cur + 1]!,
      cz = xyz[3 * cur + 2]!;
    let far = 0;
    let farD = -1;
    for (let i = 0; i < n; i++) {
      const dx = xyz[3 * i]! - cx,
        dy = xyz[3 * i + 1]! - cy,
        dz = xyz[3 * i + 2]! - cz;
      const d = Math.min(d2[i]!, dx * dx + dy * dy + dz * dz);
      d2[i] = d;
      if (d > farD) [far, farD] = [i, d]; // first index wins ties, as numpy's argmax does
    }
    cur = far;
  }
  return out;
}

/** The sub-cloud at `indices` (all attributes). */
export function selectPoints(cloud: PointCloud, indices: ArrayLike<number>): PointCloud {
  const take = (a: Float32Array) => {
    const out = new Float32Array(3 * indices.length);
    for (let i = 0; i < indices.length; i++) out.set(a.subarray(3 * indices[i]!, 3 * indices[i]! + 3), 3 * i);
    return out;
  };
  const out: PointCloud = { xyz: take(cloud.xyz) };
  if (cloud.rgb) out.rgb = take(cloud.rgb);
  if (cloud.normals) out.normals = take(cloud.normals);
  return out;
}

/** Farthest-point subsample of a cloud to `k` points (colours and normals follow). */
export function farthestPointSample(cloud: PointCloud, k: number, start = 0): PointCloud {
  return selectPoints(cloud, farthestPointIndices(cloud.xyz, k, start));
}

/**
 * Normalise to the unit cube centred on the origin: the bounding box's centre moves to 0 and its
 * longest side becomes 1, so every coordinate lies in [−½, ½] (Point-E's convention; its diffusion
 * then scales coordinates by 2). Returns the new cloud and the map applied: p ↦ (p − center)·scale.
 */
export function normalizeToUnitCube(cloud: PointCloud): { cloud: PointCloud; center: Vec3; scale: number } {
  const [lo, hi] = bounds(cloud.xyz);
  const center: Vec3 = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2];
  const extent = Math.max(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]);
  const scale = extent > 0 ? 1 / extent : 1;
  const xyz = new Float32Array(cloud.xyz.length);
  for (let i = 0; i < xyz.length; i += 3) {
    for (let k = 0; k < 3; k++) xyz[i + k] = (cloud.xyz[i + k]! - center[k]!) * scale;
  }
  return { cloud: { ...cloud, xyz }, center, scale };
}

/** Colours for arbitrary positions (e.g. mesh vertices) from the nearest coloured point. */
export function colorsFromPoints(positions: Float32Array, cloud: PointCloud): Float32Array {
  if (!cloud.rgb)
    throw shapeError('the point cloud has no colours to transfer', 'sample it from a coloured mesh or read a PLY with red/green/blue');
  const tree = new KdTree(cloud.xyz);
  const out = new Float32Array(positions.length);
  for (let i = 0; i < positions.length; i += 3) {
    const j = tree.nearest(positions[i]!, positions[i + 1]!, positions[i + 2]!).index;
    out.set(cloud.rgb.subarray(3 * j, 3 * j + 3), i);
  }
  return out;
}
