/**
 * Reductions (mean, max, min; sum sits in shape.ts beside expand, its adjoint), argmax / argmin,
 * softmax / log-softmax, cumulative sum and product.
 *
 * The op modules import in one direction — shape ← elementwise ← reduce — so that each can be read
 * (and loaded) without the others' cycle; test/engine/ops.test.ts checks the engine has no cycle.
 */
import type { DType } from '../dtype.ts';
import { axesOf, defineOp, type RefArray, reducedShape, reduceOp, strides } from '../op.ts';
import { normAxis, type Tensor } from '../tensor.ts';
import { div, equal, exp, log, mul, sub, where } from './elementwise.ts';
import { reshape, spreadOver, sum } from './shape.ts';

const count = (x: Tensor, axes: readonly number[]) => axes.reduce((acc, ax) => acc * x.shape[ax]!, 1);

const meanOp = reduceOp(
  'mean',
  'ReduceMean',
  0,
  (a, v) => a + v,
  (g, x, _o, { axes }) => div(spreadOver(g, x, axes), count(x, axes)),
  (v, n) => v / n,
);
/** max/min VJP: ties share the gradient equally (the subgradient numpy/JAX use). */
function extremumVjp(g: Tensor, x: Tensor, out: Tensor, axes: readonly number[]): Tensor {
  const hit = where(equal(x, reshape(out, reducedShape(x.shape, axes, true))), 1, 0);
  return mul(div(hit, sum(hit, axes, true)), spreadOver(g, x, axes));
}
const maxOp = reduceOp('max', 'ReduceMax', -Infinity, Math.max, (g, x, out, { axes }) => extremumVjp(g, x, out, axes));
const minOp = reduceOp('min', 'ReduceMin', Infinity, Math.min, (g, x, out, { axes }) => extremumVjp(g, x, out, axes));

/**
 * Σ x² over `axes` (ONNX ReduceSumSquare): one pass, x² never written out. Gradient clipping's
 * norm took `sum(mul(g, g))`, which held g² for every parameter at once until the update read it —
 * a second copy of all gradients at the step's peak (issue 22).
 */
const sumSquaresOp = reduceOp(
  'sumSquares',
  'ReduceSumSquare',
  0,
  (a, v) => a + v * v,
  (g, x, _o, { axes }) => mul(mul(spreadOver(g, x, axes), x), 2),
);

export const sumSquares = (x: Tensor, axes: number | readonly number[] = [...x.shape.keys()], keepdims = false) =>
  sumSquaresOp([x], { axes: axesOf(x, axes, 'sumSquares'), keepdims });
export const mean = (x: Tensor, axes: number | readonly number[] = [...x.shape.keys()], keepdims = false) =>
  meanOp([x], { axes: axesOf(x, axes, 'mean'), keepdims });
export const max = (x: Tensor, axes: number | readonly number[] = [...x.shape.keys()], keepdims = false) =>
  maxOp([x], { axes: axesOf(x, axes, 'max'), keepdims });
export const min = (x: Tensor, axes: number | readonly number[] = [...x.shape.keys()], keepdims = false) =>
  minOp([x], { axes: axesOf(x, axes, 'min'), keepdims });

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
          for (let k = 1; k < n; k++)
            if (better(x!.data[o * n * inner + i + k * inner]!, x!.data[o * n * inner + i + best * inner]!)) best = k;
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
export const argmax = (x: Tensor, axis = -1, keepdims = false) => argmaxOp([x], { axis: normAxis(axis, x.rank, 'argmax'), keepdims });
/** Index (int64) of the smallest element along `axis`; ties → the first, like numpy.argmin. */
export const argmin = (x: Tensor, axis = -1, keepdims = false) => argminOp([x], { axis: normAxis(axis, x.rank, 'argmin'), keepdims });

/**
 * Cumulative product along `axis` of a positive tensor, as exp(cumsum(log x)): one CumSum kernel and
 * a gradient that comes from the three ops' own. It needs x > 0 (log); the relative error is a few
 * ulps times the length of the axis.
 */
export const cumprod = (x: Tensor, axis: number, opts: { exclusive?: boolean; reverse?: boolean } = {}): Tensor =>
  exp(cumsum(log(x), axis, opts));
