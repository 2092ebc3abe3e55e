// The verifier's objective against hand computation. With every token embedding a constant row
// (c_v, c_v, …), LayerNorm sends each row to its bias, so the whole GPT outputs ln_f.bias = β at
// every position and the tied head gives logits[v] = c_v · Σβ: the LM loss, the value
// (gain · logit[valueToken] + bias), the masked MSE and its gradients are then plain arithmetic.
// A finite-difference check at random weights covers the rest of the graph.
import { describe, expect, it } from 'vitest';
import { grad } from '../../src/engine/autodiff.ts';
import { type HostTensor, hostTensor } from '../../src/engine/dtype.ts';
import { interpret } from '../../src/engine/interpret.ts';
import * as T from '../../src/engine/ops/index.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { gptConfig } from '../../src/models/gpt/gpt.ts';
import { type Encoded, layoutBatch } from '../../src/models/verifier/data.ts';
import { traceVerifier, verifierSettings } from '../../src/models/verifier/verifier.ts';

const cfg = gptConfig({ vocabSize: 6, blockSize: 6, nLayer: 1, nHead: 1, dModel: 4 });
const C = [0.1, -0.2, 0.3, 0.0, 0.5, -0.4]; // c_v
const BETA = [0.5, 0.25, -0.5, 0.75]; // Σβ = 1, so logits[v] = c_v
const GAIN = 2;
const BIAS = 0.3;
// Example 1: prompt [1, 2], solution [3, 4, 0], label 1. Example 2: prompt [2, 1, 4, 3], solution [3, 1], label 0.
const EXAMPLES: Encoded[] = [
  { tokens: [1, 2, 3, 4, 0], promptLen: 2, solutionLen: 3, label: 1 },
  { tokens: [2, 1, 4, 3, 3, 1], promptLen: 4, solutionLen: 2, label: 0 },
];

const f64 = (t: HostTensor) => hostTensor('float64', t.shape, Array.from(t.data as Float32Array));

function weights(level: 'token' | 'solution') {
  const traced = traceVerifier(cfg, verifierSettings({ level }), 2, false);
  const w = traced.ps.initialize(1);
  const feeds: Record<string, HostTensor> = {};
  for (const [k, v] of Object.entries(w)) feeds[k] = f64(v);
  feeds['wte.weight'] = hostTensor(
    'float64',
    [6, 4],
    C.flatMap((c) => [c, c, c, c]),
  );
  feeds['wpe.weight'] = hostTensor('float64', [6, 4], new Array(24).fill(0));
  feeds['ln_f.bias'] = hostTensor('float64', [4], BETA);
  feeds['value.gain'] = hostTensor('float64', [1], [GAIN]);
  feeds['value.bias'] = hostTensor('float64', [1], [BIAS]);
  const batch = layoutBatch(EXAMPLES, cfg.blockSize, 5, { lm: 'solution', value: level });
  for (const [k, v] of Object.entries(batch)) feeds[k] = k === 'idx' || k === 'targets' ? v : f64(v);
  return { traced, feeds };
}

const lse = Math.log(C.reduce((a, c) => a + Math.exp(c), 0));
const nll = (y: number) => lse - C[y]!;

