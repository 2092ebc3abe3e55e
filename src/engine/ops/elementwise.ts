/**
 * Elementwise ops: arithmetic with numpy broadcasting, unary math, comparisons, where, cast.
 * Gradients of broadcast inputs are summed back to the input's shape (sumTo).
 */
import { type DType, hostTensor, isFloat } from '../dtype.ts';
import { broadcastMap, broadcastShapes, defineOp, type LowerCtx, type OpDef, type RefArray, roundTo } from '../op.ts';
import { constant, Tensor } from '../tensor.ts';
import { expand, reshape, sum, sumTo } from './shape.ts';

export type TensorLike = Tensor | number;

/** A scalar constant of `dtype`, broadcastable against anything. */
export function scalar(value: number, dtype: DType = 'float32'): Tensor {
  return constant(hostTensor(dtype, [], [value]));
}

/** A constant filled with `value`. */
export function full(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  return expand(scalar(value, dtype), shape);
}

const lift = (x: TensorLike, like: Tensor): Tensor => (x instanceof Tensor ? x : scalar(x, like.dtype));

function pair(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (a instanceof Tensor) return [a, lift(b, a)];
  if (b instanceof Tensor) return [lift(a, b), b];
  return [scalar(a), scalar(b)];
}

// ---------------------------------------------------------------------------------------------
// Binary arithmetic

type BinaryVjp = (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor | null, Tensor | null];

function binaryOp(name: string, onnx: string, f: (a: number, b: number) => number, vjp: BinaryVjp | undefined, resultDtype?: DType) {
  const def: OpDef = {
    name,
    infer([a, b], _attrs, fail) {
      if (a!.dtype !== b!.dtype) fail(`dtypes differ (${a!.dtype} vs ${b!.dtype})`, 'cast one side with cast(x, dtype)');
      const shape = broadcastShapes(a!.shape, b!.shape);
      if (!shape) fail(`shapes [${a!.shape}] and [${b!.shape}] do not broadcast`, 'numpy rules: trailing dimensions must be equal or 1');
      return { shape: shape!, dtype: resultDtype ?? a!.dtype };
    },
    vjp: vjp
      ? (g, [a, b], out) => {
          const [ga, gb] = vjp(g, a!, b!, out);
          return [ga && sumTo(ga, a!.shape), gb && sumTo(gb, b!.shape)];
        }
      : undefined,
    lower: (ctx, ins) => ctx.emit(onnx, ins),
    ref: ([a, b], _attrs, out) => broadcastMap([a!, b!], out.shape, (x, y) => roundTo(out.dtype, f(x, y))),
  };
  const apply = defineOp(def);
  return (a: TensorLike, b: TensorLike) => apply(pair(a, b), {});
}

export const add = binaryOp(
  'add',
  'Add',
  (a, b) => a + b,
  (g) => [g, g],
);
export const sub = binaryOp(
  'sub',
  'Sub',
  (a, b) => a - b,
  (g) => [g, neg(g)],
);
export const mul = binaryOp(
  'mul',
  'Mul',
  (a, b) => a * b,
  (g, a, b) => [mul(g, b), mul(g, a)],
);
export const div = binaryOp(
  'div',
  'Div',
  (a, b) => a / b,
  (g, _a, b, out) => [div(g, b), neg(div(mul(g, out), b))],
);
/** a^b for a > 0 (or integer b); d/db uses log(a). */
export const pow = binaryOp(
  'pow',
  'Pow',
  (a, b) => a ** b,
  (g, a, b, out) => [mul(g, mul(b, pow(a, sub(b, 1)))), mul(g, mul(out, log(a)))],
);
export const maximum = binaryOp('maximum', 'Max', Math.max, (g, a, b) => {
  const m = greaterEqual(a, b);
  return [where(m, g, 0), where(m, 0, g)];
});
export const minimum = binaryOp('minimum', 'Min', Math.min, (g, a, b) => {
  const m = lessEqual(a, b);
  return [where(m, g, 0), where(m, 0, g)];
});

