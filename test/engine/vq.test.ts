/**
 * A straight-through vector-quantisation layer (van den Oord et al. 2017, "Neural Discrete
 * Representation Learning"; EMA codebook updates as in its appendix and VQ-VAE-2) trains through
 * the open step:
 *  - its gradients are the straight-through ones, derived by hand below and computed in float64
 *    independently of the engine: the decoder's gradient flows to the encoder as if quantisation
 *    were the identity, plus β·∂commitment; the codebook gets none (it is EMA state, not a parameter);
 *  - the EMA codebook and usage counts are forward-updated buffers whose step-1 values match the
 *    EMA formulas, and which survive a checkpoint and a bit-identical resume.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestCheckpoint, loadCheckpoint } from '../../src/engine/checkpoint.ts';
import * as T from '../../src/engine/index.ts';
import { arange, ParamSet } from '../../src/engine/nn.ts';
import { adamwConfig } from '../../src/engine/optim.ts';
import { BufferSet, loadWeights, runOnWeights, stateKey } from '../../src/engine/state.ts';
import { buildGradStep, objective } from '../../src/engine/step.ts';
import { type TrainTask, train } from '../../src/engine/trainer.ts';
import { prng } from '../../src/random.ts';

const B = 16; // batch
const X = 4; // data dimension
const D = 2; // code dimension
const K = 4; // codebook size
const BETA = 0.25; // commitment weight (the paper's β)
// Constants exact in float32: the engine bakes number constants as float32 even in its float64
// checking mode, and the float64 comparison below is exact to 1e-12.
const GAMMA = 0.75; // EMA decay
const EPS = 2 ** -16; // Laplace smoothing of the usage counts

/**
 * VQ layer on z (B, D): nearest code by argmin of squared distance, straight-through output
 * z + sg(q − z), commitment loss mean((z − sg(q))²), and the EMA update of the codebook.
 */
function quantize(buffers: BufferSet, z: T.Tensor) {
  const codebook = buffers.buffer('vq.codebook', [K, D], { kind: 'normal', std: 1 });
  const usage = buffers.buffer('vq.usage', [K], { kind: 'ones' });
  const sums = buffers.buffer('vq.sums', [K, D], { kind: 'zeros' });
  // ‖z − e‖² = ‖z‖² − 2 z·e + ‖e‖²   (B, K)
  const dist = T.add(
    T.sub(T.sum(T.mul(z, z), 1, true), T.mul(T.matmul(z, T.transpose(codebook, [1, 0])), 2)),
    T.reshape(T.sum(T.mul(codebook, codebook), 1), [1, K]),
  );
  const ids = T.argmin(dist, 1); // (B,)
  const q = T.gather(codebook, ids); // (B, D)
  const zq = T.add(z, T.stopGradient(T.sub(q, z))); // forward: q; backward: identity to z
  const commit = T.mean(T.mul(T.sub(z, T.stopGradient(q)), T.sub(z, T.stopGradient(q))));
  // EMA: usage ← γ·usage + (1−γ)·n, sums ← γ·sums + (1−γ)·Σ z of each code, codebook = sums / smoothed usage.
  const onehot = T.cast(T.equal(T.reshape(ids, [B, 1]), T.reshape(arange(K), [1, K])), 'float32'); // (B, K)
  const n = T.sum(onehot, 0); // (K,)
  const usage2 = T.add(T.mul(usage, GAMMA), T.mul(n, 1 - GAMMA));
  const sums2 = T.add(T.mul(sums, GAMMA), T.mul(T.matmul(T.transpose(onehot, [1, 0]), z), 1 - GAMMA));
  const total = T.sumAll(usage2);
  const smoothed = T.mul(T.div(T.add(usage2, EPS), T.add(total, K * EPS)), total);
  buffers.update(usage, usage2);
  buffers.update(sums, sums2);
  buffers.update(codebook, T.div(sums2, T.reshape(smoothed, [K, 1])));
  const p = T.div(n, B);
  const perplexity = T.exp(T.neg(T.sumAll(T.mul(p, T.log(T.add(p, 1e-10))))));
  return { zq, commit, perplexity };
}

