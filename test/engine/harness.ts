/**
 * The op conformance harness: one table row per op, checked three ways.
 *  1. forward: ONNX Runtime (float32) against the reference interpreter (float64);
 *  2. gradient: the symbolic VJP, evaluated by the reference interpreter, against central finite
 *     differences of the reference forward pass, in float64;
 *  3. gradient graph: ONNX Runtime in float64 checking mode against the reference gradients.
 * Every execution provider present runs (1) and (3) (ops.test.ts: CPU always, WebGPU and CUDA where
 * they start, skipped with the reason otherwise); (2) involves only the reference and runs once.
 */
import { expect } from 'vitest';
import * as T from '../../src/engine/index.ts';
import { prng } from '../../src/random.ts';

export interface InputSpec {
  shape: number[];
  dtype?: T.DType;
  /**
   * 'normal' (default), 'positive' (0.5..2), 'ids:<n>' (int64 in [0, n)), 'bool', 'distinct',
   * 'ties:<n>' (floats from {0, …, n−1}: many equal values, for tie rules).
   */
  kind?: string;
}

export interface OpCase {
  name: string;
  inputs: InputSpec[];
  build: (...xs: T.Tensor[]) => T.Tensor;
  /** Whether to check gradients (false for ops without one, e.g. comparisons). */
  grad?: boolean;
  /** Relative tolerance for ORT float32 forward vs reference. */
  fwdTol?: number;
  /** Tolerance for ORT float64 gradients vs reference (ops computed via float32 erf need ~1e-6). */
  gradTol?: number;
  /**
   * The expected-gradient column, for ops whose gradient is not the derivative of their forward
   * pass (stopGradient): the gradient of Σ w·out with respect to each float input, derived by hand.
   * It replaces the finite-difference check (step 2), which would see the identity.
   */
  expectGrad?: (xs: Float64Array[], w: Float64Array) => Array<ArrayLike<number>>;
}

/** Deterministic pseudo-random numbers so failures reproduce. */
export const rng = prng;

export function makeInput(spec: InputSpec, seed: number): T.HostTensor {
  const r = rng(seed);
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const kind = spec.kind ?? 'normal';
  const dtype = spec.dtype ?? (kind.startsWith('ids') ? 'int64' : kind === 'bool' ? 'bool' : 'float64');
  let vals: number[];
  if (kind.startsWith('ties:')) vals = Array.from({ length: n }, () => Math.floor(r.next() * Number(kind.slice(5))));
  else if (kind.startsWith('ids:')) vals = Array.from({ length: n }, () => Math.floor(r.next() * Number(kind.slice(4))));
  else if (kind === 'bool') vals = Array.from({ length: n }, () => +(r.next() < 0.5));
  else if (kind === 'positive') vals = Array.from({ length: n }, () => 0.5 + 1.5 * r.next());
  // distinct values a good distance apart: keeps max/min/relu away from their kinks for FD
  else if (kind === 'distinct')
    vals = shuffle(
      Array.from({ length: n }, (_, i) => (i - n / 2) * 0.37 + 0.11),
      r.next,
    );
  else vals = Array.from({ length: n }, () => r.normal());
  return T.hostTensor(dtype, spec.shape, vals);
}

function shuffle(a: number[], next: () => number): number[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const asDtype = (h: T.HostTensor, dtype: T.DType): T.HostTensor => (h.dtype === dtype ? h : T.hostTensor(dtype, h.shape, T.toNumbers(h)));

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string) {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) - rtol * Math.abs(expected[i]!);
    if (err > worst) [worst, at] = [err, i];
  }
  expect(worst <= atol, `${what}: element ${at}: got ${actual[at]}, expected ${expected[at]} (rtol ${rtol}, atol ${atol})`).toBe(true);
}

/**
 * Run one table row against `rt` (a started Runtime). `finiteDifferences: false` skips check 2,
 * which involves only the reference (so one provider suffices).
 */
