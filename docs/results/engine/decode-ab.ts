/**
 * Serving a GPT checkpoint, timed from the checkout given (an A/B of a change, as load-memory.ts):
 * load + the first 8 greedy tokens, then the median of 3 calls of 64 greedy tokens at batch 1, in a
 * fresh process, 2 threads.
 *
 *   node --import tsx docs/results/engine/load-memory.ts make <dir>      # the checkpoint, once
 *   node --import tsx docs/results/engine/decode-ab.ts <dir> [checkout]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dir, checkout = '.'] = process.argv.slice(2);
const { loadCompletionModel } = await import(pathToFileURL(resolve(checkout, 'src/models/gpt/model.ts')).href);
const t0 = performance.now();
const model = await loadCompletionModel(dir!, { threads: 2 });
await model.complete({ prompt: 'def main(', maxTokens: 8, temperature: 0, n: 1, stop: [] });
const first = performance.now() - t0;
const times: number[] = [];
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  await model.complete({ prompt: 'def main(', maxTokens: 64, temperature: 0, n: 1, stop: [] });
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
console.log(
  `${checkout}: load + first 8 tokens ${first.toFixed(0)} ms; 64 tokens median ${times[1]!.toFixed(0)} ms (${((64 * 1000) / times[1]!).toFixed(1)} tok/s), all ${times.map((t) => t.toFixed(0)).join(', ')}`,
);
process.exit(0);
