/** Text and code data: tokenizers (byte, trainable BPE, o200k_base), corpora, packed shards, FIM, stop strings. */

export * from './bpe.ts';
export * from './corpus.ts';
export * from './dataset.ts';
export * from './fim.ts';
export * from './o200k.ts';
export * from './prepare.ts';
export * from './stops.ts';
export * from './tokenizer.ts';
export * from './tokenizers.ts';