// Comparisons return bool and have no gradient.
export const equal = binaryOp('equal', 'Equal', (a, b) => +(a === b), undefined, 'bool');
export const less = binaryOp('less', 'Less', (a, b) => +(a < b), undefined, 'bool');
export const greater = binaryOp('greater', 'Greater', (a, b) => +(a > b), undefined, 'bool');
export const lessEqual = binaryOp('lessEqual', 'LessOrEqual', (a, b) => +(a <= b), undefined, 'bool');
export const greaterEqual = binaryOp('greaterEqual', 'GreaterOrEqual', (a, b) => +(a >= b), undefined, 'bool');

// ---------------------------------------------------------------------------------------------
// Unary math

function unaryOp(
  name: string,
  lowerOp: string | ((ctx: LowerCtx, x: string, dtype: DType) => string),
  f: (x: number) => number,
  vjp: ((g: Tensor, x: Tensor, out: Tensor) => Tensor) | undefined,
  floatOnly = true,
) {
  const apply = defineOp({
    name,
    infer([x], _a, fail) {
      if (floatOnly && !isFloat(x!.dtype)) fail(`needs a float tensor, got ${x!.dtype}`, 'cast(x, "float32") first');
      return { shape: [...x!.shape], dtype: x!.dtype };
    },
    vjp: vjp ? (g, [x], out) => [vjp(g, x!, out)] : undefined,
    lower: (ctx, [x], _a, node) => (typeof lowerOp === 'string' ? ctx.emit(lowerOp, [x!]) : lowerOp(ctx, x!, node.dtype)),
    ref: ([x], _a, out) => x!.data.map((v) => roundTo(out.dtype, f(v))),
  });
  return (x: Tensor) => apply([x], {});
}

export const neg = unaryOp(
  'neg',
  'Neg',
  (x) => -x,
  (g) => neg(g),
  false,
);
export const exp = unaryOp('exp', 'Exp', Math.exp, (g, _x, out) => mul(g, out));
export const log = unaryOp('log', 'Log', Math.log, (g, x) => div(g, x));
export const sqrt = unaryOp('sqrt', 'Sqrt', Math.sqrt, (g, _x, out) => div(g, mul(out, 2)));
export const tanh = unaryOp('tanh', 'Tanh', Math.tanh, (g, _x, out) => mul(g, sub(1, mul(out, out))));
export const sigmoid = unaryOp(
  'sigmoid',
  'Sigmoid',
  (x) => 1 / (1 + Math.exp(-x)),
  (g, _x, out) => mul(g, mul(out, sub(1, out))),
);
export const abs = unaryOp('abs', 'Abs', Math.abs, (g, x) => mul(g, sign(x)), false);
export const sign = unaryOp('sign', 'Sign', Math.sign, (g) => mul(g, 0), false);
export const relu = unaryOp(
  'relu',
  'Relu',
  (x) => Math.max(0, x),
  (g, x) => where(greater(x, 0), g, 0),
);
export const sin = unaryOp('sin', 'Sin', Math.sin, (g, x) => mul(g, cos(x)));
export const cos = unaryOp('cos', 'Cos', Math.cos, (g, x) => neg(mul(g, sin(x))));
/** ELU with alpha 1: x for x > 0, exp(x) − 1 otherwise (MCNN's activation). */
export const elu = unaryOp(
  'elu',
  // No float64 Elu kernel on the CPU provider: checking mode lowers it to primitives.
  (ctx, x, dtype) => {
    if (!ctx.float64) return ctx.emit('Elu', [x]);
    const positive = ctx.emit('Greater', [x, ctx.scalar(0, dtype)]);
    return ctx.emit('Where', [positive, x, ctx.emit('Sub', [ctx.emit('Exp', [x]), ctx.scalar(1, dtype)])]);
  },
  (x) => (x > 0 ? x : Math.expm1(x)),
  (g, x, out) => where(greater(x, 0), g, mul(g, add(out, 1))),
);

/**
 * log(1 + x) without log's cancellation near 0: with u = 1 + x rounded, log(u)·x/(u − 1) divides
 * out u's rounding error (Goldberg, "What every computer scientist should know about
 * floating-point arithmetic", thm. 4); where u rounds to 1, log1p(x) = x to working precision.
 * ONNX has no Log1p, so this is its lowering in both modes.
 */
function lowerLog1p(ctx: LowerCtx, x: string, dtype: DType): string {
  const u = ctx.emit('Add', [x, ctx.scalar(1, dtype)]);
  const um1 = ctx.emit('Sub', [u, ctx.scalar(1, dtype)]);
  const corrected = ctx.emit('Div', [ctx.emit('Mul', [ctx.emit('Log', [u]), x]), um1]);
  return ctx.emit('Where', [ctx.emit('Equal', [um1, ctx.scalar(0, dtype)]), x, corrected]);
}

