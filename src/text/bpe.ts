/**
 * Byte-level BPE, GPT-2 style: a pre-tokenizer regex splits text into pieces (words, numbers,
 * punctuation runs, whitespace runs); merges are learned over the UTF-8 bytes inside pieces, never
 * across them; encoding applies the learned merges greedily by rank (lowest rank first, leftmost
 * first among equal ranks — the same result as GPT-2's "merge every occurrence of the best bigram").
 *
 * Ids: 0..255 are the byte values themselves (GPT-2's byte→unicode table is only a display trick and
 * is not needed here); 256 + r is the token made by merge r; the special tokens come last. `encode`
 * only ever produces byte and merge ids, so no text — not even the literal "<|endoftext|>" — can yield
 * a special id.
 *
 * Strings and bytes. `encode(text)` takes a JS string and encodes it as UTF-8 the way TextEncoder
 * does: a lone surrogate (not valid Unicode, so it has no UTF-8 form) becomes U+FFFD. Every
 * well-formed string round-trips exactly through `decode(encode(s))`. Byte strings that are not
 * valid UTF-8 round-trip exactly through `encodeBytes` / `decodeBytes`: valid stretches are
 * pre-tokenized as text, each invalid byte is a piece of its own. (WTF-8 was rejected: it would feed
 * the model byte sequences no real file contains, and `decode` must match TextDecoder anyway.)
 *
 * Training (`trainBpe`) counts pieces first, then merges over the table of distinct pieces with
 * incremental pair counts (only the pairs beside each occurrence change) and a lazy max-heap. Tie-break, fixed and documented because the oracle
 * (test/text/fixtures/bpe_fixture.py, a naive trainer) must follow it: the most frequent pair wins;
 * among equal counts the smallest left id, then the smallest right id. Pairs are counted at every
 * adjacent position ("aaa" holds (a,a) twice) and a merge rewrites a piece left to right without
 * overlap ("aaa" → "Z a"). Training stops at the target vocabulary or when the best pair occurs fewer
 * than `minFrequency` times.
 */

