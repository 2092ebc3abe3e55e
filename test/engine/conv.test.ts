/**
 * Convolutions against an independent oracle: numpy direct sums exported by
 * fixtures/conv_fixture.py (committed beside its output), run on ONNX Runtime in float32 (native
 * Conv/ConvTranspose), in float64 checking mode (the im2col + MatMul lowering) and on the reference
 * interpreter. Plus the shape errors a model author can hit.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';
import { TonyError } from '../../src/errors.ts';

interface Arr {
  shape: number[];
  data: number[];
}
interface Case {
  name: string;
  op: 'conv1d' | 'convTranspose1d' | 'conv2d';
  options: { stride: number | number[]; padding: number[]; dilation: number | number[]; groups: number; outputPadding?: number };
  x: Arr;
  w: Arr;
  b: Arr | null;
  y: Arr;
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/conv_fixture.json', import.meta.url), 'utf8')) as { cases: Case[] };

function build(c: Case, x: T.Tensor, w: T.Tensor, b: T.Tensor | null): T.Tensor {
  const o = c.options;
  if (c.op === 'conv2d') {
    return T.conv2d(x, w, b, { stride: o.stride as number[], padding: o.padding, dilation: o.dilation as number[], groups: o.groups });
  }
  const opts1d = {
    stride: o.stride as number,
    padding: [o.padding[0]!, o.padding[1]!] as [number, number],
    dilation: o.dilation as number,
    groups: o.groups,
  };
  return c.op === 'conv1d' ? T.conv1d(x, w, b, opts1d) : T.convTranspose1d(x, w, b, { ...opts1d, outputPadding: o.outputPadding });
}

function expectClose(got: ArrayLike<number>, want: readonly number[], tol: number, what: string) {
  expect(got.length, what).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  expect(worst, what).toBeLessThan(tol);
}

describe('convolutions vs numpy direct sums (fixtures/conv_fixture.py)', () => {
  let rt: T.Runtime;
  beforeAll(async () => {
    rt = await T.Runtime.start({ device: 'cpu', threads: 1 });
  });
  afterAll(() => rt.close());

  it('the fixture is present and non-trivial', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(5);
    expect(fixture.cases.some((c) => c.op === 'conv1d' && c.options.groups > 1 && c.b)).toBe(true);
  });

  for (const c of fixture.cases) {
    it(c.name, async () => {
      const x = T.input('x', c.x.shape);
      const w = T.input('w', c.w.shape);
      const b = c.b ? T.input('b', c.b.shape) : null;
      const y = build(c, x, w, b);
      expect(y.shape).toEqual(c.y.shape); // ONNX's / PyTorch's output-size formula
      const ins = b ? [x, w, b] : [x, w];
      const host = (dtype: T.DType) => {
        const f: Record<string, T.HostTensor> = {
          x: T.hostTensor(dtype, c.x.shape, c.x.data),
          w: T.hostTensor(dtype, c.w.shape, c.w.data),
        };
        if (c.b) f.b = T.hostTensor(dtype, c.b.shape, c.b.data);
        return f;
      };
      // reference interpreter (float64)
      expectClose(T.interpret([y], host('float64'))[0]!.data as Float64Array, c.y.data, 1e-12, `${c.name}: reference`);
      // ONNX Runtime, native float32 kernels
      const f32 = await rt.run(await rt.load(T.exportOnnx(ins, { y })), host('float32'));
      expectClose(f32.y!.data as Float32Array, c.y.data, 1e-5, `${c.name}: ORT float32`);
      // ONNX Runtime, float64 checking mode (Pad + Gather + MatMul lowering)
      const f64 = await rt.run(await rt.load(T.exportOnnx(ins, { y }, { float64: true })), host('float64'));
      expectClose(f64.y!.data as Float64Array, c.y.data, 1e-12, `${c.name}: ORT float64 checking mode`);
    });
  }
});

describe('convolution shape errors', () => {
  const shapeError = (f: () => unknown, pattern: RegExp) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TonyError);
    expect((err as TonyError).kind).toBe('shape');
    expect((err as TonyError).message).toMatch(pattern);
    // names the model line that called the op
    expect((err as TonyError).message).toMatch(/conv\.test\.ts/);
  };
  const x = T.input('x', [2, 4, 10]);

  it('names the channel mismatch', () => {
    shapeError(() => T.conv1d(x, T.input('w', [3, 3, 3])), /conv: w expects 3·groups = 3 input channels \(groups 1\), x has 4/);
    shapeError(
      () => T.conv1d(x, T.input('w', [3, 4, 3]), null, { groups: 2 }),
      /w expects 4·groups = 8 input channels \(groups 2\), x has 4/,
    );
  });
  it('rejects groups that do not divide the channels', () => {
    shapeError(() => T.conv1d(x, T.input('w', [4, 1, 3]), null, { groups: 3 }), /input channels 4 are not divisible by groups 3/);
    shapeError(() => T.conv1d(x, T.input('w', [3, 2, 3]), null, { groups: 2 }), /output channels 3 are not divisible by groups 2/);
  });
  it('rejects a kernel longer than the padded input', () => {
    shapeError(
      () => T.conv1d(x, T.input('w', [3, 4, 6]), null, { dilation: 2 }),
      /input size 10 \(\+ padding 0\/0\) is shorter than the kernel's reach 11/,
    );
  });
  it('rejects a wrong bias, rank or option', () => {
    shapeError(() => T.conv1d(x, T.input('w', [3, 4, 3]), T.input('b', [4])), /bias must be \[3\]/);
    shapeError(() => T.conv2d(x, T.input('w', [3, 4, 3])), /2-D convolution needs x of rank 4/);
    shapeError(() => T.conv1d(x, T.input('w', [3, 4, 3]), null, { stride: 0 }), /bad strides \[0\]/);
    shapeError(() => T.conv1d(x, T.input('w', [3, 4, 3]), null, { padding: [1, -1] }), /bad pads \[1,-1\]/);
    shapeError(() => T.conv1d(x, T.input('w', [3, 4, 3], 'float64')), /dtypes differ/);
  });
  it('checks transposed-convolution layouts and output padding', () => {
    shapeError(() => T.convTranspose1d(x, T.input('w', [3, 2, 3])), /w has 3 input channels on axis 0, x has 4/);
    shapeError(
      () => T.convTranspose1d(x, T.input('w', [4, 2, 3]), null, { stride: 2, outputPadding: 2 }),
      /outputPadding 2 on spatial axis 2 must be smaller than the stride 2/,
    );
    // ONNX Runtime rejects outputPadding ≥ stride even where PyTorch allows it (dilation larger)
    shapeError(
      () => T.convTranspose1d(x, T.input('w', [4, 2, 3]), null, { dilation: 3, outputPadding: 1 }),
      /must be smaller than the stride 1/,
    );
    shapeError(() => T.convTranspose1d(x, T.input('w', [4, 2, 3]), T.input('b', [3]), { groups: 2 }), /bias must be \[4\]/);
  });
});
