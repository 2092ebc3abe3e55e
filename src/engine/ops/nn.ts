/**
 * Fused neural-network ops with composite gradients: layer normalization and exact (erf) GELU.
 * ONNX Runtime's graph optimizer does not fuse these in training graphs (their intermediates feed
 * the backward pass), so Tony emits the fused ONNX ops itself and writes their VJPs from primitives.
 */
import { defineOp, type LowerCtx } from '../op.ts';
import type { Tensor } from '../tensor.ts';
import { add, div, erf, erfRef, exp, mul, sqrt, sub } from './elementwise.ts';
import { mean } from './reduce.ts';
import { sumTo } from './shape.ts';

// ---------------------------------------------------------------------------------------------
// LayerNorm over the last axis: y = (x − μ) / √(σ² + eps) · w + b

const layerNormOp = defineOp<{ eps: number }>({
  name: 'layerNorm',
  infer([x, w, b], _a, fail) {
    const c = x!.shape[x!.rank - 1];
    if (w!.rank !== 1 || w!.shape[0] !== c || b!.rank !== 1 || b!.shape[0] !== c) {
      fail(`weight and bias must be [${c}] (the last axis)`);
    }
    if (w!.dtype !== x!.dtype || b!.dtype !== x!.dtype) fail('dtypes differ');
    return { shape: [...x!.shape], dtype: x!.dtype };
  },
  vjp(g, [x, w], _out, { eps }) {
    // Recompute the normalised input (cheap) rather than stashing mean/rstd as extra outputs.
    const mu = mean(x!, -1, true);
    const xc = sub(x!, mu);
    const rstd = div(1, sqrt(add(mean(mul(xc, xc), -1, true), eps)));
    const xhat = mul(xc, rstd);
    const gxhat = mul(g, w!);
    const gx = mul(rstd, sub(sub(gxhat, mean(gxhat, -1, true)), mul(xhat, mean(mul(gxhat, xhat), -1, true))));
    return [gx, sumTo(mul(g, xhat), w!.shape), sumTo(g, w!.shape)];
  },
  lower(ctx, [x, w, b], { eps }) {
    // No float64 LayerNormalization kernel on the CPU provider (and none before opset 17).
    if (!ctx.float64 && ctx.opset >= 17) {
      return ctx.emit('LayerNormalization', [x!, w!, b!], { axis: { int: -1 }, epsilon: { float: eps } });
    }
    return lowerLayerNormPrimitives(ctx, x!, w!, b!, eps);
  },
  ref([x, w, b], { eps }) {
    const c = w!.data.length;
    const out = new Float64Array(x!.data.length);
    for (let r = 0; r < x!.data.length / c; r++) {
      let mu = 0;
      for (let i = 0; i < c; i++) mu += x!.data[r * c + i]!;
      mu /= c;
      let v = 0;
      for (let i = 0; i < c; i++) v += (x!.data[r * c + i]! - mu) ** 2;
      const rstd = 1 / Math.sqrt(v / c + eps);
      for (let i = 0; i < c; i++) out[r * c + i] = (x!.data[r * c + i]! - mu) * rstd * w!.data[i]! + b!.data[i]!;
    }
    return out;
  },
});

function lowerLayerNormPrimitives(ctx: LowerCtx, x: string, w: string, b: string, eps: number): string {
  const reduceMean = (t: string) =>
    ctx.opset >= 18
      ? ctx.emit('ReduceMean', [t, ctx.int64s([-1])], { keepdims: { int: 1 } })
      : ctx.emit('ReduceMean', [t], { axes: { ints: [-1] }, keepdims: { int: 1 } });
  const xc = ctx.emit('Sub', [x, reduceMean(x)]);
  const variance = reduceMean(ctx.emit('Mul', [xc, xc]));
  const std = ctx.emit('Sqrt', [ctx.emit('Add', [variance, ctx.scalar(eps, 'float32')])]);
  return ctx.emit('Add', [ctx.emit('Mul', [ctx.emit('Div', [xc, std]), w]), b]);
}

/** Layer normalization over the last axis with weight `w` and bias `b`. */
export const layerNorm = (x: Tensor, w: Tensor, b: Tensor, eps = 1e-5) => layerNormOp([x, w, b], { eps });

// ---------------------------------------------------------------------------------------------
// GELU, exact: x · Φ(x) with Φ the standard normal CDF.

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

const geluOp = defineOp({
  name: 'gelu',
  infer: ([x], _a, fail) => {
    if (x!.dtype !== 'float32' && x!.dtype !== 'float64') fail(`needs a float tensor, got ${x!.dtype}`);
    return { shape: [...x!.shape], dtype: x!.dtype };
  },
  vjp(g, [x]) {
    const cdf = mul(add(erf(mul(x!, SQRT1_2)), 1), 0.5);
    const pdf = mul(exp(mul(mul(x!, x!), -0.5)), INV_SQRT_2PI);
    return [mul(g, add(cdf, mul(x!, pdf)))];
  },
  lower(ctx, [x], _a, node) {
    if (ctx.opset >= 20 && !ctx.float64) return ctx.emit('Gelu', [x!], { approximate: { str: 'none' } });
    // 0.5 · x · (1 + erf(x / √2)), with erf lowered as the erf op does (float32 in checking mode)
    const FLOAT = 1;
    let z = ctx.emit('Mul', [x!, ctx.scalar(SQRT1_2, 'float32')]);
    if (ctx.float64) z = ctx.emit('Cast', [z], { to: { int: FLOAT } });
    let e = ctx.emit('Erf', [z]);
    if (ctx.float64) e = ctx.emit('Cast', [e], { to: { int: ctx.onnxType(node.dtype) } });
    const onePlus = ctx.emit('Add', [e, ctx.scalar(1, 'float32')]);
    return ctx.emit('Mul', [ctx.emit('Mul', [x!, onePlus]), ctx.scalar(0.5, 'float32')]);
  },
  ref: ([x]) => x!.data.map((v) => 0.5 * v * (1 + erfRef(v * SQRT1_2))),
});

/** Exact GELU (nanoGPT's nn.GELU()). */
export const gelu = (x: Tensor) => geluOp([x], {});
