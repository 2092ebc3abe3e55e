/**
 * Lower a traced graph to one standard ONNX model (ai.onnx ops only), encoded with the `onnx-proto`
 * schema. The same function exports forward-only graphs (loadable by any ONNX tool) and whole
 * training steps (forward + backward + optimizer, state in and out).
 */
import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import { TonyError } from '../errors.ts';
import { type DType, type HostTensor, toNumbers } from './dtype.ts';
import { getOp, type LowerCtx, type OnnxAttr } from './op.ts';
import { fmt, type Tensor, topoSort } from './tensor.ts';

const { onnx } = onnxProto;

/** TensorProto.DataType codes. */
const ONNX_TYPE: Record<DType, number> = { float32: 1, bool: 9, int32: 6, int64: 7, float64: 11 };

export interface ExportOptions {
  /** ai.onnx opset; lowering branches where ONNX changed (reduction axes, fused ops). Default 20. */
  opset?: number;
  /** Float64 checking mode: all float32 tensors become float64 (see LowerCtx.float64). */
  float64?: boolean;
  /** Graph name recorded in the model. */
  name?: string;
  /**
   * Symbolic input dimensions: input name → axis → a dim name, e.g. `{ 'cache.0.k': { 2: 'L' } }`.
   * The graph is traced at the listed size but runs at any: slices that reach the end of an axis
   * are lowered open-ended, and nothing else may depend on that size (a decode graph whose KV
   * cache grows with the filled positions; GPT's buildStepsDecodeGraph).
   */
  dims?: Readonly<Record<string, Readonly<Record<number, string>>>>;
}

export interface ValueSpec {
  name: string;
  shape: readonly number[];
  dtype: DType;
  /** Symbolic dimensions by axis (ExportOptions.dims); `shape` holds the traced size. */
  dims?: Readonly<Record<number, string>>;
}

export interface OnnxModel {
  bytes: Uint8Array;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodeCount: number;
  opset: number;
}

export const DEFAULT_OPSET = 20;
/** ONNX IR version that each opset needs (onnx/onnx docs/Versioning.md). */
const irVersionFor = (opset: number) => (opset >= 21 ? 10 : opset >= 19 ? 9 : 8);

/**
 * Constants at least this large are stored once per graph however many times the model makes them:
 * every layer of a GPT builds its own causal masks (at T = 2,048, 9.4 MB a layer, which ONNX
 * Runtime then held once per layer; issue 22). Smaller ones are not worth hashing.
 */
const SHARED_CONSTANT_BYTES = 1024;

/**
 * Export the graph computing `outputs` from `inputs`. Every graph input reachable from the outputs
 * must be listed in `inputs` (their order is the model's input order).
 *
 *   const x = input('x', [2, 3]);
 *   const model = exportOnnx([x], { y: tanh(x) });
 */