import { configError, dataError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import type { SpecialTokens, Tokenizer } from './tokenizer.ts';

/** GPT-2's pre-tokenizer: contractions, optional-space + letters / numbers / other, whitespace runs. */
export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/** The four special tokens every Tony tokenizer has (PAPERS.md §2 names them <EOT> <PRE> <MID> <SUF>). */
export const SPECIAL_NAMES = {
  eot: '<|endoftext|>',
  fimPrefix: '<|fim_prefix|>',
  fimMiddle: '<|fim_middle|>',
  fimSuffix: '<|fim_suffix|>',
} as const;
export const DEFAULT_SPECIALS: readonly string[] = Object.values(SPECIAL_NAMES);

const BYTES = 256;
/** Pair keys pack two ids as a·2^21 + b: exact in a double for vocabularies under 2M. */
const ID_LIMIT = 1 << 21;
const pairKey = (a: number, b: number) => a * ID_LIMIT + b;
/** Encoded pieces are cached (most pieces repeat); the cache is dropped when it grows past this. */
const CACHE_LIMIT = 200_000;
const JSON_KIND = 'tony-bpe';
const JSON_VERSION = 1;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

// ---------------------------------------------------------------------------------------------
// A binary heap with a comparator (the encoder's merge queue and the trainer's pair queue)

export class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}
  get size(): number {
    return this.items.length;
  }
  push(x: T): void {
    const h = this.items;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

// ---------------------------------------------------------------------------------------------
// Pre-tokenization

/**
 * Split bytes into maximal valid UTF-8 runs and single invalid bytes (WHATWG's rules: no overlongs,
 * no surrogates, nothing above U+10FFFF). Calls `run(start, end)` or `invalid(byte)` in order.
 */
export function scanUtf8(b: Uint8Array, run: (start: number, end: number) => void, invalid: (byte: number) => void): void {
  let start = 0;
  let i = 0;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => k < b.length && b[k]! >= lo && b[k]! <= hi;
  while (i < b.length) {
    const c = b[i]!;
    let len = 0;
    if (c < 0x80) len = 1;
    else if (c >= 0xc2 && c <= 0xdf) len = cont(i + 1) ? 2 : 0;
    else if (c >= 0xe0 && c <= 0xef) {
      const lo = c === 0xe0 ? 0xa0 : 0x80;
      const hi = c === 0xed ? 0x9f : 0xbf;
      len = cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
    } else if (c >= 0xf0 && c <= 0xf4) {
      const lo = c === 0xf0 ? 0x90 : 0x80;
      const hi = c === 0xf4 ? 0x8f : 0xbf;
      len = cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    }
    if (len === 0) {
      if (i > start) run(start, i);
      invalid(c);
      i++;
      start = i;
    } else i += len;
  }
  if (i > start) run(start, i);
}

function compilePattern(pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'gu');
  } catch (err) {
    throw configError(
      `BPE pre-tokenizer pattern /${pattern}/ does not compile: ${(err as Error).message}`,
      'pass a valid JavaScript regular expression (it runs with the u flag)',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The tokenizer

export type BpeJSON = {
  kind: typeof JSON_KIND;
  version: number;
  pattern: string;
  /** Merge r makes id 256 + r from [left, right]. */
  merges: Array<[number, number]>;
  /** Special token names; id of specials[i] = 256 + merges.length + i. */
  specials: string[];
};

export class BpeTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly special: SpecialTokens;
  readonly pattern: string;
  readonly merges: ReadonlyArray<readonly [number, number]>;
  readonly specials: readonly string[];
  private readonly re: RegExp;
  private readonly ranks = new Map<number, number>();
  private readonly tokenBytes: Uint8Array[] = [];
  private readonly specialIds = new Map<string, number>();
  private cache = new Map<string, number[]>();

  constructor(merges: ReadonlyArray<readonly [number, number]>, opts: { pattern?: string; specials?: readonly string[] } = {}) {
    this.pattern = opts.pattern ?? GPT2_PATTERN;
    this.re = compilePattern(this.pattern);
    this.specials = [...(opts.specials ?? DEFAULT_SPECIALS)];
    this.merges = merges.map(([a, b]) => [a, b] as const);
    for (let i = 0; i < BYTES; i++) this.tokenBytes.push(Uint8Array.of(i));
    merges.forEach(([a, b], r) => {
      const id = BYTES + r;
      if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a >= id || b >= id) {
        throw dataError(
          `BPE merge ${r} is [${a}, ${b}]: a merge may only join ids made before it (< ${id})`,
          'the tokenizer JSON is corrupt; retrain or restore it',
        );
      }
      if (this.ranks.has(pairKey(a, b)))
        throw dataError(`BPE merge ${r} [${a}, ${b}] repeats an earlier merge`, 'the tokenizer JSON is corrupt; retrain or restore it');
      this.ranks.set(pairKey(a, b), r);
      const ab = new Uint8Array(this.tokenBytes[a]!.length + this.tokenBytes[b]!.length);
      ab.set(this.tokenBytes[a]!);
      ab.set(this.tokenBytes[b]!, this.tokenBytes[a]!.length);
      this.tokenBytes.push(ab);
    });
    for (const [k, name] of Object.entries(SPECIAL_NAMES)) {
      if (!this.specials.includes(name))
        throw configError(
          `BPE specials ${JSON.stringify(this.specials)} lack ${name} (${k})`,
          `include all of ${DEFAULT_SPECIALS.join(' ')}`,
        );
    }
    if (new Set(this.specials).size !== this.specials.length)
      throw configError(`BPE specials ${JSON.stringify(this.specials)} repeat a name`);
    this.specials.forEach((name, i) => {
      this.specialIds.set(name, BYTES + merges.length + i);
      this.tokenBytes.push(utf8.encode(name));
    });
    this.vocabSize = BYTES + merges.length + this.specials.length;
    this.special = {
      eot: this.specialIds.get(SPECIAL_NAMES.eot)!,
      fimPrefix: this.specialIds.get(SPECIAL_NAMES.fimPrefix)!,
      fimMiddle: this.specialIds.get(SPECIAL_NAMES.fimMiddle)!,
      fimSuffix: this.specialIds.get(SPECIAL_NAMES.fimSuffix)!,
    };
    this.name = `bpe-${this.vocabSize}`;
  }

  /** The id of a special token by name (e.g. an extra "<|pad|>" given at training). */
  specialId(name: string): number {
    const id = this.specialIds.get(name);
    if (id === undefined) throw configError(`'${name}' is not a special token of ${this.name}`, `specials are ${this.specials.join(' ')}`);
    return id;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const m of text.matchAll(this.re)) this.encodePiece(m[0], out);
    return out;
  }

  /** Any byte string → ids; `decodeBytes` gives back exactly these bytes. */
  encodeBytes(bytes: Uint8Array): number[] {
    const out: number[] = [];
    scanUtf8(
      bytes,
      (s, e) => {
        for (const m of utf8Decoder.decode(bytes.subarray(s, e)).matchAll(this.re)) this.encodePiece(m[0], out);
      },
      (byte) => out.push(byte),
    );
    return out;
  }

  decodeBytes(ids: readonly number[]): Uint8Array {
    let n = 0;
    for (const id of ids) n += this.bytesOf(id).length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const id of ids) {
      const b = this.bytesOf(id);
      out.set(b, at);
      at += b.length;
    }
    return out;
  }

  decode(ids: readonly number[]): string {
    return utf8Decoder.decode(this.decodeBytes(ids));
  }

  /** The bytes one id stands for. */
  bytesOf(id: number): Uint8Array {
    const b = this.tokenBytes[id];
    if (b === undefined)
      throw dataError(
        `token id ${id} is outside ${this.name}'s vocabulary 0..${this.vocabSize - 1}`,
        'the ids come from a different tokenizer?',
      );
    return b;
  }

  toJSON(): BpeJSON {
    return {
      kind: JSON_KIND,
      version: JSON_VERSION,
      pattern: this.pattern,
      merges: this.merges.map(([a, b]) => [a, b]),
      specials: [...this.specials],
    };
  }

  static fromJSON(json: Record<string, unknown>): BpeTokenizer {
    if (json.kind !== JSON_KIND) throw dataError(`tokenizer JSON has kind ${JSON.stringify(json.kind)}, not '${JSON_KIND}'`);
    if (json.version !== JSON_VERSION)
      throw dataError(
        `BPE tokenizer JSON version ${JSON.stringify(json.version)} is not supported (this Tony reads version ${JSON_VERSION})`,
        'retrain the tokenizer with this Tony',
      );
    const { merges, specials, pattern } = json;
    const isPair = (m: unknown) => Array.isArray(m) && m.length === 2 && m.every((x) => typeof x === 'number');
    if (!Array.isArray(merges) || !merges.every(isPair))
      throw dataError('BPE tokenizer JSON: `merges` must be an array of [left, right] id pairs');
    if (!Array.isArray(specials) || !specials.every((s) => typeof s === 'string'))
      throw dataError('BPE tokenizer JSON: `specials` must be an array of strings');
    if (typeof pattern !== 'string') throw dataError('BPE tokenizer JSON: `pattern` must be a string');
    return new BpeTokenizer(merges as Array<[number, number]>, { pattern, specials: specials as string[] });
  }

  private encodePiece(piece: string, out: number[]): void {
    let ids = this.cache.get(piece);
    if (ids === undefined) {
      ids = this.mergeBytes(utf8.encode(piece));
      if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
      this.cache.set(piece, ids);
    }
    for (const id of ids) out.push(id);
  }

  /**
   * Apply merges to one piece: lowest rank first, leftmost among equals. The symbols form a linked
   * list and candidate pairs sit in a heap keyed (rank, position), so a long piece (a run of 10k
   * spaces) costs O(n log n), not O(n²). Stale heap entries are skipped when popped.
   */
  private mergeBytes(bytes: Uint8Array): number[] {
    const n = bytes.length;
    if (n < 2) return Array.from(bytes);
    const ids = Int32Array.from(bytes);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new Heap<[number, number]>((x, y) => x[0] < y[0] || (x[0] === y[0] && x[1] < y[1]));
    const offer = (i: number) => {
      const j = next[i]!;
      if (i < 0 || j < 0) return;
      const r = this.ranks.get(pairKey(ids[i]!, ids[j]!));
      if (r !== undefined) heap.push([r, i]);
    };
    for (let i = 0; i < n - 1; i++) offer(i);
    for (let top = heap.pop(); top; top = heap.pop()) {
      const [r, i] = top;
      const j = next[i]!;
      if (ids[i]! < 0 || j < 0 || this.ranks.get(pairKey(ids[i]!, ids[j]!)) !== r) continue; // stale
      ids[i] = BYTES + r;
      ids[j] = -1; // j is absorbed into i
      next[i] = next[j]!;
      if (next[j]! >= 0) prev[next[j]!] = i;
      offer(prev[i]!);
      offer(i);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(ids[i]!);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Training

export interface TrainBpeOptions {
  /** Total vocabulary: 256 bytes + merges + specials. */
  vocabSize: number;
  /** Special token names (must include the four of SPECIAL_NAMES; extras such as "<|pad|>" allowed). */
  specials?: readonly string[];
  /** Pre-tokenizer regex (default GPT-2's). */
  pattern?: string;
  /** Stop when the best pair occurs fewer times than this (default 2: a pair seen once is memorisation). */
  minFrequency?: number;
}

/** Distinct pieces and how often each occurs: the only view of the corpus the merge loop needs. */
function countPieces(re: RegExp) {
  const pieces = new Map<string, number>();
  const add = (s: string) => {
    for (const m of s.matchAll(re)) pieces.set(m[0], (pieces.get(m[0]) ?? 0) + 1);
  };
  return {
    pieces,
    add(doc: string | Uint8Array) {
      if (typeof doc === 'string') add(doc);
      // An invalid byte is a one-byte piece: it can never take part in a merge, so it is not counted.
      else
        scanUtf8(
          doc,
          (s, e) => add(utf8Decoder.decode(doc.subarray(s, e))),
          () => {},
        );
    },
  };
}

/**
 * Learn a byte-level BPE from documents (strings or raw bytes, sync or async iterable).
 *
 *     const tok = await trainBpe(files.map((f) => readFileSync(f, 'utf8')), { vocabSize: 4096 });
 */
export async function trainBpe(
  docs: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
  opts: TrainBpeOptions,
  onProgress?: (p: Progress) => void,
): Promise<BpeTokenizer> {
  const specials = [...(opts.specials ?? DEFAULT_SPECIALS)];
  const pattern = opts.pattern ?? GPT2_PATTERN;
  const minFrequency = opts.minFrequency ?? 2;
  const nMerges = opts.vocabSize - BYTES - specials.length;
  if (!Number.isInteger(opts.vocabSize) || nMerges < 0 || opts.vocabSize > ID_LIMIT) {
    throw configError(
      `BPE vocabSize ${opts.vocabSize} must be an integer from ${BYTES + specials.length} (bytes + specials) to ${ID_LIMIT}`,
    );
  }
  new BpeTokenizer([], { pattern, specials }); // bad specials or pattern fail now, not after training
  const counter = countPieces(compilePattern(pattern));
  for await (const doc of docs) counter.add(doc);

  // The piece table as one pool of symbols: each distinct piece of ≥ 2 bytes is a doubly linked run
  // of symbols (its bytes, later merged ids) weighted by the piece's count.
  let nSym = 0;
  for (const piece of counter.pieces.keys()) nSym += utf8.encode(piece).length;
  const sym = new Int32Array(nSym); // -1: absorbed into its left neighbour by a merge
  const next = new Int32Array(nSym);
  const prev = new Int32Array(nSym);
  const weight = new Float64Array(nSym); // the count of the piece a symbol belongs to
  let at = 0;
  for (const [piece, count] of counter.pieces) {
    const b = utf8.encode(piece);
    if (b.length < 2) continue;
    for (let i = 0; i < b.length; i++) {
      sym[at + i] = b[i]!;
      prev[at + i] = i > 0 ? at + i - 1 : -1;
      next[at + i] = i + 1 < b.length ? at + i + 1 : -1;
      weight[at + i] = count;
    }
    at += b.length;
  }

  // Pair counts, and for each pair the symbols where it may start (entries go stale as merges
  // happen and are checked when used). Merging updates only the pairs next to each occurrence, so
  // a merge costs O(its occurrences), however long the pieces are.
  const pairCount = new Map<number, number>();
  const pairAt = new Map<number, number[]>();
  const bump = (a: number, b: number, by: number) => {
    const k = pairKey(a, b);
    pairCount.set(k, (pairCount.get(k) ?? 0) + by);
    return k;
  };
  const note = (k: number, pos: number) => {
    const list = pairAt.get(k);
    if (list) list.push(pos);
    else pairAt.set(k, [pos]);
  };
  for (let i = 0; i < at; i++) if (next[i]! >= 0) note(bump(sym[i]!, sym[next[i]!]!, weight[i]!), i);

  // Max-heap on count; ties → smaller left id, then smaller right id. Entries go stale as counts
  // fall; a popped entry whose count no longer matches is re-queued with the current count. Only
  // pairs that contain the new id ever gain counts, and only during the merge that creates that id,
  // so the first popped entry that matches its current count is the true best.
  type Entry = { count: number; a: number; b: number };
  const heap = new Heap<Entry>((x, y) => x.count > y.count || (x.count === y.count && (x.a < y.a || (x.a === y.a && x.b < y.b))));
  for (const [k, count] of pairCount) heap.push({ count, a: Math.floor(k / ID_LIMIT), b: k % ID_LIMIT });

  const merges: Array<[number, number]> = [];
  while (merges.length < nMerges) {
    const top = heap.pop();
    if (!top) break;
    const { a, b } = top;
    const key = pairKey(a, b);
    const count = pairCount.get(key) ?? 0;
    if (count !== top.count) {
      if (count > 0) heap.push({ ...top, count });
      continue;
    }
    if (count < minFrequency) break;
    const id = BYTES + merges.length;
    merges.push([a, b]);
    const fresh = new Set<number>();
    // Positions were recorded left to right within each piece, so "a a a" merges as "Z a", as the
    // naive trainer's left-to-right rewrite does.
    for (const i of pairAt.get(key) ?? []) {
      const j = next[i]!;
      if (sym[i] !== a || j < 0 || sym[j] !== b) continue; // stale
      const w = weight[i]!;
      const p = prev[i]!;
      const n = next[j]!;
      bump(a, b, -w);
      if (p >= 0) {
        bump(sym[p]!, a, -w);
        const k = bump(sym[p]!, id, w);
        note(k, p);
        fresh.add(k);
      }
      if (n >= 0) {
        bump(b, sym[n]!, -w);
        const k = bump(id, sym[n]!, w);
        note(k, i);
        fresh.add(k);
      }
      sym[i] = id;
      sym[j] = -1;
      next[i] = n;
      if (n >= 0) prev[n] = i;
    }
    pairCount.delete(key);
    pairAt.delete(key);
    for (const k of fresh) {
      const c = pairCount.get(k)!;
      if (c > 0) heap.push({ count: c, a: Math.floor(k / ID_LIMIT), b: k % ID_LIMIT });
    }
    if (merges.length % 256 === 0) onProgress?.({ done: merges.length, total: nMerges });
  }
  onProgress?.({ done: merges.length, total: nMerges });
  return new BpeTokenizer(merges, { pattern, specials });
}
