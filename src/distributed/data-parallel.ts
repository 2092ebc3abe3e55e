/**
 * Data-parallel training: G processes (MPI ranks) each run the gradients-only graph on their shard
 * of the global batch, the gradients are summed over ranks, and every rank runs the apply-only graph
 * on the sum scaled by 1/G — so every rank applies the same update, the one a single process would
 * compute on the whole batch (equal up to float32 summation order; test/distributed/).
 *
 *   const comm = await openMpi();
 *   const task = shardTask(lmTask(B / comm.size), lmTask(B), comm);   // trace at B/G, batches cut from B
 *   await train(rt, task, { ...opts, parallel: dataParallel(comm, { exchange: 'unique' }) });
 *
 * Gradients travel through the host: the gradients-only graph's outputs are fetched, summed with
 * MPI, and fed to the apply-only graph (ONNX Runtime's Node API has no device buffers to hand to
 * MPI). Every parameter's gradient goes in one all-reduce, except the embedding tables, exchanged
 * by `exchange` (exchange.ts); each step's metrics row records the bytes both moved.
 */
import { type HostTensor, hostTensor } from '../engine/dtype.ts';
import { type AdamWConfig, buildApplyStep, type ParamGroup } from '../engine/optim.ts';
import type { Runtime } from '../engine/runtime.ts';
import { buildGradStep, type CompiledStep, embeddingLookups, type Objective } from '../engine/step.ts';
import type { DataParallel, TrainTask } from '../engine/trainer.ts';
import { TonyError } from '../errors.ts';
import { type EmbeddingExchange, exchangeLookup } from './exchange.ts';
import type { Comm } from './mpi.ts';

export interface DataParallelOptions {
  /** How embedding tables' gradients are exchanged (default 'dense'). */
  exchange?: EmbeddingExchange;
}

/** The trainer's data-parallel group over an MPI communicator. */
export function dataParallel(comm: Comm, opts: DataParallelOptions = {}): DataParallel {
  const exchange = opts.exchange ?? 'dense';
  return {
    rank: comm.rank,
    size: comm.size,
    sum: (x) => comm.allreduceSum(x),
    compile: (rt, obj, cfg, groups) => compileDataParallelStep(rt, obj, cfg, { comm, exchange, groups }),
  };
}

