/**
 * Where a served GPT's memory lies (Linux): /proc/self/smaps_rollup's resident, anonymous and
 * file-backed totals after loading a checkpoint, after 8 greedy tokens, and after each of three
 * 64-token calls (with their times).
 *
 *   node --import tsx docs/results/engine/smaps-probe.ts <checkpoint dir>   (load-memory.ts make writes one)
 */
import { readFileSync } from 'node:fs';

const { loadCompletionModel } = await import('../../../src/models/gpt/model.ts');
const model = await loadCompletionModel(process.argv[2]!, { threads: 2 });
const sm = () =>
  readFileSync('/proc/self/smaps_rollup', 'utf8')
    .split('\n')
    .filter((l) => /^(Rss|Anonymous|Private_Clean|Shared_Clean)/.test(l))
    .map((l) => l.replace(/\s+/g, ' '))
    .join(' | ');
console.log('loaded:', sm());
const t0 = performance.now();
await model.complete({ prompt: 'def main(', maxTokens: 8, temperature: 0, topP: 1, n: 1, stop: [] });
console.log('8 tokens:', sm(), (performance.now() - t0).toFixed(0), 'ms');
for (const n of [64, 64, 64]) {
  const t1 = performance.now();
  await model.complete({ prompt: 'def main(', maxTokens: n, temperature: 0, topP: 1, n: 1, stop: [] });
  console.log(n, 'tokens', (performance.now() - t1).toFixed(0), 'ms', sm());
}
process.exit(0);
