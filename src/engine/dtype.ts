/**
 * Element types and host-side tensors (concrete arrays in JS memory), shared by the tracer, the
 * reference interpreter, the runtime and checkpoints.
 */
export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';

export type TypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

/** A concrete tensor: row-major data of `shape`, in the array type that matches `dtype`. */
export interface HostTensor {
  dtype: DType;
  shape: readonly number[];
  data: TypedArray;
}

export const isFloat = (d: DType) => d === 'float32' || d === 'float64';

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Allocate the typed array that holds `n` elements of `dtype` (what ONNX Runtime expects for it). */
export function allocate(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'bool':
      return new Uint8Array(n);
  }
}

/** Build a HostTensor from plain numbers (int64 values are converted to bigint). */
export function hostTensor(dtype: DType, shape: readonly number[], values?: ArrayLike<number>): HostTensor {
  const n = sizeOf(shape);
  const data = allocate(dtype, n);
  if (values) {
    if (values.length !== n) throw new RangeError(`hostTensor: ${values.length} values for shape [${shape}] (${n} elements)`);
    if (data instanceof BigInt64Array) for (let i = 0; i < n; i++) data[i] = BigInt(Math.round(values[i]!));
    else (data as Float64Array).set(values as ArrayLike<number>);
  }
  return { dtype, shape: [...shape], data };
}

/** Read any HostTensor's elements as plain numbers (int64 via Number: exact below 2^53). */
export function toNumbers(t: HostTensor): Float64Array {
  const out = new Float64Array(t.data.length);
  if (t.data instanceof BigInt64Array) for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  else out.set(t.data as ArrayLike<number>);
  return out;
}