async function compileDataParallelStep(
  rt: Runtime,
  obj: Objective,
  cfg: AdamWConfig,
  o: { comm: Comm; exchange: EmbeddingExchange; groups?: readonly ParamGroup[] },
): Promise<CompiledStep> {
  const { comm, exchange, groups } = o;
  if (obj.buffers?.specs.length)
    throw new TonyError(
      'config',
      `this model has forward-updated buffers (${obj.buffers.specs.map((b) => b.name).join(', ')}): each rank would update them from its own shard`,
      'train it in one process (without --workers / --distributed)',
    );
  const tables = embeddingLookups(obj, groups);
  const sparse = exchange === 'dense' ? [] : tables;
  const g = buildGradStep(obj, { groups, lookups: sparse });
  const apply = buildApplyStep(obj.ps, cfg, { groups, gradScale: 1 / comm.size });
  const gradSession = await rt.load(g.model);
  const applySession = await rt.load(apply.model);
  const logged = Object.keys(obj.logged);
  const losses = ['loss', ...logged];
  // Gradients are fetched, not kept in the runtime: the grad.<name> → state entries are dropped.
  const update = Object.fromEntries(Object.entries(g.update).filter(([out]) => !out.startsWith('grad.')));
  const shapes = new Map(obj.ps.specs.map((s) => [s.name, s.shape]));
  const denseNames = apply.paramNames.filter((n) => !tables.includes(n));
  const fetch = [...losses, ...Object.values(g.gradOutputs), ...Object.values(g.lookupOutputs).flatMap((l) => [l.rows, l.ids])];
  const fetchUpdate = ['grad_norm', 'lr_t', 'grad_sq'];
  const scalar = (r: Record<string, HostTensor>, name: string) => (r[name]!.data as Float32Array)[0]!;

  return {
    paramNames: apply.paramNames,
    async run(step, lr, batch) {
      const r = await rt.run(gradSession, batch(0), { state: g.state, update, fetch });
      // Losses: each rank's mean over its shard; the global batch's mean is their mean.
      const l = comm.allreduceSum(Float64Array.from(losses, (n) => scalar(r, n)));
      const before = comm.totalBytes;
      // Every gradient but the embedding tables', in one all-reduce.
      const sizes = denseNames.map((n) => (r[g.gradOutputs[n]!]!.data as Float32Array).length);
      const flat = new Float32Array(sizes.reduce((a, b) => a + b, 0));
      let at = 0;
      denseNames.forEach((n, i) => {
        flat.set(r[g.gradOutputs[n]!]!.data as Float32Array, at);
        at += sizes[i]!;
      });
      comm.allreduceSum(flat);
      const feeds: Record<string, HostTensor> = {};
      at = 0;
      denseNames.forEach((n, i) => {
        // slice, not subarray: a view would post the whole buffer to the runtime's thread per tensor
        feeds[`grad.${n}`] = { dtype: 'float32', shape: shapes.get(n)!, data: flat.slice(at, at + sizes[i]!) };
        at += sizes[i]!;
      });
      const denseBytes = comm.totalBytes - before;
      let unique = 0;
      for (const n of tables) {
        const [V, D] = shapes.get(n)! as [number, number];
        const lo = g.lookupOutputs[n];
        const rest = g.gradOutputs[n] ? (r[g.gradOutputs[n]!]!.data as Float32Array) : undefined;
        const ex = exchangeLookup(comm, exchange, {
          vocab: V,
          dim: D,
          ids: lo ? (r[lo.ids]!.data as BigInt64Array) : new BigInt64Array(0),
          rows: lo ? (r[lo.rows]!.data as Float32Array) : new Float32Array(0),
          rest,
        });
        feeds[`grad.${n}`] = { dtype: 'float32', shape: [V, D], data: ex.grad };
        unique += ex.unique;
      }
      const embeddingBytes = comm.totalBytes - before - denseBytes;
      const u = await rt.run(
        applySession,
        { ...feeds, step: hostTensor('float32', [], [step]), lr },
        { state: apply.state, update: apply.update, fetch: fetchUpdate },
      );
      return {
        loss: l[0]! / comm.size,
        logged: {
          ...Object.fromEntries(logged.map((n, i) => [n, l[i + 1]! / comm.size])),
          // Per rank, this step (Comm's count): the exchange measurements of docs/results/zipf.md.
          comm_dense_bytes: denseBytes,
          comm_embedding_bytes: embeddingBytes,
          ...(tables.length && exchange !== 'dense' ? { embedding_unique: unique } : {}),
        },
        grad_norm: scalar(u, 'grad_norm'),
        lr_t: scalar(u, 'lr_t'),
        grad_sq: u.grad_sq!.data as Float32Array,
      };
    },
  };
}

/**
 * One rank's view of a task: graphs traced by `local` (built for the per-rank batch B/G), batches
 * cut from `global`'s (built for B) — rank r takes rows r·B/G … (r+1)·B/G − 1 of every batch, so
 * G ranks together see exactly the batches one process would. Config and tokens per step are the
 * global run's, so a checkpoint resumes on any G.
 */
export function shardTask(local: TrainTask, global: TrainTask, comm: Pick<Comm, 'rank' | 'size'>): TrainTask {
  return {
    trace: local.trace,
    tokensPerStep: global.tokensPerStep,
    config: global.config,
    ...(global.initParams ? { initParams: global.initParams } : {}),
    batch(split, index) {
      const full = global.batch(split, index);
      return Object.fromEntries(Object.entries(full).map(([name, t]) => [name, rowsOf(t, name, comm)]));
    },
  };
}

/** Rank r's share of a batch tensor's rows (axis 0). */
function rowsOf(t: HostTensor, name: string, comm: Pick<Comm, 'rank' | 'size'>): HostTensor {
  const B = t.shape[0] ?? 0;
  if (B % comm.size !== 0)
    throw new TonyError(
      'config',
      `batch input '${name}' has ${B} rows, which ${comm.size} workers cannot share evenly`,
      `use a batch divisible by ${comm.size}`,
    );
  const per = B / comm.size;
  const row = t.data.length / Math.max(1, B);
  return { dtype: t.dtype, shape: [per, ...t.shape.slice(1)], data: t.data.slice(comm.rank * per * row, (comm.rank + 1) * per * row) };
}
