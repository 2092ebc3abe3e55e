/**
 * What every Tony tokenizer provides. Implementations: byte-level BPE (bpe.ts, trainable) and
 * o200k_base (o200k.ts, GPT-4o's). Special tokens have ids that plain text can never produce.
 */
export interface SpecialTokens {
  /** <|endoftext|>: ends a document; sampling stops on it. */
  eot: number;
  /** <|fim_prefix|>, <|fim_middle|>, <|fim_suffix|> (PAPERS.md §2). */
  fimPrefix: number;
  fimMiddle: number;
  fimSuffix: number;
}

export interface Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly special: SpecialTokens;
  /** Plain text → ids. Never returns a special id, whatever the text contains. */
  encode(text: string): number[];
  /** ids → the exact bytes they stand for (special ids → their literal names, e.g. "<|endoftext|>"). */
  decodeBytes(ids: readonly number[]): Uint8Array;
  /** ids → text (invalid UTF-8 becomes U+FFFD, as TextDecoder does). */
  decode(ids: readonly number[]): string;
  /** A JSON-serialisable description from which `loadTokenizer` rebuilds it exactly. */
  toJSON(): Record<string, unknown>;
}

const SPECIAL_NAMES = ['<|endoftext|>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>'] as const;

/**
 * The simplest exact tokenizer: one token per byte (0–255) plus the four specials (256–259).
 * Used by byte-level models (`npm start`'s default GPT) and as the baseline for BPE.
 */
export class ByteTokenizer implements Tokenizer {
  readonly name = 'bytes';
  readonly vocabSize = 260;
  readonly special: SpecialTokens = { eot: 256, fimPrefix: 257, fimMiddle: 258, fimSuffix: 259 };

  encode(text: string): number[] {
    return [...new TextEncoder().encode(text)];
  }

  decodeBytes(ids: readonly number[]): Uint8Array {
    const parts: number[] = [];
    for (const id of ids) {
      if (id < 256) parts.push(id);
      else parts.push(...new TextEncoder().encode(SPECIAL_NAMES[id - 256] ?? ''));
    }
    return Uint8Array.from(parts);
  }

  decode(ids: readonly number[]): string {
    return new TextDecoder().decode(this.decodeBytes(ids));
  }

  toJSON(): Record<string, unknown> {
    return { kind: 'bytes' };
  }
}
