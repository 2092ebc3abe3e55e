/**
 * Does an unknown key length stop ONNX Runtime's planner from chaining the attention blocks' buffers
 * across layers (reuse-probe.ts)? The planner reuses a freed buffer only for a tensor whose size it
 * knows statically to be equal. Here the same layers as reuse-probe.ts (block-causal attention,
 * (2, 4, 2,048, 32), blocks of 256 query rows), written as raw ONNX, with each block's key slice
 * ending at a constant (`known`) or at the constant plus an int64 input `z` fed as 0 (`unknown`: shape
 * inference cannot know the slice's length, so nothing downstream of it is planned for reuse).
 * Forward only.
 *
 *   node --import tsx docs/results/engine/reuse-unknown-probe.ts <layers> known|unknown
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';

const { onnx } = onnxProto;
const layers = Number(process.argv[2]);
const unknown = process.argv[3] === 'unknown';
const [B, H, Tn, D, R] = [2, 4, 2048, 32, 256];
const nodes: onnxProto.onnx.INodeProto[] = [];
const inits: onnxProto.onnx.ITensorProto[] = [];
let n = 0;
const node = (opType: string, input: string[], attribute: onnxProto.onnx.IAttributeProto[] = []) => {
  const out = `t${n++}`;
  nodes.push({ opType, input, output: [out], attribute });
  return out;
};
const i64 = (values: number[]) => {
  const name = `c${n++}`;
  inits.push({ name, dims: [values.length], dataType: 7, rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) });
  return name;
};
const f32 = (shape: number[], data: Float32Array) => {
  const name = `c${n++}`;
  inits.push({ name, dims: shape, dataType: 1, rawData: new Uint8Array(data.buffer) });
  return name;
};
const masks = new Map<number, string>();
let x = 'q';
for (let l = 0; l < layers; l++) {
  const ys: string[] = [];
  for (let s = 0; s < Tn; s += R) {
    const e = s + R;
    const end = unknown ? node('Add', [i64([e]), 'z']) : i64([e]);
    const qb = node('Slice', [x, i64([s]), i64([e]), i64([2])]);
    const kb = node('Slice', [x, i64([0]), end, i64([2])]);
    const scores = node('MatMul', [qb, node('Transpose', [kb], [{ name: 'perm', type: 7, ints: [0, 1, 3, 2] }])]);
    let mask = masks.get(s);
    if (!mask) {
      // Rows s…e−1 over keys 0…e−1; with an unknown key length, the mask's keys are sliced to match.
      const m = new Float32Array(R * e);
      for (let i = s; i < e; i++) for (let j = i + 1; j < e; j++) m[(i - s) * e + j] = -1e9;
      masks.set(s, (mask = f32([R, e], m)));
    }
    const maskb = unknown ? node('Slice', [mask, i64([0]), end, i64([1])]) : mask;
    const p = node('Softmax', [node('Add', [scores, maskb])], [{ name: 'axis', type: 2, i: -1 }]);
    ys.push(node('MatMul', [p, kb]));
  }
  x = node('Add', [x, node('Concat', ys, [{ name: 'axis', type: 2, i: 2 }])]);
}
const y = node('ReduceSum', [x], [{ name: 'keepdims', type: 2, i: 0 }]);
const tensorType = (elemType: number, dims: number[]) => ({ tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } });
const model = onnx.ModelProto.encode({
  irVersion: 8,
  opsetImport: [{ domain: '', version: 17 }],
  graph: {
    name: 'probe',
    node: nodes,
    initializer: inits,
    input: [{ name: 'q', type: tensorType(1, [B, H, Tn, D]) }, ...(unknown ? [{ name: 'z', type: tensorType(7, [1]) }] : [])],
    output: [{ name: y, type: { tensorType: { elemType: 1, shape: { dim: [] } } } }],
  },
}).finish();
const rss = () => Math.round(process.resourceUsage().maxRSS / 1024);
const s = await ort.InferenceSession.create(model, {
  intraOpNumThreads: 2,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  enableCpuMemArena: false,
  enableMemPattern: false,
});
const feeds: Record<string, ort.Tensor> = { q: new ort.Tensor('float32', new Float32Array(B * H * Tn * D).fill(0.01), [B, H, Tn, D]) };
if (unknown) feeds.z = new ort.Tensor('int64', new BigInt64Array(1), [1]);
const before = rss();
const out = await s.run(feeds);
console.log(
  `${layers} layer(s), key length ${unknown ? 'unknown to the planner' : 'known'}: peak RSS ${before} → ${rss()} MB (+${rss() - before}); sum ${(out[y]!.data as Float32Array)[0]!.toFixed(3)}`,
);
