// Best-of-N ranking and top-k voting, against outcomes worked out by hand.
import { describe, expect, it } from 'vitest';
import { rankByScore, selectionReport, verifierVote } from '../../src/math/rank.ts';

// Six solutions with hand-set verifier scores: the order by score is D, B, F, A, E, C.
const SOLS = [
  { text: 'A ... #### 7', score: 0.3 },
  { text: 'B ... #### 5', score: 0.8 },
  { text: 'C ... #### 7', score: 0.1 },
  { text: 'D ... no final line', score: 0.9 },
  { text: 'E ... #### 7', score: 0.2 },
  { text: 'F ... #### 6', score: 0.5 },
];

describe('verifier ranking and voting', () => {
  it('ranks by score, ties in sampling order', () => {
    expect(rankByScore(SOLS.map((s) => s.score))).toEqual([3, 1, 5, 0, 4, 2]);
    expect(rankByScore([0.5, 0.7, 0.5, 0.7])).toEqual([1, 3, 0, 2]);
  });

  it('top-k vote: worked by hand for every k', () => {
    // k=1: D has no answer → nothing (counts as wrong).
    expect(verifierVote(SOLS, 1)).toBeUndefined();
    // k=2: D (none), B (5) → 5.
    expect(verifierVote(SOLS, 2)).toBe('5');
    // k=3: 5 and 6 once each; tie → the better-ranked B's 5.
    expect(verifierVote(SOLS, 3)).toBe('5');
    // k=4: adds A (7): 5, 6, 7 once each → 5.
    expect(verifierVote(SOLS, 4)).toBe('5');
    // k=5: adds E (7): 7 twice → 7.
    expect(verifierVote(SOLS, 5)).toBe('7');
    // k=6 = majority vote over all: 7 three times.
    expect(verifierVote(SOLS, 6)).toBe('7');
  });

  it('accuracy against N for majority, best-of-N and top-k vote: two problems worked by hand', () => {
    const r = selectionReport(
      [
        { reference: '... #### 7', texts: ['#### 5', '#### 7', '#### 7', '#### 7'], scores: [0.9, 0.8, 0.1, 0.2] },
        { reference: '... #### 3', texts: ['#### 3', '#### 4', '#### 4', '#### 3'], scores: [0.1, 0.7, 0.6, 0.9] },
      ],
      3,
    );
    expect(r['test@1']).toBe(0.5); // 5 ✗, 3 ✓
    expect(r['mean accuracy']).toBe(5 / 8);
    expect(r.rows).toEqual([
      { n: 1, majority: 0.5, verifier: 0.5, vote: 0.5 },
      // n=2: majority 5|7 tie → 5 ✗, 3|4 → 3 ✓; best 0.9→5 ✗, 0.7→4 ✗; top-2 ties go to the better-ranked: 5 ✗, 4 ✗.
      { n: 2, majority: 0.5, verifier: 0, vote: 0 },
      // n=4: majority 7 ✓, 3|4 tie → 3 ✓; best 5 ✗, 3 ✓; top-3 {5,7,7} → 7 ✓, {3,4,4} → 4 ✗.
      { n: 4, majority: 1, verifier: 0.5, vote: 0.5 },
    ]);
  });
});
