/**
 * A text corpus on disk → packed token shards → random training windows, without ever holding the
 * corpus in memory.
 *
 * Build (`buildShards`): files under some roots, chosen by glob patterns (tinyglobby), skipping files
 * that are too large, binary (a NUL byte in the first 8 KiB, git's rule) or not UTF-8, and exact
 * duplicates (SHA-256 of the content: vendored copies would leak across the split). Each document is
 * assigned to train or validation by a stable hash of its path relative to its root, tokenized once,
 * and appended to that split's shard files with <|endoftext|> after it. Document-level FIM (fim.ts),
 * when asked for, transforms training documents only; validation stays plain so that left-to-right
 * loss is comparable between runs.
 *
 * Shard file (little-endian): a 32-byte header, then the tokens.
 *
 *     offset 0  magic "TONYTOKS"      12  u32 bytes per token (2 = uint16, 4 = uint32)
 *            8  u32 format version    16  u32 vocabulary size     20  u32 reserved (0)
 *           24  u64 token count
 *
 * Tokens are uint16 when the vocabulary fits (≤ 65536 ids), else uint32. `index.json` lists the shards
 * and documents of each split and `tokenizer.json` holds the tokenizer, so a shard directory is
 * self-describing; index.json is written last, so its presence marks a finished build.
 *
 * Read (`openShards`): file handles and positioned reads only. `batch(split, i, B, T)` draws B windows
 * of T+1 tokens at offsets that depend only on (seed, i, split size) — the same offsets as
 * `windowBatch` in corpus.ts draws from the same stream in memory — so a resumed run sees the same
 * batches. Context-level FIM, when asked for, is applied to each window (fim.ts).
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { type HostTensor, hostTensor } from '../engine/dtype.ts';
import { prng } from '../engine/nn.ts';
import { configError, dataError } from '../errors.ts';
import { writeFileAtomic } from '../io.ts';
import type { Progress } from '../progress.ts';
import { checkFimOptions, type FimOptions, fimContext, fimDocument } from './fim.ts';
import type { Tokenizer } from './tokenizer.ts';
import { loadTokenizer } from './tokenizers.ts';

export type Split = 'train' | 'val';
const SPLITS: readonly Split[] = ['train', 'val'];

const MAGIC = 'TONYTOKS';
const FORMAT_VERSION = 1;
const HEADER_BYTES = 32;
const INDEX_FORMAT = 'tony-shards';
/** Git's binary-file heuristic looks for a NUL byte in the first 8000 bytes. */
const BINARY_SNIFF_BYTES = 8000;
/** Tokens buffered before a write to the shard file. */
const WRITE_CHUNK_TOKENS = 1 << 18;
/** Tokens per chunk yielded by `tokens(split)`. */
const READ_CHUNK_TOKENS = 1 << 20;

export interface ShardBuildOptions {
  /** Directories to read. */
  roots: readonly string[];
  /** Glob patterns relative to each root (default: every file). */
  include?: readonly string[];
  /** Glob patterns to leave out, e.g. ['**\/node_modules/**', '**\/*.min.js']. */
  exclude?: readonly string[];
  /** Skip files larger than this (default 1 MiB: minified bundles, generated tables). */
  maxFileBytes?: number;
  /** Stop once this many bytes of documents are read (default: no limit). */
  maxBytes?: number;
  /** Fraction of documents for validation, by a hash of the path (default 0.05). */
  valFraction?: number;
  tokenizer: Tokenizer;
  /** Output directory (created; its old shards are replaced). */
  out: string;
  /** Start a new shard file once one holds this many tokens (default 2^26). */
  shardTokens?: number;
  /** Document-level FIM for the training split, deterministic in (seed, path). */
  fim?: Partial<FimOptions> & { seed?: number };
}

export interface ShardEntry {
  file: string;
  tokens: number;
}

export interface DocumentEntry {
  /** Path relative to its root, as given to the split hash. */
  path: string;
  /** Offset of the document's first token in the split's stream. */
  start: number;
  /** Tokens including the trailing end-of-text. */
  tokens: number;
}

export interface SplitIndex {
  tokens: number;
  documents: DocumentEntry[];
  shards: ShardEntry[];
}

export interface ShardIndex {
  format: typeof INDEX_FORMAT;
  version: number;
  dtype: 'uint16' | 'uint32';
  vocabSize: number;
  eot: number;
  tokenizer: string;
  options: Record<string, unknown>;
  stats: { files: number; bytes: number; duplicates: number; tooLarge: number; binary: number; notUtf8: number };
  splits: Record<Split, SplitIndex>;
}

