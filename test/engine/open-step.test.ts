/**
 * The open training step, against a float64 JavaScript oracle written here: least squares with a
 * weight penalty as two named losses, a metric, a forward-updated running mean, parameter groups and
 * a frozen parameter, gradient accumulation, the gradients-only + apply-only split, multi-metric
 * evaluation, exact resume of buffers, and metrics.jsonl repair.
 *
 * The oracle differentiates by hand (∂/∂W of mean((XW + b − Y)²) = 2Xᵀr/(B·O), of Σ W² = 2W) and
 * applies clipping and AdamW in float64; the engine runs float32, so after a few Adam steps
 * parameters agree to ~1e-5 (Adam divides by √v, so rounding in small gradients is amplified
 * relative to the gradient itself, never beyond the step size lr·1e-3).
 */
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';
import { ParamSet } from '../../src/engine/nn.ts';
import { type AdamWConfig, adamwConfig, buildApplyStep, lrAt, type ParamGroup } from '../../src/engine/optim.ts';
import { BufferSet, loadWeights, runOnWeights, stateKey } from '../../src/engine/state.ts';
import { buildGradStep, objective } from '../../src/engine/step.ts';
import { type TrainTask, train } from '../../src/engine/trainer.ts';
import { TonyError } from '../../src/errors.ts';
import { prng } from '../../src/random.ts';

const B = 8;
const I = 4;
const O = 3;
const REG = 0.01; // weight of the penalty loss
const MOMENTUM = 0.9; // the running mean's decay

/** Batch `index`: X (B, I) and Y = X·W* + noise (B, O), deterministic in the index. */
function batchOf(index: number): { X: Float64Array; Y: Float64Array } {
  const r = prng(1000 + index);
  const X = Float64Array.from({ length: B * I }, () => r.normal());
  const Y = new Float64Array(B * O);
  for (let b = 0; b < B; b++)
    for (let o = 0; o < O; o++) {
      let y = 0.1 * r.normal();
      for (let i = 0; i < I; i++) y += X[b * I + i]! * ((i + 1) * (o - 1) * 0.5);
      Y[b * O + o] = y;
    }
  return { X: Float64Array.from(Float32Array.from(X)), Y: Float64Array.from(Float32Array.from(Y)) }; // what float32 feeds hold
}

const W0 = Float32Array.from({ length: I * O }, (_, i) => Math.sin(i + 1) * 0.3);
const b0 = Float32Array.from({ length: O }, (_, i) => 0.1 * (i - 1));

/** The task: losses mse + REG·penalty, metric mae, buffer mu ← 0.9·mu + 0.1·mean(X, 0), metric mu_sum. */
function lsqTask(): TrainTask {
  return {
    trace() {
      const ps = new ParamSet();
      const W = ps.param('W', [I, O], { kind: 'zeros' });
      const b = ps.param('b', [O], { kind: 'zeros' });
      const buffers = new BufferSet();
      const mu = buffers.buffer('mu', [I], { kind: 'zeros' });
      const x = T.input('X', [B, I]);
      const y = T.input('Y', [B, O]);
      const r = T.sub(T.add(T.matmul(x, W), b), y);
      buffers.update(mu, T.add(T.mul(mu, MOMENTUM), T.mul(T.mean(x, 0), 1 - MOMENTUM)));
      return {
        ps,
        data: [x, y],
        losses: { mse: T.mean(T.mul(r, r)), penalty: { value: T.sumAll(T.mul(W, W)), weight: REG } },
        metrics: { mae: T.mean(T.abs(r)), mu_sum: T.sumAll(mu) },
        buffers,
      };
    },
    batch: (split, index) => {
      const { X, Y } = batchOf(split === 'val' ? 500 + index : index);
      return { X: T.hostTensor('float32', [B, I], X), Y: T.hostTensor('float32', [B, O], Y) };
    },
    tokensPerStep: B,
    config: { kind: 'lsq' },
  };
}

interface RefState {
  W: Float64Array;
  b: Float64Array;
  mW: Float64Array;
  vW: Float64Array;
  mb: Float64Array;
  vb: Float64Array;
  mu: Float64Array;
}