export const log1p = unaryOp('log1p', lowerLog1p, Math.log1p, (g, x) => div(g, add(x, 1)));

/**
 * softplus(x) = log(1 + eˣ), computed as max(x, 0) + log1p(e^−|x|) so that eˣ never overflows.
 * ONNX Runtime's float32 Softplus kernel is stable too (checked at 100 and −80 in ops.test.ts); it
 * has no float64 kernel, so checking mode lowers the formula to primitives.
 */
export const softplus = unaryOp(
  'softplus',
  (ctx, x, dtype) => {
    if (!ctx.float64) return ctx.emit('Softplus', [x]);
    const negAbs = ctx.emit('Neg', [ctx.emit('Abs', [x])]);
    return ctx.emit('Add', [ctx.emit('Max', [x, ctx.scalar(0, dtype)]), lowerLog1p(ctx, ctx.emit('Exp', [negAbs]), dtype)]);
  },
  (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  (g, x) => mul(g, sigmoid(x)),
);

/**
 * The error function. ONNX Runtime's CPU provider has no float64 Erf kernel, so float64 checking
 * mode computes it in float32 (about 1e-7 relative error; gradients never need erf itself).
 */
export const erf = unaryOp(
  'erf',
  (ctx, x, dtype) => {
    if (!ctx.float64) return ctx.emit('Erf', [x]);
    const FLOAT = 1; // TensorProto.FLOAT: the only Erf kernel on the CPU provider
    const f32 = ctx.emit('Cast', [x], { to: { int: FLOAT } });
    return ctx.emit('Cast', [ctx.emit('Erf', [f32])], { to: { int: ctx.onnxType(dtype) } });
  },
  erfRef,
  (g, x) => mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI))),
);

/** erf to ~1e-15 (series for small |x|, continued fraction for the tail): the reference oracle. */
export function erfRef(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: erf x = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let acc = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const t = term / (2 * n + 1);
      acc += t;
      if (Math.abs(t) < 1e-17 * Math.abs(acc)) break;
    }
    return Math.sign(x) * acc * (2 / Math.sqrt(Math.PI));
  }
  // erfc x = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) (Lentz-free backward evaluation)
  let frac = ax;
  for (let k = 60; k >= 1; k--) frac = ax + k / 2 / frac;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / frac;
  return Math.sign(x) * (1 - erfc);
}

// ---------------------------------------------------------------------------------------------
// stopGradient

const stopGradientOp = defineOp({
  name: 'stopGradient',
  infer: ([x]) => ({ shape: [...x!.shape], dtype: x!.dtype }),
  vjp: () => [null],
  lower: (ctx, [x]) => ctx.emit('Identity', [x!]),
  ref: ([x]) => Float64Array.from(x!.data),
});
/**
 * The identity whose gradient is zero: what straight-through estimators (x + stopGradient(q − x))
 * and commitment losses need. Finite differences see the identity, so its table row carries the
 * expected gradient instead.
 */
export const stopGradient = (x: Tensor): Tensor => stopGradientOp([x], {});

// ---------------------------------------------------------------------------------------------
// where, cast

const whereOp = defineOp({
  name: 'where',
  infer([c, a, b], _attrs, fail) {
    if (c!.dtype !== 'bool') fail(`condition must be bool, got ${c!.dtype}`, 'compare with less/greater/equal to get a bool');
    if (a!.dtype !== b!.dtype) fail(`branch dtypes differ (${a!.dtype} vs ${b!.dtype})`);
    const s1 = broadcastShapes(a!.shape, b!.shape);
    const shape = s1 && broadcastShapes(c!.shape, s1);
    if (!shape) fail('shapes do not broadcast');
    return { shape: shape!, dtype: a!.dtype };
  },
  vjp: (g, [c, a, b]) => [null, sumTo(where(c!, g, 0), a!.shape), sumTo(where(c!, 0, g), b!.shape)],
  lower: (ctx, ins) => ctx.emit('Where', ins),
  ref: ([c, a, b], _attrs, out) => broadcastMap([c!, a!, b!], out.shape, (cv, x, y) => (cv ? x : y)),
});

