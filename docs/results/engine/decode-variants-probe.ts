import { loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { median } from '../../../src/engine/trainer.ts';
import { buildStepsDecodeGraph, GPT_PRESETS, gptConfig } from '../../../src/models/gpt/gpt.ts';
const ROUNDS = Number(process.argv[2] ?? 3);
const CALLS = Number(process.argv[3] ?? 30);
const variants: { name: string; B: number; k: number; tmax: number; threads: number }[] = [];
for (const B of [1, 8]) for (const threads of [1, 2]) for (const tmax of [320, 192]) variants.push({ name: `b${B} t${threads} tmax${tmax}`, B, k: 8, tmax, threads });
const built = variants.map((v) => ({ ...v, model: buildStepsDecodeGraph(gptConfig({ ...GPT_PRESETS.small, vocabSize: 260, blockSize: v.tmax }), v.B, v.k, false).model }));
function feedsOf(model: any): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const v of model.inputs) {
    const n = v.shape.reduce((a: number, b: number) => a * b, 1);
    if (v.name === 'pos') feeds[v.name] = new ort.Tensor('int64', new BigInt64Array(n).fill(100n), [...v.shape]);
    else if (v.dtype === 'int64') feeds[v.name] = new ort.Tensor('int64', new BigInt64Array(n).fill(65n), [...v.shape]);
    else feeds[v.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => 0.02 * Math.sin(i + 1)), [...v.shape]);
  }
  return feeds;
}
const wall = new Map<string, number[]>(), cpu = new Map<string, number[]>();
const loads: string[] = [];
for (let r = 0; r < ROUNDS; r++) {
  loads.push(loadavg()[0]!.toFixed(2));
  for (const g of built) {
    const feeds = feedsOf(g.model);
    const s = await ort.InferenceSession.create(g.model.bytes, { intraOpNumThreads: g.threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', enableCpuMemArena: false, enableMemPattern: false, extra: { session: { intra_op: { allow_spinning: '0' } } } });
    for (let i = 0; i < 5; i++) await s.run(feeds);
    const c0 = process.cpuUsage(); const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) await s.run(feeds);
    const ms = performance.now() - t0; const c = process.cpuUsage(c0);
    (wall.get(g.name) ?? wall.set(g.name, []).get(g.name)!).push(ms / CALLS / g.k);
    (cpu.get(g.name) ?? cpu.set(g.name, []).get(g.name)!).push((c.user + c.system) / 1000 / CALLS / g.k);
    await s.release();
  }
}
console.log(`loads ${loads.join(', ')} → ${loadavg()[0]!.toFixed(2)}`);
for (const [k, w] of wall) console.log(`${k.padEnd(24)} wall/token ${median(w).toFixed(3)} (${Math.min(...w).toFixed(3)}–${Math.max(...w).toFixed(3)}) cpu/token ${median(cpu.get(k)!).toFixed(3)}`);
