/**
 * Server memory when clients vary `n` (issue 21, item 8): serve a model in this process, send
 * completions with n = 1..16 (twice, in a shuffled order), and print the process's resident memory
 * and thread count after each request. The figure docs/results/serving.md reports.
 *
 *   node --import tsx bench/serve-memory.ts [models/code] [rounds=2] [max_tokens=4]
 */
import { readFileSync } from 'node:fs';
import { loadCompletionModel } from '../src/models/gpt/model.ts';
import { serve } from '../src/serve/index.ts';

const [dir = 'models/code', roundsArg = '2', maxTokensArg = '4'] = process.argv.slice(2);
const status = () => {
  const s = readFileSync('/proc/self/status', 'utf8');
  const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)![1]);
  return { rssMB: Math.round(field('VmRSS') / 1024), hwmMB: Math.round(field('VmHWM') / 1024), threads: field('Threads') };
};

const model = await loadCompletionModel(dir, { threads: 2 });
const server = await serve(model, { port: 0 });
console.log(`model ${model.id}, context ${model.contextLength}; at start`, status());
// A fixed shuffle (no Math.random): every run sends the same sequence.
const order = [7, 1, 16, 3, 12, 5, 9, 2, 14, 11, 4, 15, 6, 13, 8, 10];
const t0 = performance.now();
for (let round = 0; round < Number(roundsArg); round++) {
  for (const n of order) {
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: model.id, prompt: 'def fib(n):\n', max_tokens: Number(maxTokensArg), temperature: 0.8, n, seed: n }),
    });
    if (!res.ok) throw new Error(`n=${n}: HTTP ${res.status} ${await res.text()}`);
    await res.json();
    console.log(`round ${round} n=${String(n).padStart(2)}`, status(), `${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}
await server.close();
await model.close();
