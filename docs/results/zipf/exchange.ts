/**
 * The exchange measurements of docs/results/zipf.md, on real tokens: the Python standard library
 * encoded with o200k_base and its ids renumbered by frequency (V = the distinct ids, ~23k), a GPT
 * whose table is tied to its head and a lookup-only model, trained for a few steps by G MPI ranks
 * on this host (mpirun, test/distributed/rank.ts).
 *
 *   node --import tsx docs/results/zipf/exchange.ts bytes > docs/results/zipf/bytes.jsonl
 *   node --import tsx docs/results/zipf/exchange.ts time  > docs/results/zipf/time.jsonl
 *
 * `bytes`: per step, the bytes Comm counted for the table's exchange, beside the formula with U
 * counted here from the global batch's ids. `time`: median step time against G for dense and unique,
 * interleaved rounds (the load, from os.loadavg, is logged with each run).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddingExchange, exchangeBytes } from '../../../src/distributed/exchange.ts';
import { mpirunArgs } from '../../../src/distributed/launch.ts';
import { o200kBase } from '../../../src/text/o200k.ts';
import type { RunArgs, RunResult } from '../../../test/distributed/run.ts';
import { makeTask, type TaskSpec } from '../../../test/distributed/tasks.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-zipf-'));

/** The first ~2 MB of the Python standard library (sorted paths), o200k ids renumbered by frequency. */
function pythonStream(): { path: string; vocab: number } {
  const find = spawnSync('find', ['/usr/lib/python3.11', '-maxdepth', '1', '-name', '*.py'], { encoding: 'utf8' });
  const paths = find.stdout.trim().split('\n').sort();
  const tok = o200kBase();
  const ids: number[] = [];
  for (const p of paths) {
    if (ids.length > 600_000) break;
    for (const line of readFileSync(p, 'utf8').split('\n')) ids.push(...tok.encode(`${line}\n`));
  }
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const rank = new Map([...counts].sort((a, b) => b[1] - a[1]).map(([id], r) => [id, r]));
  const stream = Uint16Array.from(ids, (id) => rank.get(id)!);
  const path = join(dir, 'python.u16');
  writeFileSync(path, new Uint8Array(stream.buffer));
  return { path, vocab: rank.size };
}

function ranks(G: number, a: RunArgs): RunResult & { wall_s: number } {
  const out = join(dir, 'r.json');
  const t0 = performance.now();
  const cmd = [process.execPath, '--import', 'tsx', 'test/distributed/rank.ts', JSON.stringify(a), out];
  const r = spawnSync('mpirun', mpirunArgs(G, cmd), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mpirun -np ${G} failed: ${r.stderr.slice(-2000)}`);
  return { ...(JSON.parse(readFileSync(out, 'utf8')) as RunResult), wall_s: (performance.now() - t0) / 1000 };
}

const { path, vocab } = pythonStream();
process.stderr.write(`python stream: V = ${vocab}\n`);
const D = 64;
const SEQ = 64;
const mode = process.argv[2] ?? 'bytes';

if (mode === 'bytes') {
  for (const model of ['gpt', 'lookup'] as const) {
    for (const G of [2, 4, 8]) {
      for (const perRank of [1, 4, 16]) {
        const spec: TaskSpec = { model, vocab, dim: D, seq: SEQ, batch: perRank * G, stream: path };
        const K = perRank * SEQ;
        for (const scheme of ['dense', 'tokens', 'unique'] as EmbeddingExchange[]) {
          const r = ranks(G, { spec, steps: 2, exchange: scheme });
          for (const h of r.history) {
            const idx = makeTask(spec).batch('train', h.step! - 1).idx!.data as BigInt64Array;
            const U = new Set(idx).size;
            const formula = exchangeBytes(scheme, { G, K, U, V: vocab, D, tied: model === 'gpt' });
            console.log(
              JSON.stringify({
                model,
                G,
                K,
                GK: G * K,
                scheme,
                step: h.step,
                U,
                V: vocab,
                D,
                measured: h.comm_embedding_bytes,
                formula,
                other_params_bytes: h.comm_dense_bytes,
              }),
            );
          }
        }
      }
    }
  }
} else {
  // Step time against G: 12 steps, the median of steps 3–12 (the first ones load sessions), rounds interleaved.
  const rounds = 3;
  for (let round = 0; round < rounds; round++) {
    for (const model of ['lookup', 'gpt'] as const) {
      for (const G of [1, 2, 4]) {
        for (const scheme of ['dense', 'unique'] as EmbeddingExchange[]) {
          const spec: TaskSpec = { model, vocab, dim: D, seq: SEQ, batch: 16, stream: path };
          const load = loadavg()[0]!;
          const r = ranks(G, { spec, steps: 12, exchange: scheme });
          const t = r.history.map((h) => h.time_s!);
          const dts = t
            .slice(2)
            .map((x, i) => x - t[i + 1]!)
            .sort((a, b) => a - b);
          const median = dts[Math.floor(dts.length / 2)]!;
          console.log(
            JSON.stringify({
              round,
              model,
              G,
              scheme,
              global_batch: 16,
              seq: SEQ,
              V: vocab,
              D,
              step_ms: +(median * 1000).toFixed(1),
              embedding_bytes: r.history.at(-1)!.comm_embedding_bytes,
              load1: +load.toFixed(2),
              cores: availableParallelism(),
            }),
          );
        }
      }
    }
  }
}
