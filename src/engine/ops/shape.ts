/**
 * Shape ops: reshape, transpose, slice, pad, concat, split, expand with sum (its adjoint) and sumTo
 * (un-broadcasting), and indexing: gather / scatter-add (embeddings) and take-along-axis /
 * scatter-along-axis (losses).
 *
 * This module imports no other op module: elementwise.ts and reduce.ts build on it, never the
 * other way round. That is why sum lives here — expand's gradient is a sum and sum's is an expand.
 */
import { hostTensor } from '../dtype.ts';
import { axesOf, defineOp, type RefArray, reducedShape, reduceOp, strides } from '../op.ts';
import { constant, fmt, normAxis, shapeErrorAt, type Tensor } from '../tensor.ts';

// ---------------------------------------------------------------------------------------------
// reshape / transpose

const reshapeOp = defineOp<{ shape: number[] }>({
  name: 'reshape',
  infer: ([x], { shape }, fail) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== x!.size) fail(`cannot reshape ${x!.size} elements to ${fmt(shape)}`);
    return { shape: [...shape], dtype: x!.dtype };
  },
  vjp: (g, [x]) => [reshape(g, x!.shape)],
  lower: (ctx, [x], { shape }) => ctx.emit('Reshape', [x!, ctx.int64s(shape)]),
  ref: ([x]) => Float64Array.from(x!.data),
});

/** Reshape; one dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const holes = shape.filter((d) => d === -1).length;
  if (holes > 1 || (holes === 1 && (known === 0 || x.size % known !== 0))) {
    throw shapeErrorAt(`reshape: cannot reshape ${fmt(x.shape)} to ${fmt(shape)}`);
  }
  const resolved = shape.map((d) => (d === -1 ? x.size / known : d));
  if (resolved.length === x.rank && resolved.every((d, i) => d === x.shape[i])) return x;
  return reshapeOp([x], { shape: resolved });
}

const transposeOp = defineOp<{ perm: number[] }>({
  name: 'transpose',
  infer: ([x], { perm }, fail) => {
    const ok = perm.length === x!.rank && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
    if (!ok) fail(`perm [${perm}] is not a permutation of the ${x!.rank} axes`);
    return { shape: perm.map((p) => x!.shape[p]!), dtype: x!.dtype };
  },
  vjp: (g, _x, _o, { perm }) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [transpose(g, inv)];
  },
  lower: (ctx, [x], { perm }) => ctx.emit('Transpose', [x!], { perm: { ints: perm } }),
  ref: ([x], { perm }, out) => {
    const xs = strides(x!.shape);
    const src = perm.map((p) => xs[p]!);
    return gatherStrided(x!, out.shape, src, 0);
  },
});

/** Permute axes. */
export const transpose = (x: Tensor, perm: readonly number[]): Tensor =>
  perm.every((p, i) => p === i) && perm.length === x.rank ? x : transposeOp([x], { perm: [...perm] });

/** Swap the last two axes. */
export function transposeLast(x: Tensor): Tensor {
  const perm = [...x.shape.keys()];
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1]!, perm[x.rank - 2]!];
  return transpose(x, perm);
}

const flipOp = defineOp<{ axis: number }>({
  name: 'flip',
  infer: ([x]) => ({ shape: [...x!.shape], dtype: x!.dtype }),
  vjp: (g, _x, _o, { axis }) => [flip(g, axis)],
  // Slice with step −1; an end of −(n + 1) resolves to "before element 0".
  lower: (ctx, [x], { axis }, node) => {
    const n = node.shape[axis]!;
    return ctx.emit('Slice', [x!, ctx.int64s([n - 1]), ctx.int64s([-(n + 1)]), ctx.int64s([axis]), ctx.int64s([-1])]);
  },
  ref: ([x], { axis }) => {
    const out = new Float64Array(x!.data.length);
    const n = x!.shape[axis]!;
    const inner = strides(x!.shape)[axis]!;
    for (let i = 0; i < out.length; i++) {
      const k = Math.floor(i / inner) % n;
      out[i + (n - 1 - 2 * k) * inner] = x!.data[i]!;
    }
    return out;
  },
});

/** Reverse the order of elements along `axis` (numpy.flip). */
export const flip = (x: Tensor, axis: number): Tensor => flipOp([x], { axis: normAxis(axis, x.rank, 'flip') });

