// A verifier whose values are set by hand, run through ONNX Runtime from a saved checkpoint. With
// every block's weights at zero, the residual stream at a position is that token's embedding, so
// the value there is gain · LN(wte[token]) · wte[valueToken] + bias: it depends on the token alone.
// Embedding rows (1,−1,0,0) for '7' and for the value token, (−1,1,0,0) for 'x' and (0,0,1,−1) for
// everything else give values +2/√(0.5+ε), −2/√(0.5+ε) and 0, so a solution's score is known from
// its last character, and the ranking, best-of-N and top-k vote can be worked out by hand.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../src/engine/checkpoint.ts';
import { hostTensor } from '../../src/engine/dtype.ts';
import { verifySamples } from '../../src/math/verify.ts';
import { gptConfig } from '../../src/models/gpt/gpt.ts';
import { type LoadedModel, loadModel } from '../../src/models/index.ts';
import type { VerifierModel } from '../../src/models/verifier/model.ts';
import { traceVerifier, verifierSettings } from '../../src/models/verifier/verifier.ts';

const cfg = gptConfig({ vocabSize: 260, blockSize: 64, nLayer: 1, nHead: 2, dModel: 4 });
const HIGH = 2 / Math.sqrt(0.5 + 1e-5); // LayerNorm's ε = 1e-5
let verifier: VerifierModel;

beforeAll(async () => {
  const { ps } = traceVerifier(cfg, verifierSettings({}), 1, false);
  const params = Object.fromEntries(ps.specs.map((s) => [s.name, hostTensor('float32', s.shape)])); // zeros
  for (const s of ps.specs) if (/ln.*\.weight$|ln_f\.weight$/.test(s.name)) (params[s.name]!.data as Float32Array).fill(1);
  const wte = params['wte.weight']!.data as Float32Array;
  for (let v = 0; v < 260; v++) wte.set(v === 55 || v === 259 ? [1, -1, 0, 0] : v === 120 ? [-1, 1, 0, 0] : [0, 0, 1, -1], v * 4);
  (params['value.gain']!.data as Float32Array)[0] = 1;
  const dir = join(mkdtempSync(join(tmpdir(), 'tony-verifier-')), 'v');
  await saveCheckpoint(dir, {
    config: { kind: 'verifier', model: cfg, valueToken: 259, level: 'token', tokenizer: { kind: 'bytes' } },
    state: { step: 0 },
    params,
  });
  const m: LoadedModel = await loadModel(dir, { threads: 1 });
  verifier = m as VerifierModel;
});
afterAll(() => verifier?.close());

describe('a hand-set verifier', () => {
  it('loads through the registry and scores each token as set', async () => {
    expect(verifier.kind).toBe('verifier');
    expect(verifier.capabilities).toEqual(['score']);
    const [v] = await verifier.values('q?', [' 7x1']);
    expect(v).toHaveLength(4);
    [0, HIGH, -HIGH, 0].forEach((want, i) => expect(v![i]).toBeCloseTo(want, 4));
    const scores = await verifier.score('q?', [' #### 7', ' #### 5', ' #### 9 x', '']);
    [HIGH, 0, -HIGH, 0].forEach((want, i) => expect(scores[i]).toBeCloseTo(want, 4));
  });

  it('best-of-N and top-k vote pick what was worked out by hand, where majority vote fails', async () => {
    const problems = [
      { question: 'A?', answer: '#### 7' },
      { question: 'B?', answer: '#### 4' },
    ];
    const groups = new Map([
      [0, [' #### 5', ' #### 5', ' #### 7']], // scores 0, 0, +
      [1, [' #### 4', ' #### 9 x', ' #### 9x']], // scores 0, −, −
    ]);
    const { report, scored } = await verifySamples(verifier, problems, groups, { vote: 2 });
    expect(scored.map((s) => Math.sign(Math.round(s.score)))).toEqual([0, 0, 1, 0, -1, -1]);
    expect(report['test@1']).toBe(0.5);
    expect(report.rows).toEqual([
      { n: 1, majority: 0.5, verifier: 0.5, vote: 0.5 },
      // A: 5,5 → 5 ✗ for all three; B: 4 (0) beats 9 (−): 4 ✓; majority's 4|9 tie → first seen 4 ✓.
      { n: 2, majority: 0.5, verifier: 0.5, vote: 0.5 },
      // A: majority 5 ✗, best 7 ✓, top-2 {7, 5} tie → 7 ✓. B: majority 9 ✗, best 4 ✓, top-2 {4, 9} → 4 ✓.
      { n: 3, majority: 0, verifier: 1, vote: 1 },
    ]);
  });
});
