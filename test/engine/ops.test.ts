/**
 * The op table: every op's forward on ONNX Runtime against its reference implementation, its
 * gradient against central finite differences — or, for ops whose gradient is not their forward's
 * derivative (stopGradient), against the row's expected gradient — and the gradient graph in
 * float64 on ONNX Runtime (see harness.ts). It runs on every provider that starts here. Adding an
 * op adds a row. Below the table: values against closed forms and hand-computed numpy results,
 * the in-graph STFT against src/audio, and a check that the engine's modules form no import cycle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { magnitude, makeWindow, stft } from '../../src/audio/stft.ts';
import * as T from '../../src/engine/index.ts';
import { checkOp, makeInput, type OpCase } from './harness.ts';

const s = (...shape: number[]) => ({ shape });
const pos = (...shape: number[]) => ({ shape, kind: 'positive' });
const distinct = (...shape: number[]) => ({ shape, kind: 'distinct' });
const ids = (n: number, ...shape: number[]) => ({ shape, kind: `ids:${n}` });
const bool = (...shape: number[]) => ({ shape, kind: 'bool' });
const ties = (n: number, ...shape: number[]) => ({ shape, kind: `ties:${n}` });
const zeros = (x: Float64Array) => new Float64Array(x.length);
const sq = (x: T.Tensor) => T.mul(x, x);
// erf is computed in float32 in checking mode (no float64 Erf kernel in ONNX Runtime)
const ERF_TOL = 2e-6;

export const OPS: OpCase[] = [
  // elementwise, with broadcasting
  { name: 'add', inputs: [s(2, 3), s(3)], build: (a, b) => T.add(a!, b!) },
  { name: 'sub', inputs: [s(2, 1), s(1, 3)], build: (a, b) => T.sub(a!, b!) },
  { name: 'mul', inputs: [s(2, 3), s(2, 3)], build: (a, b) => T.mul(a!, b!) },
  { name: 'div', inputs: [s(2, 3), pos(2, 1)], build: (a, b) => T.div(a!, b!) },
  { name: 'pow', inputs: [pos(2, 3), s(3)], build: (a, b) => T.pow(a!, b!) },
  { name: 'maximum', inputs: [distinct(2, 3), s(2, 3)], build: (a, b) => T.maximum(a!, b!) },
  { name: 'minimum', inputs: [distinct(2, 3), s(3)], build: (a, b) => T.minimum(a!, b!) },
  { name: 'neg', inputs: [s(5)], build: (a) => T.neg(a!) },
  { name: 'exp', inputs: [s(2, 3)], build: (a) => T.exp(a!) },
  { name: 'log', inputs: [pos(2, 3)], build: (a) => T.log(a!) },
  { name: 'sqrt', inputs: [pos(2, 3)], build: (a) => T.sqrt(a!) },
  { name: 'tanh', inputs: [s(2, 3)], build: (a) => T.tanh(a!) },
  { name: 'sigmoid', inputs: [s(2, 3)], build: (a) => T.sigmoid(a!) },
  { name: 'erf', inputs: [s(2, 3)], build: (a) => T.erf(a!), gradTol: ERF_TOL },
  { name: 'abs', inputs: [distinct(6)], build: (a) => T.abs(a!) },
  { name: 'relu', inputs: [distinct(6)], build: (a) => T.relu(a!) },
  { name: 'elu', inputs: [distinct(6)], build: (a) => T.elu(a!) },
  { name: 'sin', inputs: [s(4)], build: (a) => T.sin(a!) },
  { name: 'cos', inputs: [s(4)], build: (a) => T.cos(a!) },
  // all four quadrants (inputs are drawn around 0); atan runs in float32 in checking mode
  { name: 'atan2', inputs: [s(3, 4), s(4)], build: (y, x) => T.atan2(y!, x!), gradTol: ERF_TOL },
  { name: 'log1p', inputs: [pos(2, 3)], build: (a) => T.log1p(T.sub(a!, 0.9)) },
  { name: 'softplus', inputs: [s(2, 4)], build: (a) => T.softplus(T.mul(a!, 4)) },
  { name: 'gelu', inputs: [s(3, 4)], build: (a) => T.gelu(a!), gradTol: ERF_TOL },
  { name: 'less', inputs: [s(2, 3), s(3)], build: (a, b) => T.where(T.less(a!, b!), 1, 0), grad: false },
  { name: 'greaterEqual', inputs: [s(2, 3), s(3)], build: (a, b) => T.where(T.greaterEqual(a!, b!), 1, 0), grad: false },
  { name: 'equal', inputs: [ids(3, 6), ids(3, 6)], build: (a, b) => T.cast(T.equal(a!, b!), 'float32'), grad: false },
  { name: 'where', inputs: [bool(2, 3), s(2, 3), s(3)], build: (c, a, b) => T.where(c!, a!, b!) },
  // stopGradient: the expected-gradient column replaces finite differences (which see the identity)
  {
    name: 'stopGradient',
    inputs: [s(2, 3), s(2, 3)],
    build: (a, b) => T.add(T.mul(a!, T.stopGradient(a!)), T.stopGradient(b!)),
    expectGrad: ([a, b], w) => [a!.map((v, i) => w[i]! * v), zeros(b!)], // d/da = w·a (not 2w·a), d/db = 0
  },
  {
    name: 'stopGradient straight-through (x + sg(q − x))',
    inputs: [s(2, 3), s(2, 3)],
    build: (x, q) => T.add(x!, T.stopGradient(T.sub(q!, x!))),
    expectGrad: ([x, q], w) => [Float64Array.from(w), zeros(q!)],
  },
  { name: 'cast', inputs: [s(2, 3)], build: (a) => T.cast(T.cast(a!, 'float64'), 'float32') },
  // reductions and normalisers
  { name: 'sum', inputs: [s(2, 3, 4)], build: (a) => T.sum(a!, [0, 2]) },
  { name: 'sum keepdims', inputs: [s(2, 3, 4)], build: (a) => T.sum(a!, 1, true) },
  { name: 'mean', inputs: [s(2, 3, 4)], build: (a) => T.mean(a!, -1) },
  { name: 'sumSquares', inputs: [s(2, 3, 4)], build: (a) => T.sumSquares(a!, [0, 2]) },
  { name: 'sumSquares all, keepdims', inputs: [s(2, 3)], build: (a) => T.sumSquares(a!, [0, 1], true) },
  { name: 'max', inputs: [distinct(3, 4)], build: (a) => T.max(a!, 1) },
  { name: 'min', inputs: [distinct(3, 4)], build: (a) => T.min(a!, 1) },
  { name: 'min keepdims, two axes', inputs: [distinct(2, 3, 4)], build: (a) => T.min(a!, [0, 2], true) },
  { name: 'argmax ties → first', inputs: [ties(3, 4, 5)], build: (a) => T.argmax(a!, 1), grad: false },
  { name: 'argmin keepdims axis 0 ties → first', inputs: [ties(2, 3, 4)], build: (a) => T.argmin(a!, 0, true), grad: false },
  { name: 'argmax picks (gradient through takeAlong)', inputs: [distinct(3, 4)], build: (a) => T.takeAlong(a!, T.argmax(a!, 1, true), 1) },
  {
    // The VQ-VAE bottleneck: nearest codebook row by argmin of squared distances, straight-through.
    name: 'argmin VQ lookup, straight-through',
    inputs: [s(4, 3), s(5, 3)],
    build: (z, cb) => {
      const d = T.sum(sq(T.sub(T.reshape(z!, [4, 1, 3]), T.reshape(cb!, [1, 5, 3]))), -1); // (4, 5)
      const q = T.gather(cb!, T.argmin(d, 1)); // (4, 3)
      return T.add(z!, T.stopGradient(T.sub(q, z!)));
    },
    expectGrad: ([z, cb], w) => [Float64Array.from(w.subarray(0, z!.length)), zeros(cb!)],
  },
  { name: 'softmax', inputs: [s(3, 5)], build: (a) => T.softmax(a!) },
  { name: 'softmax axis 0', inputs: [s(3, 5)], build: (a) => T.softmax(a!, 0) },
  { name: 'logSoftmax', inputs: [s(3, 5)], build: (a) => T.logSoftmax(a!) },
  { name: 'cumsum', inputs: [s(3, 4)], build: (a) => T.cumsum(a!, 1) },
  { name: 'cumsum exclusive reverse', inputs: [s(3, 4)], build: (a) => T.cumsum(a!, 0, { exclusive: true, reverse: true }) },
  { name: 'cumprod (positive inputs)', inputs: [pos(3, 4)], build: (a) => T.cumprod(a!, 1) },
  { name: 'cumprod exclusive reverse', inputs: [pos(3, 4)], build: (a) => T.cumprod(a!, 0, { exclusive: true, reverse: true }) },
  { name: 'layerNorm', inputs: [s(2, 3, 6), s(6), s(6)], build: (x, w, b) => T.layerNorm(x!, w!, b!) },
  {
    // Query i sees keys up to i + 2 (a causal block's diagonal); the VJP recomputes the probabilities.
    name: 'attend, a causal-block mask',
    inputs: [s(2, 2, 3, 4), s(2, 2, 5, 4), s(2, 2, 5, 3)],
    build: (q, k, v) => {
      const mask = Array.from({ length: 15 }, (_, n) => (n % 5 > Math.floor(n / 5) + 2 ? -1e9 : 0));
      return T.attend(q!, k!, v!, T.constant(T.hostTensor('float32', [3, 5], mask)));
    },
  },
  {
    name: 'attend, a key-padding mask per row, scale 0.7',
    inputs: [s(2, 2, 3, 4), s(2, 2, 4, 4), s(2, 2, 4, 2)],
    build: (q, k, v) => T.attend(q!, k!, v!, T.constant(T.hostTensor('float32', [2, 1, 1, 4], [0, 0, 0, -1e9, 0, -1e9, 0, 0])), 0.7),
  },
  // shapes
  { name: 'reshape', inputs: [s(2, 6)], build: (a) => T.reshape(a!, [3, -1]) },
  { name: 'transpose', inputs: [s(2, 3, 4)], build: (a) => T.transpose(a!, [2, 0, 1]) },
  { name: 'slice', inputs: [s(3, 5)], build: (a) => T.slice(a!, 1, 1, 4) },
  { name: 'pad', inputs: [s(2, 3)], build: (a) => T.pad(a!, 0, 1, 2) },
  { name: 'flip', inputs: [s(2, 3, 4)], build: (a) => T.flip(a!, 1) },
  { name: 'padReflect', inputs: [s(2, 5)], build: (a) => T.padReflect(a!, 1, 3, 4) },
  { name: 'padReflect axis 0, one side', inputs: [s(4, 3)], build: (a) => T.padReflect(a!, 0, 0, 2) },
  { name: 'oneHot', inputs: [ids(4, 2, 3)], build: (i) => T.oneHot(i!, 4), grad: false },
  { name: 'oneHot in a gradient graph (float64 lowering)', inputs: [ids(4, 5), s(5, 4)], build: (i, x) => T.mul(T.oneHot(i!, 4), x!) },
  { name: 'concat', inputs: [s(2, 3), s(2, 2)], build: (a, b) => T.concat([a!, b!], 1) },
  {
    name: 'split',
    inputs: [s(2, 5)],
    build: (a) => {
      const [p, q] = T.split(a!, [2, 3], 1);
      return T.concat([q!, T.mul(p!, 2)], 1);
    },
  },
  { name: 'expand', inputs: [s(3, 1)], build: (a) => T.expand(a!, [2, 3, 4]) },
  { name: 'gather (embedding)', inputs: [s(5, 3), ids(5, 2, 4)], build: (w, i) => T.gather(w!, i!) },
  { name: 'scatterAdd (duplicates)', inputs: [s(4, 2), ids(4, 6), s(6, 2)], build: (b, i, u) => T.scatterAdd(b!, i!, u!) },
  { name: 'takeAlong', inputs: [s(3, 5), ids(5, 3, 2)], build: (x, i) => T.takeAlong(x!, i!, 1) },
  { name: 'scatterAlongAdd', inputs: [s(3, 5), ids(5, 3, 4), s(3, 4)], build: (b, i, u) => T.scatterAlongAdd(b!, i!, u!, 1) },
  {
    name: 'writeAt (KV-cache write)',
    inputs: [s(2, 2, 5, 3), ids(5, 2), s(2, 2, 1, 3)],
    build: (c, p, v) => T.writeAt(c!, p!, v!),
    grad: false,
  },
  // linear algebra
  { name: 'matmul 2-D', inputs: [s(3, 4), s(4, 2)], build: (a, b) => T.matmul(a!, b!) },
  { name: 'matmul batched', inputs: [s(2, 3, 4), s(2, 4, 5)], build: (a, b) => T.matmul(a!, b!) },
  { name: 'matmul broadcast weight', inputs: [s(2, 3, 4), s(4, 5)], build: (a, b) => T.matmul(a!, b!) },
  { name: 'matmul broadcast batch', inputs: [s(2, 1, 3, 4), s(3, 4, 2)], build: (a, b) => T.matmul(a!, b!) },
  // signal: frames by convolution with DFT kernels (see also 'in-graph STFT' below)
  { name: 'stftMagnitude reflect', inputs: [s(2, 40)], build: (x) => T.stftMagnitude(x!, { nFft: 16, hop: 4 }) },
  {
    name: 'stftMagnitude constant pad, winLength 12',
    inputs: [s(1, 30)],
    build: (x) => T.stftMagnitude(x!, { nFft: 16, hop: 5, winLength: 12, padMode: 'constant' }),
  },
  {
    name: 'spectralConvergence',
    inputs: [s(2, 32), s(2, 32)],
    build: (x, y) => T.spectralConvergence(T.stftMagnitude(x!, { nFft: 8 }), T.stftMagnitude(y!, { nFft: 8 })),
  },
  {
    name: 'logMagnitudeL1',
    inputs: [s(2, 32), s(2, 32)],
    build: (x, y) => T.logMagnitudeL1(T.stftMagnitude(x!, { nFft: 8 }), T.stftMagnitude(y!, { nFft: 8 })),
  },
  {
    name: 'multiResolutionStftLoss',
    inputs: [s(2, 36), s(2, 36)],
    build: (x, y) =>
      T.multiResolutionStftLoss(x!, y!, [
        { nFft: 16, hop: 4, winLength: 12 },
        { nFft: 8, hop: 2, winLength: 8 },
      ]),
  },
  // convolutions (gradients are themselves convolutions; float64 checking mode lowers them to im2col + MatMul)
  { name: 'conv1d', inputs: [s(2, 3, 7), s(4, 3, 3)], build: (x, w) => T.conv1d(x!, w!) },
  { name: 'conv1d bias', inputs: [s(2, 3, 7), s(4, 3, 3), s(4)], build: (x, w, b) => T.conv1d(x!, w!, b!) },
  {
    name: 'conv1d stride 2 padding 1',
    inputs: [s(2, 3, 8), s(4, 3, 3), s(4)],
    build: (x, w, b) => T.conv1d(x!, w!, b!, { stride: 2, padding: 1 }),
  },
  { name: 'conv1d stride 3 remainder', inputs: [s(1, 2, 8), s(3, 2, 4)], build: (x, w) => T.conv1d(x!, w!, null, { stride: 3 }) },
  {
    name: 'conv1d padding [2, 1] dilation 2',
    inputs: [s(2, 2, 9), s(3, 2, 3)],
    build: (x, w) => T.conv1d(x!, w!, null, { padding: [2, 1], dilation: 2 }),
  },
  { name: 'conv1d groups 2', inputs: [s(2, 4, 6), s(6, 2, 3), s(6)], build: (x, w, b) => T.conv1d(x!, w!, b!, { groups: 2, padding: 1 }) },
  {
    name: 'conv1d groups 2 stride 2 dilation 2',
    inputs: [s(1, 4, 11), s(4, 2, 2)],
    build: (x, w) => T.conv1d(x!, w!, null, { groups: 2, stride: 2, dilation: 2, padding: 1 }),
  },
  { name: 'convTranspose1d', inputs: [s(2, 3, 5), s(3, 2, 3)], build: (x, w) => T.convTranspose1d(x!, w!) },
  {
    name: 'convTranspose1d stride 2 bias',
    inputs: [s(2, 3, 5), s(3, 2, 4), s(2)],
    build: (x, w, b) => T.convTranspose1d(x!, w!, b!, { stride: 2, padding: 1 }),
  },
  {
    name: 'convTranspose1d stride 2 outputPadding 1',
    inputs: [s(2, 3, 4), s(3, 2, 3)],
    build: (x, w) => T.convTranspose1d(x!, w!, null, { stride: 2, padding: 1, outputPadding: 1 }),
  },
  {
    name: 'convTranspose1d groups 2 dilation 2',
    inputs: [s(1, 4, 5), s(4, 3, 3), s(6)],
    build: (x, w, b) => T.convTranspose1d(x!, w!, b!, { groups: 2, stride: 3, dilation: 2, padding: [1, 2], outputPadding: 1 }),
  },
  // the weight gradient's tap stack over strided phases (dilation·tap mod stride takes every phase)
  {
    name: 'conv1d stride 2 dilation 3 kernel 5',
    inputs: [s(2, 2, 17), s(3, 2, 5), s(3)],
    build: (x, w, b) => T.conv1d(x!, w!, b!, { stride: 2, dilation: 3, padding: [4, 1] }),
  },
  // the polyphase lowering: stride 1 with dilation, x cropped; a stride above the kernel
  {
    name: 'convTranspose1d stride 1 dilation 3 crop',
    inputs: [s(1, 2, 8), s(2, 3, 3)],
    build: (x, w) => T.convTranspose1d(x!, w!, null, { dilation: 3, padding: [7, 2] }),
  },
  {
    name: 'convTranspose1d stride 4 kernel 3',
    inputs: [s(2, 1, 4), s(1, 2, 3), s(2)],
    build: (x, w, b) => T.convTranspose1d(x!, w!, b!, { stride: 4, padding: [1, 0], outputPadding: 3 }),
  },
  { name: 'conv2d', inputs: [s(2, 2, 5, 4), s(3, 2, 3, 2)], build: (x, w) => T.conv2d(x!, w!) },
  {
    name: 'conv2d stride 2 padding 1 bias',
    inputs: [s(2, 2, 6, 5), s(3, 2, 3, 3), s(3)],
    build: (x, w, b) => T.conv2d(x!, w!, b!, { stride: 2, padding: 1 }),
  },
  {
    name: 'conv2d groups 2 per-axis options',
    inputs: [s(1, 4, 7, 6), s(4, 2, 3, 2), s(4)],
    build: (x, w, b) => T.conv2d(x!, w!, b!, { groups: 2, stride: [2, 1], padding: [1, 0], dilation: [1, 2] }),
  },
  {
    name: 'convTranspose2d stride 2',
    inputs: [s(1, 2, 3, 4), s(2, 3, 3, 2), s(3)],
    build: (x, w, b) => T.convTranspose2d(x!, w!, b!, { stride: 2, padding: 1, outputPadding: [1, 0] }),
  },
];

describe('argmax / argmin tie rule (hand-computed, numpy semantics)', () => {
  it('ties take the first index, on ONNX Runtime and in the reference', async () => {
    const rt = await T.Runtime.start({ device: 'cpu', threads: 1 });
    const x = T.input('x', [3, 4]);
    // row 0 ties at its max (cols 1, 3), row 1 at its min (cols 1, 3), column 1 at its max (rows 0, 2)
    const xv = T.hostTensor('float32', [3, 4], [1, 5, 2, 5, 3, -2, 0, -2, 4, 5, 4, 4]);
    const outs = { amax: T.argmax(x, 1), amin: T.argmin(x, 1), amax0: T.argmax(x, 0, true) };
    const got = await rt.run(await rt.load(T.exportOnnx([x], outs)), { x: xv });
    const ref = T.interpret([outs.amax, outs.amin, outs.amax0], { x: xv });
    for (const [name, k] of [
      ['amax', 0],
      ['amin', 1],
      ['amax0', 2],
    ] as const) {
      const want = { amax: [1, 0, 1], amin: [0, 1, 0], amax0: [2, 0, 2, 0] }[name];
      expect(Array.from(T.toNumbers(got[name]!)), name).toEqual(want);
      expect(Array.from(T.toNumbers(ref[k]!)), `${name} reference`).toEqual(want);
    }
    expect(got.amax0!.shape).toEqual([1, 4]);
    await rt.close();
  });
});

/** Run `outs` on ONNX Runtime in float32 and in the float64 checking mode. */
async function runBoth(rt: T.Runtime, ins: T.Tensor[], outs: Record<string, T.Tensor>, feeds: Record<string, T.HostTensor>) {
  const f32 = Object.fromEntries(
    Object.entries(feeds).map(([k, v]) => [k, v.dtype === 'float64' ? T.hostTensor('float32', v.shape, T.toNumbers(v)) : v]),
  );
  const a = await rt.run(await rt.load(T.exportOnnx(ins, outs)), f32);
  const b = await rt.run(await rt.load(T.exportOnnx(ins, outs, { float64: true })), feeds);
  return { f32: a, f64: b };
}

