/**
 * The training step end to end: AdamW + clipping + schedule against an independent numpy oracle,
 * a GPT step on ONNX Runtime against the reference interpreter, NaN detection, and exact resume.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../../src/engine/checkpoint.ts';
import * as T from '../../src/engine/index.ts';
import { ParamSet } from '../../src/engine/nn.ts';
import { adamwConfig, buildTrainStep, lrAt } from '../../src/engine/optim.ts';
import { type TrainTask, train } from '../../src/engine/trainer.ts';
import { TonyError } from '../../src/errors.ts';
import { GPT, gptConfig } from '../../src/models/gpt/gpt.ts';
import { makeInput } from './harness.ts';

const fixture = JSON.parse(await readFile(new URL('./fixtures/adamw.json', import.meta.url), 'utf8'));
const flat = (a: number[][]) => a.flat();

/** The fixture's least-squares problem as a TrainTask. */
function quadraticTask(): TrainTask {
  const X = T.hostTensor('float32', [6, 4], flat(fixture.X));
  const Y = T.hostTensor('float32', [6, 3], flat(fixture.Y));
  return {
    trace() {
      const ps = new ParamSet();
      const W = ps.param('W', [4, 3], { kind: 'zeros' });
      const b = ps.param('b', [3], { kind: 'zeros' });
      const x = T.input('X', [6, 4]);
      const y = T.input('Y', [6, 3]);
      const r = T.sub(T.add(T.matmul(x, W), b), y);
      return { ps, loss: T.mean(T.mul(r, r)), data: [x, y] };
    },
    batch: () => ({ X, Y }),
    tokensPerStep: 6,
    config: { kind: 'quadratic' },
  };
}

let rt: T.Runtime;
let dir: string;
beforeAll(async () => {
  rt = await T.Runtime.start({ threads: 1 });
  dir = await mkdtemp(join(tmpdir(), 'tony-train-'));
});
afterAll(async () => {
  await rt.close();
  await rm(dir, { recursive: true, force: true });
});

describe('AdamW step graph', () => {
  it('matches the numpy AdamW oracle: losses, clipped norms, schedule and final weights', async () => {
    const cfg = adamwConfig(fixture.config);
    const res = await train(rt, quadraticTask(), {
      steps: fixture.steps,
      optimizer: cfg,
      initParams: { W: T.hostTensor('float32', [4, 3], flat(fixture.W0)), b: T.hostTensor('float32', [3], fixture.b0) },
    });
    res.history.forEach((h, i) => {
      expect(h.loss).toBeCloseTo(fixture.losses[i], 5);
      expect(h.grad_norm).toBeCloseTo(fixture.grad_norms[i], 5);
      expect(h.lr).toBeCloseTo(fixture.lrs[i], 7);
      expect(lrAt(cfg, i + 1)).toBeCloseTo(fixture.lrs[i], 12);
    });
    const st = await rt.getState(['param:W', 'param:b']);
    Array.from(st['param:W']!.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(flat(fixture.W)[i]!, 5));
    Array.from(st['param:b']!.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(fixture.b[i]!, 5));
  });
});

