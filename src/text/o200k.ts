/**
 * GPT-4o's `o200k_base` tokenizer behind Tony's Tokenizer interface, for large-vocabulary configs.
 *
 * The ranks ship inside the npm package `js-tiktoken` (module `js-tiktoken/ranks/o200k_base`), so
 * nothing is fetched at run time; js-tiktoken's `Tiktoken` does the encoding. Building its tables
 * takes a second or two, so the tokenizer is built once, on first use.
 *
 * Special tokens. o200k_base defines only <|endoftext|> = 199999 and <|endofprompt|> = 200018; it has
 * no fill-in-the-middle tokens. Tony appends its three FIM tokens after the last o200k id:
 * <|fim_prefix|> = 200019, <|fim_middle|> = 200020, <|fim_suffix|> = 200021 (vocabSize 200022).
 * The ids o200k leaves unused (199998, 200000–200017) and the specials are never produced by
 * `encode`, which treats special-token text as plain text (js-tiktoken would otherwise throw on it).
 *
 * Speed: js-tiktoken re-runs the merge loop for every piece, ~0.5 MB/s on code. `encode` splits the
 * text with o200k's own pre-tokenizer regex and caches each distinct piece's ids (most pieces
 * repeat), which gives identical ids: a piece matched in context is matched whole when alone (the
 * only lookahead, `\s+(?!\S)`, succeeds at the end of the string), and tiktoken encodes pieces
 * independently.
 */
import { Tiktoken } from 'js-tiktoken/lite';
import o200kRanks from 'js-tiktoken/ranks/o200k_base';
import { dataError } from '../errors.ts';
import { SPECIAL_NAMES } from './bpe.ts';
import type { SpecialTokens, Tokenizer } from './tokenizer.ts';

export const O200K_EOT = 199_999;
export const O200K_ENDOFPROMPT = 200_018;
/** Tony's FIM tokens, appended after o200k's last id. */
export const O200K_FIM_PREFIX = 200_019;
export const O200K_FIM_MIDDLE = 200_020;
export const O200K_FIM_SUFFIX = 200_021;
const VOCAB = 200_022;
const JSON_KIND = 'o200k_base';
/** The piece cache is dropped when it grows past this many entries. */
const CACHE_LIMIT = 200_000;

let shared: O200kTokenizer | undefined;

/** The o200k_base tokenizer (built once per process). */
export function o200kBase(): O200kTokenizer {
  shared ??= new O200kTokenizer();
  return shared;
}

export class O200kTokenizer implements Tokenizer {
  readonly name = 'o200k_base';
  readonly vocabSize = VOCAB;
  readonly special: SpecialTokens = {
    eot: O200K_EOT,
    fimPrefix: O200K_FIM_PREFIX,
    fimMiddle: O200K_FIM_MIDDLE,
    fimSuffix: O200K_FIM_SUFFIX,
  };
  private readonly enc = new Tiktoken(o200kRanks);
  private readonly table: Uint8Array[] = [];
  private readonly names = new Map<number, Uint8Array>();
  private readonly re = new RegExp(o200kRanks.pat_str, 'gu');
  private cache = new Map<string, number[]>();

  constructor() {
    // The rank data is public (js-tiktoken's TiktokenBPE type): lines of "<tag> <first rank> <base64 token>…".
    for (const line of o200kRanks.bpe_ranks.split('\n')) {
      if (!line) continue;
      const [, first, ...tokens] = line.split(' ');
      const offset = Number.parseInt(first!, 10);
      tokens.forEach((t, i) => (this.table[offset + i] = new Uint8Array(Buffer.from(t, 'base64'))));
    }
    const te = new TextEncoder();
    for (const [name, id] of Object.entries(o200kRanks.special_tokens)) this.names.set(id, te.encode(name));
    this.names.set(O200K_FIM_PREFIX, te.encode(SPECIAL_NAMES.fimPrefix));
    this.names.set(O200K_FIM_MIDDLE, te.encode(SPECIAL_NAMES.fimMiddle));
    this.names.set(O200K_FIM_SUFFIX, te.encode(SPECIAL_NAMES.fimSuffix));
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const m of text.matchAll(this.re)) {
      let ids = this.cache.get(m[0]);
      if (ids === undefined) {
        ids = this.enc.encode(m[0], [], []);
        if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
        this.cache.set(m[0], ids);
      }
      for (const id of ids) out.push(id);
    }
    return out;
  }

  decodeBytes(ids: readonly number[]): Uint8Array {
    const parts = ids.map((id) => {
      const b = this.table[id] ?? this.names.get(id);
      if (b === undefined)
        throw dataError(
          `token id ${id} is not an o200k_base token`,
          `o200k ids are 0..199997, ${O200K_EOT}, ${O200K_ENDOFPROMPT} and Tony's FIM ids ${O200K_FIM_PREFIX}..${O200K_FIM_SUFFIX}`,
        );
      return b;
    });
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  decode(ids: readonly number[]): string {
    return new TextDecoder().decode(this.decodeBytes(ids));
  }

  toJSON(): Record<string, unknown> {
    return { kind: JSON_KIND, fim: [O200K_FIM_PREFIX, O200K_FIM_MIDDLE, O200K_FIM_SUFFIX] };
  }
}

/** True when `json` describes o200k_base (as written by `toJSON`). */
export const isO200kJSON = (json: Record<string, unknown>) => json.kind === JSON_KIND;