const maxRelErr = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.abs(want[i]!));
  return worst;
};

describe('numerics against closed forms and hand-computed values', () => {
  let rt: T.Runtime;
  beforeAll(async () => {
    rt = await T.Runtime.start({ device: 'cpu', threads: 1 });
  });
  afterAll(() => rt.close());

  it('log1p keeps full relative precision near 0 (log(1 + x) would return 0 for 1e-10)', async () => {
    const xs = [1e-10, -3e-8, 1e-5, -0.5, 3, 1e-30, 0];
    const x = T.input('x', [xs.length]);
    const { f32, f64 } = await runBoth(rt, [x], { y: T.log1p(x) }, { x: T.hostTensor('float64', [xs.length], xs) });
    const want32 = xs.map((v) => Math.log1p(Math.fround(v)));
    expect(maxRelErr(T.toNumbers(f32.y!).subarray(0, 6), want32.slice(0, 6))).toBeLessThan(3e-7);
    expect(maxRelErr(T.toNumbers(f64.y!).subarray(0, 6), xs.slice(0, 6).map(Math.log1p))).toBeLessThan(1e-15);
    expect(T.toNumbers(f32.y!)[6]).toBe(0);
  });

  it('softplus is finite and accurate at extreme inputs, in both modes', async () => {
    const xs = [100, -80, 0, 30, -30, 1e-3];
    const x = T.input('x', [xs.length]);
    const { f32, f64 } = await runBoth(rt, [x], { y: T.softplus(x) }, { x: T.hostTensor('float64', [xs.length], xs) });
    // softplus(x) = x + log1p(e^−x) for x > 0, log1p(eˣ) otherwise (exact in float64 here)
    const want = xs.map((v) => (v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v))));
    expect(want[1]).toBeCloseTo(1.8048513878454153e-35, 40);
    expect(maxRelErr(T.toNumbers(f32.y!), want)).toBeLessThan(1e-6);
    expect(maxRelErr(T.toNumbers(f64.y!), want)).toBeLessThan(1e-14);
  });

  it('atan2 takes the right branch on the axes, in every quadrant and at the origin, in both modes', async () => {
    // (y, x) and numpy.arctan2's value: the axes, the four quadrants, the branch cut (y = 0, x < 0 → π), the origin → 0
    const pts: [number, number, number][] = [
      [1, 0, Math.PI / 2],
      [-2, 0, -Math.PI / 2],
      [0, 3, 0],
      [0, -1, Math.PI],
      [0, 0, 0],
      [1, 1, Math.PI / 4],
      [1, -1, (3 * Math.PI) / 4],
      [-1, -1, (-3 * Math.PI) / 4],
      [-1, 1, -Math.PI / 4],
      [1e-30, -1, Math.PI],
    ];
    const y = T.input('y', [pts.length]);
    const x = T.input('x', [pts.length]);
    const feeds = {
      y: T.hostTensor(
        'float64',
        [pts.length],
        pts.map((p) => p[0]),
      ),
      x: T.hostTensor(
        'float64',
        [pts.length],
        pts.map((p) => p[1]),
      ),
    };
    const { f32, f64 } = await runBoth(rt, [y, x], { a: T.atan2(y, x) }, feeds);
    const want = pts.map((p) => p[2]);
    T.toNumbers(f32.a!).forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-6));
    T.toNumbers(f64.a!).forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-6)); // atan in float32 there
  });

  it('cumprod, padReflect and oneHot match hand-computed numpy results', async () => {
    const x = T.input('x', [1, 4]);
    const v = T.input('v', [4]);
    const ids = T.input('ids', [5], 'int64');
    const outs = {
      cp: T.cumprod(x, 1), // np.cumprod([2, 3, .5, 4])
      cpx: T.cumprod(x, 1, { exclusive: true }),
      refl: T.padReflect(v, 0, 2, 3), // np.pad([1, 2, 3, 4], (2, 3), 'reflect')
      oh: T.oneHot(ids, 4),
    };
    const feeds = {
      x: T.hostTensor('float64', [1, 4], [2, 3, 0.5, 4]),
      v: T.hostTensor('float64', [4], [1, 2, 3, 4]),
      ids: T.hostTensor('int64', [5], [2, 0, -1, 4, 3]),
    };
    const want = {
      cp: [2, 6, 3, 12],
      cpx: [1, 2, 6, 3],
      refl: [3, 2, 1, 2, 3, 4, 3, 2, 1],
      oh: [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], // −1 and 4 are outside [0, 4): zero rows
    };
    const { f32, f64 } = await runBoth(rt, [x, v, ids], outs, feeds);
    const ref = T.interpret(Object.values(outs), feeds);
    Object.entries(want).forEach(([k, w], i) => {
      for (const [mode, got] of [
        ['float32', T.toNumbers(f32[k]!)],
        ['float64', T.toNumbers(f64[k]!)],
        ['reference', T.toNumbers(ref[i]!)],
      ] as const) {
        Array.from(got).forEach((g, j) => expect(g, `${k} ${mode} [${j}]`).toBeCloseTo(w[j]!, 5));
      }
    });
  });
});

