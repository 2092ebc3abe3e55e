/**
 * Peak RSS of loading a GPT checkpoint to serve it (`loadCompletionModel`, what `tony serve` and
 * `tony sample` do) and decoding 8 tokens from it: a GPT-2-small-shaped model (12 × 768, context
 * 1,024, byte vocabulary; 345 MB of float32 weights), in a fresh process per measurement, from the
 * checkout given (an A/B of a change: `git worktree add /tmp/before <rev>` with node_modules linked).
 *
 *   node --import tsx docs/results/engine/load-memory.ts make <dir>           # write the checkpoint once
 *   node --import tsx docs/results/engine/load-memory.ts load <dir> [checkout] # one measurement
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { saveCheckpoint } from '../../../src/engine/checkpoint.ts';
import { GPT, gptConfig } from '../../../src/models/gpt/gpt.ts';

const [mode, dir, checkout = '.'] = process.argv.slice(2);
if (mode === 'make') {
  const cfg = gptConfig({ vocabSize: 260, dModel: 768, nLayer: 12, nHead: 12, blockSize: 1024 });
  await saveCheckpoint(dir!, {
    params: new GPT(cfg).ps.initialize(0),
    config: { kind: 'gpt', model: cfg, tokenizer: { kind: 'bytes' } },
    state: { step: 0 },
  });
  console.log(`wrote ${dir}`);
} else {
  const mb = () => Math.round(process.resourceUsage().maxRSS / 1024);
  const before = mb();
  const { loadCompletionModel } = await import(pathToFileURL(resolve(checkout, 'src/models/gpt/model.ts')).href);
  const model = await loadCompletionModel(dir!, { threads: 2 });
  const loaded = mb();
  const out = await model.complete({ prompt: 'def main(', maxTokens: 8, temperature: 0, n: 1, stop: [] });
  console.log(
    `${checkout}: peak RSS ${before} MB at start, ${loaded} MB after loading, ${mb()} MB after 8 tokens (${JSON.stringify(out.choices?.[0]?.text ?? out)})`,
  );
  await model.close?.();
  process.exit(0);
}
