/**
 * Test-time selection among N sampled solutions (Cobbe et al. 2021, §4.1 and §4.4; PAPERS.md §3):
 * rank them by the verifier's score (its value at the solution's final token), and let the top k
 * vote on the final answer. k = 1 is plain best-of-N; k = N is majority vote weighted by nothing.
 *
 * Answers are extracted as GSM8K's released code does (src/evals/gsm8k.ts). A solution without a
 * `#### N` line has no answer: it keeps its place in the ranking (a verifier that ranks it first
 * has made a mistake, and best-of-N then answers nothing, which counts as wrong) but casts no vote.
 */
import { extractAnswer } from '../evals/gsm8k.ts';

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