describe('GPT training step', () => {
  const cfg = gptConfig({ vocabSize: 13, blockSize: 5, nLayer: 2, nHead: 2, dModel: 8 });

  it('on ONNX Runtime equals the reference interpreter (loss, every gradient via the first moment)', async () => {
    const gpt = new GPT(cfg);
    const idx = T.input('idx', [2, 5], 'int64');
    const targets = T.input('targets', [2, 5], 'int64');
    const opt = adamwConfig({ gradClip: 0 });
    const g = buildTrainStep(gpt.ps, gpt.loss(idx, targets), [idx, targets], opt);
    const init = gpt.ps.initialize(3);
    const feeds: Record<string, T.HostTensor> = {
      idx: makeInput({ shape: [2, 5], kind: 'ids:13' }, 1),
      targets: makeInput({ shape: [2, 5], kind: 'ids:13' }, 2),
      step: T.hostTensor('float32', [], [1]),
      lr: T.hostTensor('float32', [], [opt.lr]),
    };
    for (const s of gpt.ps.specs) {
      feeds[s.name] = init[s.name]!;
      feeds[`m.${s.name}`] = T.hostTensor('float32', s.shape);
      feeds[`v.${s.name}`] = T.hostTensor('float32', s.shape);
    }
    const session = await rt.load(g.model);
    const ort = await rt.run(session, feeds);
    const ref64 = Object.fromEntries(
      Object.entries(feeds).map(([k, v]) => [k, v.dtype === 'float32' ? T.hostTensor('float64', v.shape, T.toNumbers(v)) : v]),
    );
    // Interpret the same outputs the ONNX model computes (they are the traced tensors' Identity copies).
    const gpt2 = new GPT(cfg);
    const idx2 = T.input('idx', [2, 5], 'int64');
    const tg2 = T.input('targets', [2, 5], 'int64');
    const loss2 = gpt2.loss(idx2, tg2);
    const grads = T.grad(loss2, gpt2.ps.inputs);
    const ref = T.interpret([loss2, ...grads], ref64);
    expect((ort.loss!.data as Float32Array)[0]).toBeCloseTo(ref[0]!.data[0] as number, 5);
    expect(Math.abs((ref[0]!.data[0] as number) - Math.log(13))).toBeLessThan(0.1); // small init ⇒ ≈ ln V
    gpt2.ps.specs.forEach((s, i) => {
      const m = T.toNumbers(ort[`new.m.${s.name}`]!); // = (1 − β1) · g at step 1 without clipping
      const gref = T.toNumbers(ref[i + 1]!);
      m.forEach((v, j) => expect(Math.abs(v / (1 - opt.beta1) - gref[j]!)).toBeLessThan(1e-5 + 1e-4 * Math.abs(gref[j]!)));
    });
  });
});

