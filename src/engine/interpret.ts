/**
 * The reference interpreter: evaluates a traced graph with each op's pure-TypeScript reference
 * implementation, in float64. It is the oracle that ONNX Runtime's results are tested against and
 * the function that finite-difference gradient checks perturb.
 */
import { TonyError } from '../errors.ts';
import { type HostTensor, hostTensor, toNumbers } from './dtype.ts';
import { getOp, type RefArray } from './op.ts';
import { fmt, type Tensor, topoSort } from './tensor.ts';

/**
 * Evaluate `outputs` given values for the graph's inputs (by input name). Results are float64
 * HostTensors for float dtypes and exact integers otherwise.
 */
export function interpret(outputs: readonly Tensor[], feeds: Readonly<Record<string, HostTensor>>): HostTensor[] {
  const values = new Map<number, RefArray>();
  for (const t of topoSort(outputs)) {
    let data: Float64Array;
    if (t.op === 'input') {
      const v = feeds[t.name!];
      if (!v) throw new TonyError('usage', `interpret: no value fed for input '${t.name}'`);
      if (fmt(v.shape) !== fmt(t.shape)) {
        throw new TonyError('shape', `interpret: input '${t.name}' expects ${fmt(t.shape)}, got ${fmt(v.shape)}`);
      }
      data = toNumbers(v);
    } else if (t.op === 'const') {
      data = toNumbers(t.value!);
    } else {
      data = getOp(t.op).ref(
        t.inputs.map((i) => values.get(i.id)!),
        t.attrs,
        { shape: t.shape, dtype: t.dtype },
      );
    }
    values.set(t.id, { shape: t.shape, dtype: t.dtype, data });
  }
  return outputs.map((o) => {
    const v = values.get(o.id)!;
    return hostTensor(o.dtype === 'float32' ? 'float64' : o.dtype, o.shape, v.data);
  });
}