/** x → z = x·W_enc → VQ → x̂ = z_q·W_dec; losses: reconstruction MSE and β·commitment. */
function vqTask(): TrainTask {
  return {
    trace() {
      const ps = new ParamSet();
      const buffers = new BufferSet();
      const wEnc = ps.param('enc.w', [X, D], { kind: 'normal', std: 0.5 });
      const wDec = ps.param('dec.w', [D, X], { kind: 'normal', std: 0.5 });
      const x = T.input('x', [B, X]);
      const z = T.matmul(x, wEnc);
      const vq = quantize(buffers, z);
      const r = T.sub(T.matmul(vq.zq, wDec), x);
      return {
        ps,
        data: [x],
        losses: { recon: T.mean(T.mul(r, r)), commit: { value: vq.commit, weight: BETA } },
        metrics: { perplexity: vq.perplexity },
        buffers,
      };
    },
    batch: (_split, index) => ({ x: T.hostTensor('float32', [B, X], batchX(index)) }),
    tokensPerStep: B,
    config: { kind: 'vq-test' },
  };
}

const CENTERS = [
  [2, 0, 0, 1],
  [0, 2, 1, 0],
  [-2, 0, 0, -1],
  [0, -2, -1, 0],
];
/** Points around four centres, deterministic in the batch index (values rounded to float32). */
function batchX(index: number): Float64Array {
  const r = prng(77 + index);
  const out = new Float64Array(B * X);
  for (let b = 0; b < B; b++) {
    const c = CENTERS[Math.floor(r.next() * 4)]!;
    for (let i = 0; i < X; i++) out[b * X + i] = c[i]! + 0.1 * r.normal();
  }
  return Float64Array.from(Float32Array.from(out));
}

const init = () => {
  const r = prng(5);
  const f = (n: number, s: number) => Float64Array.from(Float32Array.from({ length: n }, () => s * r.normal()));
  const codebook = f(K * D, 1);
  return { encW: f(X * D, 0.5), decW: f(D * X, 0.5), codebook, usage: new Float64Array(K).fill(1), sums: Float64Array.from(codebook) };
};
const asInit = (v: ReturnType<typeof init>) => ({
  'enc.w': T.hostTensor('float32', [X, D], v.encW),
  'dec.w': T.hostTensor('float32', [D, X], v.decW),
  'vq.codebook': T.hostTensor('float32', [K, D], v.codebook),
  'vq.usage': T.hostTensor('float32', [K], v.usage),
  'vq.sums': T.hostTensor('float32', [K, D], v.sums),
});

/** The straight-through gradients and the EMA update, by hand, in float64. */
function expected(v: ReturnType<typeof init>, x: Float64Array) {
  const z = new Float64Array(B * D);
  for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) for (let i = 0; i < X; i++) z[b * D + d]! += x[b * X + i]! * v.encW[i * D + d]!;
  const ids = Array.from({ length: B }, (_, b) => {
    let best = 0;
    let bestD = Infinity;
    for (let k = 0; k < K; k++) {
      let dd = 0;
      for (let d = 0; d < D; d++) dd += (z[b * D + d]! - v.codebook[k * D + d]!) ** 2;
      if (dd < bestD) [best, bestD] = [k, dd];
    }
    return best;
  });
  const q = (b: number, d: number) => v.codebook[ids[b]! * D + d]!;
  // Forward value of z_q is q; ∂L/∂x̂ = 2(x̂ − x)/(B·X).
  const dR = new Float64Array(B * X);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < X; i++) {
      let xh = 0;
      for (let d = 0; d < D; d++) xh += q(b, d) * v.decW[d * X + i]!;
      dR[b * X + i] = (2 * (xh - x[b * X + i]!)) / (B * X);
    }
  const gDec = new Float64Array(D * X); // z_qᵀ·dR
  const gz = new Float64Array(B * D); // dR·W_decᵀ (straight through) + β·2(z − q)/(B·D)
  for (let b = 0; b < B; b++)
    for (let d = 0; d < D; d++) {
      for (let i = 0; i < X; i++) {
        gDec[d * X + i]! += q(b, d) * dR[b * X + i]!;
        gz[b * D + d]! += dR[b * X + i]! * v.decW[d * X + i]!;
      }
      gz[b * D + d]! += (BETA * 2 * (z[b * D + d]! - q(b, d))) / (B * D);
    }
  const gEnc = new Float64Array(X * D); // xᵀ·gz
  for (let b = 0; b < B; b++) for (let i = 0; i < X; i++) for (let d = 0; d < D; d++) gEnc[i * D + d]! += x[b * X + i]! * gz[b * D + d]!;
  // EMA update.
  const usage = v.usage.map((u, k) => GAMMA * u + (1 - GAMMA) * ids.filter((i) => i === k).length);
  const sums = v.sums.map((s, j) => {
    const k = Math.floor(j / D);
    const d = j % D;
    let acc = 0;
    for (let b = 0; b < B; b++) if (ids[b] === k) acc += z[b * D + d]!;
    return GAMMA * s + (1 - GAMMA) * acc;
  });
  const total = usage.reduce((a, u) => a + u, 0);
  const codebook = sums.map((s, j) => s / (((usage[Math.floor(j / D)]! + EPS) / (total + K * EPS)) * total));
  return { gEnc, gDec, ids, usage, sums, codebook };
}

