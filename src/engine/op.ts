/**
 * How an op is defined: shape rule, gradient (VJP), ONNX lowering and reference implementation,
 * side by side, registered once. Ops live in ops/*.ts; adding one touches one file and one row of
 * the gradient-check table (test/engine/gradcheck.test.ts).
 */
import { TonyError } from '../errors.ts';
import type { DType } from './dtype.ts';
import { type Attrs, Tensor, shapeErrorAt } from './tensor.ts';

/** A concrete array in the reference interpreter: always float64 storage, whatever the dtype. */
export interface RefArray {
  shape: readonly number[];
  dtype: DType;
  data: Float64Array;
}

/** An ONNX attribute value, typed explicitly (ONNX distinguishes 1 from 1.0). */
export type OnnxAttr =
  | { int: number }
  | { float: number }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { str: string };

/** What a lowering sees: it emits ONNX nodes and returns the name of the op's output. */
export interface LowerCtx {
  readonly opset: number;
  /**
   * Float64 checking mode: float32 tensors are computed as float64, and ops without float64
   * kernels in ONNX Runtime's CPU provider are lowered to primitives (DESIGN.md, pitfalls).
   */
  readonly float64: boolean;
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

export const allOps = (): string[] => [...registry.keys()];

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
export function broadcastMap(
  inputs: readonly RefArray[],
  outShape: readonly number[],
  f: (...xs: number[]) => number,
): Float64Array {
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
