/**
 * How an op is defined: shape rule, gradient (VJP), ONNX lowering and reference implementation,
 * side by side, registered once. Ops live in ops/*.ts; adding one touches one file and one row of
 * the op table (test/engine/ops.test.ts, checked by test/engine/harness.ts).
 */
import { TonyError } from '../errors.ts';
import type { DType } from './dtype.ts';
import { type Attrs, normAxis, shapeErrorAt, Tensor } from './tensor.ts';

/** A concrete array in the reference interpreter: always float64 storage, whatever the dtype. */
export interface RefArray {
  shape: readonly number[];
  dtype: DType;
  data: Float64Array;
}

/** An ONNX attribute value, typed explicitly (ONNX distinguishes 1 from 1.0). */
export type OnnxAttr = { int: number } | { float: number } | { ints: readonly number[] } | { floats: readonly number[] } | { str: string };

/** What a lowering sees: it emits ONNX nodes and returns the name of the op's output. */
export interface LowerCtx {
  readonly opset: number;
  /**
   * Float64 checking mode: float32 tensors are computed as float64, and ops without float64
   * kernels in ONNX Runtime's CPU provider are lowered to primitives (DESIGN.md, pitfalls).
   */
  readonly float64: boolean;
  /**
   * Some input dimensions are symbolic (ExportOptions.dims): a slice that reaches the end of its
   * axis is lowered with an open end, so the graph runs at another size of that axis.
   */
  readonly openEnds?: boolean;
  /** Emit one node; returns its (first) output name. */
  emit(opType: string, inputs: readonly string[], attrs?: Record<string, OnnxAttr>): string;
  /** Emit one node with several outputs. */
  emitMulti(opType: string, inputs: readonly string[], nOutputs: number, attrs?: Record<string, OnnxAttr>): string[];
  /** An int64 initializer (e.g. shapes, axes). */
  int64s(values: readonly number[], shape?: readonly number[]): string;
  /** A scalar initializer of a float dtype (mapped to float64 in checking mode). */
  scalar(value: number, dtype: DType): string;
  /** The ONNX TensorProto data type for `dtype` (honouring checking mode). */
  onnxType(dtype: DType): number;
}

export interface OpDef<A extends Attrs = Attrs> {
  name: string;
  /** Output shape and dtype; throws (via fail) when inputs do not fit. */
  infer(inputs: readonly Tensor[], attrs: A, fail: (msg: string, hint?: string) => never): { shape: number[]; dtype: DType };
  /** Vector-Jacobian product: gradients for each input given the output gradient (null = none). */
  vjp?(g: Tensor, inputs: readonly Tensor[], out: Tensor, attrs: A): Array<Tensor | null>;
  lower(ctx: LowerCtx, inputs: readonly string[], attrs: A, node: Tensor): string;
  /** Reference implementation, float64, plain loops: the test oracle. */
  ref(inputs: readonly RefArray[], attrs: A, out: { shape: readonly number[]; dtype: DType }): Float64Array;
}

const registry = new Map<string, OpDef<any>>();

export function getOp(name: string): OpDef {
  const def = registry.get(name);
  if (!def) throw new TonyError('usage', `unknown op '${name}'`);
  return def;
}

/**
 * Register an op and return the function that applies it. The returned function checks shapes
 * immediately and names the caller's line when they do not fit.
 */
export function defineOp<A extends Attrs>(def: OpDef<A>): (inputs: readonly Tensor[], attrs: A) => Tensor {
  if (registry.has(def.name)) throw new Error(`op '${def.name}' defined twice`);
  registry.set(def.name, def);
  return (inputs, attrs) => {
    const fail = (msg: string, hint?: string): never => {
      const shapes = inputs.map((t) => `[${t.shape.join(', ')}] ${t.dtype}`).join(', ');
      throw shapeErrorAt(`${def.name}: ${msg} (inputs: ${shapes})`, hint);
    };
    const { shape, dtype } = def.infer(inputs, attrs, fail);
    return new Tensor(def.name, inputs, attrs, shape, dtype);
  };
}

// ---------------------------------------------------------------------------------------------
// Reference-implementation helpers (row-major strides, numpy broadcasting).

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** numpy broadcasting of two shapes, or undefined when they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` viewed as broadcast to `outShape` (0 on broadcast axes). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const s = strides(shape);
  const off = outShape.length - shape.length;
  return outShape.map((d, i) => (i < off || shape[i - off] === 1 ? 0 : s[i - off]!));
}

/** Apply `f` elementwise over broadcast inputs. */
export function broadcastMap(inputs: readonly RefArray[], outShape: readonly number[], f: (...xs: number[]) => number): Float64Array {
  const n = outShape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  const st = inputs.map((x) => broadcastStrides(x.shape, outShape));
  const idx = new Array<number>(outShape.length).fill(0);
  const offs = new Array<number>(inputs.length).fill(0);
  const args = new Array<number>(inputs.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < inputs.length; k++) args[k] = inputs[k]!.data[offs[k]!]!;
    out[i] = f(...args);
    // increment the multi-index and the input offsets
    for (let d = outShape.length - 1; d >= 0; d--) {
      idx[d]!++;
      for (let k = 0; k < inputs.length; k++) offs[k]! += st[k]![d]!;
      if (idx[d]! < outShape[d]!) break;
      for (let k = 0; k < inputs.length; k++) offs[k]! -= st[k]![d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

/** Round to float32 precision when the dtype says so (the reference runs in float64). */
export const roundTo = (dtype: DType, x: number) =>
  dtype === 'int64' || dtype === 'int32' ? Math.trunc(x) : dtype === 'bool' ? (x ? 1 : 0) : x;

// ---------------------------------------------------------------------------------------------
// Reductions: one factory shared by sum (ops/shape.ts, beside expand, its adjoint) and the others
// (ops/reduce.ts). ONNX moved reduction axes from an attribute to an input: ReduceSum at opset 13,
// the other reductions at opset 18; the lowering branches on the opset being exported.

export interface ReduceAttrs extends Record<string, unknown> {
  axes: number[];
  keepdims: boolean;
}

export function reducedShape(shape: readonly number[], axes: readonly number[], keepdims: boolean): number[] {
  return keepdims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

function lowerReduce(ctx: LowerCtx, onnx: string, x: string, { axes, keepdims }: ReduceAttrs): string {
  const axesAsInput = onnx === 'ReduceSum' ? ctx.opset >= 13 : ctx.opset >= 18;
  const kd = { keepdims: { int: keepdims ? 1 : 0 } };
  return axesAsInput ? ctx.emit(onnx, [x, ctx.int64s(axes)], kd) : ctx.emit(onnx, [x], { ...kd, axes: { ints: axes } });
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

/** Define a reduction over `axes` from its fold, its VJP and an optional finishing step (mean's 1/n). */
export function reduceOp(
  name: string,
  onnx: string,
  init: number,
  f: (acc: number, v: number) => number,
  vjp: (g: Tensor, x: Tensor, out: Tensor, attrs: ReduceAttrs) => Tensor,
  post?: (v: number, n: number) => number,
): (inputs: readonly Tensor[], attrs: ReduceAttrs) => Tensor {
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

/** Sorted, deduplicated, non-negative reduction axes. */
export const axesOf = (x: Tensor, axes: number | readonly number[], op: string) =>
  [...new Set((typeof axes === 'number' ? [axes] : axes).map((a) => normAxis(a, x.rank, op)))].sort((a, b) => a - b);
