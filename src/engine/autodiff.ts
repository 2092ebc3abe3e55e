/**
 * Reverse-mode automatic differentiation over the traced graph: walk the nodes that lie between the
 * inputs of interest and the output in reverse topological order, call each op's VJP, and
 * accumulate gradients that reach a node along several paths.
 */
import { TonyError } from '../errors.ts';
import { getOp } from './op.ts';
import { add, concat, full } from './ops/index.ts';
import { type Tensor, topoSort } from './tensor.ts';

/**
 * Gradients of the scalar `loss` with respect to each of `wrt`. A tensor the loss does not depend
 * on gets zeros (so an unused parameter is not an error, just a zero update).
 *
 * `stop`: tensors whose gradient is not passed on to their inputs (ask for it in `wrt`). Data-parallel
 * training uses it to take an embedding lookup's per-token gradients apart from the table's other
 * uses (a tied output head), so the two can be exchanged differently (src/distributed/).
 */
export function grad(loss: Tensor, wrt: readonly Tensor[], opts: { stop?: readonly Tensor[] } = {}): Tensor[] {
  if (loss.size !== 1) {
    throw new TonyError('shape', `grad: the loss must be a scalar, got shape [${loss.shape}]`, 'reduce it with mean() or sum()');
  }
  const order = topoSort([loss]);
  // Only nodes on a path from some wrt tensor to the loss need gradients.
  const wanted = new Set(wrt.map((t) => t.id));
  const onPath = new Set<number>();
  for (const t of order) {
    if (wanted.has(t.id) || t.inputs.some((i) => onPath.has(i.id))) onPath.add(t.id);
  }

  const stopped = new Set((opts.stop ?? []).map((t) => t.id));
  // Every gradient contribution a tensor receives, summed (accumulate) when the tensor is reached.
  const parts = new Map<number, Tensor[]>();
  const gradOf = (t: Tensor): Tensor | undefined => {
    const ps = parts.get(t.id);
    if (!ps) return undefined;
    const g = accumulate(ps);
    parts.set(t.id, [g]);
    return g;
  };
  parts.set(loss.id, [full(loss.shape, 1, loss.dtype)]);
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    if (node.inputs.length === 0 || !onPath.has(node.id) || stopped.has(node.id)) continue;
    const g = gradOf(node);
    if (!g) continue;
    const def = getOp(node.op);
    if (!def.vjp) {
      if (node.inputs.some((inp) => onPath.has(inp.id))) {
        throw new TonyError('usage', `grad: op '${node.op}' has no gradient but lies between a parameter and the loss`);
      }
      continue;
    }
    const inGrads = def.vjp(g, node.inputs, node, node.attrs);
    node.inputs.forEach((inp, k) => {
      const gi = inGrads[k];
      if (!gi || !onPath.has(inp.id)) return;
      const ps = parts.get(inp.id);
      if (ps) ps.push(gi);
      else parts.set(inp.id, [gi]);
    });
  }
  return wrt.map((t) => gradOf(t) ?? full(t.shape, 0, t.dtype));
}

/**
 * The sum of a tensor's gradient contributions, in the order they arrived. One case is built
 * differently: the gradients of slices that do not overlap (a split — attention's q, k, v — whose
 * VJPs are zero pads of the same axis) are joined with one concat, zeros in any gap, instead of
 * padding each to the full size and adding: the same values (a sum with zeros), without writing the
 * full-size tensor once per piece (a tenth of a bench GPT step's kernel time went to those pads).
 */
function accumulate(ps: readonly Tensor[]): Tensor {
  if (ps.length === 1) return ps[0]!;
  return disjointPads(ps) ?? ps.reduce((a, b) => add(a, b));
}

function disjointPads(ps: readonly Tensor[]): Tensor | undefined {
  const axis = ps[0]!.attrs.axis as number;
  if (!ps.every((p) => p.op === 'pad' && p.attrs.axis === axis)) return undefined;
  const pieces = ps.map((p) => ({ at: p.attrs.before as number, x: p.inputs[0]! })).sort((a, b) => a.at - b.at);
  const { shape, dtype } = ps[0]!;
  const zeros = (n: number) =>
    full(
      shape.map((d, i) => (i === axis ? n : d)),
      0,
      dtype,
    );
  const out: Tensor[] = [];
  let at = 0;
  for (const { at: start, x } of pieces) {
    if (start < at) return undefined; // overlapping slices: their sum is a real sum
    if (start > at) out.push(zeros(start - at));
    out.push(x);
    at = start + x.shape[axis]!;
  }
  if (at < shape[axis]!) out.push(zeros(shape[axis]! - at));
  return concat(out, axis);
}