export async function checkOp(
  c: OpCase,
  rt: T.Runtime,
  seed = 1,
  opsets: readonly number[] = [T.DEFAULT_OPSET],
  opts: { finiteDifferences?: boolean } = {},
) {
  // Trace with float32 inputs (what models use); the checking mode re-types them as float64.
  const hosts = c.inputs.map((s, i) => makeInput(s, seed * 100 + i));
  const ins = c.inputs.map((s, i) => T.input(`x${i}`, s.shape, hosts[i]!.dtype === 'float64' ? 'float32' : hosts[i]!.dtype));
  const out = c.build(...ins);
  const feeds64: Record<string, T.HostTensor> = {};
  const feeds32: Record<string, T.HostTensor> = {};
  hosts.forEach((h, i) => {
    feeds64[`x${i}`] = h;
    feeds32[`x${i}`] = h.dtype === 'float64' ? asDtype(h, 'float32') : h;
  });

  // 1. forward on ONNX Runtime, float32, against the reference run on the same float32-rounded inputs
  // (at every opset where the lowering branches: reduction axes, LayerNormalization-17, Gelu-20)
  const rounded = Object.fromEntries(Object.entries(feeds32).map(([k, v]) => [k, v.dtype === 'float32' ? asDtype(v, 'float64') : v]));
  const refOnRounded = T.interpret([out], rounded)[0]!;
  for (const opset of opsets) {
    const fwd = await rt.load(T.exportOnnx(ins, { y: out }, { opset }));
    const got = (await rt.run(fwd, feeds32)).y!;
    expectClose(
      T.toNumbers(got),
      T.toNumbers(refOnRounded),
      c.fwdTol ?? 2e-5,
      2e-5,
      `${c.name} forward, opset ${opset} (ORT float32 vs reference)`,
    );
  }
  if (c.grad === false) return;

  // 2. VJP (reference) against central finite differences, float64.
  // Scalarise with fixed random weights so every output element's gradient path is exercised.
  const wHost = makeInput({ shape: [...out.shape] }, seed * 100 + 99);
  const weights = T.constant(asDtype(wHost, 'float32'));
  const loss = T.sumAll(T.mul(out, weights));
  const floatIdx = c.inputs.map((_, i) => i).filter((i) => hosts[i]!.dtype === 'float64');
  const grads = T.grad(
    loss,
    floatIdx.map((i) => ins[i]!),
  );
  const refGrads = T.interpret(grads, feeds64);
  // The weights are float32-rounded constants; evaluate the loss in float64 with the same values.
  const lossAt = (feeds: Record<string, T.HostTensor>) => T.interpret([loss], feeds)[0]!.data[0] as number;
  if (opts.finiteDifferences === false) {
    // check 2 ran on the first provider
  } else if (c.expectGrad) {
    const want = c.expectGrad(
      floatIdx.map((i) => T.toNumbers(hosts[i]!)),
      T.toNumbers(asDtype(wHost, 'float32')),
    );
    floatIdx.forEach((i, k) =>
      expectClose(T.toNumbers(refGrads[k]!), want[k]!, 1e-12, 1e-12, `${c.name} d/dx${i} (VJP vs expected gradient)`),
    );
  } else {
    const h = 1e-6;
    floatIdx.forEach((i, k) => {
      const base = feeds64[`x${i}`]!;
      const fd = new Float64Array(base.data.length);
      for (let j = 0; j < fd.length; j++) {
        const plus = Float64Array.from(base.data as Float64Array);
        const minus = Float64Array.from(base.data as Float64Array);
        plus[j]! += h;
        minus[j]! -= h;
        fd[j] =
          (lossAt({ ...feeds64, [`x${i}`]: { ...base, data: plus } }) - lossAt({ ...feeds64, [`x${i}`]: { ...base, data: minus } })) /
          (2 * h);
      }
      expectClose(T.toNumbers(refGrads[k]!), fd, 1e-5, 1e-6, `${c.name} d/dx${i} (VJP vs finite differences)`);
    });
  }

  // 3. the gradient graph on ONNX Runtime in float64 checking mode
  const outs: Record<string, T.Tensor> = {};
  grads.forEach((g, k) => (outs[`g${k}`] = g));
  const bwd = await rt.load(T.exportOnnx(ins, outs, { float64: true }));
  const res = await rt.run(bwd, feeds64);
  grads.forEach((_, k) => {
    expectClose(
      T.toNumbers(res[`g${k}`]!),
      T.toNumbers(refGrads[k]!),
      c.gradTol ?? 1e-9,
      c.gradTol ?? 1e-9,
      `${c.name} d/dx${floatIdx[k]} (ORT float64 vs reference)`,
    );
  });
}
