/**
 * Language-model training glue: a GPT config + a corpus → the trainer's TrainTask.
 */
import type { TrainTask } from '../engine/trainer.ts';
import { input } from '../engine/tensor.ts';
import { type Corpus, windowBatch } from './corpus.ts';
import { GPT, type GPTConfig } from './gpt.ts';

export function gptTask(cfg: Readonly<GPTConfig>, corpus: Corpus, opts: { batch: number; seed?: number; preset?: string }): TrainTask {
  const seed = opts.seed ?? 0;
  const probe = new GPT(cfg);
  return {
    trace(mode: 'train' | 'eval' = 'train') {
      const gpt = new GPT(cfg, mode === 'train');
      const idx = input('idx', [opts.batch, cfg.blockSize], 'int64');
      const targets = input('targets', [opts.batch, cfg.blockSize], 'int64');
      return { ps: gpt.ps, loss: gpt.loss(idx, targets), data: [idx, targets] };
    },
    batch: (split, index) => windowBatch(split === 'train' ? corpus.train : corpus.val, opts.batch, cfg.blockSize, seed + (split === 'val' ? 7919 : 0), index),
    tokensPerStep: opts.batch * cfg.blockSize,
    config: {
      kind: 'gpt',
      model: { ...cfg },
      ...(opts.preset ? { preset: opts.preset } : {}),
      batch: opts.batch,
      seed,
      nonembedding_params: probe.nonEmbeddingParams,
      tokenizer: { type: 'bytes' },
    },
  };
}
