/**
 * GPT.hidden (what a value head reads): the final LayerNorm's output, so at initialisation (gain 1,
 * bias 0) every row has mean 0 and variance σ²/(σ² + ε) ≤ 1, and the logits are exactly those
 * rows times the tied embedding, wteᵀ — computed here in float64 from the weights.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';
import { loadWeights, runOnWeights } from '../../src/engine/state.ts';
import { GPT, gptConfig } from '../../src/models/gpt/gpt.ts';

const cfg = gptConfig({ vocabSize: 50, blockSize: 8, nLayer: 2, nHead: 2, dModel: 16 });
let rt: T.Runtime;
beforeAll(async () => {
  rt = await T.Runtime.start({ threads: 1 });
});
afterAll(() => rt.close());

describe('GPT.hidden', () => {
  it('is the final LayerNorm output, and the logits are hidden · wteᵀ', async () => {
    const gpt = new GPT(cfg);
    const weights = gpt.ps.initialize(9);
    await loadWeights(rt, weights);
    const idx = T.input('idx', [2, cfg.blockSize], 'int64');
    const model = T.exportOnnx([idx, ...gpt.ps.inputs], { hidden: gpt.hidden(idx), logits: gpt.forward(idx) });
    const ids = Array.from({ length: 2 * cfg.blockSize }, (_, i) => (i * 7 + 3) % cfg.vocabSize);
    const r = await runOnWeights(rt, model, gpt.ps, { idx: T.hostTensor('int64', [2, cfg.blockSize], ids) });
    const h = r.hidden!.data as Float32Array;
    const logits = r.logits!.data as Float32Array;
    const wte = weights['wte.weight']!.data as Float32Array;
    const C = cfg.dModel;
    expect(r.hidden!.shape).toEqual([2, cfg.blockSize, C]);
    for (let row = 0; row < 2 * cfg.blockSize; row++) {
      const x = Array.from(h.subarray(row * C, (row + 1) * C));
      const mean = x.reduce((a, b) => a + b, 0) / C;
      const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / C;
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      // σ²/(σ² + ε): just under 1 for these small initial activations (ε = 1e-5).
      expect(variance).toBeLessThanOrEqual(1);
      expect(variance).toBeGreaterThan(0.9);
      for (let v = 0; v < cfg.vocabSize; v++) {
        let dot = 0;
        for (let c = 0; c < C; c++) dot += x[c]! * wte[v * C + c]!;
        expect(logits[row * cfg.vocabSize + v]!).toBeCloseTo(dot, 4);
      }
    }
  });
});
