/**
 * Data preparation for language-model training, done once per run: choose or train the tokenizer on
 * the training split, then pack the corpus into token shards. A run directory's `data/` is reused
 * when it was built with the same options (so `--resume` does not re-tokenize).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TonyError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import { trainBpe } from './bpe.ts';
import { buildShards, type DocumentSourceOptions, openShards, readDocuments, type Shards } from './dataset.ts';
import type { FimOptions } from './fim.ts';
import { o200kBase } from './o200k.ts';
import { ByteTokenizer, type Tokenizer } from './tokenizer.ts';

export interface PrepareOptions extends DocumentSourceOptions {
  /** 'bpe' trains a byte-level BPE of `vocabSize` on the training split; 'o200k' is GPT-4o's. */
  tokenizer: 'bpe' | 'o200k' | 'bytes';
  vocabSize: number;
  /** Document-level FIM (applied while packing the training split); context-level FIM is applied per batch instead. */
  documentFim?: Partial<FimOptions> & { seed?: number };
  /** Shard directory. */
  out: string;
}

export async function prepareShards(opts: PrepareOptions, onProgress?: (stage: string, p: Progress) => void): Promise<Shards> {
  const { out, ...key } = opts;
  const stamp = join(out, 'prepare.json');
  if (existsSync(join(out, 'index.json')) && existsSync(stamp)) {
    const prev = JSON.parse(await readFile(stamp, 'utf8'));
    if (JSON.stringify(prev) === JSON.stringify(key)) return openShards(out);
    throw new TonyError(
      'data',
      `${out} was prepared with other data options`,
      'use a new --out directory (or delete its data/ to rebuild)',
    );
  }
  let tokenizer: Tokenizer;
  if (opts.tokenizer === 'bytes') tokenizer = new ByteTokenizer();
  else if (opts.tokenizer === 'o200k') tokenizer = o200kBase();
  else {
    const texts = async function* () {
      for await (const d of readDocuments(opts)) if (d.split === 'train') yield d.text;
    };
    tokenizer = await trainBpe(texts(), { vocabSize: opts.vocabSize }, (p) => onProgress?.('tokenizer', p));
  }
  await buildShards(
    {
      roots: opts.roots,
      include: opts.include,
      exclude: opts.exclude,
      maxFileBytes: opts.maxFileBytes,
      maxBytes: opts.maxBytes,
      valFraction: opts.valFraction,
      tokenizer,
      out,
      ...(opts.documentFim ? { fim: opts.documentFim } : {}),
    },
    (p) => onProgress?.('shards', p),
  );
  const { writeFileAtomic } = await import('../io.ts');
  await writeFileAtomic(stamp, JSON.stringify(key, null, 2) + '\n');
  return openShards(out);
}
