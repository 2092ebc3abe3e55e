/**
 * State updated in place (optim.ts inPlaceUpdates, Runtime.run's inPlace): which updates of a
 * training step may overwrite the value they replace, and a clipped GPT step run that way on ONNX
 * Runtime against the reference interpreter's float64 gradients and AdamW's first step written by
 * hand. A kernel that read a parameter after its update had been written would change the
 * gradients, so the moments would not match.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';
import { adamwConfig, buildTrainStep, inPlaceUpdates, lrAt } from '../../src/engine/optim.ts';
import { stateKey } from '../../src/engine/state.ts';
import { GPT, gptConfig } from '../../src/models/gpt/gpt.ts';
import { makeInput } from './harness.ts';

const cfg = gptConfig({ vocabSize: 13, blockSize: 5, nLayer: 2, nHead: 2, dModel: 8 });
let rt: T.Runtime;
beforeAll(async () => {
  rt = await T.Runtime.start({ threads: 1 });
});
afterAll(() => rt.close());

function step(gradClip: number) {
  const gpt = new GPT(cfg);
  const idx = T.input('idx', [2, 5], 'int64');
  const targets = T.input('targets', [2, 5], 'int64');
  const opt = adamwConfig({ gradClip });
  return { gpt, opt, g: buildTrainStep(gpt.ps, gpt.loss(idx, targets), [idx, targets], opt) };
}

describe('which updates may be written in place', () => {
  it('with global-norm clipping every parameter and moment; without, the moments and only the parameters no earlier layer reads back', () => {
    const clipped = step(1).g;
    expect(new Set(clipped.inPlace)).toEqual(new Set(Object.keys(clipped.update)));
    const plain = step(0).g;
    const inPlace = new Set(plain.inPlace);
    for (const name of Object.keys(plain.update))
      if (name.startsWith('new.m.') || name.startsWith('new.v.')) expect(inPlace).toContain(name);
    // Layer 1's attention weights are read again by the backward pass into layer 0 (the input
    // gradient g·Wᵀ), which the update of those weights does not wait for without the norm.
    expect(inPlace).not.toContain('new.param.h.1.attn.qkv.weight');
    // The tied embedding is read by the lookup and the head; the head's input gradient (g·wte)
    // flows back through every layer into the lookup's gradient, so its update waits for it.
    expect(inPlace).toContain('new.param.wte.weight');
  });

  it('an output whose input is also read by another output is left double-buffered', () => {
    const x = T.input('p', [3]);
    const outs = { 'new.p': T.mul(x, 2), y: T.add(x, 1) };
    expect(inPlaceUpdates([x], outs, { state: { p: 'param:p' }, update: { 'new.p': 'param:p' } })).toEqual([]);
    const y = T.add(x, 1);
    const chained = { y, 'new.p': T.mul(y, 2) };
    expect(inPlaceUpdates([x], chained, { state: { p: 'param:p' }, update: { 'new.p': 'param:p' } })).toEqual(['new.p']);
    // The new value's own node may read the old value only elementwise: a matrix product may not.
    const maps = { state: { p: 'param:p' }, update: { 'new.p': 'param:p' } };
    expect(inPlaceUpdates([x], { 'new.p': T.sub(x, 1) }, maps)).toEqual(['new.p']);
    const w = T.input('p', [3, 3]);
    expect(inPlaceUpdates([w], { 'new.p': T.matmul(w, w) }, maps)).toEqual([]);
  });
});

describe('a clipped GPT step updated in place', () => {
  it('writes the moments and parameters the reference interpreter and AdamW by hand give, twice', async () => {
    const { gpt, opt, g } = step(0.05); // a clip below the norm, so it scales the gradient
    const init = gpt.ps.initialize(3);
    const state: Record<string, T.HostTensor> = {};
    for (const s of gpt.ps.specs) {
      state[stateKey.param(s.name)] = init[s.name]!;
      state[stateKey.m(s.name)] = T.hostTensor('float32', s.shape);
      state[stateKey.v(s.name)] = T.hostTensor('float32', s.shape);
    }
    await rt.setState(state);
    const session = await rt.load(g.model);
    const batch = { idx: makeInput({ shape: [2, 5], kind: 'ids:13' }, 1), targets: makeInput({ shape: [2, 5], kind: 'ids:13' }, 2) };
    const run = (t: number) =>
      rt.run(
        session,
        { ...batch, step: T.hostTensor('float32', [], [t]), lr: T.hostTensor('float32', [], [opt.lr]) },
        { state: g.state, update: g.update, inPlace: g.inPlace!, fetch: ['loss'] },
      );
    await run(1);

    // The oracle: float64 gradients from the reference interpreter at the initial weights.
    const gpt2 = new GPT(cfg);
    const idx2 = T.input('idx', [2, 5], 'int64');
    const tg2 = T.input('targets', [2, 5], 'int64');
    const loss2 = gpt2.loss(idx2, tg2);
    const feeds64: Record<string, T.HostTensor> = { ...batch };
    for (const s of gpt2.ps.specs) feeds64[s.name] = T.hostTensor('float64', s.shape, T.toNumbers(init[s.name]!));
    const [init0Loss, ...refs] = T.interpret([loss2, ...T.grad(loss2, gpt2.ps.inputs)], feeds64);
    const grads = refs.map((r) => T.toNumbers(r));
    const norm = Math.sqrt(grads.reduce((a, gr) => a + gr.reduce((b, x) => b + x * x, 0), 0));
    const s = Math.min(0.05 / (norm + 1e-6), 1);
    expect(s).toBeLessThan(1);
    const lr1 = lrAt(opt, 1);
    const after = await rt.getState();
    gpt2.ps.specs.forEach((spec, i) => {
      const m = T.toNumbers(after[stateKey.m(spec.name)]!);
      const p = T.toNumbers(after[stateKey.param(spec.name)]!);
      const p0 = T.toNumbers(init[spec.name]!);
      const decay = spec.decay ? opt.weightDecay : 0;
      grads[i]!.forEach((gr, j) => {
        // Step 1: m = (1 − β1)·s·g; m̂ = s·g, v̂ = (s·g)², so p ← p·(1 − lr·wd) − lr·s·g / (|s·g| + eps).
        expect(Math.abs(m[j]! - (1 - opt.beta1) * s * gr)).toBeLessThan(1e-7 + 1e-4 * Math.abs(s * gr));
        const want = p0[j]! * (1 - lr1 * decay) - (lr1 * s * gr) / (Math.abs(s * gr) + opt.eps);
        expect(Math.abs(p[j]! - want), spec.name).toBeLessThan(1e-7 + 2e-3 * lr1);
      });
    });
    // A second step reads the state written in place: its loss is the reference loss at the new weights.
    const second = await run(2);
    const at2: Record<string, T.HostTensor> = { ...batch };
    for (const sp of gpt2.ps.specs) at2[sp.name] = T.hostTensor('float64', sp.shape, T.toNumbers(after[stateKey.param(sp.name)]!));
    const want2 = T.toNumbers(T.interpret([loss2], at2)[0]!)[0]!;
    expect(Math.abs(want2 - T.toNumbers(init0Loss!)[0]!)).toBeGreaterThan(1e-4); // the weights did move
    expect((second.loss!.data as Float32Array)[0]).toBeCloseTo(want2, 5);
  });
});