/** Read `x` at strided offsets for every index of `shape` (reference helper). */
function gatherStrided(x: RefArray, shape: readonly number[], srcStrides: readonly number[], base: number): Float64Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  let off = base;
  for (let i = 0; i < n; i++) {
    out[i] = x.data[off]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]!++;
      off += srcStrides[d]!;
      if (idx[d]! < shape[d]!) break;
      off -= srcStrides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// slice / pad (each other's gradient)

interface SliceAttrs extends Record<string, unknown> {
  axis: number;
  start: number;
  end: number;
}

/** A Slice end past any axis (ONNX clamps it to the axis's size). */
const OPEN_END = Number.MAX_SAFE_INTEGER;

const sliceOp = defineOp<SliceAttrs>({
  name: 'slice',
  infer: ([x], { axis, start, end }, fail) => {
    if (start < 0 || end > x!.shape[axis]! || start > end) fail(`range ${start}:${end} is outside axis ${axis} of size ${x!.shape[axis]}`);
    return { shape: x!.shape.map((d, i) => (i === axis ? end - start : d)), dtype: x!.dtype };
  },
  vjp: (g, [x], _o, { axis, start, end }) => [pad(g, axis, start, x!.shape[axis]! - end)],
  lower: (ctx, [x], { axis, start, end }, node) => {
    // Open-ended (ONNX clamps ends to the axis) when the axis may be symbolic: see LowerCtx.openEnds.
    const to = ctx.openEnds && end === node.inputs[0]!.shape[axis] ? OPEN_END : end;
    return ctx.emit('Slice', [x!, ctx.int64s([start]), ctx.int64s([to]), ctx.int64s([axis])]);
  },
  ref: ([x], { axis, start }, out) => gatherStrided(x!, out.shape, strides(x!.shape), start * strides(x!.shape)[axis]!),
});

/** x[..., start:end, ...] along `axis` (negative start/end count from the end, like Python). */
export function slice(x: Tensor, axis: number, start: number, end: number = x.shape[normAxis(axis, x.rank, 'slice')]!): Tensor {
  const a = normAxis(axis, x.rank, 'slice');
  const n = x.shape[a]!;
  const s = start < 0 ? start + n : start;
  const e = end < 0 ? end + n : end;
  if (s === 0 && e === n) return x;
  return sliceOp([x], { axis: a, start: s, end: e });
}

interface PadAttrs extends Record<string, unknown> {
  axis: number;
  before: number;
  after: number;
}

const padOp = defineOp<PadAttrs>({
  name: 'pad',
  infer: ([x], { axis, before, after }, fail) => {
    if (before < 0 || after < 0) fail(`negative padding ${before}/${after}`);
    return { shape: x!.shape.map((d, i) => (i === axis ? d + before + after : d)), dtype: x!.dtype };
  },
  vjp: (g, [x], _o, { axis, before }) => [slice(g, axis, before, before + x!.shape[axis]!)],
  lower: (ctx, [x], { axis, before, after }, node) => {
    const pads = new Array<number>(2 * node.rank).fill(0);
    pads[axis] = before;
    pads[node.rank + axis] = after;
    return ctx.emit('Pad', [x!, ctx.int64s(pads)], { mode: { str: 'constant' } });
  },
  ref: ([x], { axis, before }, out) => {
    const res = new Float64Array(out.shape.reduce((a, b) => a * b, 1));
    const os = strides(out.shape);
    const view = x!.data;
    const idx = new Array<number>(x!.shape.length).fill(0);
    for (let i = 0; i < view.length; i++) {
      let o = 0;
      for (let d = 0; d < idx.length; d++) o += (idx[d]! + (d === axis ? before : 0)) * os[d]!;
      res[o] = view[i]!;
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d]! < x!.shape[d]!) break;
        idx[d] = 0;
      }
    }
    return res;
  },
});

/** Zero-pad `before` and `after` elements along `axis`. */
export const pad = (x: Tensor, axis: number, before: number, after: number) =>
  before === 0 && after === 0 ? x : padOp([x], { axis: normAxis(axis, x.rank, 'pad'), before, after });

// ---------------------------------------------------------------------------------------------
// concat / split