describe('in-graph STFT against src/audio (librosa conventions)', () => {
  let rt: T.Runtime;
  beforeAll(async () => {
    rt = await T.Runtime.start({ device: 'cpu', threads: 1 });
  });
  afterAll(() => rt.close());

  /** A test signal: two partials and noise, `n` samples, per row. */
  const signal = (rows: number, n: number, seed: number) => {
    const r = T.hostTensor('float64', [rows, n], makeInput({ shape: [rows, n] }, seed).data as Float64Array);
    const d = r.data as Float64Array;
    for (let b = 0; b < rows; b++)
      for (let i = 0; i < n; i++) d[b * n + i] = 0.1 * d[b * n + i]! + Math.sin(0.05 * (b + 1) * i) + 0.5 * Math.cos(0.31 * i);
    return r;
  };
  /** src/audio's |STFT| of each row, concatenated: (B, frames, bins). */
  const audioMagnitude = (x: T.HostTensor, o: Parameters<typeof stft>[1]) => {
    const [B, L] = x.shape as [number, number];
    const rows = Array.from({ length: B }, (_, b) => magnitude(stft((x.data as Float64Array).subarray(b * L, (b + 1) * L), o)));
    const out = new Float64Array(rows.reduce((n, r) => n + r.length, 0));
    rows.forEach((r, b) => out.set(r, b * r.length));
    return out;
  };
  const maxAbsErr = (got: ArrayLike<number>, want: ArrayLike<number>) => {
    expect(got.length).toBe(want.length);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    return worst;
  };

  const settings: Array<{
    name: string;
    L: number;
    engine: T.StftMagnitudeOptions;
    audio: Parameters<typeof stft>[1];
    interpret: boolean;
  }> = [
    {
      name: 'nFft 64, hop 16, reflect',
      L: 300,
      engine: { nFft: 64, hop: 16 },
      audio: { nFft: 64, hop: 16, padMode: 'reflect' },
      interpret: true,
    },
    {
      name: 'nFft 32, winLength 20, hamming, constant',
      L: 150,
      engine: { nFft: 32, hop: 7, winLength: 20, window: makeWindow('hamming', 20), padMode: 'constant' },
      audio: { nFft: 32, hop: 7, winLength: 20, window: 'hamming' },
      interpret: true,
    },
    {
      name: 'nFft 16, not centred, rect',
      L: 61,
      engine: { nFft: 16, hop: 3, center: false, window: 'rect' },
      audio: { nFft: 16, hop: 3, center: false, window: 'rect' },
      interpret: true,
    },
    // Jukebox's largest resolution (window 1200 in an FFT of 2048), ONNX Runtime only (the plain-loop reference is slow here)
    {
      name: 'nFft 2048, hop 240, winLength 1200, reflect',
      L: 3000,
      engine: { nFft: 2048, hop: 240, winLength: 1200 },
      audio: { nFft: 2048, hop: 240, winLength: 1200, padMode: 'reflect' },
      interpret: false,
    },
  ];
  for (const c of settings) {
    it(`${c.name}: float64 within 1e-6 of src/audio, float32 within 1e-4 relative`, async () => {
      const xh = signal(2, c.L, 7);
      const x = T.input('x', [2, c.L]);
      const y = T.stftMagnitude(x, c.engine);
      const want = audioMagnitude(xh, c.audio);
      const { f32, f64 } = await runBoth(rt, [x], { y }, { x: xh });
      expect(maxAbsErr(T.toNumbers(f64.y!), want)).toBeLessThan(1e-6);
      if (c.interpret) expect(maxAbsErr(T.interpret([y], { x: xh })[0]!.data as Float64Array, want)).toBeLessThan(1e-6);
      const peak = want.reduce((m, v) => Math.max(m, v), 0);
      expect(maxAbsErr(T.toNumbers(f32.y!), want) / peak).toBeLessThan(1e-4);
    });
  }

  it('spectral losses equal the formulas evaluated on src/audio magnitudes', async () => {
    const L = 200;
    const xh = signal(2, L, 3);
    const yh = signal(2, L, 4);
    const x = T.input('x', [2, L]);
    const yIn = T.input('y', [2, L]);
    const res = [
      { nFft: 64, hop: 16, winLength: 48 },
      { nFft: 32, hop: 8, winLength: 32 },
    ];
    const mx = T.stftMagnitude(x, res[0]!);
    const my = T.stftMagnitude(yIn, res[0]!);
    const outs = { mr: T.multiResolutionStftLoss(x, yIn, res), sc: T.spectralConvergence(mx, my), lm: T.logMagnitudeL1(mx, my, 1e-7) };
    // the oracle: the definitions written out over src/audio's magnitudes
    const perRow = (a: Float64Array, b: Float64Array, f: (p: Float64Array, q: Float64Array) => number) => {
      const n = a.length / 2;
      return (f(a.subarray(0, n), b.subarray(0, n)) + f(a.subarray(n), b.subarray(n))) / 2;
    };
    const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, e) => s + e * e, 0));
    const diff = (p: Float64Array, q: Float64Array) => p.map((v, i) => v - q[i]!);
    const mag = (h: T.HostTensor, r: T.StftMagnitudeOptions) =>
      audioMagnitude(h, { ...r, padMode: 'reflect' } as Parameters<typeof stft>[1]);
    const wantMr = res.reduce((s, r) => s + perRow(mag(xh, r), mag(yh, r), (p, q) => norm(diff(p, q))), 0);
    const ax = mag(xh, res[0]!);
    const ay = mag(yh, res[0]!);
    const wantSc = perRow(ax, ay, (p, q) => norm(diff(p, q)) / norm(p));
    const wantLm = ax.reduce((s, v, i) => s + Math.abs(Math.log(v + 1e-7) - Math.log(ay[i]! + 1e-7)), 0) / ax.length;
    const { f32, f64 } = await runBoth(rt, [x, yIn], outs, { x: xh, y: yh });
    for (const [k, w] of [
      ['mr', wantMr],
      ['sc', wantSc],
      ['lm', wantLm],
    ] as const) {
      expect(Math.abs((T.toNumbers(f64[k]!)[0]! - w) / w), `${k} float64`).toBeLessThan(1e-9);
      expect(Math.abs((T.toNumbers(f32[k]!)[0]! - w) / w), `${k} float32`).toBeLessThan(1e-4);
    }
  });
});