/** cond ? a : b, elementwise with broadcasting. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = pair(a, b);
  return whereOp([cond, ta, tb], {});
}

const castOp = defineOp<{ to: DType }>({
  name: 'cast',
  infer: ([x], { to }) => ({ shape: [...x!.shape], dtype: to }),
  vjp: (g, [x]) => [isFloat(x!.dtype) && isFloat(g.dtype) ? cast(g, x!.dtype) : null],
  lower: (ctx, [x], { to }) => ctx.emit('Cast', [x!], { to: { int: ctx.onnxType(to) } }),
  ref: ([x], { to }) => x!.data.map((v) => roundTo(to, v)),
});

export function cast(x: Tensor, to: DType): Tensor {
  return x.dtype === to ? x : castOp([x], { to });
}

/** Total of all elements as a scalar. */
export const sumAll = (x: Tensor) => reshape(sum(x, [...x.shape.keys()]), []);

export type { RefArray };

// ---------------------------------------------------------------------------------------------
// atan2

/**
 * Keeps atan2's gradient finite at the origin, where the angle is undefined (0/0 otherwise): it
 * returns a zero gradient there and changes |∇| only where x² + y² is below ~1e-20.
 */
const ATAN2_EPS = 1e-30;

const atan2Op = defineOp({
  name: 'atan2',
  infer([y, x], _attrs, fail) {
    if (!isFloat(y!.dtype)) fail(`needs float tensors, got ${y!.dtype}`, 'cast(x, "float32") first');
    if (y!.dtype !== x!.dtype) fail(`dtypes differ (${y!.dtype} vs ${x!.dtype})`);
    const shape = broadcastShapes(y!.shape, x!.shape);
    if (!shape) fail(`shapes [${y!.shape}] and [${x!.shape}] do not broadcast`);
    return { shape: shape!, dtype: y!.dtype };
  },
  // ∂/∂y = x / (x² + y²), ∂/∂x = −y / (x² + y²)
  vjp(g, [y, x]) {
    const r2 = add(add(mul(x!, x!), mul(y!, y!)), ATAN2_EPS);
    return [sumTo(div(mul(g, x!), r2), y!.shape), sumTo(neg(div(mul(g, y!), r2)), x!.shape)];
  },
  // ONNX has no Atan2: atan(y/x) corrected by ±π in the left half-plane, ±π/2 on the y axis (where
  // y/x is ±inf or 0/0 — Where discards that branch). The CPU provider's Atan has float kernels
  // only, so checking mode evaluates the atan in float32, as erf does (~1e-7 relative).
  lower(ctx, [y, x], _a, node) {
    const dt = node.dtype;
    let a = ctx.emit('Div', [y!, x!]);
    if (ctx.float64) {
      const FLOAT = 1; // TensorProto.FLOAT
      a = ctx.emit('Cast', [ctx.emit('Atan', [ctx.emit('Cast', [a], { to: { int: FLOAT } })])], { to: { int: ctx.onnxType(dt) } });
    } else a = ctx.emit('Atan', [a]);
    const zero = ctx.scalar(0, dt);
    const yNonNeg = ctx.emit('GreaterOrEqual', [y!, zero]);
    const left = ctx.emit('Where', [yNonNeg, ctx.emit('Add', [a, ctx.scalar(Math.PI, dt)]), ctx.emit('Sub', [a, ctx.scalar(Math.PI, dt)])]);
    const axis = ctx.emit('Where', [
      ctx.emit('Greater', [y!, zero]),
      ctx.scalar(Math.PI / 2, dt),
      ctx.emit('Where', [ctx.emit('Less', [y!, zero]), ctx.scalar(-Math.PI / 2, dt), zero]),
    ]);
    const notRight = ctx.emit('Where', [ctx.emit('Less', [x!, zero]), left, axis]);
    return ctx.emit('Where', [ctx.emit('Greater', [x!, zero]), a, notRight]);
  },
  ref: ([y, x], _attrs, out) => broadcastMap([y!, x!], out.shape, (yv, xv) => roundTo(out.dtype, Math.atan2(yv, xv))),
});

/** The angle of the point (x, y) in (−π, π] (numpy.arctan2): the phase of x + iy. */
export const atan2 = (y: TensorLike, x: TensorLike): Tensor => atan2Op(pair(y, x), {});
