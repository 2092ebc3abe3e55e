/**
 * Fill-in-the-middle, as Bavarian et al. 2022 ("Efficient Training of Language Models to Fill in the
 * Middle") specify it (PAPERS.md §2).
 *
 * A document is split at two uniformly random positions into prefix / middle / suffix *before*
 * tokenization (character-level spans: positions are Unicode code points, so an emoji is never cut),
 * each part is encoded separately, and the parts are rearranged with sentinel tokens:
 *
 *     PSM:  <PRE> prefix <SUF> suffix <MID> middle <EOT>
 *     SPM:  <PRE> <SUF> suffix <MID> prefix middle <EOT>     (the paper's SPM variant)
 *
 * The loss stays on every token and the end-of-text token is always trained: it tells the model where
 * the middle joins the suffix. With `rate` (default 0.5) a document is transformed; in 'joint' mode
 * half of the transformed ones are PSM and half SPM.
 *
 * Two places to apply it:
 * - document level (`fimDocument`): each document before packing (buildShards does this for the
 *   training split; validation stays plain so left-to-right loss stays comparable);
 * - context level (`fimContext`, the paper's better variant): each packed training context of L
 *   tokens is split on <EOT>, each non-empty fragment is detokenized, transformed and re-encoded, and
 *   the joined result is cut back to L tokens, or padded with <EOT> when re-encoding made it shorter
 *   (rare: the three sentinels nearly always make it longer). The <EOT> separators stay where they
 *   were, so a fragment that was a whole document still ends in <EOT>.
 *
 * Span kinds for the paper's ablation: 'char' (the default, best), 'line' (cut only at line starts),
 * 'token' (cut at token boundaries of the document's tokenization; the parts are those token slices,
 * not re-encoded). Every random choice comes from the `rng` passed in, so results are deterministic by
 * seed.
 */
import { configError } from '../errors.ts';
import type { Rng } from '../random.ts';
import type { Tokenizer } from './tokenizer.ts';

export type FimFormat = 'psm' | 'spm';
export type FimMode = FimFormat | 'joint';
export type FimSpan = 'char' | 'line' | 'token';

export interface FimOptions {
  /** Probability that a document (or context fragment) is transformed. */
  rate: number;
  /** 'joint': PSM or SPM with equal probability; otherwise always the one named. */
  mode: FimMode;
  span: FimSpan;
  /**
   * Context-level FIM, the fragment the window cuts off (a document longer than what is left of the
   * context — most fragments, when files are longer than the context): 'eot' shortens it before the
   * transform so that its middle ends in <EOT> inside the window, as the paper trains ("always train
   * on the end-of-text token": it marks where the middle joins the suffix); 'cut' transforms it and
   * cuts the result, losing the middle's end and its <EOT> (Tony before this option: models trained
   * so almost never ended an infill on their own).
   */
  windowEnd: 'eot' | 'cut';
}

/** The paper's defaults: FIM-50 %, joint PSM/SPM, character-level spans. */
export const FIM_DEFAULTS: Readonly<FimOptions> = Object.freeze({ rate: 0.5, mode: 'joint', span: 'char', windowEnd: 'eot' });

export interface FimParts<T> {
  prefix: T;
  middle: T;
  suffix: T;
}

export function checkFimOptions(o: Partial<FimOptions> = {}): FimOptions {
  const opts = { ...FIM_DEFAULTS, ...o };
  if (!(opts.rate >= 0 && opts.rate <= 1))
    throw configError(`FIM rate ${opts.rate} is outside [0, 1]`, 'the paper uses 0.5; 0 turns FIM off');
  if (!['psm', 'spm', 'joint'].includes(opts.mode)) throw configError(`FIM mode '${opts.mode}' is not one of psm, spm, joint`);
  if (!['char', 'line', 'token'].includes(opts.span)) throw configError(`FIM span '${opts.span}' is not one of char, line, token`);
  if (!['eot', 'cut'].includes(opts.windowEnd)) throw configError(`FIM windowEnd '${opts.windowEnd}' is not one of eot, cut`);
  return opts;
}

/** Two positions drawn uniformly (with replacement) from `candidates`, in order. */
function twoCuts(candidates: readonly number[] | number, rng: Rng): [number, number] {
  const pick =
    typeof candidates === 'number'
      ? () => Math.floor(rng.next() * (candidates + 1))
      : () => candidates[Math.floor(rng.next() * candidates.length)]!;
  const a = pick();
  const b = pick();
  return a <= b ? [a, b] : [b, a];
}

/**
 * Split text into prefix / middle / suffix at two random positions: any code-point boundary
 * ('char', both ends included) or any line start ('line': 0, after each '\n', and the end).
 */
export function splitText(text: string, rng: Rng, span: 'char' | 'line' = 'char'): FimParts<string> {
  // UTF-16 offsets of the allowed cut points.
  const cuts: number[] = [];
  if (span === 'char') {
    for (let i = 0; i < text.length; i++) {
      cuts.push(i);
      const c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) i++; // keep a surrogate pair whole
      }
    }
    cuts.push(text.length);
  } else {
    cuts.push(0);
    for (let i = text.indexOf('\n'); i >= 0 && i + 1 < text.length; i = text.indexOf('\n', i + 1)) cuts.push(i + 1);
    if (text.length > 0) cuts.push(text.length);
  }
  const [a, b] = twoCuts(cuts, rng);
  return { prefix: text.slice(0, a), middle: text.slice(a, b), suffix: text.slice(b) };
}

