/**
 * Bounds on the lowest loss a context-T model can reach on the math text (docs/results/scaling.md):
 * a problem runs ~167 tokens, longer than the 128-token context, so a window often starts inside a
 * problem whose earlier draws it cannot see. The ideal window-limited loss is H(W)/T for a window W
 * of T tokens, and H(W) = H(W | everything before) + I(W; before), with I(W; before) ≤ H(the state at
 * the window's start) ≤ H(the problem that straddles it) + ln(its length) (which draws so far, and
 * where in it the window starts). The problem straddling a uniformly placed start is length-biased,
 * so its expected entropy is Σ tokensᵢ·natsᵢ / Σ tokensᵢ. Hence
 *
 *   floor ≤ ideal loss at context T ≤ floor + (E_lb[nats + ln tokens]) / T.
 *
 *   node --import tsx docs/results/scaling/window-bound.mts /work/ev-runs/sweep-math-frontier/data 128
 */
import { basename } from 'node:path';
import { generateProblems } from '../../../src/math/problems.ts';
import { problemLogProb, problemText } from '../../../src/scaling/math-entropy.ts';
import { openShards } from '../../../src/text/dataset.ts';

const [dir, tArg = '128'] = process.argv.slice(2);
const T = Number(tArg);
const shards = await openShards(dir!);
const docs = [...shards.documents('val')];
const files = docs.map((d) => Number(/math-(\d+)\.txt/.exec(basename(d.path))![1]));
const problems = generateProblems({ split: 'train', count: 100 * (Math.max(...files) + 1), seed: 0 });
let tokens = 0;
let nats = 0;
let weighted = 0;
for (const f of files)
  for (const p of problems.slice(100 * f, 100 * f + 100)) {
    const n = shards.tokenizer.encode(problemText(p)).length; // alone: BPE merges across problems differ by a token at most
    const h = -problemLogProb(p, { split: 'train' });
    tokens += n;
    nats += h;
    weighted += n * (h + Math.log(n));
  }
shards.close();
const floor = nats / tokens;
const state = weighted / tokens;
console.log(`${files.length} documents, ${tokens} tokens (problems encoded alone), mean problem ${(tokens / (files.length * 100)).toFixed(1)} tokens`);
console.log(`entropy floor ${floor.toFixed(4)} nats/token; length-biased E[nats + ln tokens] of the straddling problem ${state.toFixed(2)} nats`);
console.log(`ideal loss at context ${T}: in [${floor.toFixed(4)}, ${(floor + state / T).toFixed(4)}] nats/token`);
