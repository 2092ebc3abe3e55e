/**
 * A probe, not Tony code: does onnxruntime-node's CPU build run com.microsoft GroupQueryAttention
 * for a decode step, attending over each row's filled cache positions only, and can Node hand it
 * the cache as both `past_key` and a pre-allocated `present_key` (the same memory), so that it
 * appends the new key in place instead of copying the cache every step? One attention layer of
 * the decode graph (nh 4, hs 32, context 320: the `small` preset), batch 1 and 4, rows at
 * different positions; checked against a plain-loop attention over positions ≤ pos, then timed
 * against the same attention in ai.onnx ops as `forwardAppend` builds it.
 *
 *   node --import tsx docs/results/engine/gqa-probe.ts [intra-op threads = 2]
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { arange, MASK } from '../../../src/engine/nn.ts';
import { exportOnnx } from '../../../src/engine/onnx.ts';
import * as T from '../../../src/engine/ops/index.ts';
import { input, type Tensor } from '../../../src/engine/tensor.ts';

const { onnx } = onnxProto;
const nh = 4;
const hs = 32;
const C = nh * hs;
const Tmax = 320;
const FLOAT = 1;
const INT32 = 6;

function gqaModel(B: number): Uint8Array {
  const vi = (name: string, type: number, dims: number[]) => ({
    name,
    type: { tensorType: { elemType: type, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 9,
    opsetImport: [
      { domain: '', version: 20 },
      { domain: 'com.microsoft', version: 1 },
    ],
    graph: {
      name: 'gqa',
      node: [
        {
          opType: 'GroupQueryAttention',
          domain: 'com.microsoft',
          name: 'gqa',
          input: ['q', 'k', 'v', 'past_key', 'past_value', 'seqlens_k', 'total'],
          output: ['y', 'present_key', 'present_value'],
          attribute: [
            { name: 'num_heads', type: onnx.AttributeProto.AttributeType.INT, i: nh },
            { name: 'kv_num_heads', type: onnx.AttributeProto.AttributeType.INT, i: nh },
          ],
        },
      ],
      input: [
        vi('q', FLOAT, [B, 1, C]),
        vi('k', FLOAT, [B, 1, C]),
        vi('v', FLOAT, [B, 1, C]),
        vi('past_key', FLOAT, [B, nh, Tmax, hs]),
        vi('past_value', FLOAT, [B, nh, Tmax, hs]),
        vi('seqlens_k', INT32, [B]),
        vi('total', INT32, []),
      ],
      output: [vi('y', FLOAT, [B, 1, C]), vi('present_key', FLOAT, [B, nh, Tmax, hs]), vi('present_value', FLOAT, [B, nh, Tmax, hs])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The same layer as forwardAppend computes it (ai.onnx ops): q, k, v (B, nh, 1, hs), cache read-only. */
function onnxModel(B: number) {
  const q = input('q', [B, nh, 1, hs]);
  const k = input('k', [B, nh, 1, hs]);
  const v = input('v', [B, nh, 1, hs]);
  const ck = input('past_key', [B, nh, Tmax, hs]);
  const cv = input('past_value', [B, nh, Tmax, hs]);
  const pos = input('pos', [B], 'int64');
  const scale = 1 / Math.sqrt(hs);
  // The cache mask as the decode graphs built it in-graph at the time (they are fed it now: decodeMask).
  const hidden = T.where(T.lessEqual(T.reshape(pos, [B, 1, 1, 1]), T.reshape(arange(Tmax), [1, 1, 1, Tmax])), MASK, 0);
  const old = T.add(T.mul(T.matmul(q, T.transposeLast(ck)), scale), hidden);
  const own = T.mul(T.sum(T.mul(q, k), -1, true), scale);
  const [pOld, pOwn] = T.split(T.softmax(T.concat([old, own], 3)), [Tmax, 1], 3) as [Tensor, Tensor];
  const y = T.add(T.matmul(pOld, cv), T.mul(pOwn, v));
  return exportOnnx([q, k, v, ck, cv, pos], { y });
}

const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 1.37));
const opts: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: Number(process.argv[2] ?? 2),
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  enableCpuMemArena: false,
  enableMemPattern: false,
  extra: { session: { intra_op: { allow_spinning: '0' } } },
};

