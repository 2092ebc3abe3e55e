/**
 * Matrix multiplication with numpy batching: [..., M, K] @ [..., K, N] → [..., M, N].
 */
import { broadcastShapes, broadcastStrides, defineOp, strides } from '../op.ts';
import type { Tensor } from '../tensor.ts';
import { reshape, sumTo, transposeLast } from './shape.ts';

const matmulOp = defineOp({
  name: 'matmul',
  infer([a, b], _attrs, fail) {
    if (a!.dtype !== b!.dtype) fail(`dtypes differ (${a!.dtype} vs ${b!.dtype})`);
    if (a!.rank < 2 || b!.rank < 2) fail('both operands need rank ≥ 2', 'reshape vectors to [1, K] or [K, 1]');
    const [m, k1] = a!.shape.slice(-2) as [number, number];
    const [k2, n] = b!.shape.slice(-2) as [number, number];
    if (k1 !== k2) fail(`inner dimensions differ (${k1} vs ${k2})`);
    const batch = broadcastShapes(a!.shape.slice(0, -2), b!.shape.slice(0, -2));
    if (!batch) fail('batch dimensions do not broadcast');
    return { shape: [...batch!, m, n], dtype: a!.dtype };
  },
  vjp(g, [a, b]) {
    // A weight shared across the batch (b of rank 2, the Linear case): fold the batch into rows so
    // the weight gradient is one [K, M·batch] @ [M·batch, N] product instead of a batched one + sum.
    if (b!.rank === 2 && a!.rank > 2) {
      const k = a!.shape[a!.rank - 1]!;
      const n = b!.shape[1]!;
      const ga = reshape(matmul(reshape(g, [-1, n]), transposeLast(b!)), a!.shape);
      const gb = matmul(transposeLast(reshape(a!, [-1, k])), reshape(g, [-1, n]));
      return [ga, gb];
    }
    return [sumTo(matmul(g, transposeLast(b!)), a!.shape), sumTo(matmul(transposeLast(a!), g), b!.shape)];
  },
  lower: (ctx, ins) => ctx.emit('MatMul', ins),
  ref([a, b], _attrs, out) {
    const [m, k] = a!.shape.slice(-2) as [number, number];
    const n = b!.shape[b!.shape.length - 1]!;
    const batchShape = out.shape.slice(0, -2);
    const nb = batchShape.reduce((x, y) => x * y, 1);
    const sa = broadcastStrides([...a!.shape.slice(0, -2)], batchShape);
    const sb = broadcastStrides([...b!.shape.slice(0, -2)], batchShape);
    const bs = strides(batchShape);
    const res = new Float64Array(nb * m * n);
    for (let bi = 0; bi < nb; bi++) {
      let oa = 0;
      let ob = 0;
      let rem = bi;
      for (let d = 0; d < batchShape.length; d++) {
        const c = Math.floor(rem / bs[d]!);
        rem -= c * bs[d]!;
        oa += c * sa[d]!;
        ob += c * sb[d]!;
      }
      oa *= m * k;
      ob *= k * n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let p = 0; p < k; p++) acc += a!.data[oa + i * k + p]! * b!.data[ob + p * n + j]!;
          res[bi * m * n + i * n + j] = acc;
        }
      }
    }
    return res;
  },
});

/** a @ b with numpy batching (both ranks ≥ 2). */
export const matmul = (a: Tensor, b: Tensor): Tensor => matmulOp([a, b], {});
