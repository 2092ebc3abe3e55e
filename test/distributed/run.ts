/**
 * One training run of a test task, in this process alone or as one rank of an MPI job, returning
 * what the tests compare: the final weights, the per-step records and the evaluations.
 */

import { dataParallel, shardTask } from '../../src/distributed/data-parallel.ts';
import type { EmbeddingExchange } from '../../src/distributed/exchange.ts';
import type { Comm } from '../../src/distributed/mpi.ts';
import { adamwConfig } from '../../src/engine/optim.ts';
import { Runtime } from '../../src/engine/runtime.ts';
import { stateKey } from '../../src/engine/state.ts';
import { train } from '../../src/engine/trainer.ts';
import { makeTask, type TaskSpec } from './tasks.ts';

export interface RunArgs {
  spec: TaskSpec;
  /** Steps of the whole run (the schedule's length). */
  steps: number;
  /** Stop after this step (default: steps), to resume later. */
  until?: number;
  exchange?: EmbeddingExchange;
  outDir?: string;
  resume?: boolean;
  evalEvery?: number;
}

export interface RunResult {
  params: Record<string, number[]>;
  history: Record<string, number>[];
  evals: Record<string, number>[];
  finalStep: number;
}

export async function trainRun(a: RunArgs, comm?: Comm): Promise<RunResult> {
  const rt = await Runtime.start({ threads: 1 });
  try {
    const global = makeTask(a.spec);
    const task = comm ? shardTask(makeTask({ ...a.spec, batch: a.spec.batch / comm.size }), global, comm) : global;
    const res = await train(rt, task, {
      steps: a.until ?? a.steps,
      // No warmup: the first steps already move the weights by about lr, so differences show.
      optimizer: adamwConfig({ lr: 1e-2, warmupSteps: 0, decaySteps: a.steps }),
      seed: 3,
      evalEvery: a.evalEvery ?? 0,
      evalBatches: 2,
      checkpointEvery: 1,
      ...(a.outDir ? { outDir: a.outDir, resume: a.resume ?? false } : {}),
      ...(comm ? { parallel: dataParallel(comm, { exchange: a.exchange ?? 'dense' }) } : {}),
    });
    const names = task.trace('train').ps.specs.map((s) => s.name);
    const st = await rt.getState(names.map(stateKey.param));
    const params = Object.fromEntries(names.map((n) => [n, Array.from(st[stateKey.param(n)]!.data as Float32Array)]));
    return { params, history: res.history, evals: res.evals, finalStep: res.finalStep };
  } finally {
    await rt.close();
  }
}
