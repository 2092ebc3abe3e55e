/**
 * How far G-rank training lands from one process on the same global batches (the runs of
 * test/distributed/data-parallel.test.ts, whose bound is 5e-6), as numbers for docs/results/zipf.md:
 *
 *   node --import tsx docs/results/zipf/identical.ts > docs/results/zipf/identical.jsonl
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddingExchange } from '../../../src/distributed/exchange.ts';
import { mpirunArgs } from '../../../src/distributed/launch.ts';
import { type RunArgs, type RunResult, trainRun } from '../../../test/distributed/run.ts';
import type { TaskSpec } from '../../../test/distributed/tasks.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-identical-'));
const ranks = (G: number, a: RunArgs): RunResult => {
  const out = join(dir, 'r.json');
  const cmd = [process.execPath, '--import', 'tsx', 'test/distributed/rank.ts', JSON.stringify(a), out];
  const r = spawnSync('mpirun', mpirunArgs(G, cmd), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr.slice(-2000));
  return JSON.parse(readFileSync(out, 'utf8')) as RunResult;
};

for (const spec of [
  { model: 'gpt', vocab: 300, dim: 16, seq: 16, batch: 8 },
  { model: 'lookup', vocab: 3000, dim: 16, seq: 16, batch: 8 },
] as TaskSpec[]) {
  const steps = 10;
  const single = await trainRun({ spec, steps });
  let scale = 0;
  for (const xs of Object.values(single.params)) for (const x of xs) scale = Math.max(scale, Math.abs(x));
  for (const G of [2, 4]) {
    for (const exchange of ['dense', 'tokens', 'unique'] as EmbeddingExchange[]) {
      const r = ranks(G, { spec, steps, exchange });
      let max = 0;
      for (const [n, xs] of Object.entries(single.params)) xs.forEach((x, i) => (max = Math.max(max, Math.abs(x - r.params[n]![i]!))));
      const dLoss = Math.max(...r.history.map((h, i) => Math.abs(h.loss! - single.history[i]!.loss!)));
      console.log(
        JSON.stringify({
          model: spec.model,
          G,
          exchange,
          steps,
          max_abs_weight_diff: max,
          max_abs_weight: scale,
          max_abs_loss_diff: dLoss,
        }),
      );
    }
  }
}
