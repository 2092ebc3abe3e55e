/**
 * What onnxruntime-node does with a pre-allocated output (issue 22): ONNX Runtime writes the result
 * into the buffer passed in `fetches`, but `run` returns a new tensor whose data is a copy (writing
 * into the buffer afterwards leaves the returned data unchanged). The same holds when the output
 * buffer is an input of the same run (written in place). Tony's worker therefore keeps the buffer
 * it passed, not the returned tensor (src/engine/runtime-worker.mjs).
 *
 *   node --import tsx docs/results/engine/output-copy-probe.ts
 */
import * as ort from 'onnxruntime-node';
import * as T from '../../../src/engine/index.ts';

const x = T.input('x', [4]);
const m = T.exportOnnx([x], { y: T.mul(x, 2) });
const s = await ort.InferenceSession.create(m.bytes);
const xin = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [4]);
const o = new ort.Tensor('float32', new Float32Array(4), [4]);
const r = await s.run({ x: xin }, { y: o });
const y = r.y as ort.Tensor;
console.log(
  'pre-allocated written:',
  Array.from(o.data as Float32Array),
  'same object',
  y === o,
  'same data',
  y.data === o.data,
  'same buffer',
  (y.data as Float32Array).buffer === (o.data as Float32Array).buffer,
);
// in place: output = the input tensor itself
const r2 = await s.run({ x: xin }, { y: xin });
console.log(
  'in place: input now',
  Array.from(xin.data as Float32Array),
  'result',
  Array.from((r2.y as ort.Tensor).data as Float32Array),
  'same buffer',
  ((r2.y as ort.Tensor).data as Float32Array).buffer === (xin.data as Float32Array).buffer,
);
(o.data as Float32Array)[0] = 99;
console.log('after writing o[0] = 99, y[0] =', (y.data as Float32Array)[0], '(99: same memory; 2: a copy)');