// ---------------------------------------------------------------------------------------------
// Reading the corpus

export interface CorpusDocument {
  root: string;
  /** Path relative to the root. */
  path: string;
  text: string;
  split: Split;
  bytes: number;
}

export type DocumentSourceOptions = Pick<ShardBuildOptions, 'roots' | 'include' | 'exclude' | 'maxFileBytes' | 'maxBytes' | 'valFraction'>;

/** Stable in [0, 1): the first 32 bits of SHA-1 of the string. */
const unitHash = (s: string) => createHash('sha1').update(s).digest().readUInt32BE(0) / 2 ** 32;

/**
 * The corpus's documents in a stable order (roots as given, paths sorted), with their split.
 * `stats` is filled in as files are read. Use it to train a tokenizer on the training split:
 *
 *     const texts = async function* () { for await (const d of readDocuments(opts)) if (d.split === 'train') yield d.text; };
 *     const tok = await trainBpe(texts(), { vocabSize: 4096 });
 */
export async function* readDocuments(
  opts: DocumentSourceOptions,
  stats: ShardIndex['stats'] = emptyStats(),
  onFile?: (done: number, total: number) => void,
): AsyncGenerator<CorpusDocument> {
  const maxFile = opts.maxFileBytes ?? 1 << 20;
  const maxBytes = opts.maxBytes ?? Infinity;
  const valFraction = opts.valFraction ?? 0.05;
  if (!(valFraction >= 0 && valFraction < 1)) throw configError(`valFraction ${valFraction} is outside [0, 1)`);
  if (opts.roots.length === 0) throw configError('no corpus roots given', 'pass at least one directory');
  const lists: Array<{ root: string; paths: string[] }> = [];
  for (const root of opts.roots) {
    const st = await stat(root).catch(() => undefined);
    if (!st?.isDirectory()) throw dataError(`corpus root '${root}' is not a directory`, 'check the --data path');
    const paths = await glob([...(opts.include ?? ['**/*'])], {
      cwd: root,
      ignore: [...(opts.exclude ?? [])],
      onlyFiles: true,
      dot: false,
      followSymbolicLinks: false,
      expandDirectories: false,
    });
    paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    lists.push({ root, paths });
  }
  const total = lists.reduce((n, l) => n + l.paths.length, 0);
  const seen = new Set<string>();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let done = 0;
  for (const { root, paths } of lists) {
    for (const path of paths) {
      onFile?.(++done, total);
      const full = join(root, path);
      if ((await stat(full)).size > maxFile) {
        stats.tooLarge++;
        continue;
      }
      const data = await readFile(full);
      if (data.subarray(0, BINARY_SNIFF_BYTES).includes(0)) {
        stats.binary++;
        continue;
      }
      const digest = createHash('sha256').update(data).digest('hex');
      if (seen.has(digest)) {
        stats.duplicates++;
        continue;
      }
      seen.add(digest);
      let text: string;
      try {
        text = utf8.decode(data);
      } catch {
        stats.notUtf8++;
        continue;
      }
      stats.files++;
      stats.bytes += data.length;
      yield { root, path, text, split: unitHash(path) < valFraction ? 'val' : 'train', bytes: data.length };
      if (stats.bytes >= maxBytes) return;
    }
  }
}

const emptyStats = (): ShardIndex['stats'] => ({ files: 0, bytes: 0, duplicates: 0, tooLarge: 0, binary: 0, notUtf8: 0 });

// ---------------------------------------------------------------------------------------------
// Writing shards

function header(bytesPerToken: number, vocabSize: number, count: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write(MAGIC, 0, 'latin1');
  h.writeUInt32LE(FORMAT_VERSION, 8);
  h.writeUInt32LE(bytesPerToken, 12);
  h.writeUInt32LE(vocabSize, 16);
  h.writeBigUInt64LE(BigInt(count), 24);
  return h;
}

/** One split's shard files, written sequentially; a document never straddles two shards. */
class ShardWriter {
  readonly index: SplitIndex = { tokens: 0, documents: [], shards: [] };
  private fh: Awaited<ReturnType<typeof open>> | undefined;
  private inShard = 0;
  private buf: Uint16Array | Uint32Array;
  private fill = 0;

  constructor(
    private readonly dir: string,
    private readonly split: Split,
    private readonly bytesPerToken: 2 | 4,
    private readonly vocabSize: number,
    private readonly shardTokens: number,
  ) {
    this.buf = bytesPerToken === 2 ? new Uint16Array(WRITE_CHUNK_TOKENS) : new Uint32Array(WRITE_CHUNK_TOKENS);
  }

