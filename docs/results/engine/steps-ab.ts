/**
 * Tokens per decoding graph call, A/B: `generate`'s greedy decoding (small preset, context 320,
 * 64-token prompt, 256 new tokens, seed-0 weights) at 1, 4, 8 and 16 steps per call, batch 1 and
 * 8 (one batch after the other, settings interleaved over rounds), in one process; wall and CPU time (all threads, user + system) per
 * token step, medians over rounds. Checks every setting's greedy tokens equal 1-per-call's.
 *
 *   node --import tsx docs/results/engine/steps-ab.ts [rounds = 3]
 */
import { loadavg } from 'node:os';
import * as T from '../../../src/engine/index.ts';
import { loadWeights } from '../../../src/engine/state.ts';
import { median } from '../../../src/engine/trainer.ts';
import { generate } from '../../../src/models/gpt/generate.ts';
import { GPT, GPT_PRESETS, gptConfig } from '../../../src/models/gpt/gpt.ts';
import { ByteTokenizer } from '../../../src/text/tokenizer.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const NEW = 256;
const cfg = gptConfig({ ...GPT_PRESETS.small, vocabSize: 260, blockSize: 64 + NEW });
const tok = new ByteTokenizer();
const rt = await T.Runtime.start({ threads: 2 });
await loadWeights(rt, new GPT(cfg).ps.initialize(0));
const prompt = tok
  .encode('export function main(args: string[]): number {\n  const parsed = args.map((a) => a.trim'.padEnd(64, ' '))
  .slice(0, 64);
const STEPS = [1, 4, 8, 16];
const wall = new Map<string, number[]>();
const cpu = new Map<string, number[]>();
const tokens = new Map<string, number[]>();
const loads: string[] = [];
const run = async (b: number, steps: number) => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const g = await generate(rt, cfg, tok, new Array(b).fill(prompt), {
    maxNewTokens: NEW,
    temperature: 0,
    stopTokens: [-1],
    stepsPerCall: steps,
  });
  const c = process.cpuUsage(c0);
  return { ms: (performance.now() - t0) / NEW, cpu: (c.user + c.system) / 1000 / NEW, tokens: g[0]!.tokens };
};
// One batch at a time: both batches' graphs (prefill, decode and three steps graphs each) are more
// than generate keeps loaded (2 × MAX_LIVE_GRAPHS), and a reloaded graph's session creation would
// be timed.
for (const b of [1, 8]) {
  for (const s of STEPS) await run(b, s); // load this batch's graphs first
  for (let round = 0; round < ROUNDS; round++) {
    loads.push(loadavg()[0]!.toFixed(2));
    for (const s of STEPS) {
      const r = await run(b, s);
      const key = `b${b} ${String(s).padStart(2)} per call`;
      (wall.get(key) ?? wall.set(key, []).get(key)!).push(r.ms);
      (cpu.get(key) ?? cpu.set(key, []).get(key)!).push(r.cpu);
      tokens.set(key, r.tokens);
    }
  }
}
loads.push(loadavg()[0]!.toFixed(2));
await rt.close();
console.log(
  `tokens per call, generate greedy, small preset, ${NEW} tokens; ${ROUNDS} rounds; load before each round and after: ${loads.join(', ')}`,
);
for (const [key, w] of wall) {
  const same = tokens.get(key)!.every((t, i) => t === tokens.get(`b${key[1]} ${' 1'} per call`)![i]);
  console.log(
    `  ${key}: wall ${median(w).toFixed(3)} ms/step (${Math.min(...w).toFixed(3)}–${Math.max(...w).toFixed(3)}), CPU ${median(cpu.get(key)!).toFixed(3)} ms/step, tokens equal 1-per-call's: ${same}`,
  );
}
