/**
 * generate from one checkout, for A/B runs between checkouts in fresh processes: 6 greedy
 * generations of 256 tokens after a 64-token prompt (the small preset, as the decode bench) in one
 * process; prints wall and CPU ms per token step and minor page faults of each (the first loads
 * the graphs).
 *
 *   node --import tsx docs/results/engine/generate-ab.ts <checkout> [batch = 8]
 */
import { loadavg } from 'node:os';

const root = process.argv[2]!;
const B = Number(process.argv[3] ?? 8);
const T = await import(`${root}/src/engine/index.ts`);
const { loadWeights } = await import(`${root}/src/engine/state.ts`);
const { generate } = await import(`${root}/src/models/gpt/generate.ts`);
const { GPT, GPT_PRESETS, gptConfig } = await import(`${root}/src/models/gpt/gpt.ts`);
const { ByteTokenizer } = await import(`${root}/src/text/tokenizer.ts`);
const cfg = gptConfig({ ...GPT_PRESETS.small, vocabSize: 260, blockSize: 320 });
const tok = new ByteTokenizer();
const rt = await T.Runtime.start({ threads: 2 });
await loadWeights(rt, new GPT(cfg).ps.initialize(0));
const prompt = tok
  .encode('export function main(args: string[]): number {\n  const parsed = args.map((a) => a.trim'.padEnd(64, ' '))
  .slice(0, 64);
const out: string[] = [];
for (let i = 0; i < 6; i++) {
  const f0 = process.resourceUsage().minorPageFault,
    c0 = process.cpuUsage(),
    t0 = performance.now();
  await generate(rt, cfg, tok, new Array(B).fill(prompt), { maxNewTokens: 256, temperature: 0, stopTokens: [-1] });
  const ms = performance.now() - t0,
    c = process.cpuUsage(c0);
  out.push(`${(ms / 256).toFixed(3)}/${((c.user + c.system) / 1000 / 256).toFixed(3)}/${process.resourceUsage().minorPageFault - f0}`);
}
console.log(`${root} b${B} wall/CPU ms per step/faults: ${out.join('  ')}  load ${loadavg()[0]!.toFixed(1)}`);
await rt.close();
