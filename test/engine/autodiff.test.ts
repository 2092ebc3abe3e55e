/**
 * How grad() sums a tensor's gradient contributions. The gradients of non-overlapping slices (a
 * split) are joined with one concat instead of full-size zero pads that are then added; the values
 * must be those of the sum, which here is known by hand: for loss = Σ_i Σ_j w_i[j] · piece_i[j], the
 * gradient of x is w_i on piece i's range and 0 where no piece reads x.
 */
import { describe, expect, it } from 'vitest';
import { hostTensor } from '../../src/engine/dtype.ts';
import * as T from '../../src/engine/index.ts';

const ops = (t: T.Tensor) => T.topoSort([t]).map((n) => n.op);

describe('grad: contributions of slices', () => {
  it('a split (pieces tiling the axis) is joined with one concat, with the values of the sum', () => {
    const x = T.input('x', [2, 6]);
    const [a, b, c] = T.split(x, [1, 2, 3], 1) as [T.Tensor, T.Tensor, T.Tensor];
    const weigh = (t: T.Tensor, w: number) => T.sum(T.mul(t, w));
    const loss = T.add(T.add(weigh(a, 2), weigh(b, -3)), weigh(c, 5));
    const [g] = T.grad(loss, [x]);
    expect(g!.op).toBe('concat');
    expect(ops(g!)).not.toContain('pad');
    const [v] = T.interpret([g!], {
      x: hostTensor(
        'float32',
        [2, 6],
        Array.from({ length: 12 }, (_, i) => i),
      ),
    });
    expect(Array.from(v!.data as Float64Array)).toEqual([2, -3, -3, 5, 5, 5, 2, -3, -3, 5, 5, 5]);
  });

  it('slices with a gap between them: zeros fill the gap and the ends', () => {
    const x = T.input('x', [7]);
    const loss = T.add(T.sum(T.mul(T.slice(x, 0, 1, 3), 4)), T.sum(T.mul(T.slice(x, 0, 4, 6), -1)));
    const [g] = T.grad(loss, [x]);
    expect(ops(g!)).not.toContain('add');
    const [v] = T.interpret([g!], { x: hostTensor('float32', [7], [0, 0, 0, 0, 0, 0, 0]) });
    expect(Array.from(v!.data as Float64Array)).toEqual([0, 4, 4, 0, -1, -1, 0]);
  });

  it('overlapping slices are summed', () => {
    const x = T.input('x', [4]);
    const loss = T.add(T.sum(T.mul(T.slice(x, 0, 0, 3), 2)), T.sum(T.mul(T.slice(x, 0, 1, 4), 10)));
    const [g] = T.grad(loss, [x]);
    expect(g!.op).toBe('add');
    const [v] = T.interpret([g!], { x: hostTensor('float32', [4], [0, 0, 0, 0]) });
    expect(Array.from(v!.data as Float64Array)).toEqual([2, 12, 12, 10]);
  });
});