/** Split a token sequence at two uniformly random token boundaries (0..n inclusive). */
export function splitTokens<T extends ArrayLike<number>>(ids: T, rng: Rng): FimParts<number[]> {
  const [a, b] = twoCuts(ids.length, rng);
  const all = Array.from(ids);
  return { prefix: all.slice(0, a), middle: all.slice(a, b), suffix: all.slice(b) };
}

/**
 * Arrange encoded parts with the sentinels (no trailing <EOT>: the document's end-of-text follows).
 * PSM: PRE p SUF s MID m.  SPM: PRE SUF s MID p m.
 */
export function fimArrange(tok: Tokenizer, parts: FimParts<readonly number[]>, format: FimFormat): number[] {
  const { fimPrefix: PRE, fimSuffix: SUF, fimMiddle: MID } = tok.special;
  const { prefix, middle, suffix } = parts;
  return format === 'psm' ? [PRE, ...prefix, SUF, ...suffix, MID, ...middle] : [PRE, SUF, ...suffix, MID, ...prefix, ...middle];
}

/** Whether to transform, and how: one draw for the rate, one for PSM/SPM when joint. */
function chooseFormat(rng: Rng, opts: FimOptions): FimFormat | undefined {
  if (!(rng.next() < opts.rate)) return undefined;
  if (opts.mode !== 'joint') return opts.mode;
  return rng.next() < 0.5 ? 'spm' : 'psm';
}

/** FIM-transform one piece of text that may or may not be transformed; `ids` is its plain encoding when known. */
function transformFragment(
  tok: Tokenizer,
  text: string | undefined,
  ids: readonly number[] | undefined,
  rng: Rng,
  opts: FimOptions,
  /** Shorten the fragment to this many tokens once it is to be transformed (token ids known). */
  maxTokens?: number,
): number[] | undefined {
  const format = chooseFormat(rng, opts);
  if (!format) return undefined;
  if (maxTokens !== undefined && ids && ids.length > maxTokens) ids = ids.slice(0, Math.max(0, maxTokens));
  if (opts.span === 'token') return fimArrange(tok, splitTokens(ids ?? tok.encode(text!), rng), format);
  const parts = splitText(text ?? tok.decode(ids!), rng, opts.span);
  return fimArrange(tok, { prefix: tok.encode(parts.prefix), middle: tok.encode(parts.middle), suffix: tok.encode(parts.suffix) }, format);
}

/**
 * Document-level FIM: one document → its ids followed by <EOT>, FIM-transformed with probability
 * `opts.rate`.
 */
export function fimDocument(tok: Tokenizer, text: string, rng: Rng, options: Partial<FimOptions> = {}): number[] {
  const opts = checkFimOptions(options);
  const ids = transformFragment(tok, text, undefined, rng, opts) ?? tok.encode(text);
  ids.push(tok.special.eot);
  return ids;
}

/** Tokens of room left for re-encoding a shortened fragment's three parts (they may tokenize longer). */
const FIM_REENCODE_SLACK = 4;

/**
 * Context-level FIM: a packed training context (L tokens) → L tokens, each <EOT>-separated fragment
 * FIM-transformed with probability `opts.rate`; cut to L, or padded with <EOT>.
 */
export function fimContext(tok: Tokenizer, context: ArrayLike<number>, rng: Rng, options: Partial<FimOptions> = {}): number[] {
  const opts = checkFimOptions(options);
  const L = context.length;
  const eot = tok.special.eot;
  const out: number[] = [];
  let start = 0;
  for (let i = 0; i <= L; i++) {
    if (i < L && context[i] !== eot) continue;
    const fragment = Array.from({ length: i - start }, (_, k) => context[start + k]!);
    // The window cuts this fragment: leave room for the three sentinels, the <EOT> and a little
    // re-encoding growth (character-level parts are re-tokenized), so the middle ends inside.
    const cut = i === L && opts.windowEnd === 'eot';
    const room = L - out.length - 3 - 1 - FIM_REENCODE_SLACK;
    const done = fragment.length > 0 ? transformFragment(tok, undefined, fragment, rng, opts, cut ? room : undefined) : undefined;
    for (const id of done ?? fragment) out.push(id);
    if (i < L || (cut && done && out.length < L)) out.push(eot);
    start = i + 1;
    if (out.length >= L) break;
  }
  if (out.length > L) out.length = L;
  while (out.length < L) out.push(eot);
  return out;
}

/**
 * The inference prompt for infilling: the sequence up to and including <MID>; sample from it until
 * <EOT>, and the sample is the middle.
 *
 *     PSM: [<EOT>] PRE prefix SUF suffix MID        SPM: [<EOT>] PRE SUF suffix MID prefix
 *
 * `leadingEot` prepends <EOT> (a clean document start, as the model saw after the previous document).
 */
export function fimPrompt(
  tok: Tokenizer,
  prefix: string,
  suffix: string,
  format: FimFormat = 'psm',
  opts: { leadingEot?: boolean } = {},
): number[] {
  const { fimPrefix: PRE, fimSuffix: SUF, fimMiddle: MID, eot } = tok.special;
  const head = opts.leadingEot ? [eot] : [];
  const p = tok.encode(prefix);
  const s = tok.encode(suffix);
  return format === 'psm' ? [...head, PRE, ...p, SUF, ...s, MID] : [...head, PRE, SUF, ...s, MID, ...p];
}