  async add(path: string, ids: readonly number[]): Promise<void> {
    if (!this.fh || this.inShard >= this.shardTokens) await this.nextShard();
    this.index.documents.push({ path, start: this.index.tokens, tokens: ids.length });
    for (const id of ids) {
      if (this.fill === this.buf.length) await this.flush();
      this.buf[this.fill++] = id;
    }
    this.inShard += ids.length;
    this.index.tokens += ids.length;
  }

  async close(): Promise<void> {
    if (this.fh) await this.finishShard();
  }

  private async flush(): Promise<void> {
    await this.fh!.write(new Uint8Array(this.buf.buffer, 0, this.fill * this.bytesPerToken));
    this.fill = 0;
  }

  private async finishShard(): Promise<void> {
    await this.flush();
    await this.fh!.write(header(this.bytesPerToken, this.vocabSize, this.inShard), 0, HEADER_BYTES, 0);
    await this.fh!.close();
    this.index.shards.at(-1)!.tokens = this.inShard;
    this.fh = undefined;
  }

  private async nextShard(): Promise<void> {
    if (this.fh) await this.finishShard();
    const file = `${this.split}-${String(this.index.shards.length).padStart(5, '0')}.tok`;
    this.fh = await open(join(this.dir, file), 'w');
    await this.fh.write(header(this.bytesPerToken, this.vocabSize, 0)); // count patched on finish
    this.index.shards.push({ file, tokens: 0 });
    this.inShard = 0;
  }
}

/**
 * Tokenize a corpus once into packed shards under `opts.out` (see the file comment for the format).
 * Returns the index that it also writes to `out/index.json`.
 */
export async function buildShards(opts: ShardBuildOptions, onProgress?: (p: Progress) => void): Promise<ShardIndex> {
  if (endianness() !== 'LE') throw configError('packed shards are little-endian and this machine is big-endian');
  const tok = opts.tokenizer;
  const bytesPerToken = tok.vocabSize <= 1 << 16 ? 2 : 4;
  const shardTokens = opts.shardTokens ?? 1 << 26;
  if (!(shardTokens >= 1)) throw configError(`shardTokens ${shardTokens} must be ≥ 1`);
  const fim = opts.fim ? { ...checkFimOptions(opts.fim), seed: opts.fim.seed ?? 0 } : undefined;
  const out = resolve(opts.out);
  await mkdir(out, { recursive: true });
  await rm(join(out, 'index.json'), { force: true }); // a half-rebuilt directory must not look finished
  const writers = {
    train: new ShardWriter(out, 'train', bytesPerToken, tok.vocabSize, shardTokens),
    val: new ShardWriter(out, 'val', bytesPerToken, tok.vocabSize, shardTokens),
  };
  const plain = (text: string) => [...tok.encode(text), tok.special.eot];
  const stats = emptyStats();
  // The newest training document waits here: if no document hashes to validation, it goes there
  // instead, so both splits always exist (as in corpus.ts).
  let pending: CorpusDocument | undefined;
  const writeTrain = async (d: CorpusDocument) => {
    const ids =
      fim && fim.rate > 0 ? fimDocument(tok, d.text, prng((fim.seed * 0x9e3779b1) ^ (unitHash(d.path) * 2 ** 32)), fim) : plain(d.text);
    await writers.train.add(d.path, ids);
  };
  let lastReport = 0;
  const onFile = (done: number, total: number) => {
    if (onProgress && (done === total || Date.now() - lastReport > 200)) {
      lastReport = Date.now();
      onProgress({ done, total, info: { tokens: String(writers.train.index.tokens + writers.val.index.tokens) } });
    }
  };
  for await (const d of readDocuments(opts, stats, onFile)) {
    if (d.split === 'val') await writers.val.add(d.path, plain(d.text));
    else {
      if (pending) await writeTrain(pending);
      pending = d;
    }
  }
  if (pending) {
    if (writers.val.index.documents.length === 0 && writers.train.index.documents.length > 0)
      await writers.val.add(pending.path, plain(pending.text));
    else await writeTrain(pending);
  }
  await writers.train.close();
  await writers.val.close();
  for (const s of SPLITS) {
    if (writers[s].index.tokens === 0) {
      throw dataError(
        `corpus under ${opts.roots.join(', ')} gave ${writers.train.index.documents.length} training and ${writers.val.index.documents.length} validation documents (${stats.files} files read; skipped ${stats.tooLarge} too large, ${stats.binary} binary, ${stats.notUtf8} not UTF-8, ${stats.duplicates} duplicates)`,
        'point the roots at more text files or widen the include patterns',
      );
    }
  }
  const index: ShardIndex = {
    format: INDEX_FORMAT,
    version: FORMAT_VERSION,
    dtype: bytesPerToken === 2 ? 'uint16' : 'uint32',
    vocabSize: tok.vocabSize,
    eot: tok.special.eot,
    tokenizer: 'tokenizer.json',
    options: {
      roots: opts.roots,
      include: opts.include ?? ['**/*'],
      exclude: opts.exclude ?? [],
      maxFileBytes: opts.maxFileBytes ?? 1 << 20,
      maxBytes: opts.maxBytes ?? null,
      valFraction: opts.valFraction ?? 0.05,
      shardTokens,
      fim: fim ?? null,
    },
    stats,
    splits: { train: writers.train.index, val: writers.val.index },
  };
  await writeFileAtomic(join(out, 'tokenizer.json'), JSON.stringify(tok.toJSON()));
  await writeFileAtomic(join(out, 'index.json'), JSON.stringify(index));
  return index;
}

