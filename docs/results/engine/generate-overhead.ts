/**
 * Where generate's wall time goes at batch B besides ONNX Runtime: the bench's decoding (small
 * preset, context 320, a 64-token prompt in every row, 256 new tokens, greedy, 8 tokens per call),
 * with Runtime.run wrapped to sum the time ONNX Runtime reports for each call (Runtime.lastOrtMs)
 * and the wall time of each call as the caller sees it (messaging, feeds, copies, cache writes);
 * the rest is generate's own JavaScript (token bookkeeping, text, stop checks) and the prefill's
 * share is reported apart.
 *
 *   node --import tsx docs/results/engine/generate-overhead.ts [batch = 8] [rounds = 5] [threads = 2]
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import * as T from '../../../src/engine/index.ts';
import { stateKey } from '../../../src/engine/optim.ts';
import { generate } from '../../../src/models/gpt/generate.ts';
import { GPT, GPT_PRESETS, gptConfig } from '../../../src/models/gpt/gpt.ts';
import { ByteTokenizer } from '../../../src/text/tokenizer.ts';

const B = Number(process.argv[2] ?? 8);
const ROUNDS = Number(process.argv[3] ?? 5);
const cfg = gptConfig({ ...GPT_PRESETS.small, vocabSize: 260, blockSize: 320 });
const tok = new ByteTokenizer();
const rt = await T.Runtime.start({ threads: Number(process.argv[4] ?? 2) });
const init = new GPT(cfg).ps.initialize(0);
await rt.setState(Object.fromEntries(Object.entries(init).map(([k, v]) => [stateKey.param(k), v])));
const prompt = Array.from({ length: 64 }, (_, i) => 97 + (i % 26));
const prompts = Array.from({ length: B }, () => prompt);

let ort = 0;
let calls = 0;
let callWall = 0;
let first = 0;
const run = rt.run.bind(rt);
rt.run = async (...args: Parameters<typeof rt.run>) => {
  const t0 = performance.now();
  const r = await run(...args);
  const dt = performance.now() - t0;
  if (calls === 0) first = dt;
  callWall += dt;
  ort += rt.lastOrtMs;
  calls++;
  return r;
};
const rows: string[] = [];
for (let r = 0; r < ROUNDS; r++) {
  ort = calls = callWall = 0;
  const load = loadavg()[0]!.toFixed(1);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await generate(rt, cfg, tok, prompts, { maxNewTokens: 256, temperature: 0, stopTokens: [] });
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const n = out.reduce((s, g) => s + g.tokens.length, 0);
  rows.push(
    `round ${r} (load ${load}): ${n} tokens in ${wall.toFixed(1)} ms = ${((n / wall) * 1000).toFixed(0)} tokens/s; ${calls} runs: ORT ${ort.toFixed(1)} ms, ` +
      `run calls as seen by generate ${callWall.toFixed(1)} ms (first, the prefill: ${first.toFixed(1)} ms), generate's own ${(wall - callWall).toFixed(1)} ms; CPU ${((c.user + c.system) / 1000).toFixed(1)} ms`,
  );
}
console.log(`small preset, batch ${B}, ${rt.description}`);
for (const r of rows) console.log(r);
await rt.close();
