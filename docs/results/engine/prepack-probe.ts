/**
 * Does feeding the weights as graph inputs cost decoding the weights' pre-packing? ONNX Runtime's
 * CPU MatMul/Gemm kernels re-lay a constant B operand (an initializer) once, at session creation,
 * into the panels MLAS multiplies from; a B fed as an input is packed again on every run. Tony's
 * decode graphs read the parameters from runtime state (inputs). This runs generate's 8-step decode
 * graph (buildStepsDecodeGraph, small preset, context 320, greedy) two ways on onnxruntime-node, as
 * Tony's runtime makes sessions (no spinning, arena and pattern off): the parameters fed as inputs
 * (before), and the same values baked into the model as initializers — on 2 intra-op threads and
 * on 1 (a second thread's wake-up per kernel against the work it takes over), and both with ONNX
 * Runtime's arena and memory pattern on. Interleaved rounds;
 * CPU time (user + system, every thread) and wall time per token step over the 32 calls of a
 * 256-token generation after a 64-token prompt (the cache lengths generate feeds); the outputs of
 * every variant must be equal.
 *
 *   PRESET=small node --import tsx docs/results/engine/prepack-probe.ts [batch = 8] [rounds = 6]
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { buildStepsDecodeGraph, cacheLength, GPT_PRESETS, gptConfig } from '../../../src/models/gpt/gpt.ts';

const { onnx } = onnxProto;
const B = Number(process.argv[2] ?? 8);
const ROUNDS = Number(process.argv[3] ?? 6);
const cfg = gptConfig({ ...GPT_PRESETS[process.env.PRESET ?? 'small'], vocabSize: 260, blockSize: 320 });
const graph = buildStepsDecodeGraph(cfg, B, 8, false);
const model = graph.model;
const isWeight = (v: (typeof model.inputs)[number]) => v.name in graph.state && !v.dims && v.dtype === 'float32';
const weights = new Map<string, Float32Array>();
for (const v of model.inputs.filter(isWeight)) {
  const n = v.shape.reduce((a, b) => a * b, 1);
  weights.set(
    v.name,
    Float32Array.from({ length: n }, (_, i) => 0.05 * Math.sin(i * 0.37 + v.name.length)),
  );
}
// The same model with every weight input turned into an initializer holding its value.
const proto = onnx.ModelProto.decode(model.bytes);
proto.graph!.input = proto.graph!.input!.filter((i) => !weights.has(i.name!));
for (const [name, w] of weights) {
  const spec = model.inputs.find((v) => v.name === name)!;
  proto.graph!.initializer!.push({ name, dims: [...spec.shape], dataType: 1, rawData: new Uint8Array(w.buffer.slice(0)) });
}
const baked = onnx.ModelProto.encode(proto).finish();

const feeds = new Map<number, Record<string, ort.Tensor>>();
function feedsOf(L: number): Record<string, ort.Tensor> {
  let f = feeds.get(L);
  if (f) return f;
  f = {};
  for (const v of model.inputs) {
    const dims = v.shape.map((d, i) => (v.dims?.[i] ? L : d));
    const n = dims.reduce((a, b) => a * b, 1);
    if (weights.has(v.name)) f[v.name] = new ort.Tensor('float32', weights.get(v.name)!, dims);
    else if (v.name === 'pos') f[v.name] = new ort.Tensor('int64', new BigInt64Array(n).fill(60n), dims);
    else if (v.name === 'hidden') f[v.name] = new ort.Tensor('float32', new Float32Array(n), dims);
    else if (v.dtype === 'int64') f[v.name] = new ort.Tensor('int64', new BigInt64Array(n).fill(65n), dims);
    else
      f[v.name] = new ort.Tensor(
        'float32',
        Float32Array.from({ length: n }, (_, i) => 0.02 * Math.sin(i + 1)),
        dims,
      );
  }
  feeds.set(L, f);
  return f;
}
const bakedFeeds = (L: number) => Object.fromEntries(Object.entries(feedsOf(L)).filter(([k]) => !weights.has(k)));
const options = (threads: number, arena = false): ort.InferenceSession.SessionOptions => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  enableCpuMemArena: arena,
  enableMemPattern: arena,
  extra: { session: { intra_op: { allow_spinning: '0' } } },
});
const sessions = {
  'inputs, 2 threads': { s: await ort.InferenceSession.create(model.bytes, options(2)), feeds: feedsOf },
  'baked, 2 threads': { s: await ort.InferenceSession.create(baked, options(2)), feeds: bakedFeeds },
  'baked, 1 thread': { s: await ort.InferenceSession.create(baked, options(1)), feeds: bakedFeeds },
  'baked, 2t, arena': { s: await ort.InferenceSession.create(baked, options(2, true)), feeds: bakedFeeds },
  'baked, 1t, arena': { s: await ort.InferenceSession.create(baked, options(1, true)), feeds: bakedFeeds },
};
type Variant = keyof typeof sessions;
const names = Object.keys(sessions) as Variant[];
const lengths = Array.from({ length: 32 }, (_, c) => cacheLength(64 + 8 * c + 8, cfg.blockSize));
for (const L of new Set(lengths)) feedsOf(L);
// Same tokens every way.
const a = (await sessions[names[0]!].s.run(feedsOf(96))).tokens!.data as BigInt64Array;
for (const v of names.slice(1)) {
  const b = (await sessions[v].s.run(bakedFeeds(96))).tokens!.data as BigInt64Array;
  if (a.join() !== b.join()) throw new Error(`outputs differ: ${a} vs ${b} (${v})`);
}

const cpu = Object.fromEntries(names.map((v) => [v, [] as number[]]));
const wall = Object.fromEntries(names.map((v) => [v, [] as number[]]));
const loads: string[] = [];
for (let r = 0; r < ROUNDS; r++) {
  loads.push(loadavg()[0]!.toFixed(1));
  const order = names.map((_, i) => names[(i + r) % names.length]!);
  for (const name of order) {
    const { s, feeds } = sessions[name];
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (const L of lengths) await s.run(feeds(L));
    const c = process.cpuUsage(c0);
    wall[name]!.push((performance.now() - t0) / 256);
    cpu[name]!.push((c.user + c.system) / 1000 / 256);
  }
}
const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
const m = (xs: number[]) => median(xs.slice(1));
console.log(
  `${process.env.PRESET ?? 'small'}, batch ${B}, 8 steps per call, 32 calls; tokens equal; load before each round: ${loads.join(', ')}`,
);
for (const k of names) {
  console.log(
    `  ${k.padEnd(18)} CPU ms per token step ${m(cpu[k]!).toFixed(3)} (rounds ${cpu[k]!.map((x) => x.toFixed(3)).join(' ')}), wall ${m(wall[k]!).toFixed(3)} (rounds ${wall[k]!.map((x) => x.toFixed(3)).join(' ')}); wall / first ${(m(wall[k]!) / m(wall[names[0]!]!)).toFixed(3)}`,
  );
}