const concatOp = defineOp<{ axis: number }>({
  name: 'concat',
  infer: (xs, { axis }, fail) => {
    const first = xs[0]!;
    let total = 0;
    for (const x of xs) {
      if (x.dtype !== first.dtype) fail(`dtypes differ (${first.dtype} vs ${x.dtype})`);
      if (x.rank !== first.rank || x.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
        fail(`shapes must match except on axis ${axis}`);
      }
      total += x.shape[axis]!;
    }
    return { shape: first.shape.map((d, i) => (i === axis ? total : d)), dtype: first.dtype };
  },
  vjp: (g, xs, _o, { axis }) => {
    let at = 0;
    return xs.map((x) => slice(g, axis, at, (at += x.shape[axis]!)));
  },
  lower: (ctx, xs, { axis }) => ctx.emit('Concat', xs, { axis: { int: axis } }),
  ref: (xs, { axis }, out) => {
    const res = new Float64Array(out.shape.reduce((a, b) => a * b, 1));
    const outer = out.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = out.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    let o = 0;
    for (let b = 0; b < outer; b++) {
      for (const x of xs) {
        const chunk = x.shape[axis]! * inner;
        res.set(x.data.subarray(b * chunk, (b + 1) * chunk), o);
        o += chunk;
      }
    }
    return res;
  },
});

/** Join tensors along `axis`. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw shapeErrorAt('concat: needs at least one tensor');
  if (xs.length === 1) return xs[0]!;
  return concatOp(xs, { axis: normAxis(axis, xs[0]!.rank, 'concat') });
}

/** Split along `axis` into pieces of the given sizes (lowered as slices: one output per node). */
export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  const a = normAxis(axis, x.rank, 'split');
  if (sizes.reduce((s, v) => s + v, 0) !== x.shape[a]) {
    throw shapeErrorAt(`split: sizes [${sizes}] do not add up to ${x.shape[a]} (axis ${axis} of ${fmt(x.shape)})`);
  }
  let at = 0;
  return sizes.map((s) => slice(x, a, at, (at += s)));
}

// ---------------------------------------------------------------------------------------------
// expand and its gradient, sumTo

const expandOp = defineOp<{ shape: number[] }>({
  name: 'expand',
  infer: ([x], { shape }, fail) => {
    const off = shape.length - x!.rank;
    const ok = off >= 0 && x!.shape.every((d, i) => d === 1 || d === shape[off + i]);
    if (!ok) fail(`cannot expand ${fmt(x!.shape)} to ${fmt(shape)}`);
    return { shape: [...shape], dtype: x!.dtype };
  },
  vjp: (g, [x]) => [sumTo(g, x!.shape)],
  lower: (ctx, [x], { shape }) => ctx.emit('Expand', [x!, ctx.int64s(shape)]),
  ref: ([x], _a, out) => {
    const off = out.shape.length - x!.shape.length;
    const xs = strides(x!.shape);
    const src = out.shape.map((_, i) => (i < off || x!.shape[i - off] === 1 ? 0 : xs[i - off]!));
    return gatherStrided(x!, out.shape, src, 0);
  },
});

/** Broadcast `x` to `shape` (numpy rules). */
export const expand = (x: Tensor, shape: readonly number[]) =>
  x.rank === shape.length && x.shape.every((d, i) => d === shape[i]) ? x : expandOp([x], { shape: [...shape] });

const sumOp = reduceOp(
  'sum',
  'ReduceSum',
  0,
  (a, v) => a + v,
  (g, x, _o, { axes }) => spreadOver(g, x, axes),
);

/** Sum over `axes` (all when omitted). */
export const sum = (x: Tensor, axes: number | readonly number[] = [...x.shape.keys()], keepdims = false) =>
  sumOp([x], { axes: axesOf(x, axes, 'sum'), keepdims });

/** `g`, the result of a reduction of `x` over `axes`, broadcast back to x's shape: every reduction's VJP. */
export const spreadOver = (g: Tensor, x: Tensor, axes: readonly number[]) => expand(reshape(g, reducedShape(x.shape, axes, true)), x.shape);

/** Sum `g` down to `shape`: the adjoint of broadcasting (un-broadcast). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const off = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < off || (shape[i - off] === 1 && g.shape[i] !== 1)) axes.push(i);
  return reshape(axes.length ? sum(g, axes, true) : g, shape);
}

// ---------------------------------------------------------------------------------------------
// Indices known at trace time are checked at trace time: ONNX Runtime reports an out-of-range
// index only when the graph runs, far from the model line that made it.

/** The constant behind `t` when t is one, possibly reshaped, expanded or transposed (same values). */
function constantValues(t: Tensor): Float64Array | undefined {
  while (t.op === 'reshape' || t.op === 'expand' || t.op === 'transpose') t = t.inputs[0]!;
  if (t.op !== 'const') return undefined;
  const d = t.value!.data;
  return d instanceof BigInt64Array ? Float64Array.from(d, Number) : Float64Array.from(d as ArrayLike<number>);
}

