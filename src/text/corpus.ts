/**
 * A byte-level text corpus: files under some roots, split into train and validation by document,
 * each split packed into one token stream with an end-of-text token between documents. Batches are
 * random windows drawn deterministically from (seed, split, batch index), so a resumed run draws
 * exactly the batches an uninterrupted one would.
 *
 * The byte-level BPE, packed shards and FIM arrive with the code-model issue; this is the corpus the
 * engine's proving model and `npm start` train on.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { type HostTensor, hostTensor } from '../engine/dtype.ts';
import { prng } from '../engine/nn.ts';
import { dataError } from '../errors.ts';

/** Byte-level vocabulary (ByteTokenizer): 256 byte values, end-of-text, and the three FIM specials. */
export const EOT = 256;
export const BYTE_VOCAB = 260;

export interface CorpusOptions {
  /** File extensions to include, e.g. ['.ts', '.js']. */
  extensions: readonly string[];
  /** Stop after this many bytes in total. */
  maxBytes?: number;
  /** Skip larger files (minified bundles, generated tables). */
  maxFileBytes?: number;
  /** Fraction of documents held out for validation (by a hash of the path: stable across runs). */
  valFraction?: number;
  /** Skip paths containing any of these substrings. */
  exclude?: readonly string[];
}

export interface Corpus {
  train: Uint16Array;
  val: Uint16Array;
  files: number;
  bytes: number;
}

/** Walk `roots` (sorted, so the corpus is the same on every machine with the same files). */
async function* walk(dir: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw dataError(`cannot read directory '${dir}': ${(err as NodeJS.ErrnoException).code}`, 'check the --data path');
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

export async function loadByteCorpus(roots: readonly string[], opts: CorpusOptions): Promise<Corpus> {
  const maxBytes = opts.maxBytes ?? 8 << 20;
  const maxFile = opts.maxFileBytes ?? 256 << 10;
  const valFraction = opts.valFraction ?? 0.05;
  const seen = new Set<string>();
  const train: Uint8Array[] = [];
  const val: Uint8Array[] = [];
  let bytes = 0;
  let files = 0;
  outer: for (const root of roots) {
    for await (const path of walk(root)) {
      if (!opts.extensions.some((e) => path.endsWith(e))) continue;
      if (opts.exclude?.some((x) => path.includes(x))) continue;
      if ((await stat(path)).size > maxFile) continue;
      const data = await readFile(path);
      const digest = createHash('sha1').update(data).digest('hex');
      if (seen.has(digest)) continue; // exact duplicates (vendored copies) would leak across the split
      seen.add(digest);
      const h = createHash('sha1').update(relative(root, path)).digest().readUInt32BE(0) / 2 ** 32;
      (h < valFraction ? val : train).push(data);
      bytes += data.length;
      files++;
      if (bytes >= maxBytes) break outer;
    }
  }
  // A small corpus can hash every document to one side: hold out the last one so both exist.
  if (val.length === 0 && train.length >= 2) val.push(train.pop()!);
  if (train.length === 0 || val.length === 0) {
    throw dataError(
      `corpus under ${roots.join(', ')} has ${train.length} training and ${val.length} validation files with extensions ${opts.extensions.join(' ')}`,
      'point --data at a directory with more text files',
    );
  }
  return { train: pack(train), val: pack(val), files, bytes };
}

/** Concatenate documents as tokens, each followed by end-of-text. */
function pack(docs: readonly Uint8Array[]): Uint16Array {
  const out = new Uint16Array(docs.reduce((n, d) => n + d.length + 1, 0));
  let at = 0;
  for (const d of docs) {
    out.set(d, at);
    at += d.length;
    out[at++] = EOT;
  }
  return out;
}

/**
 * Batch `index` of random (B, T) windows and their next-token targets, deterministic in
 * (seed, split, index).
 */
export function windowBatch(stream: Uint16Array, batch: number, seq: number, seed: number, index: number): Record<string, HostTensor> {
  if (stream.length < seq + 2) throw dataError(`corpus split has ${stream.length} tokens, fewer than one window of ${seq + 1}`);
  const r = prng((seed * 0x9e3779b1) ^ (index * 0x85ebca6b) ^ stream.length);
  const idx = new Array<number>(batch * seq);
  const tgt = new Array<number>(batch * seq);
  for (let b = 0; b < batch; b++) {
    const start = Math.floor(r.next() * (stream.length - seq - 1));
    for (let t = 0; t < seq; t++) {
      idx[b * seq + t] = stream[start + t]!;
      tgt[b * seq + t] = stream[start + t + 1]!;
    }
  }
  return { idx: hostTensor('int64', [batch, seq], idx), targets: hostTensor('int64', [batch, seq], tgt) };
}
