/**
 * Language-model training glue: a GPT config + a corpus (in memory, or packed shards) → the
 * trainer's TrainTask.
 */

import { input } from '../../engine/tensor.ts';
import type { TrainTask } from '../../engine/trainer.ts';
import { type Corpus, windowBatch } from '../../text/corpus.ts';
import type { Shards } from '../../text/dataset.ts';
import type { FimOptions } from '../../text/fim.ts';
import { GPT, type GPTConfig } from './gpt.ts';

/** Seed offset for validation batches, so they never coincide with training batches. */
const VAL_SEED_OFFSET = 7919;

/**
 * The GPT half of a task: the traced model and loss (dropout on for 'train'), tokens per step, and
 * the config saved in every checkpoint; `data` gives the batches and the data-specific config.
 */
function gptTaskWith(
  cfg: Readonly<GPTConfig>,
  opts: { batch: number; seed?: number; preset?: string },
  data: { batch: TrainTask['batch']; config: Record<string, unknown> },
): TrainTask {
  return {
    trace(mode: 'train' | 'eval' = 'train') {
      const gpt = new GPT(cfg, mode === 'train');
      const idx = input('idx', [opts.batch, cfg.blockSize], 'int64');
      const targets = input('targets', [opts.batch, cfg.blockSize], 'int64');
      return { ps: gpt.ps, loss: gpt.loss(idx, targets), data: [idx, targets] };
    },
    batch: data.batch,
    tokensPerStep: opts.batch * cfg.blockSize,
    config: {
      kind: 'gpt',
      model: { ...cfg },
      ...(opts.preset ? { preset: opts.preset } : {}),
      batch: opts.batch,
      seed: opts.seed ?? 0,
      nonembedding_params: new GPT(cfg).nonEmbeddingParams,
      ...data.config,
    },
  };
}

/** A byte-level GPT on an in-memory corpus (corpus.ts). */
export function gptTask(cfg: Readonly<GPTConfig>, corpus: Corpus, opts: { batch: number; seed?: number; preset?: string }): TrainTask {
  const seed = opts.seed ?? 0;
  return gptTaskWith(cfg, opts, {
    batch: (split, index) =>
      windowBatch(
        split === 'train' ? corpus.train : corpus.val,
        opts.batch,
        cfg.blockSize,
        seed + (split === 'val' ? VAL_SEED_OFFSET : 0),
        index,
      ),
    config: { tokenizer: { kind: 'bytes' } },
  });
}

/**
 * A GPT on packed token shards (dataset.ts), with fill-in-the-middle applied to training contexts
 * (context-level FIM, PAPERS.md §2) when `fim.rate` > 0. Validation batches stay plain
 * left-to-right, so validation loss compares across FIM rates.
 */
export function shardTask(
  cfg: Readonly<GPTConfig>,
  shards: Shards,
  opts: { batch: number; seed?: number; fim?: Partial<FimOptions>; preset?: string },
): TrainTask {
  const seed = opts.seed ?? 0;
  const fim = opts.fim && (opts.fim.rate ?? 0) > 0 ? opts.fim : undefined;
  return gptTaskWith(cfg, opts, {
    batch: (split, index) =>
      shards.batch(
        split,
        index,
        opts.batch,
        cfg.blockSize,
        split === 'train' ? { seed, ...(fim ? { fim } : {}) } : { seed: seed + VAL_SEED_OFFSET },
      ),
    config: { fim: fim ?? { rate: 0 }, data: shards.dir, tokenizer: shards.tokenizer.toJSON() },
  });
}
