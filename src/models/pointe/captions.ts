/**
 * Captions → word ids for Point-E's text encoder (pointe.ts). Words, not bytes: the captions come
 * from a small grammar (src/shape/scenes.ts), and a word-level vocabulary taken from the training
 * captions and saved with the model keeps the encoder tiny. Id 0 is padding; word i of the sorted
 * vocabulary is id i + 1.
 */
import { type HostTensor, hostTensor } from '../../engine/dtype.ts';
import { TonyError } from '../../errors.ts';

/** Lower-case words, punctuation dropped: "A red cube." → ['a', 'red', 'cube']. */
export function captionWords(caption: string): string[] {
  return caption
    .toLowerCase()
    .replace(/[^a-z0-9 ]+/g, ' ')
    .split(/\s+/)
    .filter((w) => w !== '');
}

/** The sorted set of words in `captions`. */
export function buildVocabulary(captions: Iterable<string>): string[] {
  const words = new Set<string>();
  for (const c of captions) for (const w of captionWords(c)) words.add(w);
  return [...words].sort();
}

/**
 * One caption as `maxWords` ids and a validity mask. An empty caption, an unknown word or a caption
 * longer than maxWords is a usage error naming it.
 */
export function encodeCaption(caption: string, vocab: readonly string[], maxWords: number): { ids: number[]; valid: boolean[] } {
  const words = captionWords(caption);
  if (words.length === 0)
    throw new TonyError(
      'usage',
      'the caption is empty',
      'describe a shape, e.g. --caption "a small red cube on top of a large blue sphere"',
    );
  if (words.length > maxWords)
    throw new TonyError('usage', `the caption has ${words.length} words; this model reads at most ${maxWords}`, 'shorten it');
  const index = new Map(vocab.map((w, i) => [w, i + 1]));
  const unknown = words.filter((w) => !index.has(w));
  if (unknown.length)
    throw new TonyError(
      'usage',
      `the caption uses word${unknown.length > 1 ? 's' : ''} this model never saw: ${[...new Set(unknown)].map((w) => `'${w}'`).join(', ')}`,
      `its vocabulary: ${vocab.join(' ')}`,
    );
  const ids = words.map((w) => index.get(w)!);
  return {
    ids: [...ids, ...new Array<number>(maxWords - ids.length).fill(0)],
    valid: Array.from({ length: maxWords }, (_, i) => i < ids.length),
  };
}

/** Encoded captions, one per batch row, as the model's `ids` (int64) and `valid` (bool) inputs. */
export function captionFeeds(
  rows: readonly { ids: number[]; valid: boolean[] }[],
  maxWords: number,
): { ids: HostTensor; valid: HostTensor } {
  return {
    ids: hostTensor(
      'int64',
      [rows.length, maxWords],
      rows.flatMap((e) => e.ids),
    ),
    valid: hostTensor(
      'bool',
      [rows.length, maxWords],
      rows.flatMap((e) => e.valid.map(Number)),
    ),
  };
}
