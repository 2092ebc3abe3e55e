/**
 * Exchanging an embedding table's gradient across G data-parallel workers (PAPERS.md §9, Patwary
 * et al. 2018, "Language Modeling at Scale"). Each worker looked up K token ids in a (V, D) table;
 * the lookup's gradient is K rows of D, one per token. Three ways to sum them over workers, all
 * giving the same table gradient (test/distributed/):
 *
 *   dense    all-reduce the whole (V, D) gradient, as for any other parameter.  4·V·D bytes.
 *   tokens   all-gather every worker's ids and per-token rows, then scatter-add them: the
 *            baseline the paper starts from, Θ(G·K·D).                          4·G·K + 4·G·K·D bytes.
 *   unique   all-gather the ids (G·K), find the U unique ones (the same sorted list on every rank),
 *            sum each worker's rows into its U slots, all-reduce the (U, D) block: Θ(G·K + U·D).
 *                                                                              4·G·K + 4·U·D bytes.
 *
 * Zipf's law keeps U far below G·K (U ∝ (G·K)^0.64 in the paper), so `unique` wins when the
 * vocabulary is large. A table also used elsewhere — Tony's GPT ties it to the output head, whose
 * gradient touches every row — adds that dense (V, D) part, all-reduced as it is, to `tokens` and
 * `unique` (docs/results/zipf.md measures what that costs). Ids travel as int32 (V < 2³¹).
 * Bytes are counted as Comm counts them (src/distributed/mpi.ts): per worker, delivered.
 */
import { TonyError } from '../errors.ts';

export type EmbeddingExchange = 'dense' | 'tokens' | 'unique';
export const EMBEDDING_EXCHANGES: readonly EmbeddingExchange[] = ['dense', 'tokens', 'unique'];

/** The collectives an exchange needs (Comm implements them; tests may pass a one-rank stand-in). */
export interface Collectives {
  readonly size: number;
  allreduceSum<T extends Float32Array | Float64Array | Int32Array>(x: T): T;
  allgather<T extends Int32Array | Float32Array>(x: T): T;
}

/** One worker's lookup gradient: the ids it looked up (K) and a row of D per id. */
export interface LookupGradient {
  vocab: number;
  dim: number;
  ids: BigInt64Array;
  rows: Float32Array;
  /** The gradient of the table's other uses (V, D), or undefined when the lookup is its only use. */
  rest?: Float32Array;
}

/** The summed table gradient (V, D), and U (the unique ids over all workers; G·K for `tokens`). */
export interface Exchanged {
  grad: Float32Array;
  unique: number;
}

/**
 * Sum a lookup's gradient over all workers by `scheme`. For `dense`, the caller passes the whole
 * table gradient as `rest` (the graph's own scatter-add) and no rows.
 */
export function exchangeLookup(comm: Collectives, scheme: EmbeddingExchange, g: LookupGradient): Exchanged {
  const { vocab: V, dim: D } = g;
  const K = g.ids.length;
  if (g.rows.length !== K * D) throw new TonyError('shape', `lookup gradient: ${g.rows.length} values for ${K} ids of width ${D}`);
  if (scheme === 'dense') {
    if (!g.rest || g.rest.length !== V * D) throw new TonyError('usage', 'dense exchange needs the whole (V, D) gradient');
    return { grad: comm.allreduceSum(g.rest), unique: V };
  }
  const grad = g.rest ? comm.allreduceSum(g.rest) : new Float32Array(V * D);
  const local = toInt32(g.ids, V);
  const ids = comm.allgather(local);
  if (scheme === 'tokens') {
    const rows = comm.allgather(g.rows);
    addRows(grad, ids, rows, D);
    return { grad, unique: ids.length };
  }
  // unique: the sorted unique ids are the same list on every rank, so slot j means one id everywhere.
  const uniq = Int32Array.from(new Set(ids)).sort();
  const slot = new Map<number, number>();
  uniq.forEach((id, j) => slot.set(id, j));
  const block = new Float32Array(uniq.length * D); // (U, D)
  for (let i = 0; i < K; i++) {
    const at = slot.get(local[i]!)! * D;
    for (let d = 0; d < D; d++) block[at + d]! += g.rows[i * D + d]!;
  }
  comm.allreduceSum(block);
  addRows(grad, uniq, block, D);
  return { grad, unique: uniq.length };
}

/** The bytes `scheme` delivers to each worker per step (Comm's count), for G workers of K ids, U unique. */
export function exchangeBytes(
  scheme: EmbeddingExchange,
  p: { G: number; K: number; U: number; V: number; D: number; tied: boolean },
): number {
  const head = p.tied ? 4 * p.V * p.D : 0;
  if (scheme === 'dense') return 4 * p.V * p.D;
  if (scheme === 'tokens') return head + 4 * p.G * p.K + 4 * p.G * p.K * p.D;
  return head + 4 * p.G * p.K + 4 * p.U * p.D;
}

/** grad[ids[i]] += rows[i] for every i, in order. */
function addRows(grad: Float32Array, ids: Int32Array, rows: Float32Array, D: number) {
  for (let i = 0; i < ids.length; i++) {
    const at = ids[i]! * D;
    for (let d = 0; d < D; d++) grad[at + d]! += rows[i * D + d]!;
  }
}

function toInt32(ids: BigInt64Array, V: number): Int32Array {
  const out = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = Number(ids[i]!);
    if (id < 0 || id >= V) throw new TonyError('data', `token id ${id} is outside the vocabulary [0, ${V})`);
    out[i] = id;
  }
  return out;
}
