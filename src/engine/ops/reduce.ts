/**
 * Reductions (sum, mean, max), softmax / log-softmax, cumulative sum.
 *
 * ONNX moved reduction axes from an attribute to an input: ReduceSum at opset 13, the other
 * reductions at opset 18. The lowering branches on the opset being exported.
 */
import type { DType } from '../dtype.ts';
import { type LowerCtx, type RefArray, defineOp, strides } from '../op.ts';
import { type Tensor, normAxis } from '../tensor.ts';
import { div, exp, mul, sub, where, equal } from './elementwise.ts';
import { expand, reshape } from './shape.ts';

interface ReduceAttrs extends Record<string, unknown> {
  axes: number[];
  keepdims: boolean;
}

function reducedShape(shape: readonly number[], axes: readonly number[], keepdims: boolean): number[] {
  return keepdims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

function lowerReduce(ctx: LowerCtx, onnx: string, x: string, { axes, keepdims }: ReduceAttrs): string {
  const axesAsInput = onnx === 'ReduceSum' ? ctx.opset >= 13 : ctx.opset >= 18;
  const kd = { keepdims: { int: keepdims ? 1 : 0 } };
  return axesAsInput
    ? ctx.emit(onnx, [x, ctx.int64s(axes)], kd)
    : ctx.emit(onnx, [x], { ...kd, axes: { ints: axes } });
}

/** Reference reduction: fold `f` over `axes`, starting from `init`. */
function refReduce(x: RefArray, axes: readonly number[], init: number, f: (acc: number, v: number) => number): Float64Array {
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Float64Array(outShape.reduce((a, b) => a * b, 1)).fill(init);
  const os = strides(outShape);
  const idx = new Array<number>(x.shape.length).fill(0);
  for (let i = 0; i < x.data.length; i++) {
    let o = 0;
    for (let d = 0; d < idx.length; d++) if (!axes.includes(d)) o += idx[d]! * os[d]!;
    out[o] = f(out[o]!, x.data[i]!);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < x.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

type ReduceVjp = (g: Tensor, x: Tensor, out: Tensor, attrs: ReduceAttrs) => Tensor;

function reduceOp(
  name: string,
  onnx: string,
  init: number,
  f: (acc: number, v: number) => number,
  vjp: ReduceVjp,
  post?: (v: number, n: number) => number,
) {
  return defineOp<ReduceAttrs>({
    name,
    infer([x], { axes, keepdims }, fail) {
      if (x!.dtype === 'bool') fail('cannot reduce a bool tensor', 'cast it first');
      return { shape: reducedShape(x!.shape, axes, keepdims), dtype: x!.dtype };
    },
    vjp: (g, [x], out, attrs) => [vjp(g, x!, out, attrs)],
    lower: (ctx, [x], attrs) => lowerReduce(ctx, onnx, x!, attrs),
    ref([x], { axes }) {
      const out = refReduce(x!, axes, init, f);
      if (!post) return out;
      const n = axes.reduce((a, ax) => a * x!.shape[ax]!, 1);
      return out.map((v) => post(v, n));
    },
  });
}

// Gradients broadcast g back over the reduced axes.
const keepShape = (x: Tensor, axes: readonly number[]) => x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
const spread = (g: Tensor, x: Tensor, axes: readonly number[]) => expand(reshape(g, keepShape(x, axes)), x.shape);
const count = (x: Tensor, axes: readonly number[]) => axes.reduce((acc, ax) => acc * x.shape[ax]!, 1);

const sumOp = reduceOp('sum', 'ReduceSum', 0, (a, v) => a + v, (g, x, _o, { axes }) => spread(g, x, axes));
const meanOp = reduceOp(
  'mean',
  'ReduceMean',
  0,
  (a, v) => a + v,
  (g, x, _o, { axes }) => div(spread(g, x, axes), count(x, axes)),
  (v, n) => v / n,
);
const maxOp = reduceOp('max', 'ReduceMax', -Infinity, Math.max, (g, x, out, { axes }) => {
  // Ties share the gradient equally (the subgradient numpy/JAX use).
  const isMax = where(equal(x, reshape(out, keepShape(x, axes))), 1, 0);
  return mul(div(isMax, sum(isMax, axes, true)), spread(g, x, axes));
});

const axesOf = (x: Tensor, axes: number | readonly number[], op: string) =>
  [...new Set((typeof axes === 'number' ? [axes] : axes).map((a) => normAxis(a, x.rank, op)))].sort((a, b) => a - b);

/** Sum over `axes` (all when omitted). */
export const sum = (x: Tensor, axes: number | readonly number[] = [...x.shape.keys()], keepdims = false) =>
  sumOp([x], { axes: axesOf(x, axes, 'sum'), keepdims });
export const mean = (x: Tensor, axes: number | readonly number[] = [...x.shape.keys()], keepdims = false) =>
  meanOp([x], { axes: axesOf(x, axes, 'mean'), keepdims });
export const max = (x: Tensor, axes: number | readonly number[] = [...x.shape.keys()], keepdims = false) =>
  maxOp([x], { axes: axesOf(x, axes, 'max'), keepdims });

// ---------------------------------------------------------------------------------------------
// softmax and log-softmax over one axis (the last is ~10× faster in ORT: keep it last).

function refSoftmax(x: RefArray, axis: number, log: boolean): Float64Array {
  const out = new Float64Array(x.data.length);
  const n = x.shape[axis]!;
  const inner = strides(x.shape)[axis]!;
  const outer = x.data.length / (n * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let m = -Infinity;
      for (let k = 0; k < n; k++) m = Math.max(m, x.data[base + k * inner]!);
      let s = 0;
      for (let k = 0; k < n; k++) s += Math.exp(x.data[base + k * inner]! - m);
      for (let k = 0; k < n; k++) {
        const v = x.data[base + k * inner]! - m;
        out[base + k * inner] = log ? v - Math.log(s) : Math.exp(v) / s;
      }
    }
  }
  return out;
}

function softmaxLike(name: string, onnx: string, log: boolean) {
  return defineOp<{ axis: number }>({
    name,
    infer([x], _a, fail) {
      if (x!.dtype !== 'float32' && x!.dtype !== 'float64') fail(`needs a float tensor, got ${x!.dtype}`);
      return { shape: [...x!.shape], dtype: x!.dtype as DType };
    },
    vjp: log
      ? (g, _ins, out, { axis }) => [sub(g, mul(exp(out), sum(g, axis, true)))]
      : (g, _ins, out, { axis }) => [mul(out, sub(g, sum(mul(g, out), axis, true)))],
    lower: (ctx, [x], { axis }) => ctx.emit(onnx, [x!], { axis: { int: axis } }),
    ref: ([x], { axis }) => refSoftmax(x!, axis, log),
  });
}

const softmaxOp = softmaxLike('softmax', 'Softmax', false);
const logSoftmaxOp = softmaxLike('logSoftmax', 'LogSoftmax', true);

export const softmax = (x: Tensor, axis = -1) => softmaxOp([x], { axis: normAxis(axis, x.rank, 'softmax') });
export const logSoftmax = (x: Tensor, axis = -1) => logSoftmaxOp([x], { axis: normAxis(axis, x.rank, 'logSoftmax') });

// ---------------------------------------------------------------------------------------------
// cumulative sum

interface CumsumAttrs extends Record<string, unknown> {
  axis: number;
  exclusive: boolean;
  reverse: boolean;
}

const cumsumOp: (inputs: readonly Tensor[], attrs: CumsumAttrs) => Tensor = defineOp<CumsumAttrs>({
  name: 'cumsum',
  infer([x], _a, fail) {
    if (x!.dtype === 'bool') fail('cannot cumsum a bool tensor');
    return { shape: [...x!.shape], dtype: x!.dtype };
  },
  // d/dx of an inclusive forward cumsum is a reverse cumsum of g (and vice versa); exclusive stays exclusive.
  vjp: (g, _ins, _out, a) => [cumsumOp([g], { ...a, reverse: !a.reverse })],
  lower: (ctx, [x], { axis, exclusive, reverse }) =>
    ctx.emit('CumSum', [x!, ctx.int64s([axis], [])], { exclusive: { int: +exclusive }, reverse: { int: +reverse } }),
  ref([x], { axis, exclusive, reverse }) {
    const out = new Float64Array(x!.data.length);
    const n = x!.shape[axis]!;
    const inner = strides(x!.shape)[axis]!;
    const outer = x!.data.length / (n * inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let acc = 0;
        for (let s = 0; s < n; s++) {
          const k = reverse ? n - 1 - s : s;
          const at = o * n * inner + i + k * inner;
          if (exclusive) {
            out[at] = acc;
            acc += x!.data[at]!;
          } else {
            acc += x!.data[at]!;
            out[at] = acc;
          }
        }
      }
    }
    return out;
  },
});

/** Cumulative sum along `axis` (ONNX CumSum semantics for exclusive/reverse). */
export const cumsum = (x: Tensor, axis: number, opts: { exclusive?: boolean; reverse?: boolean } = {}): Tensor =>
  cumsumOp([x], { axis: normAxis(axis, x.rank, 'cumsum'), exclusive: !!opts.exclusive, reverse: !!opts.reverse });

// ---------------------------------------------------------------------------------------------
// argmax / argmin (ONNX ArgMax / ArgMin; ties take the first index, as numpy does)

interface ArgAttrs extends Record<string, unknown> {
  axis: number;
  keepdims: boolean;
}

function argOp(name: string, onnx: string, better: (v: number, best: number) => boolean) {
  return defineOp<ArgAttrs>({
    name,
    infer([x], { axis, keepdims }, fail) {
      if (x!.dtype === 'bool') fail(`cannot ${name} a bool tensor`, 'cast it first');
      return { shape: reducedShape(x!.shape, [axis], keepdims), dtype: 'int64' };
    },
    // An index has no gradient; `vjp` is absent, so autodiff refuses a path from a parameter through it.
    // select_last_index = 0 (the default, explicit here) is numpy's first-index tie rule.
    lower: (ctx, [x], { axis, keepdims }) =>
      ctx.emit(onnx, [x!], { axis: { int: axis }, keepdims: { int: keepdims ? 1 : 0 }, select_last_index: { int: 0 } }),
    ref([x], { axis }) {
      const n = x!.shape[axis]!;
      const inner = strides(x!.shape)[axis]!;
      const outer = x!.data.length / (n * inner);
      const out = new Float64Array(outer * inner);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let best = 0;
          // strict comparison: a later equal value never replaces the first
          for (let k = 1; k < n; k++) if (better(x!.data[o * n * inner + i + k * inner]!, x!.data[o * n * inner + i + best * inner]!)) best = k;
          out[o * inner + i] = best;
        }
      }
      return out;
    },
  });
}

const argmaxOp = argOp('argmax', 'ArgMax', (v, best) => v > best);
const argminOp = argOp('argmin', 'ArgMin', (v, best) => v < best);

/** Index (int64) of the largest element along `axis`; ties → the first, like numpy.argmax. */
export const argmax = (x: Tensor, axis = -1, keepdims = false) =>
  argmaxOp([x], { axis: normAxis(axis, x.rank, 'argmax'), keepdims });
/** Index (int64) of the smallest element along `axis`; ties → the first, like numpy.argmin. */
export const argmin = (x: Tensor, axis = -1, keepdims = false) =>
  argminOp([x], { axis: normAxis(axis, x.rank, 'argmin'), keepdims });
