/**
 * Test-time selection among N sampled solutions (Cobbe et al. 2021, §4.1 and §4.4; PAPERS.md §3):
 * rank them by the verifier's score (its value at the solution's final token), and let the top k
 * vote on the final answer. k = 1 is plain best-of-N; k = N is majority vote weighted by nothing.
 *
 * Answers are extracted as GSM8K's released code does (src/evals/gsm8k.ts). A solution without a
 * `#### N` line has no answer: it keeps its place in the ranking (a verifier that ranks it first
 * has made a mistake, and best-of-N then answers nothing, which counts as wrong) but casts no vote.
 */
import { extractAnswer, majorityVote } from '../evals/gsm8k.ts';

export interface Scored {
  text: string;
  /** The verifier's score; higher = more likely correct. */
  score: number;
}

/**
 * Indices of `scores` from best to worst. Equal scores keep their sampling order, so a verifier
 * that cannot tell solutions apart picks the first sample (test@1), not an arbitrary one.
 */
export function rankByScore(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/**
 * The answer the top `k` solutions by score vote for: the most frequent extracted answer among
 * them. Ties go to the answer whose best-ranked solution ranks higher. Undefined when none of the
 * top k has an answer.
 *
 *   verifierVote([{ text: '#### 3', score: 0.9 }, { text: '#### 4', score: 0.8 }, { text: '#### 4', score: 0.1 }], 3)  // '4'
 *   verifierVote([{ text: '#### 3', score: 0.9 }, { text: '#### 4', score: 0.8 }, { text: '#### 4', score: 0.1 }], 1)  // '3'
 */
export function verifierVote(solutions: readonly Scored[], k: number): string | undefined {
  const order = rankByScore(solutions.map((s) => s.score)).slice(0, Math.max(1, k));
  const votes = new Map<string, { n: number; firstRank: number }>();
  order.forEach((idx, rank) => {
    const a = extractAnswer(solutions[idx]!.text);
    if (a === undefined) return;
    const v = votes.get(a);
    if (v) v.n++;
    else votes.set(a, { n: 1, firstRank: rank });
  });
  let best: string | undefined;
  let bestV = { n: 0, firstRank: Infinity };
  for (const [a, v] of votes) if (v.n > bestV.n || (v.n === bestV.n && v.firstRank < bestV.firstRank)) [best, bestV] = [a, v];
  return best;
}

/** One problem's candidates: the reference answer, the sampled solutions and their scores. */
export interface Candidates {
  reference: string;
  texts: readonly string[];
  /** Verifier scores, one per text (absent: only test@1 and majority vote are reported). */
  scores?: readonly number[];
}

/** Accuracy of each way to pick an answer from the first n samples of every problem. */
interface SelectionRow {
  n: number;
  /** Majority vote over the n samples. */
  majority: number;
  /** The verifier's single best of the n (best-of-n). */
  verifier?: number;
  /** The top `vote` of the n by score vote (k = min(vote, n)). */
  vote?: number;
}

export interface SelectionReport {
  problems: number;
  /** Samples per problem (the smallest count over problems). */
  samples: number;
  /** The first sample's accuracy. */
  'test@1': number;
  /** Share of all samples that are correct (what the verifier's labels average to). */
  'mean accuracy': number;
  /** k of the top-k vote. */
  k: number;
  /** Powers of two up to N, and N. */
  rows: SelectionRow[];
}

/**
 * Accuracy against N for test@1, majority vote, verifier best-of-N and verifier top-k vote (the
 * paper's figures). Every n uses the first n samples of each problem, so the curves share samples.
 */
export function selectionReport(items: readonly Candidates[], k: number): SelectionReport {
  const N = Math.min(...items.map((c) => c.texts.length));
  const ns = [...new Set([...Array.from({ length: Math.floor(Math.log2(N)) + 1 }, (_, i) => 2 ** i), N])].sort((a, b) => a - b);
  const want = items.map((c) => extractAnswer(c.reference));
  const acc = (pick: (c: Candidates) => string | undefined) =>
    items.filter((c, i) => want[i] !== undefined && pick(c) === want[i]).length / items.length;
  const scored = items.every((c) => c.scores && c.scores.length === c.texts.length);
  const firstN = (c: Candidates, n: number): Scored[] => c.texts.slice(0, n).map((text, j) => ({ text, score: c.scores?.[j] ?? 0 }));
  const rows = ns.map((n) => ({
    n,
    majority: acc((c) => majorityVote(c.texts.slice(0, n))),
    ...(scored
      ? { verifier: acc((c) => verifierVote(firstN(c, n), 1)), vote: acc((c) => verifierVote(firstN(c, n), Math.min(k, n))) }
      : {}),
  }));
  let right = 0;
  let total = 0;
  items.forEach((c, i) => {
    for (const t of c.texts) {
      total++;
      if (want[i] !== undefined && extractAnswer(t) === want[i]) right++;
    }
  });
  return {
    problems: items.length,
    samples: N,
    'test@1': acc((c) => extractAnswer(c.texts[0] ?? '')),
    'mean accuracy': right / Math.max(1, total),
    k,
    rows,
  };
}
