/**
 * Session options for decoding, A/B: generate's decode graphs for the small preset (context 320)
 * run straight on onnxruntime-node — one token per call (buildAppendDecodeGraph) and 8 per call
 * (buildStepsDecodeGraph, greedy inside) at batch 1 and 8 — under each setting, interleaved over
 * rounds: 1 or 2 intra-op threads, and ONNX Runtime's thread-pool spinning on or off
 * (session.intra_op.allow_spinning; on by default: idle pool threads busy-wait for the next
 * kernel). Prints wall and CPU time (all threads, user + system) per token, medians over rounds.
 * Session runs only: no worker hand-off, no cache write, no sampling loop.
 *
 *   node --import tsx docs/results/engine/decode-options-ab.ts [rounds = 3] [calls = 40]
 */
import { loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { median } from '../../../src/engine/trainer.ts';
import { buildAppendDecodeGraph, buildStepsDecodeGraph, GPT_PRESETS, gptConfig } from '../../../src/models/gpt/gpt.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const CALLS = Number(process.argv[3] ?? 40);
const cfg = gptConfig({ ...GPT_PRESETS.small, vocabSize: 260, blockSize: 320 });
const settings = [
  { name: '2 threads, spinning', threads: 2, spin: '1' },
  { name: '2 threads, no spinning', threads: 2, spin: '0' },
  { name: '1 thread', threads: 1, spin: '1' },
];
const graphs = [1, 8].flatMap((B) =>
  [1, 8].map((k) => ({
    name: `b${B} ${k}/call`,
    B,
    k,
    model: (k === 1 ? buildAppendDecodeGraph(cfg, B) : buildStepsDecodeGraph(cfg, B, k, false)).model,
  })),
);

function feedsOf(model: (typeof graphs)[number]['model']): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const v of model.inputs) {
    const n = v.shape.reduce((a, b) => a * b, 1);
    const dims = [...v.shape];
    if (v.name === 'pos') feeds[v.name] = new ort.Tensor('int64', new BigInt64Array(n).fill(100n), dims);
    else if (v.dtype === 'int64') feeds[v.name] = new ort.Tensor('int64', new BigInt64Array(n).fill(65n), dims);
    else
      feeds[v.name] = new ort.Tensor(
        'float32',
        Float32Array.from({ length: n }, (_, i) => 0.02 * Math.sin(i + 1)),
        dims,
      );
  }
  return feeds;
}

const wall = new Map<string, number[]>();
const cpu = new Map<string, number[]>();
const loads: string[] = [];
for (let round = 0; round < ROUNDS; round++) {
  loads.push(loadavg()[0]!.toFixed(2));
  for (const g of graphs) {
    const feeds = feedsOf(g.model);
    for (const s of settings) {
      const session = await ort.InferenceSession.create(g.model.bytes, {
        intraOpNumThreads: s.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        enableCpuMemArena: false,
        enableMemPattern: false,
        extra: { session: { intra_op: { allow_spinning: s.spin } } },
      });
      for (let i = 0; i < 10; i++) await session.run(feeds);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < CALLS; i++) await session.run(feeds);
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      const key = `${g.name} | ${s.name}`;
      (wall.get(key) ?? wall.set(key, []).get(key)!).push(ms / CALLS / g.k);
      (cpu.get(key) ?? cpu.set(key, []).get(key)!).push((c.user + c.system) / 1000 / CALLS / g.k);
      await session.release();
    }
  }
}
loads.push(loadavg()[0]!.toFixed(2));
console.log(
  `decode session options, small preset; ${ROUNDS} rounds × ${CALLS} calls; load before each round and after: ${loads.join(', ')}`,
);
console.log('ms per token: wall (range over rounds), CPU (all threads)');
for (const [key, w] of wall)
  console.log(
    `  ${key.padEnd(36)} wall ${median(w).toFixed(3)} (${Math.min(...w).toFixed(3)}–${Math.max(...w).toFixed(3)})  CPU ${median(cpu.get(key)!).toFixed(3)}`,
  );
