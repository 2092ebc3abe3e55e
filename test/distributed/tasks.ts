/**
 * Small training tasks for the data-parallel tests and the zipf.md measurements: the byte-level GPT
 * (its token table tied to the output head) and a lookup-only model (a table of V rows read only by
 * its lookup, then a small classifier), on a Zipf-distributed synthetic stream of V ids.
 */
import { readFileSync } from 'node:fs';
import type { HostTensor } from '../../src/engine/dtype.ts';
import { crossEntropy, Embedding, Linear, ParamSet } from '../../src/engine/nn.ts';
import * as T from '../../src/engine/ops/index.ts';
import { input } from '../../src/engine/tensor.ts';
import type { TrainTask } from '../../src/engine/trainer.ts';
import { gptConfig } from '../../src/models/gpt/gpt.ts';
import { gptTask } from '../../src/models/gpt/lm.ts';
import { Rng } from '../../src/random.ts';
import { windowBatch } from '../../src/text/corpus.ts';

export interface TaskSpec {
  model: 'gpt' | 'lookup';
  vocab: number;
  dim: number;
  seq: number;
  batch: number;
  seed?: number;
  /** A token stream (a file of little-endian uint16 ids < vocab) instead of the synthetic Zipf one. */
  stream?: string;
}

/** n ids drawn with P(rank r) ∝ 1/(r + 1) over `vocab` ids (Zipf's law, exponent 1), seeded. */
export function zipfStream(n: number, vocab: number, seed = 1): Uint16Array {
  const cdf = new Float64Array(vocab);
  let acc = 0;
  for (let r = 0; r < vocab; r++) cdf[r] = acc += 1 / (r + 1);
  const rng = new Rng(seed);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.next() * acc;
    let lo = 0;
    let hi = vocab - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}

/** The classes the lookup-only model predicts: the next id modulo this. */
export const LOOKUP_CLASSES = 16;

export function makeTask(s: TaskSpec): TrainTask {
  const stream = s.stream ? new Uint16Array(new Uint8Array(readFileSync(s.stream)).buffer) : zipfStream(20_000, s.vocab, 7);
  const corpus = { train: stream, val: stream.subarray(Math.floor(stream.length * 0.75)), files: 1, bytes: stream.length };
  const seed = s.seed ?? 0;
  if (s.model === 'gpt') {
    const cfg = gptConfig({ vocabSize: s.vocab, blockSize: s.seq, nLayer: 1, nHead: 2, dModel: s.dim });
    return gptTask(cfg, corpus, { batch: s.batch, seed });
  }
  return {
    trace() {
      const ps = new ParamSet();
      const wte = new Embedding(ps, 'wte', s.vocab, s.dim);
      const head = new Linear(ps, 'head', s.dim, LOOKUP_CLASSES);
      const idx = input('idx', [s.batch, s.seq], 'int64');
      const targets = input('targets', [s.batch * s.seq], 'int64');
      const logits = head.forward(T.tanh(T.reshape(wte.forward(idx), [s.batch * s.seq, s.dim]))); // (B·T, classes)
      return { ps, loss: crossEntropy(logits, targets), data: [idx, targets] };
    },
    batch(split, index): Record<string, HostTensor> {
      const b = windowBatch(split === 'train' ? corpus.train : corpus.val, s.batch, s.seq, seed, index);
      const t = b.targets!.data as BigInt64Array;
      const classes = t.map((v) => v % BigInt(LOOKUP_CLASSES));
      return { idx: b.idx!, targets: { dtype: 'int64', shape: [s.batch * s.seq], data: classes } };
    },
    tokensPerStep: s.batch * s.seq,
    config: { kind: 'lookup-test', ...s },
  };
}
