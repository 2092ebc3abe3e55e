/**
 * The proving model learns: a small GPT trained on real text (Tony's own TypeScript sources) goes
 * from the uniform-prediction loss ln V to below the corpus's unigram entropy — the best any model
 * that ignores context can do — on held-out files. Both bounds are computed here, independently of
 * the model.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adamwConfig } from '../../src/engine/optim.ts';
import { Runtime } from '../../src/engine/runtime.ts';
import { train } from '../../src/engine/trainer.ts';
import { gptConfig } from '../../src/models/gpt/gpt.ts';
import { gptTask } from '../../src/models/gpt/lm.ts';
import { BYTE_VOCAB, loadByteCorpus } from '../../src/text/corpus.ts';

let rt: Runtime;
beforeAll(async () => {
  rt = await Runtime.start();
});
afterAll(() => rt.close());

/** Entropy (nats) of the token distribution of `stream`. */
function unigramEntropy(stream: Uint16Array): number {
  const counts = new Map<number, number>();
  for (const t of stream) counts.set(t, (counts.get(t) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) h -= (c / stream.length) * Math.log(c / stream.length);
  return h;
}

it('GPT validation loss falls from ln V to below the unigram entropy on real text', async () => {
  const src = fileURLToPath(new URL('../../src', import.meta.url));
  const corpus = await loadByteCorpus([src], { extensions: ['.ts'], valFraction: 0.2 });
  const cfg = gptConfig({ vocabSize: BYTE_VOCAB, blockSize: 64, nLayer: 2, nHead: 4, dModel: 64 });
  const task = gptTask(cfg, corpus, { batch: 8, seed: 0 });
  const res = await train(rt, task, {
    steps: 250,
    optimizer: adamwConfig({ lr: 3e-3, warmupSteps: 10, decaySteps: 250 }),
    evalEvery: 125,
    evalBatches: 8,
  });
  const first = res.history[0]!.loss;
  const final = res.evals.at(-1)!.val_loss;
  const h1 = unigramEntropy(corpus.val);
  expect(Math.abs(first - Math.log(BYTE_VOCAB))).toBeLessThan(0.15);
  expect(final).toBeLessThan(h1 - 0.2);
  console.log(
    `ln V ${Math.log(BYTE_VOCAB).toFixed(3)}, first loss ${first.toFixed(3)}, unigram entropy ${h1.toFixed(3)}, final val ${final.toFixed(3)} nats/byte`,
  );
});