export function exportOnnx(inputs: readonly Tensor[], outputs: Readonly<Record<string, Tensor>>, opts: ExportOptions = {}): OnnxModel {
  const opset = opts.opset ?? DEFAULT_OPSET;
  const float64 = opts.float64 ?? false;
  const mapType = (d: DType): DType => (float64 && d === 'float32' ? 'float64' : d);

  const listed = new Set<number>();
  for (const t of inputs) {
    if (t.op !== 'input') throw new TonyError('usage', `exportOnnx: ${t} is listed as an input but is computed`);
    if (t.name!.startsWith('_')) throw new TonyError('usage', `exportOnnx: input name '${t.name}' may not start with '_' (reserved)`);
    listed.add(t.id);
  }
  const order = topoSort(Object.values(outputs));
  const missing = order.filter((t) => t.op === 'input' && !listed.has(t.id)).map((t) => t.name);
  if (missing.length) {
    throw new TonyError('usage', `exportOnnx: the outputs depend on inputs not listed: ${missing.join(', ')}`);
  }

  const nodes: onnxProto.onnx.INodeProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  const names = new Map<number, string>();
  for (const t of inputs) names.set(t.id, t.name!);
  let counter = 0;
  const fresh = (prefix: string) => `_${prefix}${counter++}`; // user names never start with _
  const int64Cache = new Map<string, string>();
  // Constants of SHARED_CONSTANT_BYTES or more with the same type, shape and bytes: one initializer.
  const constCache = new Map<string, string>();

  const ctx: LowerCtx = {
    opset,
    float64,
    openEnds: opts.dims !== undefined && Object.keys(opts.dims).length > 0,
    emit: (opType, ins, attrs) => ctx.emitMulti(opType, ins, 1, attrs)[0]!,
    emitMulti(opType, ins, nOutputs, attrs = {}) {
      const outs = Array.from({ length: nOutputs }, () => fresh('v'));
      nodes.push({
        opType,
        input: [...ins],
        output: outs,
        name: fresh(`${opType}_`),
        attribute: Object.entries(attrs).map(([name, a]) => encodeAttr(name, a)),
      });
      return outs;
    },
    int64s(values, shape = [values.length]) {
      const key = `${fmt(shape)}:${values.join(',')}`;
      let name = int64Cache.get(key);
      if (!name) {
        name = fresh('k');
        initializers.push(encodeTensor(name, { dtype: 'int64', shape, data: BigInt64Array.from(values, BigInt) }, 'int64'));
        int64Cache.set(key, name);
      }
      return name;
    },
    scalar(value, dtype) {
      const name = fresh('s');
      initializers.push(encodeTensor(name, { dtype, shape: [], data: Float64Array.of(value) }, mapType(dtype)));
      return name;
    },
    onnxType: (dtype) => ONNX_TYPE[mapType(dtype)],
  };

  for (const t of order) {
    if (names.has(t.id)) continue;
    if (t.op === 'const') {
      const init = encodeTensor('', t.value!, mapType(t.dtype));
      const raw = init.rawData!;
      const key =
        raw.length >= SHARED_CONSTANT_BYTES
          ? `${init.dataType}:${fmt(t.shape)}:${createHash('sha1').update(raw).digest('base64')}`
          : undefined;
      let name = key && constCache.get(key);
      if (!name) {
        init.name = name = fresh('c');
        initializers.push(init);
        if (key) constCache.set(key, name);
      }
      names.set(t.id, name);
      continue;
    }
    const ins = t.inputs.map((i) => names.get(i.id)!);
    names.set(t.id, getOp(t.op).lower(ctx, ins, t.attrs, t));
  }
  // Graph outputs: rename the producing node's output (an Identity copy costs a pass over the data,
  // which matters for state outputs such as KV caches); an Identity only where a tensor is an input,
  // a constant, or a second output of the same tensor.
  const outSpecs: ValueSpec[] = [];
  const renames = new Map<string, string>();
  const inputNames = new Set(inputs.map((t) => t.name!));
  const initNames = new Set(initializers.map((i) => i.name!));
  for (const [name, t] of Object.entries(outputs)) {
    const internal = names.get(t.id)!;
    if (!inputNames.has(internal) && !initNames.has(internal) && !renames.has(internal)) renames.set(internal, name);
    else nodes.push({ opType: 'Identity', input: [renames.get(internal) ?? internal], output: [name], name: fresh('out_') });
    outSpecs.push({ name, shape: t.shape, dtype: mapType(t.dtype) });
  }
  for (const n of nodes) {
    n.input = n.input!.map((x) => renames.get(x) ?? x);
    n.output = n.output!.map((x) => renames.get(x) ?? x);
  }
  const inSpecs: ValueSpec[] = inputs.map((t) => {
    const dims = opts.dims?.[t.name!];
    return { name: t.name!, shape: t.shape, dtype: mapType(t.dtype), ...(dims ? { dims } : {}) };
  });
  for (const name of Object.keys(opts.dims ?? {})) {
    if (!inputNames.has(name)) throw new TonyError('usage', `exportOnnx: symbolic dims for '${name}', which is not an input`);
  }

  const model = onnx.ModelProto.create({
    irVersion: irVersionFor(opset),
    producerName: 'tony',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: opts.name ?? 'tony',
      node: nodes,
      initializer: initializers,
      input: inSpecs.map(valueInfo),
      output: outSpecs.map(valueInfo),
    },
  });
  return { bytes: onnx.ModelProto.encode(model).finish(), inputs: inSpecs, outputs: outSpecs, nodeCount: nodes.length, opset };
}

function valueInfo(v: ValueSpec): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ONNX_TYPE[v.dtype],
        shape: { dim: v.shape.map((d, i) => (v.dims?.[i] ? { dimParam: v.dims[i] } : { dimValue: d })) },
      },
    },
  };
}

function encodeAttr(name: string, a: OnnxAttr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in a) return { name, type: T.INT, i: a.int };
  if ('float' in a) return { name, type: T.FLOAT, f: a.float };
  if ('ints' in a) return { name, type: T.INTS, ints: [...a.ints] };
  if ('floats' in a) return { name, type: T.FLOATS, floats: [...a.floats] };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.str) };
}

/** Encode a host tensor as a TensorProto of `as` (converting element type if needed). */
function encodeTensor(name: string, t: HostTensor, as: DType): onnxProto.onnx.ITensorProto {
  let raw: Uint8Array;
  const n = t.data.length;
  if (as === t.dtype && !(t.data instanceof Float64Array && as !== 'float64')) {
    raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
  } else {
    const v = toNumbers(t);
    const view =
      as === 'float32'
        ? Float32Array.from(v)
        : as === 'float64'
          ? Float64Array.from(v)
          : as === 'int64'
            ? BigInt64Array.from(v, (x) => BigInt(Math.trunc(x)))
            : as === 'int32'
              ? Int32Array.from(v)
              : Uint8Array.from(v, (x) => (x ? 1 : 0));
    raw = new Uint8Array(view.buffer);
  }
  if (raw.length === 0 && n > 0) throw new Error('encodeTensor: empty data');
  return { name, dims: [...t.shape], dataType: ONNX_TYPE[as], rawData: raw };
}
