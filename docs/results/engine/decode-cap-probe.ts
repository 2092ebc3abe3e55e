/**
 * Does growing the KV cache a chunk at a time cost generate's batch-1 decoding ONNX Runtime time?
 * (issue 22). generate's own calls, run by hand — the bench's model and request (small preset, a
 * 64-token prompt prefilled in its bucket, 256 greedy tokens, `steps` tokens per graph call, the
 * graphs loaded as generate loads them) — with the cache grown 32 positions at a time as generate
 * does ("grow") or allocated at the whole context from the start ("fixed"), interleaved run by run.
 *
 *   node --import tsx docs/results/engine/decode-cap-probe.ts [rounds=20] [steps=8,16] [threads=2]
 */
import { loadavg } from 'node:os';
import * as T from '../../../src/engine/index.ts';
import { decodeMask } from '../../../src/engine/nn.ts';
import { loadWeights } from '../../../src/engine/state.ts';
import { median } from '../../../src/engine/trainer.ts';
import { decodeLoadOptions } from '../../../src/models/gpt/generate.ts';
import { buildPrefillGraph, buildStepsDecodeGraph, cacheLength, GPT, GPT_PRESETS, gptConfig } from '../../../src/models/gpt/gpt.ts';
import { ByteTokenizer } from '../../../src/text/tokenizer.ts';

const args = process.argv.slice(2);
const rounds = Number(args[0] ?? 20);
const stepsList = (args[1] ?? '8,16').split(',').map(Number);
const threads = Number(args[2] ?? 2);
const PROMPT = 64;
const NEW = 256;
const cfg = gptConfig({ ...GPT_PRESETS.small, vocabSize: 260, blockSize: PROMPT + NEW });
const tok = new ByteTokenizer();
const rt = await T.Runtime.start({ threads });
await loadWeights(rt, new GPT(cfg).ps.initialize(0));
const prompt = tok.encode('export function main(args: string[]): number {\n'.padEnd(PROMPT, ' ')).slice(0, PROMPT);
const pre = buildPrefillGraph(cfg, 1, PROMPT);
const ps = await rt.load(pre.model);
const graphs = new Map<number, { g: ReturnType<typeof buildStepsDecodeGraph>; s: T.Session }>();
for (const steps of stepsList) {
  const g = buildStepsDecodeGraph(cfg, 1, steps, false);
  graphs.set(steps, { g, s: await rt.load(g.model, decodeLoadOptions(cfg, g, 1, rt.threads)) });
}

async function decode(steps: number, policy: 'grow' | 'fixed') {
  const { g, s } = graphs.get(steps)!;
  const t0 = performance.now();
  let cap = policy === 'fixed' ? cfg.blockSize : cacheLength(PROMPT, cfg.blockSize);
  const write: Record<string, { key: string; at: number[]; length: number }> = {};
  for (const [o, key] of Object.entries(pre.update)) write[o] = { key, at: [0], length: cap };
  const r = await rt.run(
    ps,
    { idx: T.hostTensor('int64', [1, PROMPT], prompt), last: T.hostTensor('int64', [1], [PROMPT - 1]) },
    {
      state: pre.state,
      write,
      fetch: ['logits'],
    },
  );
  const l = r.logits!.data as Float32Array;
  let next = l.indexOf(Math.max(...l));
  const tokens = [next];
  let pos = PROMPT;
  let ort = 0;
  while (tokens.length < NEW) {
    if (policy === 'grow') cap = Math.max(cap, cacheLength(pos + steps, cfg.blockSize));
    const w: Record<string, { key: string; at: number[]; length: number }> = {};
    for (const [o, key] of Object.entries(g.writeKeys)) w[o] = { key, at: [pos], length: cap };
    const out = await rt.run(
      s,
      { idx: T.hostTensor('int64', [1, 1], [next]), pos: T.hostTensor('int64', [1], [pos]), hidden: decodeMask([pos], cap) },
      { state: g.state, write: w, fetch: ['tokens'] },
    );
    ort += rt.lastOrtMs;
    const picked = out.tokens!.data as BigInt64Array;
    for (let j = 0; j < steps && tokens.length < NEW; j++) tokens.push(Number(picked[j]));
    next = tokens.at(-1)!;
    pos += steps;
  }
  return { ms: performance.now() - t0, ort, tokens };
}

const res: Record<string, { ms: number[]; ort: number[] }> = {};
let want: number[] | undefined;
for (const steps of stepsList) for (const p of ['grow', 'fixed'] as const) await decode(steps, p); // warm every shape
console.log(`load at start ${loadavg()[0]!.toFixed(2)}; ${rt.description}`);
for (let i = 0; i < rounds; i++)
  for (const steps of stepsList)
    for (const p of ['grow', 'fixed'] as const) {
      const r = await decode(steps, p);
      want ??= r.tokens;
      if (r.tokens.some((t, j) => t !== want![j])) throw new Error(`${p} ${steps}: tokens differ`);
      const k = `${steps} per call, ${p}`;
      res[k] ??= { ms: [], ort: [] };
      res[k].ms.push(r.ms);
      res[k].ort.push(r.ort);
    }
console.log(`ms per token, median of ${rounds} interleaved runs (range): wall; ONNX Runtime`);
for (const [k, v] of Object.entries(res)) {
  const f = (a: number[]) => `${(median(a) / NEW).toFixed(3)} (${(Math.min(...a) / NEW).toFixed(3)}–${(Math.max(...a) / NEW).toFixed(3)})`;
  console.log(`${k.padEnd(20)} ${f(v.ms)}; ${f(v.ort)}`);
}
console.log(`load at end ${loadavg()[0]!.toFixed(2)}; all runs' tokens equal`);
await rt.close();
