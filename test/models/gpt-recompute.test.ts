/**
 * recomputeAttention: past CAUSAL_BLOCK positions, a GPT whose attention recomputes its
 * probabilities in the backward pass (the `attend` op, itself checked against central differences
 * in the op table) gives the loss and the gradients of the one that keeps them, and its graph holds
 * no probabilities between the passes: it has attend nodes and no softmax over scores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grad } from '../../src/engine/autodiff.ts';
import * as T from '../../src/engine/index.ts';
import { CAUSAL_BLOCK } from '../../src/engine/nn.ts';
import { input, type Tensor } from '../../src/engine/tensor.ts';
import { TonyError } from '../../src/errors.ts';
import { GPT, gptConfig } from '../../src/models/gpt/gpt.ts';

const Tn = CAUSAL_BLOCK + 40; // two query blocks
let rt: T.Runtime;
beforeAll(async () => {
  rt = await T.Runtime.start({ threads: 1 });
});
afterAll(() => rt.close());

async function lossAndGrads(recomputeAttention: number) {
  const cfg = gptConfig({ vocabSize: 32, blockSize: Tn, nLayer: 2, nHead: 2, dModel: 16, recomputeAttention });
  const gpt = new GPT(cfg, true);
  const idx = input('idx', [1, Tn], 'int64');
  const targets = input('targets', [1, Tn], 'int64');
  const loss = gpt.loss(idx, targets);
  const params = gpt.ps.inputs;
  const grads = grad(loss, params);
  const ops = new Set<string>();
  const seen = new Set<number>();
  const walk = (t: Tensor) => {
    if (seen.has(t.id)) return;
    seen.add(t.id);
    ops.add(t.op);
    t.inputs.forEach(walk);
  };
  walk(loss);
  const outs: Record<string, Tensor> = { loss };
  params.forEach((p, i) => (outs[`g.${p.name}`] = grads[i]!));
  const s = await rt.load(T.exportOnnx([idx, targets, ...params], outs));
  const init = gpt.ps.initialize(3);
  const ids = Array.from({ length: Tn }, (_, i) => (i * 7 + 3) % 32);
  const r = await rt.run(s, {
    idx: T.hostTensor('int64', [1, Tn], ids),
    targets: T.hostTensor('int64', [1, Tn], [...ids.slice(1), 0]),
    ...init,
  });
  await rt.release(s);
  return { r, ops, names: params.map((p) => p.name!) };
}

describe('recomputeAttention', () => {
  it('gives the loss and gradients of the stored attention, from a graph without stored probabilities', async () => {
    const stored = await lossAndGrads(0);
    const recomputed = await lossAndGrads(1);
    expect(stored.ops.has('attend')).toBe(false);
    expect(recomputed.ops.has('attend')).toBe(true);
    expect(recomputed.ops.has('softmax')).toBe(false);
    const l0 = (stored.r.loss!.data as Float32Array)[0]!;
    expect((recomputed.r.loss!.data as Float32Array)[0]).toBeCloseTo(l0, 6);
    for (const n of stored.names) {
      const a = stored.r[`g.${n}`]!.data as Float32Array;
      const b = recomputed.r[`g.${n}`]!.data as Float32Array;
      let num = 0;
      let den = 0;
      for (let i = 0; i < a.length; i++) {
        num += (a[i]! - b[i]!) ** 2;
        den += a[i]! ** 2;
      }
      expect(Math.sqrt(num / Math.max(den, 1e-30)), n).toBeLessThan(1e-5);
    }
  });

  it('takes 0 or 1', () => {
    expect(() => gptConfig({ recomputeAttention: 2 })).toThrow(TonyError);
  });
});