describe('trainer', () => {
  it('stops on a non-finite loss, naming the step and the offending parameter', async () => {
    const task: TrainTask = {
      trace() {
        const ps = new ParamSet();
        const w = ps.param('w', [3], { kind: 'zeros' });
        const x = T.input('x', [3]);
        return { ps, loss: T.log(T.sumAll(T.mul(w, x))), data: [x] }; // log(0) = −inf
      },
      batch: () => ({ x: T.hostTensor('float32', [3], [1, 2, 3]) }),
      tokensPerStep: 1,
      config: {},
    };
    const err = await train(rt, task, { steps: 3, optimizer: adamwConfig() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TonyError);
    expect((err as TonyError).message).toMatch(/^step 1: loss is -Infinity; non-finite gradients in w$/);
  });

  it('resuming from a checkpoint at step k reproduces the uninterrupted run exactly', async () => {
    const cfg = gptConfig({ vocabSize: 13, blockSize: 8, nLayer: 1, nHead: 2, dModel: 8 });
    const stream = Uint16Array.from({ length: 400 }, (_, i) => (i * 7 + (i >> 3)) % 13);
    const { gptTask } = await import('../../src/models/gpt/lm.ts');
    const task = () => gptTask(cfg, { train: stream, val: stream, files: 1, bytes: 400 }, { batch: 2, seed: 1 });
    const opt = adamwConfig({ warmupSteps: 2, decaySteps: 8 });
    const straight = await train(rt, task(), { steps: 8, optimizer: opt, outDir: join(dir, 'a') });
    await train(rt, task(), { steps: 4, optimizer: opt, outDir: join(dir, 'b'), checkpointEvery: 4 });
    const rt2 = await T.Runtime.start({ threads: 1 }); // a fresh process-like runtime: nothing carried over
    try {
      const resumed = await train(rt2, task(), { steps: 8, optimizer: opt, outDir: join(dir, 'b'), resume: true });
      expect(resumed.history.map((h) => h.step)).toEqual([5, 6, 7, 8]);
      expect(resumed.history.map((h) => h.loss)).toEqual(straight.history.slice(4).map((h) => h.loss));
    } finally {
      await rt2.close();
    }
    const log = (await readFile(join(dir, 'b', 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.map((r: { step: number }) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('keepBest keeps the lowest-validation-loss parameters in best/, and a resumed run drops a best from after its start', async () => {
    // One weight w from 0: the training loss (w − 1)² pulls it past the validation optimum 0.3, so
    // the validation loss (w − 0.3)² falls, then rises — the best evaluation is not the last.
    const task: TrainTask = {
      trace(mode) {
        const ps = new ParamSet();
        const w = ps.param('w', [1], { kind: 'zeros' });
        const t = T.input('t', [1]);
        const r = T.sub(w, t);
        return { ps, loss: T.sumAll(T.mul(r, r)), data: [t] };
      },
      batch: (split) => ({ t: T.hostTensor('float32', [1], [split === 'train' ? 1 : 0.3]) }),
      tokensPerStep: 1,
      config: { kind: 'scalar' },
    };
    const opt = adamwConfig({ lr: 0.1, warmupSteps: 0, decaySteps: 100, weightDecay: 0 });
    const run = (out: string, steps: number, resume = false) =>
      train(rt, task, {
        steps,
        optimizer: opt,
        evalEvery: 1,
        evalBatches: 1,
        checkpointEvery: 2,
        outDir: join(dir, out),
        keepBest: true,
        resume,
      });
    const whole = await run('best-a', 8);
    const vals = whole.evals.map((e) => e.val_loss);
    const bestStep = whole.evals[vals.indexOf(Math.min(...vals))]!.step;
    expect(bestStep).toBeGreaterThan(1);
    expect(bestStep).toBeLessThan(8);
    const readBest = async (out: string) => {
      const ck = await loadCheckpoint<unknown, { step: number; val_loss: number }>(join(dir, out, 'best'));
      return { ...ck.state, w: (ck.params.w!.data as Float32Array)[0]! };
    };
    const best = await readBest('best-a');
    expect(best.step).toBe(bestStep);
    expect(best.val_loss).toBe(Math.min(...vals));
    expect((best.w - 0.3) ** 2).toBeCloseTo(best.val_loss, 6); // the kept w is the one that scored it
    // Interrupted at step 2, with a best from step 6 planted (as a crash after a later save leaves it).
    await run('best-b', 2);
    await saveCheckpoint(join(dir, 'best-b', 'best'), {
      config: {},
      state: { step: 6, val_loss: 0 },
      params: { w: T.hostTensor('float32', [1], [0.3]) },
    });
    const resumed = await run('best-b', 8, true);
    expect(resumed.notices.join('\n')).toMatch(/best: removed \(saved at step 6, after the step this run starts from, 2\)/);
    expect(await readBest('best-b')).toEqual(best);
  });

  it('refuses to resume from a checkpoint of a different model, saying which parameters differ', async () => {
    const a = gptConfig({ vocabSize: 13, blockSize: 8, nLayer: 1, nHead: 2, dModel: 8 });
    const b = gptConfig({ vocabSize: 13, blockSize: 8, nLayer: 1, nHead: 2, dModel: 16 });
    const stream = Uint16Array.from({ length: 400 }, (_, i) => i % 13);
    const { gptTask } = await import('../../src/models/gpt/lm.ts');
    const corpus = { train: stream, val: stream, files: 1, bytes: 400 };
    await train(rt, gptTask(a, corpus, { batch: 2 }), { steps: 1, optimizer: adamwConfig(), outDir: join(dir, 'c') });
    await expect(
      train(rt, gptTask(b, corpus, { batch: 2 }), { steps: 2, optimizer: adamwConfig(), outDir: join(dir, 'c'), resume: true }),
    ).rejects.toThrow(/wte\.weight/);
  });
});
