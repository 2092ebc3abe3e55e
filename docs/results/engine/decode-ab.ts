/**
 * Decoding A/B in one process: `generate` from this checkout against `generate` from another (e.g.
 * main exported with `git archive` into a folder, its node_modules a link to this one's), each with
 * its own runtime, the same seed-0 weights of the small preset (context 320), a 64-token prompt and
 * 256 greedy tokens per row at batch 1 and 8, interleaved over rounds. Prints wall and CPU time
 * (user + system, every thread of the process: the idle runtime's sleeping threads add nothing) per
 * token step, medians over rounds with their ranges, the load before each round, and whether the
 * two produce the same tokens. On a loaded machine CPU time is the figure to compare.
 *
 *   node --import tsx docs/results/engine/decode-ab.ts <other checkout> [rounds = 5] [threads = 2]
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';

const other = resolve(process.argv[2] ?? '');
const ROUNDS = Number(process.argv[3] ?? 5);
const THREADS = Number(process.argv[4] ?? 2);
const NEW = 256;
const PROMPT = 64;

async function contestant(root: string) {
  const T = await import(`${root}/src/engine/index.ts`);
  const { loadWeights } = await import(`${root}/src/engine/state.ts`);
  const { generate } = await import(`${root}/src/models/gpt/generate.ts`);
  const { GPT, GPT_PRESETS, gptConfig } = await import(`${root}/src/models/gpt/gpt.ts`);
  const { ByteTokenizer } = await import(`${root}/src/text/tokenizer.ts`);
  const cfg = gptConfig({ ...GPT_PRESETS.small, vocabSize: 260, blockSize: PROMPT + NEW });
  const tok = new ByteTokenizer();
  const rt = await T.Runtime.start({ threads: THREADS });
  await loadWeights(rt, new GPT(cfg).ps.initialize(0));
  const prompt = tok
    .encode('export function main(args: string[]): number {\n  const parsed = args.map((a) => a.trim'.padEnd(PROMPT, ' '))
    .slice(0, PROMPT);
  return {
    rt,
    async run(batch: number) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const g = await generate(rt, cfg, tok, new Array(batch).fill(prompt), { maxNewTokens: NEW, temperature: 0, stopTokens: [-1] });
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (g.some((r: { tokens: number[] }) => r.tokens.length !== NEW)) throw new Error('a row ended early');
      return { ms: ms / NEW, cpu: (c.user + c.system) / 1000 / NEW, tokens: g[0].tokens as number[] };
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sides = { before: await contestant(other), now: await contestant(resolve(import.meta.dirname, '../../..')) };
for (const s of Object.values(sides)) for (const b of [1, 8]) await s.run(b); // sessions created, caches warm
const res: Record<string, { ms: number[]; cpu: number[]; tokens: number[] }> = {};
const loads: string[] = [];
for (let r = 0; r < ROUNDS; r++) {
  loads.push(loadavg()[0]!.toFixed(1));
  for (const batch of [1, 8])
    for (const [name, s] of r % 2 ? Object.entries(sides).reverse() : Object.entries(sides)) {
      const x = await s.run(batch);
      const e = (res[`${name} b${batch}`] ??= { ms: [], cpu: [], tokens: x.tokens });
      e.ms.push(x.ms);
      e.cpu.push(x.cpu);
    }
}
loads.push(loadavg()[0]!.toFixed(1));
console.log(`decode A/B, small preset, ${NEW} greedy tokens per row after a ${PROMPT}-token prompt, ${THREADS} threads; before = ${other}`);
console.log(`load (1-min) before each round and after: ${loads.join(', ')}`);
console.log('per token step (all rows): wall ms median (range), CPU ms median (range)');
for (const [k, v] of Object.entries(res)) {
  const same = v.tokens.join() === res[`before b${k.split(' b')[1]}`]!.tokens.join();
  console.log(
    `  ${k.padEnd(10)} wall ${median(v.ms).toFixed(3)} (${Math.min(...v.ms).toFixed(3)}–${Math.max(...v.ms).toFixed(3)})  CPU ${median(v.cpu).toFixed(3)} (${Math.min(...v.cpu).toFixed(3)}–${Math.max(...v.cpu).toFixed(3)})  tokens equal before's: ${same}`,
  );
}
for (const b of [1, 8]) {
  const [x, y] = [res[`before b${b}`]!, res[`now b${b}`]!];
  console.log(`  b${b}: now/before CPU ${(median(y.cpu) / median(x.cpu)).toFixed(3)}, wall ${(median(y.ms) / median(x.ms)).toFixed(3)}`);
}
for (const s of Object.values(sides)) await s.rt.close();