// ---------------------------------------------------------------------------------------------
// Reading shards

export interface BatchOptions {
  /** Seed of the window offsets (and of context-level FIM). */
  seed?: number;
  /** Context-level FIM on each window (rate 0 or absent: off). */
  fim?: Partial<FimOptions>;
}

export interface Shards {
  readonly dir: string;
  readonly index: ShardIndex;
  readonly tokenizer: Tokenizer;
  tokenCount(split: Split): number;
  /** `length` tokens of the split's stream from `start` (may span shards). */
  read(split: Split, start: number, length: number): Uint32Array;
  /** Batch `index`: B windows of T+1 tokens → idx and next-token targets, int64 [B, T]. */
  batch(split: Split, index: number, B: number, T: number, opts?: BatchOptions): { idx: HostTensor; targets: HostTensor };
  /** The split's tokens in chunks (never all at once). */
  tokens(split: Split): Generator<Uint32Array>;
  /** The split's documents with their tokens (including the trailing end-of-text). */
  documents(split: Split): Generator<{ path: string; ids: Uint32Array }>;
  close(): void;
}

interface OpenShard {
  file: string;
  fd: number;
  start: number;
  tokens: number;
}

/** Check one shard's header against the index; returns nothing, throws a clear data error. */
function checkHeader(path: string, fd: number, bytesPerToken: number, vocabSize: number, tokens: number): void {
  const h = Buffer.alloc(HEADER_BYTES);
  const got = readSync(fd, h, 0, HEADER_BYTES, 0);
  const rebuild = 'rebuild the shards with buildShards (tony data shards)';
  if (got < HEADER_BYTES || h.toString('latin1', 0, 8) !== MAGIC)
    throw dataError(`'${path}' is not a Tony token shard (no ${MAGIC} header)`, rebuild);
  const version = h.readUInt32LE(8);
  if (version !== FORMAT_VERSION)
    throw dataError(`shard '${path}' has format version ${version}; this Tony reads version ${FORMAT_VERSION}`, rebuild);
  const bpt = h.readUInt32LE(12);
  if (bpt !== bytesPerToken) throw dataError(`shard '${path}' stores ${bpt}-byte tokens but index.json says ${bytesPerToken}`, rebuild);
  const vocab = h.readUInt32LE(16);
  if (vocab !== vocabSize) throw dataError(`shard '${path}' was written for vocabulary ${vocab}, index.json says ${vocabSize}`, rebuild);
  const count = Number(h.readBigUInt64LE(24));
  if (count !== tokens) throw dataError(`shard '${path}' holds ${count} tokens by its header, index.json says ${tokens}`, rebuild);
  const size = fstatSync(fd).size;
  if (size !== HEADER_BYTES + count * bpt)
    throw dataError(`shard '${path}' is ${size} bytes, expected ${HEADER_BYTES + count * bpt} for ${count} tokens (truncated?)`, rebuild);
}

