/**
 * Random tensors with explicit seeds (ONNX RandomUniform / RandomNormal) and dropout built from them.
 *
 * What ONNX Runtime makes deterministic (measured on onnxruntime-node 1.30, CPU provider; the tests
 * in test/engine/random.test.ts check each point):
 *  - same seed, fresh session → the same values on the first run;
 *  - later runs of the same session continue that node's generator stream (so dropout masks change
 *    from step to step), and run k of a fresh session is reproducible;
 *  - every node owns its generator: two nodes with the same seed draw the same values — give
 *    every dropout layer its own seed;
 *  - float32 and float64 (checking mode) draw different values from the same seed;
 *  - Runtime.load caches sessions by model content, so loading an identical model again returns
 *    the same session and continues its stream; start a new Runtime for a fresh one.
 *
 * ORT's generator is the C++ standard library's default engine (minstd_rand0 here: the first
 * uniform draw for seed s is ≈ s·16807 / 2³¹), seeded from a float32 attribute truncated to an
 * integer. Fed directly, seeds 0 and 1 give the same stream, 1.5 means 1, integers past 2²⁴ collide,
 * and small seeds start every stream with a near-zero draw. Tony therefore takes integer seeds in
 * [0, 2²⁴ − 1) and hands ORT a scrambled one (ortSeed), a bijection onto [1, 2²⁴ − 1].
 *
 * The reference implementation cannot reproduce ORT's bits: it is a seeded PRNG with the same
 * distribution (mulberry32, Box–Muller), always on its first draw. Tests of the ONNX lowering are
 * statistical; the reference makes graphs with dropout deterministic for finite differences.
 */

import { TonyError } from '../../errors.ts';
import { mulberry32 } from '../../random.ts';
import { type DType, isFloat } from '../dtype.ts';
import { defineOp } from '../op.ts';
import { fmt, type Tensor } from '../tensor.ts';
import { greaterEqual, mul, where } from './elementwise.ts';

/** Seeds are integers below this: 2²⁴ − 1, so every scrambled seed is exact in a float32 attribute. */
const SEED_LIMIT = 2 ** 24 - 1;
/** ⌊2²⁴/φ⌋, coprime to SEED_LIMIT: multiplying by it permutes [0, SEED_LIMIT) and spreads neighbours. */
const SEED_MIXER = 0x9e3779;

/**
 * The seed ONNX Runtime sees for Tony seed `seed`: distinct seeds stay distinct, never 0 (≡ 1 in
 * ORT), and small seeds land far apart (seed 0 is not ORT's near-zero-first-draw seed 1).
 */
export const ortSeed = (seed: number) => 1 + (((seed + 1) * SEED_MIXER) % SEED_LIMIT);

interface RandomAttrs extends Record<string, unknown> {
  shape: number[];
  dtype: DType;
  seed: number;
  /** uniform: low/high; normal: mean/std */
  a: number;
  b: number;
}

function inferRandom(kind: 'uniform' | 'normal') {
  return (_ins: readonly Tensor[], { shape, dtype, seed, a, b }: RandomAttrs, fail: (msg: string, hint?: string) => never) => {
    if (shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`bad shape ${fmt(shape)}`);
    if (!isFloat(dtype)) fail(`dtype must be float32 or float64, got ${dtype}`, 'cast the result instead');
    if (!Number.isInteger(seed) || seed < 0 || seed >= SEED_LIMIT) {
      fail(`seed must be an integer in [0, ${SEED_LIMIT}), got ${seed}`, 'ONNX Runtime takes seeds as float32 attributes');
    }
    if (kind === 'uniform' && !(Number.isFinite(a) && Number.isFinite(b) && a < b)) fail(`need finite low < high, got low ${a}, high ${b}`);
    if (kind === 'normal' && !(Number.isFinite(a) && Number.isFinite(b) && b > 0))
      fail(`need a finite mean and std > 0, got mean ${a}, std ${b}`);
    return { shape: [...shape], dtype };
  };
}

const randomUniformOp = defineOp<RandomAttrs>({
  name: 'randomUniform',
  infer: inferRandom('uniform'),
  // no vjp: a random tensor has no inputs to differentiate
  lower: (ctx, _ins, { shape, dtype, seed, a, b }) =>
    ctx.emit('RandomUniform', [], {
      shape: { ints: shape },
      dtype: { int: ctx.onnxType(dtype) },
      seed: { float: ortSeed(seed) },
      low: { float: a },
      high: { float: b },
    }),
  ref: (_ins, { shape, seed, a, b }) => {
    const next = mulberry32(seed);
    return Float64Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => a + (b - a) * next());
  },
});

const randomNormalOp = defineOp<RandomAttrs>({
  name: 'randomNormal',
  infer: inferRandom('normal'),
  lower: (ctx, _ins, { shape, dtype, seed, a, b }) =>
    ctx.emit('RandomNormal', [], {
      shape: { ints: shape },
      dtype: { int: ctx.onnxType(dtype) },
      seed: { float: ortSeed(seed) },
      mean: { float: a },
      scale: { float: b },
    }),
  ref: (_ins, { shape, seed, a, b }) => {
    const next = mulberry32(seed);
    // Box–Muller; 1 − u keeps the logarithm's argument in (0, 1]
    return Float64Array.from(
      { length: shape.reduce((p, d) => p * d, 1) },
      () => a + b * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
    );
  },
});

export interface RandomUniformOptions {
  /** Default 0. */
  low?: number;
  /** Default 1 (exclusive). */
  high?: number;
  /** Integer in [0, 2²⁴ − 1); required — Tony has no hidden global seed. */
  seed: number;
  /** float32 (default) or float64. */
  dtype?: DType;
}

export interface RandomNormalOptions {
  mean?: number;
  std?: number;
  seed: number;
  dtype?: DType;
}

/**
 * Uniform samples in [low, high) of `shape`, from ONNX RandomUniform with an explicit seed.
 *
 *   const u = randomUniform([B, T], { seed: 7 }); // a new draw each run of the session
 */
export const randomUniform = (shape: readonly number[], o: RandomUniformOptions): Tensor =>
  randomUniformOp([], { shape: [...shape], dtype: o.dtype ?? 'float32', seed: o.seed, a: o.low ?? 0, b: o.high ?? 1 });

/** Normal samples N(mean, std²) of `shape`, from ONNX RandomNormal with an explicit seed. */
export const randomNormal = (shape: readonly number[], o: RandomNormalOptions): Tensor =>
  randomNormalOp([], { shape: [...shape], dtype: o.dtype ?? 'float32', seed: o.seed, a: o.mean ?? 0, b: o.std ?? 1 });

/**
 * Inverted dropout: zero each element with probability p and scale the survivors by 1/(1 − p), so
 * the expectation is unchanged; the identity when p = 0 (use that at evaluation). The mask is one
 * node shared by the forward pass and the gradient (which flows only through kept elements), and
 * changes from run to run of a session; give each dropout site its own seed.
 */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  if (!(p >= 0 && p < 1))
    throw new TonyError('usage', `dropout: p must be in [0, 1), got ${p}`, 'p is the probability of dropping an element');
  if (p === 0) return x;
  const keep = greaterEqual(randomUniform(x.shape, { seed, dtype: x.dtype }), p); // P(keep) = 1 − p
  return where(keep, mul(x, 1 / (1 - p)), 0);
}