/**
 * Why `device` cannot run the table here (undefined when it can): start it and run one tiny graph.
 * WebGPU needs a GPU adapter (Vulkan on Linux), CUDA needs onnxruntime-node's CUDA binaries.
 */
async function unavailable(device: T.Device): Promise<string | undefined> {
  let rt: T.Runtime | undefined;
  try {
    rt = await T.Runtime.start({ device, threads: 1 });
    const x = T.input('x', [2]);
    await rt.run(await rt.load(T.exportOnnx([x], { y: T.exp(x) })), { x: T.hostTensor('float32', [2], [0, 1]) });
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  } finally {
    await rt?.close();
  }
}

// CPU always; WebGPU and CUDA wherever they start. A provider that cannot start is skipped with
// its reason in the test name and on the console — never silently.
const PROVIDERS: Array<{ device: T.Device; skip?: string }> = [
  { device: 'cpu' },
  ...(await Promise.all((['webgpu', 'cuda'] as const).map(async (device) => ({ device, skip: await unavailable(device) })))),
];

for (const { device, skip } of PROVIDERS) {
  if (skip) {
    console.log(`op table on ${device}: skipped — ${skip}`);
    describe.skip(`op table on ${device}: skipped — ${skip}`, () => {
      it('every row', () => {});
    });
    continue;
  }
  // The finite-difference check runs only the reference: once (on CPU) is enough.
  const fd = device === 'cpu';
  describe(`op table on ${device} (ORT at opsets 16/18/20 vs reference${fd ? '; gradients vs finite differences' : ''}; float64 gradient graphs)`, () => {
    let rt: T.Runtime;
    beforeAll(async () => {
      rt = await T.Runtime.start({ device, threads: 1 });
      console.log(`op table runs on ${rt.description}`);
    });
    afterAll(() => rt.close());
    for (const c of OPS) it(c.name, () => checkOp(c, rt, 1, [16, 18, 20], { finiteDifferences: fd }));
  });
}

describe('engine modules', () => {
  it('import each other without a cycle (type-only imports are erased and do not count)', () => {
    const root = resolve(import.meta.dirname, '../../src/engine');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(root, f));
    const edges = new Map<string, string[]>();
    for (const f of files) {
      const src = readFileSync(f, 'utf8');
      const deps: string[] = [];
      for (const m of src.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?\bfrom\s+'(\.[^']+)'/gms)) {
        if (!m[1]) deps.push(resolve(dirname(f), m[2]!));
      }
      edges.set(
        f,
        deps.filter((d) => d.startsWith(root)),
      );
    }
    expect(edges.get(join(root, 'ops/reduce.ts'))).toContain(join(root, 'ops/elementwise.ts')); // the parser sees imports
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(root, p)).join(' → '));
        return;
      }
      state.set(f, 'open');
      for (const d of edges.get(f) ?? []) visit(d, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