for (const B of [1, 4]) {
  const pos = Array.from({ length: B }, (_, b) => 37 + 61 * b); // rows at different positions
  const q = rand(B * C, 1);
  const k = rand(B * C, 2);
  const v = rand(B * C, 3);
  const pk = rand(B * nh * Tmax * hs, 4);
  const pv = rand(B * nh * Tmax * hs, 5);
  // Plain loops: row b, head h attends over cache positions < pos[b] and its own key at pos[b].
  const want = new Float64Array(B * C);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < nh; h++) {
      const key = (t: number, d: number) => (t === pos[b] ? k[b * C + h * hs + d]! : pk[((b * nh + h) * Tmax + t) * hs + d]!);
      const val = (t: number, d: number) => (t === pos[b] ? v[b * C + h * hs + d]! : pv[((b * nh + h) * Tmax + t) * hs + d]!);
      const s = Array.from({ length: pos[b]! + 1 }, (_, t) => {
        let a = 0;
        for (let d = 0; d < hs; d++) a += q[b * C + h * hs + d]! * key(t, d);
        return a / Math.sqrt(hs);
      });
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, x) => a + x, 0);
      for (let d = 0; d < hs; d++) want[b * C + h * hs + d] = e.reduce((a, w, t) => a + (w / z) * val(t, d), 0);
    }
  const maxErr = (got: Float32Array) => Math.max(...Array.from(got, (x, i) => Math.abs(x - want[i]!)));

  const gqa = await ort.InferenceSession.create(gqaModel(B), opts);
  const feeds = (pastK: ort.Tensor, pastV: ort.Tensor) => ({
    q: new ort.Tensor('float32', q, [B, 1, C]),
    k: new ort.Tensor('float32', k, [B, 1, C]),
    v: new ort.Tensor('float32', v, [B, 1, C]),
    past_key: pastK,
    past_value: pastV,
    seqlens_k: new ort.Tensor('int32', Int32Array.from(pos), [B]),
    total: new ort.Tensor('int32', Int32Array.of(Math.max(...pos) + 1), []),
  });
  // 1. present as a fresh output (a copy of the cache plus the new key).
  const r1 = await gqa.run(
    feeds(new ort.Tensor('float32', pk.slice(), [B, nh, Tmax, hs]), new ort.Tensor('float32', pv.slice(), [B, nh, Tmax, hs])),
  );
  console.log(
    `B ${B}: GroupQueryAttention runs on the CPU provider; |y − plain loop| ≤ ${maxErr(r1.y!.data as Float32Array).toExponential(1)}`,
  );
  // 2. present pre-allocated on the very tensors fed as past: shared buffer, in-place append?
  const ck = new ort.Tensor('float32', pk.slice(), [B, nh, Tmax, hs]);
  const cv = new ort.Tensor('float32', pv.slice(), [B, nh, Tmax, hs]);
  const r2 = await gqa.run(feeds(ck, cv), {
    y: new ort.Tensor('float32', new Float32Array(B * C), [B, 1, C]),
    present_key: ck,
    present_value: cv,
  });
  const ckd = ck.data as Float32Array;
  let inPlace = true;
  let untouched = true;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < nh; h++)
      for (let d = 0; d < hs; d++) {
        if (ckd[((b * nh + h) * Tmax + pos[b]!) * hs + d] !== k[b * C + h * hs + d]) inPlace = false;
        if (ckd[((b * nh + h) * Tmax + pos[b]! - 1) * hs + d] !== pk[((b * nh + h) * Tmax + pos[b]! - 1) * hs + d]) untouched = false;
      }
  console.log(
    `  shared past/present buffer: |y − plain loop| ≤ ${maxErr(r2.y!.data as Float32Array).toExponential(1)}; new key written in place at pos: ${inPlace}; earlier positions untouched: ${untouched}`,
  );

  // 3. time: GQA shared, GQA copying, and forwardAppend's ai.onnx ops (one layer's attention).
  const ref = await ort.InferenceSession.create(onnxModel(B).bytes, opts);
  const refFeeds = {
    q: new ort.Tensor('float32', q, [B, nh, 1, hs]),
    k: new ort.Tensor('float32', k, [B, nh, 1, hs]),
    v: new ort.Tensor('float32', v, [B, nh, 1, hs]),
    past_key: new ort.Tensor('float32', pk, [B, nh, Tmax, hs]),
    past_value: new ort.Tensor('float32', pv, [B, nh, Tmax, hs]),
    pos: new ort.Tensor('int64', BigInt64Array.from(pos, BigInt), [B]),
  };
  const yOut = new ort.Tensor('float32', new Float32Array(B * C), [B, 1, C]);
  const cases: [string, () => Promise<unknown>][] = [
    ['GroupQueryAttention, shared buffer', () => gqa.run(feeds(ck, cv), { y: yOut, present_key: ck, present_value: cv })],
    [
      'GroupQueryAttention, present copied',
      () => gqa.run(feeds(new ort.Tensor('float32', pk, [B, nh, Tmax, hs]), new ort.Tensor('float32', pv, [B, nh, Tmax, hs]))),
    ],
    ["forwardAppend's ai.onnx attention", () => ref.run(refFeeds)],
  ];
  const times = new Map<string, number[]>();
  for (let round = 0; round < 5; round++)
    for (const [name, f] of cases) {
      for (let i = 0; i < 20; i++) await f();
      const cpu0 = process.cpuUsage();
      const N = 300;
      for (let i = 0; i < N; i++) await f();
      const c = process.cpuUsage(cpu0);
      (times.get(name) ?? times.set(name, []).get(name)!).push((c.user + c.system) / N);
    }
  const r3 = await ref.run(refFeeds);
  console.log(`  forwardAppend's ops: |y − plain loop| ≤ ${maxErr(r3.y!.data as Float32Array).toExponential(1)}`);
  for (const [name, ts] of times) {
    const sorted = [...ts].sort((a, b) => a - b);
    console.log(
      `  ${name.padEnd(38)} CPU ${sorted[2]!.toFixed(1).padStart(6)} µs per call (median of 5 rounds; ${sorted[0]!.toFixed(1)}–${sorted[4]!.toFixed(1)})`,
    );
  }
}
