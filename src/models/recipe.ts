/**
 * The one training recipe every command uses — `tony train <kind>` for every kind and each size of
 * `tony scale sweep`: AdamW with linear warmup and cosine decay over the whole run, periodic
 * validation, checkpoints, resume. A model kind differs only in its task (src/models/index.ts).
 */
import { adamwConfig } from '../engine/optim.ts';
import type { Runtime } from '../engine/runtime.ts';
import { type DataParallel, type TrainOptions, type TrainResult, type TrainTask, train } from '../engine/trainer.ts';

export interface Recipe {
  steps: number;
  /** Peak learning rate. */
  lr: number;
  warmup: number;
  /** Initialisation seed (the task's own seed orders its batches). */
  seed: number;
  evalEvery: number;
  evalBatches: number;
  checkpointEvery: number;
  /** Run directory. */
  out: string;
  /** Continue from the latest checkpoint in `out`, if any. */
  resume: boolean;
  /** Also keep the lowest-validation-loss parameters as `<out>/best/` (TrainOptions.keepBest). */
  keepBest?: boolean;
  onProgress?: TrainOptions['onProgress'];
  /** Data-parallel training: this process is one rank (src/distributed/). */
  parallel?: DataParallel;
}

/** Train `task` on `rt` with the recipe. */
export function trainWithRecipe(rt: Runtime, task: TrainTask, r: Recipe): Promise<TrainResult> {
  return train(rt, task, {
    steps: r.steps,
    optimizer: adamwConfig({ lr: r.lr, warmupSteps: r.warmup, decaySteps: r.steps }),
    seed: r.seed,
    evalEvery: r.evalEvery,
    evalBatches: r.evalBatches,
    checkpointEvery: r.checkpointEvery,
    outDir: r.out,
    resume: r.resume,
    keepBest: r.keepBest,
    onProgress: r.onProgress,
    ...(r.parallel ? { parallel: r.parallel } : {}),
  });
}
