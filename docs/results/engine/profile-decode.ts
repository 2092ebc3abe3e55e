/**
 * Where batch-1 decoding's time goes by thread: greedy `generate` of 3 × 900 tokens with the small
 * preset (untrained weights, byte vocabulary, context 1,024), to be run under Node's CPU profiler;
 * then this script's `--report <dir>` sums each thread's profile by function (self time).
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/tony-decode-prof --import tsx docs/results/engine/profile-decode.ts
 *   node --import tsx docs/results/engine/profile-decode.ts --report /tmp/tony-decode-prof
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as T from '../../../src/engine/index.ts';
import { loadWeights } from '../../../src/engine/state.ts';
import { generate } from '../../../src/models/gpt/generate.ts';
import { GPT, GPT_PRESETS, gptConfig } from '../../../src/models/gpt/gpt.ts';
import { ByteTokenizer } from '../../../src/text/tokenizer.ts';

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

const reportAt = process.argv.indexOf('--report');
if (reportAt >= 0) {
  const dir = process.argv[reportAt + 1]!;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
    const self = new Map<string, number>();
    p.samples.forEach((s, i) => {
      const cf = byId.get(s)!;
      const key = `${cf.functionName || '(anonymous)'} ${cf.url.split('/').at(-1) ?? ''}`;
      self.set(key, (self.get(key) ?? 0) + p.timeDeltas[i]!);
    });
    const total = [...self.values()].reduce((a, b) => a + b, 0);
    console.log(`${f}: ${(total / 1000).toFixed(0)} ms sampled`);
    for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 6))
      console.log(`  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  }
} else {
  const cfg = gptConfig({ ...GPT_PRESETS.small, vocabSize: 260, blockSize: 1024 });
  const tok = new ByteTokenizer();
  const rt = await T.Runtime.start({ threads: 2 });
  await loadWeights(rt, new GPT(cfg).ps.initialize(0));
  const prompt = tok.encode('export function main(args: string[]): number {');
  await generate(rt, cfg, tok, [prompt], { maxNewTokens: 50, temperature: 0, stopTokens: [-1] });
  const t0 = performance.now();
  for (let i = 0; i < 3; i++) await generate(rt, cfg, tok, [prompt], { maxNewTokens: 900, temperature: 0, stopTokens: [-1] });
  console.log(`${((performance.now() - t0) / 2700).toFixed(3)} ms per token (batch 1, 3 × 900 tokens)`);
  await rt.close();
}