let rt: T.Runtime;
let dir: string;
beforeAll(async () => {
  rt = await T.Runtime.start({ threads: 1 });
  dir = await mkdtemp(join(tmpdir(), 'tony-vq-'));
});
afterAll(async () => {
  await rt.close();
  await rm(dir, { recursive: true, force: true });
});

const maxRel = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  const scale = Math.max(...Array.from(want, Math.abs));
  return Math.max(...Array.from(got, (g, i) => Math.abs(g - want[i]!))) / scale;
};

describe('straight-through VQ layer', () => {
  const v = init();
  const x = batchX(0);
  const want = expected(v, x);

  it('the codes are not all the same (the test exercises several codebook rows)', () => {
    expect(new Set(want.ids).size).toBeGreaterThanOrEqual(2);
  });

  it('gradients-only graph in float64 on ONNX Runtime: exactly the straight-through gradients', async () => {
    // "Exactly" up to float64 rounding: the graph sums in another order than the loops above, so the
    // two agree to ~1e-15 relative; a missing or misplaced stopGradient changes them at O(1).
    const obj = objective(vqTask().trace());
    const g = buildGradStep(obj, { float64: true });
    const f64 = (t: T.HostTensor) => T.hostTensor('float64', t.shape, T.toNumbers(t));
    const feeds = Object.fromEntries(Object.entries({ ...asInit(v), x: T.hostTensor('float32', [B, X], x) }).map(([k, t]) => [k, f64(t)]));
    const session = await rt.load(g.model);
    const out = await rt.run(session, feeds, {
      fetch: ['grad.enc.w', 'grad.dec.w', 'new.buffer.vq.usage', 'new.buffer.vq.sums', 'new.buffer.vq.codebook'],
    });
    expect(maxRel(T.toNumbers(out['grad.enc.w']!), want.gEnc)).toBeLessThan(1e-12);
    expect(maxRel(T.toNumbers(out['grad.dec.w']!), want.gDec)).toBeLessThan(1e-12);
    expect(maxRel(T.toNumbers(out['new.buffer.vq.usage']!), want.usage)).toBeLessThan(1e-12);
    expect(maxRel(T.toNumbers(out['new.buffer.vq.sums']!), want.sums)).toBeLessThan(1e-12);
    expect(maxRel(T.toNumbers(out['new.buffer.vq.codebook']!), want.codebook)).toBeLessThan(1e-12);
    // The reference interpreter agrees too (its own float64 implementation of every op).
    const gradsRef = T.interpret([T.grad(obj.loss, obj.ps.inputs)].flat(), feeds);
    expect(maxRel(T.toNumbers(gradsRef[0]!), want.gEnc)).toBeLessThan(1e-12);
  });

  it('trains through the fused step: its first update uses those gradients, and the buffers take the EMA values', async () => {
    const opt = adamwConfig({ lr: 0.01, warmupSteps: 0, decaySteps: 1, gradClip: 0, weightDecay: 0 });
    const res = await train(rt, vqTask(), { steps: 1, optimizer: opt, initParams: asInit(v) });
    // After one AdamW step, m = (1 − β1)·g (float32: agree to float32 rounding of the forward pass).
    const st = await rt.getState([stateKey.m('enc.w'), stateKey.m('dec.w'), stateKey.param('vq.codebook'), stateKey.param('vq.usage')]);
    expect(
      maxRel(
        Array.from(T.toNumbers(st['m:enc.w']!), (m) => m / (1 - opt.beta1)),
        want.gEnc,
      ),
    ).toBeLessThan(1e-5);
    expect(
      maxRel(
        Array.from(T.toNumbers(st['m:dec.w']!), (m) => m / (1 - opt.beta1)),
        want.gDec,
      ),
    ).toBeLessThan(1e-5);
    expect(maxRel(T.toNumbers(st['param:vq.codebook']!), want.codebook)).toBeLessThan(1e-6);
    expect(maxRel(T.toNumbers(st['param:vq.usage']!), want.usage)).toBeLessThan(1e-6);
    // Logged: each loss, and the code perplexity exp(H(usage in the batch)).
    const counts = Array.from({ length: K }, (_, k) => want.ids.filter((i) => i === k).length / B);
    expect(res.history[0]!.perplexity).toBeCloseTo(Math.exp(-counts.reduce((h, p) => h + (p > 0 ? p * Math.log(p) : 0), 0)), 5);
    expect(res.history[0]!.loss).toBeCloseTo(res.history[0]!.loss_recon! + BETA * res.history[0]!.loss_commit!, 6);
  });

  it('learns: reconstruction error falls as the codebook moves onto the clusters', async () => {
    const opt = adamwConfig({ lr: 0.05, warmupSteps: 5, decaySteps: 150 });
    const res = await train(rt, vqTask(), { steps: 150, optimizer: opt, initParams: asInit(v) });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const early = mean(res.history.slice(0, 10).map((h) => h.loss_recon!));
    const late = mean(res.history.slice(-10).map((h) => h.loss_recon!));
    // The data's variance per coordinate is ~1 around 0 (four centres at ±2 on two axes, ±1 on two);
    // four codes on the four centres leave only the decoder's error and the noise.
    expect(late).toBeLessThan(0.5 * early);
  });

  it('EMA codebook state survives a checkpoint: a resumed run is bit-identical', async () => {
    const opt = adamwConfig({ lr: 0.05, warmupSteps: 2, decaySteps: 8 });
    const straight = await train(rt, vqTask(), { steps: 8, optimizer: opt, initParams: asInit(v), outDir: join(dir, 'a') });
    const keys = ['vq.codebook', 'vq.usage', 'vq.sums', 'enc.w'].map(stateKey.param);
    const end = await rt.getState(keys);
    await train(rt, vqTask(), { steps: 4, optimizer: opt, initParams: asInit(v), outDir: join(dir, 'b'), checkpointEvery: 4 });
    const rt2 = await T.Runtime.start({ threads: 1 });
    try {
      const resumed = await train(rt2, vqTask(), { steps: 8, optimizer: opt, outDir: join(dir, 'b'), resume: true });
      expect(resumed.history.map((h) => [h.loss, h.perplexity])).toEqual(straight.history.slice(4).map((h) => [h.loss, h.perplexity]));
      const got = await rt2.getState(keys);
      for (const k of keys) expect(got[k]!.data, k).toEqual(end[k]!.data);
    } finally {
      await rt2.close();
    }
  });

  it('an inference graph runs on the trained weights from the checkpoint: codes from the saved EMA codebook', async () => {
    // Written by the previous test: ckpt-8 of run 'a' (parameters and buffers in model.safetensors).
    const ck = await loadCheckpoint((await latestCheckpoint(join(dir, 'a')))!.dir);
    expect(Object.keys(ck.params).sort()).toEqual(['dec.w', 'enc.w', 'vq.codebook', 'vq.sums', 'vq.usage']);
    const rt3 = await T.Runtime.start({ threads: 1 });
    try {
      await loadWeights(rt3, ck.params);
      const ps = new ParamSet();
      const buffers = new BufferSet();
      const x = T.input('x', [B, X]);
      const z = T.matmul(x, ps.param('enc.w', [X, D], { kind: 'zeros' }));
      const codebook = buffers.buffer('vq.codebook', [K, D], { kind: 'zeros' });
      const dist = T.add(
        T.sub(T.sum(T.mul(z, z), 1, true), T.mul(T.matmul(z, T.transpose(codebook, [1, 0])), 2)),
        T.reshape(T.sum(T.mul(codebook, codebook), 1), [1, K]),
      );
      const model = T.exportOnnx([x, ...ps.inputs, ...buffers.inputs], { ids: T.argmin(dist, 1) }, { name: 'vq_encode' });
      const xs = batchX(99);
      const out = await runOnWeights(rt3, model, { ps, buffers }, { x: T.hostTensor('float32', [B, X], xs) });
      // The nearest code of each point, computed here from the checkpoint's tensors.
      const enc = T.toNumbers(ck.params['enc.w']!);
      const cb = T.toNumbers(ck.params['vq.codebook']!);
      const want = Array.from({ length: B }, (_, b) => {
        const zb = Array.from({ length: D }, (_, d) =>
          Array.from({ length: X }, (_, i) => xs[b * X + i]! * enc[i * D + d]!).reduce((a, c) => a + c, 0),
        );
        const d2 = Array.from({ length: K }, (_, k) => zb.reduce((a, zd, d) => a + (zd - cb[k * D + d]!) ** 2, 0));
        return d2.indexOf(Math.min(...d2));
      });
      expect(Array.from(T.toNumbers(out.ids!))).toEqual(want);
      expect(new Set(want).size).toBeGreaterThanOrEqual(2); // several codes in use after training
    } finally {
      await rt3.close();
    }
  });
});