/** Open a shard directory written by `buildShards`. Call `close()` when done. */
export async function openShards(dir: string): Promise<Shards> {
  if (endianness() !== 'LE') throw configError('packed shards are little-endian and this machine is big-endian');
  const rebuild = 'rebuild the shards with buildShards';
  let index: ShardIndex;
  try {
    index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ShardIndex;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw dataError(
      code === 'ENOENT'
        ? `'${dir}' has no index.json: not a shard directory, or its build did not finish`
        : `'${join(dir, 'index.json')}' does not parse: ${(err as Error).message}`,
      rebuild,
    );
  }
  if (index.format !== INDEX_FORMAT || index.version !== FORMAT_VERSION)
    throw dataError(
      `'${join(dir, 'index.json')}' is ${index.format} version ${index.version}, not ${INDEX_FORMAT} version ${FORMAT_VERSION}`,
      rebuild,
    );
  const tokenizer = loadTokenizer(JSON.parse(await readFile(join(dir, index.tokenizer), 'utf8')));
  if (tokenizer.vocabSize !== index.vocabSize)
    throw dataError(`tokenizer.json has vocabulary ${tokenizer.vocabSize}, index.json ${index.vocabSize}`, rebuild);
  const bytesPerToken = index.dtype === 'uint16' ? 2 : 4;
  const files: Record<Split, OpenShard[]> = { train: [], val: [] };
  const fds: number[] = [];
  try {
    for (const split of SPLITS) {
      let start = 0;
      for (const s of index.splits[split].shards) {
        const path = join(dir, s.file);
        let fd: number;
        try {
          fd = openSync(path, 'r');
        } catch (err) {
          throw dataError(`cannot open shard '${path}': ${(err as NodeJS.ErrnoException).code}`, rebuild);
        }
        fds.push(fd);
        checkHeader(path, fd, bytesPerToken, index.vocabSize, s.tokens);
        files[split].push({ file: path, fd, start, tokens: s.tokens });
        start += s.tokens;
      }
    }
  } catch (err) {
    for (const fd of fds) closeSync(fd);
    throw err;
  }

  const tokenCount = (split: Split) => index.splits[split].tokens;
  const read = (split: Split, start: number, length: number): Uint32Array => {
    const total = tokenCount(split);
    if (!(start >= 0 && length >= 0 && start + length <= total))
      throw dataError(`read of ${length} tokens at ${start} is outside the ${split} split (${total} tokens)`);
    const out = new Uint32Array(length);
    const bytes = new Uint8Array(Math.min(length, READ_CHUNK_TOKENS) * bytesPerToken);
    let at = 0;
    for (const s of files[split]) {
      if (at === length) break;
      const pos = start + at;
      if (pos >= s.start + s.tokens) continue;
      let n = Math.min(length - at, s.start + s.tokens - pos);
      let off = pos - s.start;
      while (n > 0) {
        const k = Math.min(n, READ_CHUNK_TOKENS);
        readSync(s.fd, bytes, 0, k * bytesPerToken, HEADER_BYTES + off * bytesPerToken);
        out.set(bytesPerToken === 2 ? new Uint16Array(bytes.buffer, 0, k) : new Uint32Array(bytes.buffer, 0, k), at);
        at += k;
        off += k;
        n -= k;
      }
    }
    return out;
  };

  return {
    dir,
    index,
    tokenizer,
    tokenCount,
    read,
    batch(split, i, B, T, opts = {}) {
      const n = tokenCount(split);
      if (n < T + 2)
        throw dataError(
          `the ${split} split has ${n} tokens, fewer than one window of ${T + 1}`,
          'use a shorter context or a larger corpus',
        );
      const seed = opts.seed ?? 0;
      const fim = opts.fim && (opts.fim.rate ?? 0) > 0 ? checkFimOptions(opts.fim) : undefined;
      // The offsets windowBatch (corpus.ts) draws from the same stream held in memory.
      const r = prng((seed * 0x9e3779b1) ^ (i * 0x85ebca6b) ^ n);
      const idx = new Array<number>(B * T);
      const tgt = new Array<number>(B * T);
      for (let b = 0; b < B; b++) {
        const start = Math.floor(r.next() * (n - T - 1));
        let ctx: ArrayLike<number> = read(split, start, T + 1);
        if (fim) ctx = fimContext(tokenizer, ctx, prng((seed * 0x27d4eb2f) ^ (i * 0x165667b1) ^ (b * 0x9e3779b1) ^ start), fim);
        for (let t = 0; t < T; t++) {
          idx[b * T + t] = ctx[t]!;
          tgt[b * T + t] = ctx[t + 1]!;
        }
      }
      return { idx: hostTensor('int64', [B, T], idx), targets: hostTensor('int64', [B, T], tgt) };
    },
    *tokens(split) {
      const n = tokenCount(split);
      for (let at = 0; at < n; at += READ_CHUNK_TOKENS) yield read(split, at, Math.min(READ_CHUNK_TOKENS, n - at));
    },
    *documents(split) {
      for (const d of index.splits[split].documents) yield { path: d.path, ids: read(split, d.start, d.tokens) };
    },
    close() {
      for (const fd of fds) closeSync(fd);
      fds.length = 0;
    },
  };
}