/** Fail naming the first constant index outside [0, n), with its position in the index tensor. */
function checkConstantIndices(idx: Tensor, n: number, what: string, fail: (msg: string, hint?: string) => never): void {
  const values = constantValues(idx);
  if (!values) return;
  const at = values.findIndex((v) => v < 0 || v >= n);
  if (at < 0) return;
  const st = strides(idx.shape);
  const pos = st.map((s, d) => Math.floor(at / s) % idx.shape[d]!);
  fail(`constant index ${values[at]} at [${pos.join(', ')}] is outside [0, ${n}) (${what})`, `indices must lie in [0, ${n})`);
}

// ---------------------------------------------------------------------------------------------
// gather / scatter-add on axis 0 (embedding lookup and its gradient)

const gatherOp = defineOp({
  name: 'gather',
  infer: ([table, ids], _a, fail) => {
    if (ids!.dtype !== 'int64') fail(`ids must be int64, got ${ids!.dtype}`);
    checkConstantIndices(ids!, table!.shape[0]!, `rows of a table of shape ${fmt(table!.shape)}`, fail);
    return { shape: [...ids!.shape, ...table!.shape.slice(1)], dtype: table!.dtype };
  },
  vjp: (g, [table, ids]) => [scatterAdd(zerosOf(table!), ids!, g), null],
  lower: (ctx, ins) => ctx.emit('Gather', ins, { axis: { int: 0 } }),
  ref: ([table, ids], _a, out) => {
    const row = table!.shape.slice(1).reduce((a, b) => a * b, 1);
    const res = new Float64Array(out.shape.reduce((a, b) => a * b, 1));
    ids!.data.forEach((id, i) => {
      if (id < 0 || id >= table!.shape[0]!) throw new RangeError(`gather: id ${id} out of range [0, ${table!.shape[0]})`);
      res.set(table!.data.subarray(id * row, (id + 1) * row), i * row);
    });
    return res;
  },
});

/** table[ids]: rows of `table` (axis 0) picked by int64 `ids`; shape ids.shape + table.shape[1:]. */
export const gather = (table: Tensor, ids: Tensor): Tensor => gatherOp([table, ids], {});

const scatterAddOp = defineOp({
  name: 'scatterAdd',
  infer: ([base, ids, upd], _a, fail) => {
    if (ids!.dtype !== 'int64') fail(`ids must be int64, got ${ids!.dtype}`);
    const want = [...ids!.shape, ...base!.shape.slice(1)];
    if (fmt(want) !== fmt(upd!.shape)) fail(`updates must have shape ${fmt(want)}`);
    checkConstantIndices(ids!, base!.shape[0]!, `rows of a base of shape ${fmt(base!.shape)}`, fail);
    return { shape: [...base!.shape], dtype: base!.dtype };
  },
  vjp: (g, [_base, ids]) => [g, null, gather(g, ids!)],
  // ScatterND with reduction 'add' accumulates duplicate ids correctly; indices need a trailing
  // index dimension (DESIGN.md pitfalls).
  lower: (ctx, [base, ids, upd]) => {
    const idx = ctx.emit('Unsqueeze', [ids!, ctx.int64s([-1])]);
    return ctx.emit('ScatterND', [base!, idx, upd!], { reduction: { str: 'add' } });
  },
  ref: ([base, ids, upd]) => {
    const row = base!.shape.slice(1).reduce((a, b) => a * b, 1);
    const res = Float64Array.from(base!.data);
    ids!.data.forEach((id, i) => {
      for (let k = 0; k < row; k++) res[id * row + k]! += upd!.data[i * row + k]!;
    });
    return res;
  },
});

/** base with `updates` added at rows `ids` (duplicates accumulate). */
export const scatterAdd = (base: Tensor, ids: Tensor, updates: Tensor): Tensor => scatterAddOp([base, ids, updates], {});

// ---------------------------------------------------------------------------------------------
// take-along-axis / scatter-add-along-axis (e.g. picking target log-probabilities)

