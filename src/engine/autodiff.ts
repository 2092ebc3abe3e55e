/**
 * Reverse-mode automatic differentiation over the traced graph: walk the nodes that lie between the
 * inputs of interest and the output in reverse topological order, call each op's VJP, and
 * accumulate gradients that reach a node along several paths.
 */
import { TonyError } from '../errors.ts';
import { getOp } from './op.ts';
import { add, full } from './ops/index.ts';
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
  const grads = new Map<number, Tensor>();
  grads.set(loss.id, full(loss.shape, 1, loss.dtype));
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    const g = grads.get(node.id);
    if (!g || node.inputs.length === 0 || !onPath.has(node.id) || stopped.has(node.id)) continue;
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
      const prev = grads.get(inp.id);
      grads.set(inp.id, prev ? add(prev, gi) : gi);
    });
  }
  return wrt.map((t) => grads.get(t.id) ?? full(t.shape, 0, t.dtype));
}
