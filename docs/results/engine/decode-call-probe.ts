/**
 * One generate-style decode call at batch 1, timed from the main thread and inside ONNX Runtime,
 * for 1 and `steps` tokens per call, beside a bare worker round trip (issue 22): what a call costs
 * outside ONNX Runtime. The bench's model (small preset, context 320), the graphs loaded as
 * generate loads them, the cache at the filled length (rounded up to 32) as generate feeds it.
 *
 *   node --import tsx docs/results/engine/decode-call-probe.ts [calls=300] [steps=8] [threads=2]
 */
import { loadavg } from 'node:os';
import * as T from '../../../src/engine/index.ts';
import { decodeMask } from '../../../src/engine/nn.ts';
import { loadWeights } from '../../../src/engine/state.ts';
import { median } from '../../../src/engine/trainer.ts';
import { decodeLoadOptions } from '../../../src/models/gpt/generate.ts';
import { buildAppendDecodeGraph, buildStepsDecodeGraph, GPT, GPT_PRESETS, gptConfig } from '../../../src/models/gpt/gpt.ts';

const [calls = 300, steps = 8, threads = 2] = process.argv.slice(2).map(Number);
const cfg = gptConfig({ ...GPT_PRESETS.small, vocabSize: 260, blockSize: 320 });
const rt = await T.Runtime.start({ threads });
await loadWeights(rt, new GPT(cfg).ps.initialize(0));
const L = 192;
const one = buildAppendDecodeGraph(cfg, 1);
const many = buildStepsDecodeGraph(cfg, 1, steps, false);
const s1 = await rt.load(one.model, decodeLoadOptions(cfg, one, 1, rt.threads));
const sk = await rt.load(many.model, decodeLoadOptions(cfg, many, 1, rt.threads));
const x = T.input('x', [1]);
const echo = await rt.load(T.exportOnnx([x], { y: T.add(x, 1) }));
const cache = Object.fromEntries(
  Object.values(one.writeKeys).map((k) => [k, T.hostTensor('float32', [1, cfg.nHead, L, cfg.dModel / cfg.nHead])]),
);
await rt.setState(cache);
const pos = 150;
const call = async (g: typeof one, s: T.Session, fetch: string) => {
  const write: Record<string, { key: string; at: number[]; length: number }> = {};
  for (const [o, key] of Object.entries(g.writeKeys)) write[o] = { key, at: [pos], length: L };
  const t0 = performance.now();
  await rt.run(
    s,
    { idx: T.hostTensor('int64', [1, 1], [65]), pos: T.hostTensor('int64', [1], [pos]), hidden: decodeMask([pos], L) },
    { state: g.state, write, fetch: [fetch] },
  );
  return [performance.now() - t0, rt.lastOrtMs] as const;
};
const r: Record<string, number[]> = {};
const add = (k: string, v: number) => (r[k] ??= []).push(v);
console.log(`load at start ${loadavg()[0]!.toFixed(2)}; ${rt.description}; cache ${L} positions`);
for (let i = 0; i < calls; i++) {
  const [w1, o1] = await call(one, s1, 'logits');
  const [wk, ok] = await call(many, sk, 'tokens');
  const t0 = performance.now();
  await rt.run(echo, { x: T.hostTensor('float32', [1], [0]) });
  const we = performance.now() - t0;
  if (i < 20) continue;
  add('1 token per call: wall', w1);
  add('1 token per call: ONNX Runtime', o1);
  add('1 token per call: wall − ORT', w1 - o1);
  add(`${steps} tokens per call: wall`, wk);
  add(`${steps} tokens per call: ONNX Runtime`, ok);
  add(`${steps} tokens per call: wall − ORT`, wk - ok);
  add('bare round trip (1-element graph): wall', we);
  add('bare round trip: wall − ORT', we - rt.lastOrtMs);
}
for (const [k, v] of Object.entries(r))
  console.log(
    `${k.padEnd(44)} ${median(v).toFixed(3)} ms  (p10 ${v.sort((a, b) => a - b)[Math.floor(v.length / 10)]!.toFixed(3)}, p90 ${v[Math.floor((v.length * 9) / 10)]!.toFixed(3)})`,
  );
console.log(`load at end ${loadavg()[0]!.toFixed(2)}`);
await rt.close();
