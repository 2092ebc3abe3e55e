/**
 * Fused neural-network ops with composite gradients: layer normalization, exact (erf) GELU, and
 * attention that recomputes its probabilities for the backward pass. ONNX Runtime's graph
 * optimizer does not fuse these in training graphs (their intermediates feed the backward pass),
 * so Tony emits the fused ONNX ops itself and writes their VJPs from primitives.
 */
import { broadcastShapes, defineOp, type LowerCtx } from '../op.ts';
import type { Tensor } from '../tensor.ts';
import { add, div, erf, erfRef, exp, mul, sqrt, sub } from './elementwise.ts';
import { matmul } from './linalg.ts';
import { mean, softmax } from './reduce.ts';
import { sum, sumTo, transposeLast } from './shape.ts';

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

// ---------------------------------------------------------------------------------------------
// Attention whose backward pass recomputes its probabilities: y = softmax(q·kᵀ·scale + mask)·v

/**
 * Composed from matmul and softmax, attention keeps its (…, Tq, Tk) probabilities from the forward
 * pass to the backward: at GPT-2-small's shape and T = 1,024, 31 MB per layer after the causal
 * blocks, the largest thing a training step holds (docs/results/engine.md, issue 22). As one op, the
 * forward pass frees them after the product with v, and the VJP recomputes them from q and k — one
 * more (Tq, Tk) product and softmax per call, as PyTorch's flash attention does on the CPU. The
 * recomputation scales k where the forward pass scales q: the same product up to float32 rounding,
 * but not the same nodes, so ONNX Runtime's common-subexpression elimination cannot merge the two
 * (and hold the scores from the forward pass again). The mask gets no gradient.
 */
const attendOp = defineOp<{ scale: number }>({
  name: 'attend',
  infer([q, k, v, mask], _a, fail) {
    if (q!.rank !== 4 || k!.rank !== 4 || v!.rank !== 4) fail('q, k and v must be (B, heads, T, head size)');
    const [B, H, Tq, hs] = q!.shape as [number, number, number, number];
    const [Bk, Hk, Tk, hk] = k!.shape as [number, number, number, number];
    if (Bk !== B || Hk !== H || hk !== hs) fail('k must be (B, heads, Tk, head size) as q');
    if (v!.shape[0] !== B || v!.shape[1] !== H || v!.shape[2] !== Tk) fail('v must be (B, heads, Tk, ·) as k');
    if (new Set([q!.dtype, k!.dtype, v!.dtype, mask!.dtype]).size !== 1) fail('dtypes differ');
    const m = broadcastShapes(mask!.shape, [B, H, Tq, Tk]);
    if (!m || m.join() !== [B, H, Tq, Tk].join()) fail(`the mask must broadcast to the scores (${B}, ${H}, ${Tq}, ${Tk})`);
    return { shape: [B, H, Tq, v!.shape[3]!], dtype: q!.dtype };
  },
  vjp(g, [q, k, v, mask], _out, { scale }) {
    const ks = mul(k!, scale);
    const p = softmax(add(matmul(q!, transposeLast(ks)), mask!), -1); // recomputed
    const gp = matmul(g, transposeLast(v!));
    const gs = mul(p, sub(gp, sum(mul(gp, p), -1, true))); // softmax's VJP
    return [matmul(gs, ks), mul(matmul(transposeLast(gs), q!), scale), matmul(transposeLast(p), g), null];
  },
  lower(ctx, [q, k, v, mask], { scale }) {
    const scores = ctx.emit('MatMul', [
      ctx.emit('Mul', [q!, ctx.scalar(scale, 'float32')]),
      ctx.emit('Transpose', [k!], { perm: { ints: [0, 1, 3, 2] } }),
    ]);
    const p = ctx.emit('Softmax', [ctx.emit('Add', [scores, mask!])], { axis: { int: -1 } });
    return ctx.emit('MatMul', [p, v!]);
  },
  ref([q, k, v, mask], { scale }, out) {
    const [B, H, Tq, hs] = q!.shape as [number, number, number, number];
    const Tk = k!.shape[2]!;
    const hv = v!.shape[3]!;
    const y = new Float64Array(out.shape.reduce((a, b) => a * b, 1));
    const ms = mask!.shape;
    // The mask's element for (b, h, i, j), broadcast from its own shape (right-aligned).
    const maskAt = (b: number, h: number, i: number, j: number) => {
      const idx = [b, h, i, j].slice(4 - ms.length);
      let o = 0;
      for (let d = 0; d < ms.length; d++) o = o * ms[d]! + (ms[d] === 1 ? 0 : idx[d]!);
      return mask!.data[o]!;
    };
    const s = new Float64Array(Tk);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < Tq; i++) {
          const qo = ((b * H + h) * Tq + i) * hs;
          let mx = -Infinity;
          for (let j = 0; j < Tk; j++) {
            const ko = ((b * H + h) * Tk + j) * hs;
            let acc = 0;
            for (let d = 0; d < hs; d++) acc += q!.data[qo + d]! * k!.data[ko + d]!;
            s[j] = acc * scale + maskAt(b, h, i, j);
            mx = Math.max(mx, s[j]!);
          }
          let z = 0;
          for (let j = 0; j < Tk; j++) z += s[j] = Math.exp(s[j]! - mx);
          const yo = ((b * H + h) * Tq + i) * hv;
          for (let j = 0; j < Tk; j++) {
            const vo = ((b * H + h) * Tk + j) * hv;
            for (let d = 0; d < hv; d++) y[yo + d]! += (s[j]! / z) * v!.data[vo + d]!;
          }
        }
    return y;
  },
});

/**
 * softmax(q·kᵀ·scale + mask)·v for q (B, heads, Tq, hs), k (B, heads, Tk, hs), v (B, heads, Tk, hv)
 * and an additive mask broadcastable to (B, heads, Tq, Tk); the probabilities are recomputed for
 * the backward pass instead of kept (attendOp).
 */
export const attend = (q: Tensor, k: Tensor, v: Tensor, mask: Tensor, scale = 1 / Math.sqrt(q.shape[3]!)) =>
  attendOp([q, k, v, mask], { scale });
