/**
 * A static 3-D k-d tree for exact nearest-neighbour queries, used by the metrics (Chamfer,
 * F-score) and by nearest-point vertex colouring. Built once by recursive median splits over an
 * index permutation (no per-node objects), queried by depth-first descent with pruning.
 */
const LEAF = 8; // points per leaf: below this a linear scan beats further splitting

export class KdTree {
  private readonly order: Uint32Array; // permutation of point ids; node ranges index into it
  private readonly xyz: Float32Array;
  // Best-so-far state of the running query (queries are synchronous, so one set suffices).
  private best = -1;
  private bestD2 = Infinity;

  /** Build over flat (N, 3) coordinates. The array is referenced, not copied. */
  constructor(xyz: Float32Array) {
    this.xyz = xyz;
    const n = xyz.length / 3;
    this.order = new Uint32Array(n);
    for (let i = 0; i < n; i++) this.order[i] = i;
    this.build(0, n, 0);
  }

  /** Split [lo, hi) at its median along `axis`, recursively; axis cycles x → y → z. */
  private build(lo: number, hi: number, axis: number): void {
    if (hi - lo <= LEAF) return;
    const mid = (lo + hi) >>> 1;
    this.select(lo, hi - 1, mid, axis);
    const next = (axis + 1) % 3;
    this.build(lo, mid, next);
    this.build(mid + 1, hi, next);
  }

  /** Quickselect: put the k-th smallest along `axis` at position k, smaller before, larger after. */
  private select(lo: number, hi: number, k: number, axis: number): void {
    const o = this.order;
    const p = this.xyz;
    while (hi > lo) {
      const pivot = p[3 * o[(lo + hi) >>> 1]! + axis]!;
      let i = lo;
      let j = hi;
      while (i <= j) {
        while (p[3 * o[i]! + axis]! < pivot) i++;
        while (p[3 * o[j]! + axis]! > pivot) j--;
        if (i <= j) {
          const t = o[i]!;
          o[i] = o[j]!;
          o[j] = t;
          i++;
          j--;
        }
      }
      if (k <= j) hi = j;
      else if (k >= i) lo = i;
      else return;
    }
  }

  /** Index of the nearest point to (x, y, z) and its squared distance. */
  nearest(x: number, y: number, z: number): { index: number; d2: number } {
    this.best = -1;
    this.bestD2 = Infinity;
    if (this.order.length > 0) this.search(0, this.order.length, 0, x, y, z);
    return { index: this.best, d2: this.bestD2 };
  }

  private search(lo: number, hi: number, axis: number, x: number, y: number, z: number): void {
    const o = this.order;
    const p = this.xyz;
    if (hi - lo <= LEAF) {
      for (let i = lo; i < hi; i++) {
        const q = 3 * o[i]!;
        const dx = p[q]! - x,
          dy = p[q + 1]! - y,
          dz = p[q + 2]! - z;
        const d2 = dx * dx + dy * dy + dz * dz;
        if (d2 < this.bestD2) {
          this.bestD2 = d2;
          this.best = o[i]!;
        }
      }
      return;
    }
    const mid = (lo + hi) >>> 1;
    const q = 3 * o[mid]!;
    const dx = p[q]! - x,
      dy = p[q + 1]! - y,
      dz = p[q + 2]! - z;
    const d2 = dx * dx + dy * dy + dz * dz;
    if (d2 < this.bestD2) {
      this.bestD2 = d2;
      this.best = o[mid]!;
    }
    const diff = (axis === 0 ? x : axis === 1 ? y : z) - p[q + axis]!;
    const next = (axis + 1) % 3;
    // Near side first; the far side only if the splitting plane is closer than the best so far.
    if (diff < 0) {
      this.search(lo, mid, next, x, y, z);
      if (diff * diff < this.bestD2) this.search(mid + 1, hi, next, x, y, z);
    } else {
      this.search(mid + 1, hi, next, x, y, z);
      if (diff * diff < this.bestD2) this.search(lo, mid, next, x, y, z);
    }
  }
}

/** Squared distance from each point of `from` to its nearest point in `to`: (N,). */
export function nearestDistances2(from: Float32Array, to: Float32Array, tree = new KdTree(to)): Float64Array {
  const n = from.length / 3;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = tree.nearest(from[3 * i]!, from[3 * i + 1]!, from[3 * i + 2]!).d2;
  return out;
}
