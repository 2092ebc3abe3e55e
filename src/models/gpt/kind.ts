/**
 * The GPT's two registry rows (src/models/index.ts). Both write and load `kind: "gpt"` checkpoints —
 * every checkpoint Tony has made so far, the bundled models/code included — and differ in their data:
 *
 *   gpt  a byte-level GPT on an in-memory corpus (`tony train gpt`)
 *   lm   a GPT on BPE/o200k token shards with fill-in-the-middle (`tony train lm`, the scaling sweep)
 */
import { TonyError } from '../../errors.ts';
import { BYTE_VOCAB, type Corpus, loadByteCorpus } from '../../text/corpus.ts';
import type { Shards } from '../../text/dataset.ts';
import type { FimOptions } from '../../text/fim.ts';
import type { LoadOptions, ModelKind } from '../index.ts';
import { type GPTConfig, gptConfig } from './gpt.ts';
import { gptTask, shardTask } from './lm.ts';
import { loadCompletionModel } from './model.ts';

/** What `--data` reads for a byte-level GPT when no extensions are given. */
export const BYTE_CORPUS_EXTENSIONS = ['.ts', '.js', '.py', '.txt', '.md'];
/** Corpus size cap in bytes (`tony train gpt --max-bytes`). */
export const BYTE_CORPUS_MAX_BYTES = 8 << 20;

const load = (dir: string, opts: LoadOptions = {}) => loadCompletionModel(dir, opts);

export const gptKind: ModelKind<Readonly<GPTConfig>, Corpus> = {
  name: 'gpt',
  kind: 'gpt',
  summary: 'a byte-level GPT on a directory of text files',
  capabilities: ['complete', 'infill'],
  // Byte-level: the vocabulary is the byte corpus's unless an override says otherwise.
  config: (overrides) => gptConfig({ vocabSize: BYTE_VOCAB, ...overrides }),
  data: (paths) => loadByteCorpus(paths, { extensions: BYTE_CORPUS_EXTENSIONS, maxBytes: BYTE_CORPUS_MAX_BYTES, exclude: ['.min.'] }),
  task: (cfg, corpus, setup) => gptTask(cfg, corpus, setup),
  load,
};

/** The lm row's config: the GPT, and fill-in-the-middle for training contexts (off when absent). */
export interface LmConfig {
  model: Readonly<GPTConfig>;
  fim?: Partial<FimOptions>;
}

export const lmKind: ModelKind<LmConfig, Shards> = {
  name: 'lm',
  kind: 'gpt',
  summary: 'a code/text language model: BPE tokenizer, packed shards, fill-in-the-middle',
  capabilities: ['complete', 'infill'],
  config: (overrides) => {
    const { fim, ...model } = overrides;
    if (fim !== undefined && (typeof fim !== 'object' || fim === null))
      throw new TonyError('config', `lm: fim must be an object like {"rate": 0.5}, got ${JSON.stringify(fim)}`);
    return { model: gptConfig(model), ...(fim ? { fim: fim as Partial<FimOptions> } : {}) };
  },
  task: (cfg, shards, setup) => shardTask(cfg.model, shards, { ...setup, ...(cfg.fim ? { fim: cfg.fim } : {}) }),
  load,
};