function alongIndex(shape: readonly number[], axis: number, i: number, idxValue: number, idxShape: readonly number[]): number {
  // flat position in a tensor of `shape` of element i of an index tensor of `idxShape` along `axis`
  const is = strides(idxShape);
  const xs = strides(shape);
  let off = 0;
  let rem = i;
  for (let d = 0; d < idxShape.length; d++) {
    const c = Math.floor(rem / is[d]!);
    rem -= c * is[d]!;
    off += (d === axis ? idxValue : c) * xs[d]!;
  }
  return off;
}

const takeAlongOp = defineOp<{ axis: number }>({
  name: 'takeAlong',
  infer: ([x, idx], { axis }, fail) => {
    if (idx!.dtype !== 'int64') fail(`indices must be int64, got ${idx!.dtype}`);
    if (idx!.rank !== x!.rank || idx!.shape.some((d, i) => i !== axis && d !== x!.shape[i])) {
      fail(`indices must match the input's shape except on axis ${axis}`);
    }
    checkConstantIndices(idx!, x!.shape[axis]!, `axis ${axis} of ${fmt(x!.shape)}`, fail);
    return { shape: [...idx!.shape], dtype: x!.dtype };
  },
  vjp: (g, [x, idx], _o, { axis }) => [scatterAlongAdd(zerosOf(x!), idx!, g, axis), null],
  lower: (ctx, ins, { axis }) => ctx.emit('GatherElements', ins, { axis: { int: axis } }),
  ref: ([x, idx], { axis }) => idx!.data.map((v, i) => x!.data[alongIndex(x!.shape, axis, i, v, idx!.shape)]!),
});

/** numpy's take_along_axis: out[i][j] = x[i][idx[i][j]] for axis 1 (ONNX GatherElements). */
export const takeAlong = (x: Tensor, idx: Tensor, axis: number): Tensor =>
  takeAlongOp([x, idx], { axis: normAxis(axis, x.rank, 'takeAlong') });

const scatterAlongAddOp = defineOp<{ axis: number }>({
  name: 'scatterAlongAdd',
  infer: ([base, idx, upd], { axis }, fail) => {
    if (idx!.dtype !== 'int64') fail(`indices must be int64, got ${idx!.dtype}`);
    if (fmt(idx!.shape) !== fmt(upd!.shape)) fail('indices and updates must have the same shape');
    checkConstantIndices(idx!, base!.shape[axis]!, `axis ${axis} of ${fmt(base!.shape)}`, fail);
    return { shape: [...base!.shape], dtype: base!.dtype };
  },
  vjp: (g, [_b, idx], _o, { axis }) => [g, null, takeAlong(g, idx!, axis)],
  lower: (ctx, ins, { axis }) => ctx.emit('ScatterElements', ins, { axis: { int: axis }, reduction: { str: 'add' } }),
  ref: ([base, idx, upd], { axis }) => {
    const res = Float64Array.from(base!.data);
    idx!.data.forEach((v, i) => (res[alongIndex(base!.shape, axis, i, v, idx!.shape)]! += upd!.data[i]!));
    return res;
  },
});

/** The adjoint of takeAlong: base with updates added at idx along axis (ScatterElements 'add'). */
export const scatterAlongAdd = (base: Tensor, idx: Tensor, updates: Tensor, axis: number): Tensor =>
  scatterAlongAddOp([base, idx, updates], { axis: normAxis(axis, base.rank, 'scatterAlongAdd') });

/** A zero tensor shaped like x. */
export const zerosOf = (x: Tensor) => expand(constant(hostTensor(x.dtype, [], [0])), x.shape);

/** Insert a size-1 axis. */
export const unsqueeze = (x: Tensor, axis: number) => {
  const a = axis < 0 ? axis + x.rank + 1 : axis;
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
};

// ---------------------------------------------------------------------------------------------
// writeAt: the KV-cache write (like JAX's dynamic_update_slice, one position per batch row)

