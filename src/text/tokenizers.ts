/**
 * Tokenizer helpers that work with any Tokenizer: rebuilding one from its JSON, and decoding a
 * stream of ids into text without ever splitting a UTF-8 character (for streamed completions).
 */
import { dataError } from '../errors.ts';
import { BpeTokenizer } from './bpe.ts';
import { isO200kJSON, o200kBase } from './o200k.ts';
import { ByteTokenizer, type Tokenizer } from './tokenizer.ts';

/**
 * Rebuild a tokenizer from `tok.toJSON()` (a trained BPE or o200k_base).
 *
 *     const tok = loadTokenizer(JSON.parse(await readText('model/tokenizer.json')));
 */
export function loadTokenizer(json: unknown): Tokenizer {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw dataError(`tokenizer JSON must be an object, got ${Array.isArray(json) ? 'an array' : typeof json}`);
  const obj = json as Record<string, unknown>;
  if (isO200kJSON(obj)) return o200kBase();
  if (obj.kind === 'bytes') return new ByteTokenizer();
  if (obj.kind === 'tony-bpe') return BpeTokenizer.fromJSON(obj);
  throw dataError(
    `tokenizer JSON has unknown kind ${JSON.stringify(obj.kind)}`,
    "expected 'tony-bpe' (a trained BPE), 'o200k_base' or 'bytes'",
  );
}

/**
 * Turns ids into text as they arrive. Bytes of a character that is not finished yet are held back
 * until the ids that complete it come; the concatenation of every `push` and the final `flush` equals
 * `tok.decode(allIds)`.
 *
 *     const sd = new StreamDecoder(tok);
 *     for (const id of sampled) send(sd.push([id]));
 *     send(sd.flush());
 */
export class StreamDecoder {
  private readonly td = new TextDecoder('utf-8');
  constructor(private readonly tok: Tokenizer) {}

  /** The text these ids complete (possibly ''). */
  push(ids: readonly number[]): string {
    return this.td.decode(this.tok.decodeBytes(ids), { stream: true });
  }

  /** End of stream: held-back bytes of an unfinished character come out as U+FFFD. */
  flush(): string {
    return this.td.decode();
  }
}
