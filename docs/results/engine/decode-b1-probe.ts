/**
 * Where generate's batch-1 time goes, call by call (issue 22): the bench's model and request (the
 * small preset, a 64-token prompt, 256 greedy tokens), generate run warm `n` times with every
 * Runtime.run timed — wall in the main thread and ONNX Runtime's own session.run — split into the
 * prefill call, the decoding calls, and what generate does between calls.
 *
 *   node --import tsx docs/results/engine/decode-b1-probe.ts [n=20] [threads=2]
 */
import { loadavg } from 'node:os';
import * as T from '../../../src/engine/index.ts';
import { loadWeights } from '../../../src/engine/state.ts';
import { median } from '../../../src/engine/trainer.ts';
import { generate } from '../../../src/models/gpt/generate.ts';
import { GPT, GPT_PRESETS, gptConfig } from '../../../src/models/gpt/gpt.ts';
import { ByteTokenizer } from '../../../src/text/tokenizer.ts';

const [n = 20, threads = 2] = process.argv.slice(2).map(Number);
const PROMPT = 64;
const NEW = 256;
const cfg = gptConfig({ ...GPT_PRESETS.small, vocabSize: 260, blockSize: PROMPT + NEW });
const tok = new ByteTokenizer();
const rt = await T.Runtime.start({ threads });
await loadWeights(rt, new GPT(cfg).ps.initialize(0));
const prompt = tok.encode('export function main(args: string[]): number {\n'.padEnd(PROMPT, ' ')).slice(0, PROMPT);

type Call = { wall: number; ort: number; start: number; end: number };
let calls: Call[] = [];
const run = rt.run.bind(rt);
rt.run = async (...a: Parameters<typeof rt.run>) => {
  const start = performance.now();
  const r = await run(...a);
  const end = performance.now();
  calls.push({ wall: end - start, ort: rt.lastOrtMs, start, end });
  return r;
};
const once = async () => {
  calls = [];
  const t0 = performance.now();
  await generate(rt, cfg, tok, [prompt], { maxNewTokens: NEW, temperature: 0, stopTokens: [-1] });
  return { total: performance.now() - t0, t0, calls };
};
await once();
await once();
console.log(`load at start ${loadavg()[0]!.toFixed(2)}; ${rt.description}`);
const rows: Record<string, number[]> = {};
const add = (k: string, v: number) => (rows[k] ??= []).push(v);
for (let i = 0; i < n; i++) {
  const { total, t0, calls: c } = await once();
  const [pre, ...dec] = c;
  add('generate total ms', total);
  add('  before the prefill call (graph lookups, padding)', pre!.start - t0);
  add('  prefill call wall', pre!.wall);
  add('    prefill ORT', pre!.ort);
  add(
    `  ${dec.length} decode calls wall, sum`,
    dec.reduce((s, x) => s + x.wall, 0),
  );
  add(
    '    their ORT, sum',
    dec.reduce((s, x) => s + x.ort, 0),
  );
  add('  between calls (generate JS), sum', total - c.reduce((s, x) => s + x.wall, 0) - (pre!.start - t0));
  add('  decode call wall, median', median(dec.map((x) => x.wall)));
  add('  decode call wall, max', Math.max(...dec.map((x) => x.wall)));
}
for (const [k, v] of Object.entries(rows))
  console.log(`${k.padEnd(52)} ${median(v).toFixed(3).padStart(9)}  (${Math.min(...v).toFixed(3)}–${Math.max(...v).toFixed(3)})`);
console.log(`load at end ${loadavg()[0]!.toFixed(2)}`);
await rt.close();