const writeAtOp = defineOp({
  name: 'writeAt',
  infer: ([cache, pos, value], _a, fail) => {
    if (cache!.rank !== 4) fail('cache must be (B, H, T, D)');
    const [B, H, , D] = cache!.shape as [number, number, number, number];
    if (pos!.dtype !== 'int64' || fmt(pos!.shape) !== fmt([B])) fail(`positions must be int64 [${B}]`);
    if (fmt(value!.shape) !== fmt([B, H, 1, D]) || value!.dtype !== cache!.dtype)
      fail(`value must be [${B}, ${H}, 1, ${D}] ${cache!.dtype}`);
    checkConstantIndices(pos!, cache!.shape[2]!, `positions of a cache of ${cache!.shape[2]}`, fail);
    return { shape: [...cache!.shape], dtype: cache!.dtype };
  },
  // ScatterND writes only the B·H rows (a where() over the whole cache costs a full pass per layer).
  lower: (ctx, [cache, pos, value], _a, node) => {
    const [B, H, , D] = node.shape as [number, number, number, number];
    const rows = (f: (b: number, h: number) => number) =>
      ctx.int64s(
        Array.from({ length: B * H }, (_, i) => f(Math.floor(i / H), i % H)),
        [B, H, 1],
      );
    const p = ctx.emit('Expand', [ctx.emit('Reshape', [pos!, ctx.int64s([B, 1, 1])]), ctx.int64s([B, H, 1])]);
    const idx = ctx.emit('Concat', [rows((b) => b), rows((_, h) => h), p], { axis: { int: -1 } }); // (B, H, 3)
    return ctx.emit('ScatterND', [cache!, idx, ctx.emit('Reshape', [value!, ctx.int64s([B, H, D])])]);
  },
  ref: ([cache, pos, value]) => {
    const [B, H, Tn, D] = cache!.shape as [number, number, number, number];
    const out = Float64Array.from(cache!.data);
    for (let b = 0; b < B; b++) {
      const t = pos!.data[b]!;
      if (t < 0 || t >= Tn) throw new RangeError(`writeAt: position ${t} outside [0, ${Tn})`);
      for (let h = 0; h < H; h++) out.set(value!.data.subarray((b * H + h) * D, (b * H + h + 1) * D), ((b * H + h) * Tn + t) * D);
    }
    return out;
  },
});

/** cache (B, H, T, D) with row b's value (B, H, 1, D) written at position pos[b] (int64 (B)). */
export const writeAt = (cache: Tensor, pos: Tensor, value: Tensor): Tensor => writeAtOp([cache, pos, value], {});

// ---------------------------------------------------------------------------------------------
// oneHot

const oneHotOp = defineOp<{ depth: number }>({
  name: 'oneHot',
  infer: ([ids], { depth }, fail) => {
    if (ids!.dtype !== 'int64') fail(`ids must be int64, got ${ids!.dtype}`);
    if (!Number.isInteger(depth) || depth < 1) fail(`depth must be a positive integer, got ${depth}`);
    return { shape: [...ids!.shape, depth], dtype: 'float32' };
  },
  // The input is an integer index: nothing to differentiate (a path through it carries no gradient).
  vjp: () => [null],
  lower: (ctx, [ids], { depth }) => {
    if (ctx.float64) {
      // No float64 OneHot kernel in ONNX Runtime's CPU provider: compare with 0..depth−1 instead.
      const range = ctx.int64s(Array.from({ length: depth }, (_, i) => i));
      const hit = ctx.emit('Equal', [ctx.emit('Unsqueeze', [ids!, ctx.int64s([-1])]), range]);
      return ctx.emit('Cast', [hit], { to: { int: ctx.onnxType('float32') } });
    }
    // OneHot counts negative ids from the end; Tony's rule is "outside [0, depth) → a zero row",
    // so negative ids are first moved past the end.
    const depthT = ctx.int64s([depth], []);
    const inRange = ctx.emit('Where', [ctx.emit('Less', [ids!, ctx.int64s([0], [])]), depthT, ids!]);
    const values = ctx.emit('Constant', [], { value_floats: { floats: [0, 1] } });
    return ctx.emit('OneHot', [inRange, depthT, values], { axis: { int: -1 } });
  },
  ref: ([ids], { depth }) => {
    const out = new Float64Array(ids!.data.length * depth);
    ids!.data.forEach((id, i) => {
      if (id >= 0 && id < depth) out[i * depth + id] = 1;
    });
    return out;
  },
});

/** ids (int64, any shape) → float32 [...ids.shape, depth] with a 1 at each id; ids outside [0, depth) give a zero row. */
export const oneHot = (ids: Tensor, depth: number): Tensor => oneHotOp([ids], { depth });