/** Loss parts and gradients of one batch, in float64. */
function lossAndGrad(W: Float64Array, b: Float64Array, index: number) {
  const { X, Y } = batchOf(index);
  const gW = new Float64Array(I * O);
  const gb = new Float64Array(O);
  let mse = 0;
  let mae = 0;
  for (let n = 0; n < B; n++)
    for (let o = 0; o < O; o++) {
      let r = b[o]! - Y[n * O + o]!;
      for (let i = 0; i < I; i++) r += X[n * I + i]! * W[i * O + o]!;
      mse += (r * r) / (B * O);
      mae += Math.abs(r) / (B * O);
      for (let i = 0; i < I; i++) gW[i * O + o]! += (2 * r * X[n * I + i]!) / (B * O);
      gb[o]! += (2 * r) / (B * O);
    }
  let penalty = 0;
  for (let j = 0; j < I * O; j++) {
    penalty += W[j]! ** 2;
    gW[j]! += REG * 2 * W[j]!;
  }
  return { mse, penalty, mae, gW, gb, X };
}

/** `steps` AdamW steps of the oracle, k micro-batches each; per-parameter lr scale / decay / freezing. */
function reference(cfg: AdamWConfig, steps: number, k = 1, p: { W?: { lrScale: number; wd: number }; bFrozen?: boolean } = {}) {
  const s: RefState = {
    W: Float64Array.from(W0),
    b: Float64Array.from(b0),
    mW: new Float64Array(I * O),
    vW: new Float64Array(I * O),
    mb: new Float64Array(O),
    vb: new Float64Array(O),
    mu: new Float64Array(I),
  };
  const losses: number[] = [];
  for (let t = 1; t <= steps; t++) {
    const gW = new Float64Array(I * O);
    const gb = new Float64Array(O);
    let loss = 0;
    for (let j = 0; j < k; j++) {
      const r = lossAndGrad(s.W, s.b, (t - 1) * k + j);
      loss += (r.mse + REG * r.penalty) / k;
      r.gW.forEach((g, i) => (gW[i]! += g / k));
      r.gb.forEach((g, i) => (gb[i]! += g / k));
      for (let i = 0; i < I; i++) {
        let m = 0;
        for (let n = 0; n < B; n++) m += r.X[n * I + i]! / B;
        s.mu[i] = MOMENTUM * s.mu[i]! + (1 - MOMENTUM) * m;
      }
    }
    losses.push(loss);
    const norm = Math.sqrt([...gW, ...(p.bFrozen ? [] : gb)].reduce((a, g) => a + g * g, 0));
    const scale = cfg.gradClip > 0 ? Math.min(cfg.gradClip / (norm + 1e-6), 1) : 1;
    const lr = lrAt(cfg, t);
    const adam = (x: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, lrScale: number, wd: number) => {
      for (let i = 0; i < x.length; i++) {
        const gi = g[i]! * scale;
        m[i] = cfg.beta1 * m[i]! + (1 - cfg.beta1) * gi;
        v[i] = cfg.beta2 * v[i]! + (1 - cfg.beta2) * gi * gi;
        const mh = m[i]! / (1 - cfg.beta1 ** t);
        const vh = v[i]! / (1 - cfg.beta2 ** t);
        x[i] = x[i]! * (1 - lr * lrScale * wd) - (lr * lrScale * mh) / (Math.sqrt(vh) + cfg.eps);
      }
    };
    adam(s.W, gW, s.mW, s.vW, p.W?.lrScale ?? 1, p.W?.wd ?? cfg.weightDecay);
    if (!p.bFrozen) adam(s.b, gb, s.mb, s.vb, 1, 0); // a vector: no decay by default (ParamSpec.decay)
  }
  return { ...s, losses };
}

