/**
 * Token healing, shared by the server's completions (model.ts, generate.ts) and the studio's
 * in-tab GPT (src/studio/app/gpt.ts): no runtime imports, so the browser bundle can take it.
 */
import type { Tokenizer } from '../../text/tokenizer.ts';

/** A healed prompt tail: its text and the tokens allowed while `rest` of it is still to be written. */
export interface Healing {
  text: string;
  allowed: (rest: string) => ReadonlySet<number>;
}

/**
 * Token healing for a prompt that ends in whitespace. A byte-level BPE with GPT-2's pre-tokenizer
 * merges a newline with the indentation after it ("\n    "), so in training a bare "\n" token is
 * almost always followed by text at column 0: HumanEval prompts end in `"""\n`, and the bundled
 * model ended the function at once in 1,626 of 1,640 samples. So the last token is taken back and
 * generation must re-write its text first. Not only with tokens that start with it: the pre-tokenizer
 * gives the space before a word to the word (`\s+(?!\S)` stops one space short), so training text
 * has "\n   " + " return", never "\n    " + "return"; a prompt ending in "\n    " (one token) must
 * be allowed to continue with "\n   " and then " return", or the model writes one space too many.
 * Hence the allowed tokens for a rest r of the tail: those whose text starts with r, and those whose
 * text is a non-empty prefix of r (after which the rest shrinks). Only whitespace tails are healed,
 * and not with echo or logprobs (whose offsets follow the prompt's own tokens). Infill prompts are
 * not healed (run): FIM training encodes the prefix on its own, so a whitespace token before <SUF>
 * is what training has; healing it was tried and cost fim50-s0 its identifier tasks (37.5 % → 0 %,
 * docs/results/fim/heal-infill-rejected.txt). `cache` keeps the allowed sets per rest.
 */
export function tokenHealing(
  tokenizer: Tokenizer,
  prompt: readonly number[],
  cache: Map<string, ReadonlySet<number>> = new Map(),
): Healing | undefined {
  if (prompt.length < 2) return undefined;
  const text = tokenizer.decode([prompt.at(-1)!]);
  if (!/^\s+$/.test(text)) return undefined;
  const allowed = (rest: string): ReadonlySet<number> => {
    let ids = cache.get(rest);
    if (!ids) {
      const set = new Set<number>();
      const specials = new Set(Object.values(tokenizer.special));
      for (let id = 0; id < tokenizer.vocabSize; id++) {
        if (specials.has(id)) continue;
        const piece = tokenizer.decode([id]);
        if (piece.startsWith(rest) || (piece.length > 0 && rest.startsWith(piece))) set.add(id);
      }
      cache.set(rest, (ids = set));
    }
    return ids;
  };
  return { text, allowed };
}