describe('verifier objective', () => {
  it('lays out masks as the data diagram says', () => {
    const b = layoutBatch(EXAMPLES, 6, 5, { lm: 'solution', value: 'token' });
    expect(Array.from(b.lmMask.data as Float32Array)).toEqual([0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0]);
    expect(Array.from(b.valueMask.data as Float32Array)).toEqual([0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1]);
    expect(Array.from(b.targets.data as BigInt64Array, Number)).toEqual([2, 3, 4, 0, 5, 5, 1, 4, 3, 3, 1, 5]);
    const s = layoutBatch(EXAMPLES, 6, 5, { lm: 'all', value: 'solution' });
    expect(Array.from(s.lmMask.data as Float32Array)).toEqual([1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0]);
    expect(Array.from(s.valueMask.data as Float32Array)).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
  });

  for (const level of ['token', 'solution'] as const) {
    it(`${level}-level: losses and value-head gradients equal the hand computation`, () => {
      const { traced, feeds } = weights(level);
      const value = (traced.losses!.value as Tensor) ?? undefined;
      const lm = (traced.losses!.lm as { value: Tensor }).value;
      const [gain, bias] = ['value.gain', 'value.bias'].map((n) => traced.ps.inputs.find((t) => t.name === n)!);
      const total = T.add(value, lm);
      const [gGain, gBias] = grad(total, [gain!, bias!]);
      const [v, l, dg, db] = interpret([value, lm, gGain!, gBias!], feeds).map((t) => (t.data as Float64Array)[0]!);
      // v = 2 · c_5 + 0.3 = −0.5 at every position; LM targets 3, 4, 0 (example 1) and 3, 1 (example 2).
      const vHat = GAIN * C[5]! + BIAS;
      expect(l).toBeCloseTo([3, 4, 0, 3, 1].map(nll).reduce((a, b) => a + b) / 5, 12);
      // token-level: 3 positions labelled 1 and 2 labelled 0; solution-level: one of each.
      const [n1, n0] = level === 'token' ? [3, 2] : [1, 1];
      const mse = (n1 * (vHat - 1) ** 2 + n0 * vHat ** 2) / (n1 + n0);
      expect(v).toBeCloseTo(mse, 12);
      expect(level === 'token' ? 7.25 / 5 : 2.5 / 2).toBeCloseTo(mse, 12); // the same, worked on paper
      const dv = (2 * (n1 * (vHat - 1) + n0 * vHat)) / (n1 + n0);
      expect(db).toBeCloseTo(dv, 12);
      expect(dg).toBeCloseTo(dv * C[5]!, 12);
    });
  }

  it('gradients of the joint loss match central finite differences at random weights', () => {
    const { traced, feeds } = weights('token');
    const init = traced.ps.initialize(7);
    for (const [k, t] of Object.entries(init)) {
      const d = Array.from(
        t.data as Float32Array,
        (x, i) => (k.includes('weight') && !k.includes('ln') ? x * 20 : x) + 0.01 * Math.sin(i + k.length),
      );
      feeds[k] = hostTensor('float64', t.shape, d);
    }
    const total = T.add(traced.losses!.value as Tensor, T.mul((traced.losses!.lm as { value: Tensor }).value, 1));
    const names = ['wte.weight', 'h.0.attn.qkv.weight', 'h.0.mlp.fc.weight', 'ln_f.weight', 'value.gain', 'value.bias'];
    const wrt = names.map((n) => traced.ps.inputs.find((t) => t.name === n)!);
    const grads = interpret(grad(total, wrt), feeds);
    let largest = 0;
    const f = () => (interpret([total], feeds)[0]!.data as Float64Array)[0]!;
    names.forEach((n, j) => {
      const data = feeds[n]!.data as Float64Array;
      for (const i of [0, Math.floor(data.length / 2), data.length - 1]) {
        const h = 1e-5;
        const x0 = data[i]!;
        data[i] = x0 + h;
        const up = f();
        data[i] = x0 - h;
        const down = f();
        data[i] = x0;
        const fd = (up - down) / (2 * h);
        const ad = (grads[j]!.data as Float64Array)[i]!;
        expect(Math.abs(fd - ad)).toBeLessThan(1e-6 + 1e-5 * Math.abs(fd));
        largest = Math.max(largest, Math.abs(ad));
      }
    });
    expect(largest).toBeGreaterThan(1e-3); // the check compared gradients that are not all ~0
  });
});

describe('verifier config', () => {
  it('refuses bad settings by name', async () => {
    const { verifierKind } = await import('../../src/models/verifier/kind.ts');
    expect(() => verifierKind.config({ level: 'sentence' })).toThrow(/level must be 'token' or 'solution'/);
    expect(() => verifierKind.config({ init: 'runs/gen', dModel: 32 })).toThrow(/dModel cannot be set with init/);
    expect(() => verifierKind.config({ lmWieght: 1 })).toThrow(/unknown verifier config key 'lmWieght'/);
    expect(verifierKind.config({ level: 'solution', lmWeight: 0.5 }).settings).toMatchObject({ level: 'solution', lmWeight: 0.5 });
  });
});