const OPT = adamwConfig({ lr: 0.05, warmupSteps: 2, decaySteps: 6, weightDecay: 0.1, gradClip: 1 });
const INIT = { W: T.hostTensor('float32', [I, O], W0), b: T.hostTensor('float32', [O], b0) };
const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number) =>
  Array.from(got).forEach((g, i) => expect(Math.abs(g - want[i]!), `element ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol));

let rt: T.Runtime;
let dir: string;
beforeAll(async () => {
  rt = await T.Runtime.start({ threads: 1 });
  dir = await mkdtemp(join(tmpdir(), 'tony-open-step-'));
});
afterAll(async () => {
  await rt.close();
  await rm(dir, { recursive: true, force: true });
});

const weights = async () => {
  const st = await rt.getState([stateKey.param('W'), stateKey.param('b'), stateKey.param('mu')]);
  return { W: st['param:W']!.data as Float32Array, b: st['param:b']!.data as Float32Array, mu: st['param:mu']!.data as Float32Array };
};

describe('open training step', () => {
  it('named losses, a metric and a forward-updated buffer follow the float64 oracle; all are logged', async () => {
    const out = join(dir, 'named');
    let bar: Record<string, string> = {};
    const res = await train(rt, lsqTask(), {
      steps: 6,
      optimizer: OPT,
      initParams: INIT,
      outDir: out,
      evalEvery: 6,
      evalBatches: 2,
      onProgress: (p) => (bar = p.info),
    });
    const ref = reference(OPT, 6);
    close(
      res.history.map((h) => h.loss),
      ref.losses,
      1e-5,
    );
    const w = await weights();
    close(w.W, ref.W, 2e-5);
    close(w.b, ref.b, 2e-5);
    close(w.mu, ref.mu, 1e-6);
    // The logged parts are at the weights before each step: check step 1's against the oracle.
    const first = lossAndGrad(Float64Array.from(W0), Float64Array.from(b0), 0);
    expect(res.history[0]!.loss_mse).toBeCloseTo(first.mse, 5);
    expect(res.history[0]!.loss_penalty).toBeCloseTo(first.penalty, 5);
    expect(res.history[0]!.mae).toBeCloseTo(first.mae, 5);
    expect(res.history[0]!.mu_sum).toBe(0); // metrics read the buffer's value before the step's update
    // Evaluation reports every loss and metric at the trained weights, averaged over the val batches,
    // and leaves the buffer alone.
    const e = res.evals[0]!;
    const parts = [500, 501].map((i) => lossAndGrad(Float64Array.from(w.W), Float64Array.from(w.b), i));
    expect(e.val_loss_mse).toBeCloseTo((parts[0]!.mse + parts[1]!.mse) / 2, 5);
    expect(e.val_loss).toBeCloseTo((parts[0]!.mse + parts[1]!.mse) / 2 + REG * parts[0]!.penalty, 5);
    expect(e.val_mae).toBeCloseTo((parts[0]!.mae + parts[1]!.mae) / 2, 5);
    close((await weights()).mu, w.mu, 0);
    expect(Object.keys(bar)).toEqual(['loss', 'loss_mse', 'loss_penalty', 'mae', 'mu_sum', 'val', 'tok/s']);
    expect(bar.loss_mse).toBe(res.history[5]!.loss_mse!.toFixed(3));
    const rows = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(Object.keys(rows[0])).toEqual([
      'step',
      'tokens',
      'loss',
      'lr',
      'grad_norm',
      'time_s',
      'loss_mse',
      'loss_penalty',
      'mae',
      'mu_sum',
    ]);
    expect(Object.keys(rows.at(-1))).toEqual(['step', 'tokens', 'val_loss', 'val_loss_mse', 'val_loss_penalty', 'val_mae', 'val_mu_sum']);
  });

  it('parameter groups scale the learning rate and set the decay; a frozen parameter gets no update and no moments', async () => {
    await rt.dropState(); // moments of earlier runs in this runtime
    const groups: ParamGroup[] = [
      { params: ['W'], lrScale: 0.5, weightDecay: 0.3 },
      { params: /^b$/, frozen: true },
    ];
    await train(rt, lsqTask(), { steps: 4, optimizer: OPT, initParams: INIT, groups });
    const ref = reference(OPT, 4, 1, { W: { lrScale: 0.5, wd: 0.3 }, bFrozen: true });
    const w = await weights();
    close(w.W, ref.W, 2e-5);
    expect(Array.from(w.b)).toEqual(Array.from(b0)); // bit for bit
    await expect(rt.getState([stateKey.m('b')])).rejects.toThrow(/never set/);
    await rt.dropState();
  });

  it('refuses groups that name no parameter, and freezing everything', async () => {
    await expect(train(rt, lsqTask(), { steps: 1, optimizer: OPT, groups: [{ params: ['w'], lrScale: 2 }] })).rejects.toThrow(
      /unknown parameters: w/,
    );
    await expect(train(rt, lsqTask(), { steps: 1, optimizer: OPT, groups: [{ params: /^enc\./, frozen: true }] })).rejects.toThrow(
      /matches no parameter/,
    );
    await expect(train(rt, lsqTask(), { steps: 1, optimizer: OPT, groups: [{ params: /./, frozen: true }] })).rejects.toThrow(TonyError);
  });

  it('gradient accumulation over 3 micro-batches equals the oracle averaging their gradients', async () => {
    const res = await train(rt, lsqTask(), { steps: 4, optimizer: OPT, initParams: INIT, accumulate: 3 });
    const ref = reference(OPT, 4, 3);
    close(
      res.history.map((h) => h.loss),
      ref.losses,
      1e-5,
    );
    expect(res.history[0]!.tokens).toBe(3 * B);
    const w = await weights();
    close(w.W, ref.W, 2e-5);
    close(w.mu, ref.mu, 1e-6); // the buffer saw all 12 micro-batches, in order
  });

  it('gradients-only then apply-only gives the fused step’s update', async () => {
    // Tolerance: the two halves are the same ops on the same float32 values; only ONNX Runtime's
    // graph-level rewrites (fusions within one graph) may round differently, by a few float32 ulps
    // (relative 1e-6) of the parameters. We measured them bit-identical here; the bound leaves room
    // for another machine's kernels.
    const fused = await train(rt, lsqTask(), { steps: 6, optimizer: OPT, initParams: INIT });
    const wf = await weights();
    const split = await train(rt, lsqTask(), { steps: 6, optimizer: OPT, initParams: INIT, split: true });
    const ws = await weights();
    close(
      split.history.map((h) => h.loss),
      fused.history.map((h) => h.loss),
      1e-6,
    );
    close(ws.W, wf.W, 1e-6);
    close(ws.b, wf.b, 1e-6);
    close(ws.mu, wf.mu, 0);
    const bitEqual = Array.from(ws.W).every((v, i) => v === wf.W[i]);
    console.log(
      `split vs fused after 6 steps: ${bitEqual ? 'bit-identical' : `max |ΔW| ${Math.max(...Array.from(ws.W, (v, i) => Math.abs(v - wf.W[i]!)))}`}`,
    );
  });

  it('the halves as data-parallel training uses them: two workers’ gradients, summed, then applied once', async () => {
    // Two "workers" each take half of a batch of 2B rows; mean over 2B = (Σ of the halves' means)/2.
    const obj = objective(lsqTask().trace());
    const g = buildGradStep(obj);
    const apply = buildApplyStep(obj.ps, OPT, { gradScale: 0.5 });
    await loadWeights(rt, { ...INIT, mu: T.hostTensor('float32', [I]) });
    await rt.setState({
      'm:W': T.hostTensor('float32', [I, O]),
      'v:W': T.hostTensor('float32', [I, O]),
      'm:b': T.hostTensor('float32', [O]),
      'v:b': T.hostTensor('float32', [O]),
    });
    const task = lsqTask();
    const halves: Array<Record<string, T.HostTensor>> = [];
    for (const i of [0, 1]) {
      halves.push(
        await runOnWeights(rt, g.model, { ps: obj.ps, buffers: obj.buffers! }, task.batch('train', i), { fetch: ['grad.W', 'grad.b'] }),
      );
    }
    const sum = (n: string) =>
      T.hostTensor(
        'float32',
        halves[0]![n]!.shape,
        Array.from(halves[0]![n]!.data as Float32Array, (v, i) => v + (halves[1]![n]!.data as Float32Array)[i]!),
      );
    const session = await rt.load(apply.model);
    await rt.run(
      session,
      {
        'grad.W': sum('grad.W'),
        'grad.b': sum('grad.b'),
        step: T.hostTensor('float32', [], [1]),
        lr: T.hostTensor('float32', [], [OPT.lr]),
      },
      { state: apply.state, update: apply.update, fetch: [] },
    );
    // The oracle: one step on the mean gradient of batches 0 and 1 — accumulation with k = 2.
    const ref = reference(OPT, 1, 2);
    close((await weights()).W, ref.W, 2e-6);
    await rt.dropState();
  });

  it('buffers and moments survive a checkpoint: a resumed run is bit-identical to an uninterrupted one', async () => {
    const straight = await train(rt, lsqTask(), { steps: 6, optimizer: OPT, initParams: INIT, outDir: join(dir, 'straight') });
    const end = await weights();
    await train(rt, lsqTask(), { steps: 3, optimizer: OPT, initParams: INIT, outDir: join(dir, 'resume'), checkpointEvery: 3 });
    const rt2 = await T.Runtime.start({ threads: 1 });
    try {
      const resumed = await train(rt2, lsqTask(), { steps: 6, optimizer: OPT, outDir: join(dir, 'resume'), resume: true });
      expect(resumed.history.map((h) => h.loss)).toEqual(straight.history.slice(3).map((h) => h.loss));
      expect(resumed.history.map((h) => h.mu_sum)).toEqual(straight.history.slice(3).map((h) => h.mu_sum));
      const st = await rt2.getState(['param:W', 'param:mu']);
      expect(st['param:mu']!.data).toEqual(end.mu);
      expect(st['param:W']!.data).toEqual(end.W);
    } finally {
      await rt2.close();
    }
  });
});

describe('objective', () => {
  const ps = new ParamSet();
  const w = ps.param('w', [3], { kind: 'zeros' });
  it('refuses a trace with both or neither of loss and losses, non-scalar losses and taken names', () => {
    expect(() => objective({ ps, data: [], loss: T.sumAll(w), losses: { a: T.sumAll(w) } })).toThrow(
      /exactly one of 'loss' and 'losses' \(got both\)/,
    );
    expect(() => objective({ ps, data: [] })).toThrow(/got neither/);
    expect(() => objective({ ps, data: [], losses: { a: w } })).toThrow(/loss 'a' must be a scalar, got shape \[3\]/);
    expect(() => objective({ ps, data: [], loss: T.sumAll(w), metrics: { grad_norm: T.sumAll(w) } })).toThrow(
      /the name 'grad_norm' is taken/,
    );
    expect(() => objective({ ps, data: [], loss: T.sumAll(w), metrics: { val_acc: T.sumAll(w) } })).toThrow(/'val_acc' is taken/);
    expect(() => objective({ ps, data: [], loss: T.sumAll(w), metrics: { 'a-b': T.sumAll(w) } })).toThrow(
      /not a valid loss or metric name/,
    );
  });

  it('a NaN during accumulation stops the run naming the step and the parameter', async () => {
    const task: TrainTask = {
      trace() {
        const ps = new ParamSet();
        const v = ps.param('v', [2], { kind: 'zeros' });
        const u = ps.param('u', [2], { kind: 'ones' });
        const x = T.input('x', [2]);
        return { ps, data: [x], losses: { main: T.sumAll(T.mul(u, x)), bad: T.sqrt(T.sumAll(T.mul(v, x))) } }; // √0: infinite gradient
      },
      batch: () => ({ x: T.hostTensor('float32', [2], [1, 2]) }),
      tokensPerStep: 1,
      config: {},
    };
    await expect(train(rt, task, { steps: 2, optimizer: OPT, accumulate: 2 })).rejects.toThrow(
      /^step 1: gradient norm is (NaN|Infinity); non-finite gradients in v$/,
    );
  });
});

describe('metrics.jsonl on resume', () => {
  const run = async (name: string, damage: (path: string) => Promise<void>) => {
    const out = join(dir, name);
    await train(rt, lsqTask(), { steps: 2, optimizer: OPT, initParams: INIT, outDir: out, checkpointEvery: 2 });
    await damage(join(out, 'metrics.jsonl'));
    return { out, result: train(rt, lsqTask(), { steps: 3, optimizer: OPT, outDir: out, resume: true }) };
  };

  it('a torn last line, as a crash mid-append leaves it, is dropped and the run continues', async () => {
    const { out, result } = await run('torn', (p) => appendFile(p, '{"step":3,"tokens":24,"lo'));
    const res = await result;
    expect(res.notices.join()).toMatch(/metrics\.jsonl: dropped a torn last line/);
    const rows = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r: { step: number }) => r.step)).toEqual([1, 2, 3]);
  });

  it('garbage in the middle is refused, naming the file and the line', async () => {
    const { out, result } = await run('garbage', async (p) => {
      const lines = (await readFile(p, 'utf8')).split('\n');
      lines.splice(1, 0, 'not json at all');
      await writeFile(p, lines.join('\n'));
    });
    await expect(result).rejects.toThrow(TonyError);
    await expect(result).rejects.toThrow(`${join(out, 'metrics.jsonl')}:2: not a metrics row ("not json at all")`);
  });
});
