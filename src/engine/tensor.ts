/**
 * Symbolic tensors. Model code calls ops on Tensors; each call checks shapes and dtypes right away
 * (so a mistake is reported at the line that made it) and records a node. The recorded DAG is what
 * autodiff differentiates, the reference interpreter evaluates and the exporter lowers to ONNX.
 *
 * Shapes are static: one graph per shape, which is what ONNX Runtime optimises best and what keeps
 * the graph readable. Incremental decoding uses a fixed-size KV cache instead of growing shapes.
 */
import { TonyError } from '../errors.ts';
import { type DType, type HostTensor, sizeOf } from './dtype.ts';

export type Attrs = Readonly<Record<string, unknown>>;

let nextId = 0;

export class Tensor {
  readonly id = nextId++;

  constructor(
    /** The op that produced this tensor: 'input', 'const', or a name from the op table. */
    readonly op: string,
    readonly inputs: readonly Tensor[],
    readonly attrs: Attrs,
    readonly shape: readonly number[],
    readonly dtype: DType,
    /** Graph-input name (for op 'input'). */
    readonly name?: string,
    /** Value (for op 'const'). */
    readonly value?: HostTensor,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  toString(): string {
    return `Tensor(${this.op}${this.name ? ` '${this.name}'` : ''}, [${this.shape.join(', ')}], ${this.dtype})`;
  }
}

/** A graph input: data, a parameter or a piece of state, fed by name at run time. */
export function input(name: string, shape: readonly number[], dtype: DType = 'float32'): Tensor {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw shapeErrorAt(`input '${name}': bad dimension ${d} in shape [${shape}]`);
  }
  return new Tensor('input', [], {}, [...shape], dtype, name);
}

/** A constant baked into the graph. */
export function constant(value: HostTensor): Tensor {
  return new Tensor('const', [], {}, [...value.shape], value.dtype, undefined, value);
}

/** `[3, 4]` for error messages. */
export const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * A shape error that also names the first stack frame outside the engine: the model line that
 * called the op.
 */
export function shapeErrorAt(message: string, hint?: string): TonyError {
  const site = callerSite();
  return new TonyError('shape', site ? `${message}\n  at ${site}` : message, hint);
}

function callerSite(): string | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const line of stack) {
    if (line.includes('/src/engine/') || line.includes('node:internal') || line.includes('node_modules')) continue;
    return line.trim().replace(/^at /, '');
  }
  return undefined;
}

/** Normalise a possibly negative axis against `rank`. */
export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw shapeErrorAt(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return a;
}

/** Collect the DAG under `outputs` in topological order (inputs before users). */
export function topoSort(outputs: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<number>();
  // Iterative DFS: transformer graphs are deep enough to overflow recursion at scale.
  const stack: Array<[Tensor, number]> = outputs.map((t) => [t, 0]);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    if (i === 0 && seen.has(t.id)) {
      stack.pop();
      continue;
    }
    if (i < t.inputs.length) {
      top[1] = i + 1;
      const child = t.inputs[i]!;
      if (!seen.has(child.id)) stack.push([child, 0]);
    } else {
      stack.pop();
      if (!seen.has(t.id)) {
        seen.add(t.id);
        order.push(t);
      }
    }
  }
  return order;
}
