/**
 * GSM8K text as training sequences, for the math generator and the verifier (PAPERS.md §3).
 *
 * One example is one problem, `Question: <question>\nAnswer:` followed by the solution, alone in a
 * context of blockSize tokens and padded with end-of-text (packing several problems into one
 * context would let a solution see the previous problem's). Position t reads tokens ≤ t and
 * predicts token t + 1; the masks below say which positions count:
 *
 *   prompt tokens      solution tokens         <eot> (generator only)   padding
 *   Q u e s t … : ⎵    ⎵ 4 8 / 2 = … # # # # 7 2   <eot>                   <eot> <eot> …
 *   ├─ pretrain LM ────────────────────────────────────────────────┤
 *                 ├─ fine-tune LM (predicts solution + <eot>) ─────┤
 *                      ├─ token-level value: one per solution token ┤
 *                                                ↑ solution-level value: the last solution token
 */
import { type HostTensor, hostTensor } from '../../engine/dtype.ts';
import { dataError } from '../../errors.ts';
import { parseJsonl } from '../../evals/data.ts';
import { readText } from '../../io.ts';
import { Rng } from '../../random.ts';
import type { Tokenizer } from '../../text/tokenizer.ts';

/** The prompt a solution follows, in training and at sampling time. */
export const solutionPrompt = (question: string) => `Question: ${question}\nAnswer:`;

/** One tokenized example: prompt + solution (+ <eot> when the solution ended by itself). */
export interface Encoded {
  tokens: number[];
  /** Prompt tokens: the solution starts at this index. */
  promptLen: number;
  /** Tokens of the solution text itself (excluding a final <eot>). */
  solutionLen: number;
  /** The verifier's target: 1 when the solution's final answer is right. */
  label?: number;
}

/** Tokenize; undefined when the example does not fit in `blockSize` tokens (and +1 for the last target). */
export function encodeExample(
  tok: Tokenizer,
  question: string,
  solution: string,
  blockSize: number,
  opts: { eot: boolean },
): Encoded | undefined {
  const prompt = tok.encode(solutionPrompt(question));
  const sol = tok.encode(solution);
  const tokens = [...prompt, ...sol, ...(opts.eot ? [tok.special.eot] : [])];
  if (tokens.length > blockSize + 1 || sol.length === 0) return undefined;
  return { tokens, promptLen: prompt.length, solutionLen: sol.length };
}

/** What a batch of examples becomes: inputs, next-token targets and the masks of the diagram. */
export interface ExampleBatch {
  idx: HostTensor; // (B, T) int64
  targets: HostTensor; // (B, T) int64
  /** (B, T) float: 1 where the LM loss counts. */
  lmMask: HostTensor;
  /** (B, T) float: 1 where the value loss counts (verifier only). */
  valueMask: HostTensor;
  /** (B, T) float: each row's label, repeated along T (verifier only). */
  labels: HostTensor;
}

/**
 * Lay examples out as a batch. `lm` is which positions the LM loss covers ('all' for
 * pretraining, 'solution' for fine-tuning and the verifier's LM term); `value` which positions the
 * value loss covers ('token': every solution token, 'solution': the last one, 'none').
 */
export function layoutBatch(
  examples: readonly Encoded[],
  blockSize: number,
  pad: number,
  opts: { lm: 'all' | 'solution'; value: 'token' | 'solution' | 'none' },
): ExampleBatch {
  const B = examples.length;
  const T = blockSize;
  const idx = new Array<number>(B * T).fill(pad);
  const targets = new Array<number>(B * T).fill(pad);
  const lmMask = new Float32Array(B * T);
  const valueMask = new Float32Array(B * T);
  const labels = new Float32Array(B * T);
  examples.forEach((ex, b) => {
    const n = Math.min(ex.tokens.length, T);
    for (let t = 0; t < n; t++) idx[b * T + t] = ex.tokens[t]!;
    for (let t = 0; t + 1 < ex.tokens.length && t < T; t++) {
      targets[b * T + t] = ex.tokens[t + 1]!;
      // Position t predicts token t + 1: fine-tuning counts the predictions of solution tokens and <eot>.
      if (opts.lm === 'all' || t + 1 >= ex.promptLen) lmMask[b * T + t] = 1;
    }
    const lastSol = ex.promptLen + ex.solutionLen - 1; // position of the solution's last token
    if (opts.value === 'token') for (let t = ex.promptLen; t <= lastSol && t < T; t++) valueMask[b * T + t] = 1;
    if (opts.value === 'solution' && lastSol < T) valueMask[b * T + lastSol] = 1;
    labels.fill(ex.label ?? 0, b * T, (b + 1) * T);
  });
  return {
    idx: hostTensor('int64', [B, T], idx),
    targets: hostTensor('int64', [B, T], targets),
    lmMask: hostTensor('float32', [B, T], lmMask),
    valueMask: hostTensor('float32', [B, T], valueMask),
    labels: hostTensor('float32', [B, T], labels),
  };
}

/** Share of examples kept for validation (the last ones of the file, so the split is stable). */
const VAL_FRACTION = 0.05;

/** Examples split into train and validation, and what was left out. */
export interface ExampleSet {
  train: Encoded[];
  val: Encoded[];
  /** Lines read, and examples dropped for not fitting the context. */
  read: number;
  tooLong: number;
  notes: string[];
}

export function splitExamples(all: Encoded[], read: number, what: string): ExampleSet {
  if (all.length < 2)
    throw dataError(
      `${what}: ${all.length} usable examples; training needs at least 2`,
      'check blockSize against the length of the problems',
    );
  const nVal = Math.max(1, Math.round(all.length * VAL_FRACTION));
  const tooLong = read - all.length;
  return {
    train: all.slice(0, all.length - nVal),
    val: all.slice(all.length - nVal),
    read,
    tooLong,
    notes: [
      `${what}: ${all.length - nVal} train / ${nVal} validation examples` +
        (tooLong ? `; ${tooLong} of ${read} left out (longer than the context)` : ''),
    ],
  };
}

/** Read JSON Lines rows, each needing the named fields with the given types; errors name file and line. */
export async function readRows<K extends string>(
  path: string,
  fields: Record<K, 'string' | 'boolean'>,
  what: string,
): Promise<Array<Record<K, string & boolean>>> {
  const rows = parseJsonl(await readText(path), path);
  if (rows.length === 0) throw dataError(`${path}: no rows`, `a ${what} file has one JSON object per line`);
  return rows.map(({ line, value }) => {
    for (const [f, type] of Object.entries(fields) as Array<[K, string]>) {
      if (typeof value[f] !== type)
        throw dataError(
          `${path}:${line}: field '${f}' must be a ${type}, got ${JSON.stringify(value[f]) ?? 'nothing'}`,
          `each line of a ${what} file needs ${Object.entries(fields)
            .map(([k, t]) => `'${k}' (${t})`)
            .join(', ')}`,
        );
    }
    return value as Record<K, string & boolean>;
  });
}

/** Batch `index` of a split: B examples drawn with replacement, deterministic in (seed, split, index). */
export function drawExamples(set: ExampleSet, split: 'train' | 'val', index: number, batch: number, seed: number): Encoded[] {
  const pool = split === 'train' ? set.train : set.val;
  // Even streams for training batches, odd for validation: the two never share a draw.
  const rng = new Rng(((seed * 1_000_003 + index) * 2 + (split === 'val' ? 1 : 0)) >>> 0);
  return Array.from({ length: batch }, () => rng.pick(pool));
}
