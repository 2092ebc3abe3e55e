/**
 * What attending over only the filled cache saves, session runs only (no worker, no generate):
 * generate's 8-step decode graph (buildStepsDecodeGraph, small preset, context 320, greedy) run
 * straight on onnxruntime-node as Tony's runtime makes sessions (2 threads, no spinning, arena and
 * pattern off), for the 32 calls of a 256-token generation after a 64-token prompt — fed the cache
 * generate feeds now (`cacheLength`: the filled positions rounded up to 32, 96 … 320) against the
 * whole context every call (320, as before). Interleaved rounds; CPU time (user + system, every
 * thread) per token step. The first round also pays each new length's first run.
 *
 *   node --import tsx docs/results/engine/decode-variants-probe.ts [batch = 8] [rounds = 6]
 */
import { loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { buildStepsDecodeGraph, cacheLength, GPT_PRESETS, gptConfig } from '../../../src/models/gpt/gpt.ts';

const B = Number(process.argv[2] ?? 8);
const ROUNDS = Number(process.argv[3] ?? 6);
const cfg = gptConfig({ ...GPT_PRESETS.small, vocabSize: 260, blockSize: 320 });
const model = buildStepsDecodeGraph(cfg, B, 8, false).model;
const feeds = new Map<number, Record<string, ort.Tensor>>();
function feedsOf(L: number): Record<string, ort.Tensor> {
  let f = feeds.get(L);
  if (f) return f;
  f = {};
  for (const v of model.inputs) {
    const dims = v.shape.map((d, i) => (v.dims?.[i] ? L : d));
    const n = dims.reduce((a, b) => a * b, 1);
    if (v.name === 'pos') f[v.name] = new ort.Tensor('int64', new BigInt64Array(n).fill(60n), dims);
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
const session = await ort.InferenceSession.create(model.bytes, {
  intraOpNumThreads: 2,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  enableCpuMemArena: false,
  enableMemPattern: false,
  extra: { session: { intra_op: { allow_spinning: '0' } } },
});
const filled = Array.from({ length: 32 }, (_, c) => cacheLength(64 + 8 * c + 8, cfg.blockSize));
const whole = filled.map(() => cfg.blockSize);
for (const L of new Set([...filled, ...whole])) feedsOf(L); // feeds built outside the timing
const res: Record<string, number[]> = { filled: [], whole: [] };
const loads: string[] = [];
for (let r = 0; r < ROUNDS; r++) {
  loads.push(loadavg()[0]!.toFixed(1));
  const order = r % 2 ? (['whole', 'filled'] as const) : (['filled', 'whole'] as const);
  for (const name of order) {
    const c0 = process.cpuUsage();
    for (const L of name === 'filled' ? filled : whole) await session.run(feedsOf(L));
    const c = process.cpuUsage(c0);
    res[name]!.push((c.user + c.system) / 1000 / 256);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`batch ${B}, 8 steps per call, 32 calls; load before each round: ${loads.join(', ')}`);
for (const [k, v] of Object.entries(res)) {
  const L = k === 'filled' ? filled.reduce((a, b) => a + b) / filled.length : cfg.blockSize;
  console.log(
    `  ${k.padEnd(6)} cache ${L.toFixed(0)} positions on average: CPU ms per token step ${median(v.slice(1)).toFixed(3)} (rounds: ${v.map((x) => x.toFixed(3)).join(' ')})`,
  );
}
console.log(
  `  filled / whole: ${(median(res.filled!.slice(1)) / median(res.whole!.slice(1))).toFixed(3)} (medians without the first round)`,
);
