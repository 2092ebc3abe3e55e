/**
 * Bad input gets a clear error naming what is wrong: shapes, dtypes, configs, feeds, devices.
 * (Corrupt and truncated checkpoints: checkpoint.test.ts. NaN losses: training.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';
import { adamwConfig } from '../../src/engine/optim.ts';
import { TonyError } from '../../src/errors.ts';
import { gptConfig } from '../../src/models/gpt/gpt.ts';

function thrown(f: () => unknown): TonyError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TonyError);
    return e as TonyError;
  }
  throw new Error('expected a TonyError');
}

describe('trace-time checks', () => {
  it('a shape mismatch names the op, both shapes and the calling line', () => {
    const a = T.input('a', [2, 3]);
    const b = T.input('b', [4, 5]);
    const e = thrown(() => T.matmul(a, b));
    expect(e.kind).toBe('shape');
    expect(e.message).toMatch(/matmul: inner dimensions differ \(3 vs 4\)/);
    expect(e.message).toContain('[2, 3] float32, [4, 5] float32');
    expect(e.message).toMatch(/errors\.test\.ts:\d+/); // the caller's line, not the engine's
  });

  it('broadcasting failures and bad reshapes are shape errors', () => {
    expect(() => T.add(T.input('a', [2, 3]), T.input('b', [4]))).toThrow(/add: shapes \[2,3\] and \[4\] do not broadcast/);
    expect(() => T.reshape(T.input('a', [2, 3]), [4, -1])).toThrow(/reshape: cannot reshape \[2, 3\] to \[4, -1\]/);
    expect(() => T.softmax(T.input('a', [2, 3]), 2)).toThrow(/axis 2 is out of range for a tensor of rank 2/);
  });

  it('a wrong dtype is named, with a hint', () => {
    const ids = T.input('ids', [4], 'float32');
    const e = thrown(() => T.gather(T.input('w', [10, 2]), ids));
    expect(e.message).toMatch(/gather: ids must be int64, got float32/);
    const e2 = thrown(() => T.add(T.input('a', [2]), T.input('b', [2], 'int64')));
    expect(e2.message).toMatch(/dtypes differ \(float32 vs int64\)/);
    expect(e2.hint).toMatch(/cast/);
  });

  it('constant indices out of range are refused at trace time, naming the index and where it sits', () => {
    const table = T.input('w', [5, 3]);
    const ids = T.constant(T.hostTensor('int64', [2, 3], [0, 4, 1, 2, 7, 3]));
    const e = thrown(() => T.gather(table, ids));
    expect(e.kind).toBe('shape');
    expect(e.message).toMatch(/gather: constant index 7 at \[1, 1\] is outside \[0, 5\) \(rows of a table of shape \[5, 3\]\)/);
    expect(e.message).toMatch(/errors\.test\.ts:\d+/);
    // seen through reshapes and expands of the constant; a negative index is out of range too
    const neg = T.reshape(T.constant(T.hostTensor('int64', [4], [0, 1, -1, 2])), [2, 2]);
    expect(() => T.gather(table, neg)).toThrow(/constant index -1 at \[1, 0\] is outside \[0, 5\)/);
    const x = T.input('x', [2, 4]);
    expect(() => T.takeAlong(x, T.constant(T.hostTensor('int64', [2, 1], [3, 4])), 1)).toThrow(
      /takeAlong: constant index 4 at \[1, 0\] is outside \[0, 4\)/,
    );
    const upd = T.input('u', [2, 3]);
    expect(() => T.scatterAdd(table, T.constant(T.hostTensor('int64', [2], [5, 0])), upd)).toThrow(/scatterAdd: constant index 5 at \[0\]/);
    // in range, and indices only known at run time, trace fine
    expect(T.gather(table, T.constant(T.hostTensor('int64', [2], [0, 4]))).shape).toEqual([2, 3]);
    expect(T.gather(table, T.input('ids', [2], 'int64')).shape).toEqual([2, 3]);
  });

  it('reflect padding longer than the axis allows, and a bad STFT, are refused with the sizes', () => {
    expect(() => T.padReflect(T.input('a', [2, 4]), 1, 4, 0)).toThrow(
      /reflect padding 4\/0 needs at most 3 on each side \(axis 1 has 4 elements\)/,
    );
    expect(() => T.stftMagnitude(T.input('s', [1, 10]), { nFft: 16, center: false })).toThrow(
      /stft: a signal of 10 samples is shorter than nFft = 16/,
    );
    expect(() => T.stftMagnitude(T.input('s', [1, 100]), { nFft: 16, winLength: 20 })).toThrow(
      /winLength 20 must be an integer in \[1, nFft = 16\]/,
    );
    expect(() => T.stftMagnitude(T.input('s', [100]), { nFft: 16 })).toThrow(/stft: x must be \(B, L\), got \[100\]/);
  });

  it('unknown or ill-typed config keys are refused', () => {
    expect(() => gptConfig({ nLayers: 2 })).toThrow(/unknown gpt config key 'nLayers'/);
    expect(() => gptConfig({ dModel: 100, nHead: 3 })).toThrow(/divisible/);
    expect(() => adamwConfig({ lr: '1e-3' })).toThrow(/optimizer config key 'lr' must be a number/);
  });

  it('grad of a non-scalar is refused', () => {
    const x = T.input('x', [3]);
    expect(() => T.grad(T.exp(x), [x])).toThrow(/loss must be a scalar/);
  });
});

describe('runtime', () => {
  it('validates feeds against the model before running', async () => {
    const rt = await T.Runtime.start({ threads: 1 });
    try {
      const x = T.input('x', [2, 2]);
      const s = await rt.load(T.exportOnnx([x], { y: T.exp(x) }));
      await expect(rt.run(s, {})).rejects.toThrow(/missing input 'x'/);
      await expect(rt.run(s, { x: T.hostTensor('float32', [4]) })).rejects.toThrow(/input 'x' expects \[2,2\] float32, got \[4\] float32/);
    } finally {
      await rt.close();
    }
  });

  it('runs sessions off the main thread: the event loop keeps ticking during a long run', async () => {
    const rt = await T.Runtime.start({ threads: 1 });
    try {
      const n = 1024;
      const a = T.input('a', [n, n]);
      let y = a;
      for (let i = 0; i < 8; i++) y = T.tanh(T.matmul(y, a)); // 17 GFLOP: well over 100 ms on one thread
      const s = await rt.load(T.exportOnnx([a], { y }));
      const data = T.hostTensor(
        'float32',
        [n, n],
        Array.from({ length: n * n }, (_, i) => Math.sin(i) * 0.01),
      );
      const stamps: number[] = [];
      const timer = setInterval(() => stamps.push(performance.now()), 5);
      const t0 = performance.now();
      await rt.run(s, { a: data });
      const t1 = performance.now();
      clearInterval(timer);
      // Were the run on the main thread, no timer could fire until it returned: one gap as long as
      // the run. Off the main thread the timer keeps firing (gaps stay short even on a loaded machine).
      const during = [t0, ...stamps.filter((t) => t > t0 && t < t1), t1];
      const maxGap = Math.max(...during.slice(1).map((t, i) => t - during[i]!));
      expect(t1 - t0).toBeGreaterThan(100);
      expect(during.length).toBeGreaterThan(4);
      expect(maxGap).toBeLessThan((t1 - t0) / 2);
    } finally {
      await rt.close();
    }
  });

  it('says which provider runs, and refuses WebGPU without an adapter instead of falling back', async () => {
    const cpu = await T.Runtime.start({ threads: 2 });
    expect(cpu.description).toBe('cpu (onnxruntime-node 1.30.0, 2 threads)');
    await cpu.close();
    // This machine (and CI) has no GPU. Where one exists, TONY_EXPECT_WEBGPU=1 flips the expectation.
    const rt = await T.Runtime.start({ device: 'webgpu' });
    const x = T.input('x', [2]);
    const load = rt.load(T.exportOnnx([x], { y: T.exp(x) }));
    try {
      if (process.env.TONY_EXPECT_WEBGPU === '1') await expect(load).resolves.toBeTruthy();
      else
        await expect(load).rejects.toMatchObject({
          kind: 'device',
          message: expect.stringMatching(/WebGPU provider found no GPU adapter/),
        });
    } finally {
      await rt.close();
    }
  });
});
