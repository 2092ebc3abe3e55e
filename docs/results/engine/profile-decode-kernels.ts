/**
 * What one batch-B decode call runs, per ONNX Runtime op type: generate's append-decode graph
 * (`buildAppendDecodeGraph`) for the small preset (context 320), run straight on onnxruntime-node
 * (2 threads, graph optimisation 'all', arena and pattern off as Tony's runtime sets them) on
 * arbitrary feeds — 20 warm-up calls then 200 timed — then ORT's profiler summed per op type: how
 * many kernels a token costs after ORT's own fusions, and what each op type takes.
 *
 * Also times the same calls on a session without the profiler (its per-kernel records cost more
 * than the kernels) at 1 and 2 intra-op threads.
 *
 * The cache is fed at L positions (the graphs' cache length is symbolic; generate feeds the filled
 * positions rounded up to 32), the whole context by default.
 *
 *   node --import tsx docs/results/engine/profile-decode-kernels.ts [batch = 1] [steps per call = 1] [L = 320]
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildAppendDecodeGraph, buildStepsDecodeGraph, GPT_PRESETS, gptConfig } from '../../../src/models/gpt/gpt.ts';

const B = Number(process.argv[2] ?? 1);
const cfg = gptConfig({ ...GPT_PRESETS.small, vocabSize: 260, blockSize: 320 });
const K = Number(process.argv[3] ?? 1);
const graph = K === 1 ? buildAppendDecodeGraph(cfg, B) : buildStepsDecodeGraph(cfg, B, K, false);
const L = Number(process.argv[4] ?? cfg.blockSize);
const prefix = join(tmpdir(), `tony-decode-profile-${process.pid}`);
const options = (threads: number, profile: boolean): ort.InferenceSession.SessionOptions => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  enableCpuMemArena: false,
  enableMemPattern: false,
  ...(profile ? { enableProfiling: true, profileFilePrefix: prefix } : {}),
});
const feeds: Record<string, ort.Tensor> = {};
for (const v of graph.model.inputs) {
  const dims = v.shape.map((d, i) => (v.dims?.[i] ? L : d));
  const n = dims.reduce((a, b) => a * b, 1);
  if (v.dtype === 'int64')
    feeds[v.name] = new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 7) % 100)),
      dims,
    );
  else
    feeds[v.name] = new ort.Tensor(
      'float32',
      Float32Array.from({ length: n }, (_, i) => 0.02 * Math.sin(i + 1)),
      dims,
    );
}
const WARM = 20;
const RUNS = 200;
/** ms per call: the median of 5 blocks of RUNS / 5 calls, after WARM calls. */
async function time(s: ort.InferenceSession): Promise<number> {
  for (let i = 0; i < WARM; i++) await s.run(feeds);
  const blocks: number[] = [];
  for (let b = 0; b < 5; b++) {
    const t0 = performance.now();
    for (let i = 0; i < RUNS / 5; i++) await s.run(feeds);
    blocks.push((performance.now() - t0) / (RUNS / 5));
  }
  return blocks.sort((a, b) => a - b)[2]!;
}
const plain: string[] = [];
for (const threads of [1, 2, 1, 2]) {
  const p = await ort.InferenceSession.create(graph.model.bytes, options(threads, false));
  plain.push(`${threads} thread${threads > 1 ? 's' : ''} ${(await time(p)).toFixed(3)} ms`);
  await p.release();
}
console.log(`per call without the profiler (${K} token${K > 1 ? 's' : ''} per call), interleaved: ${plain.join(', ')}`);
const s = await ort.InferenceSession.create(graph.model.bytes, options(2, true));
const ms = await time(s);
(s as unknown as { endProfiling(): void }).endProfiling();
const name = readdirSync(tmpdir()).find((f) => f.startsWith(`tony-decode-profile-${process.pid}`) && f.endsWith('.json'));
if (!name) throw new Error(`no profile file ${prefix}*.json`);
const events = JSON.parse(readFileSync(join(tmpdir(), name), 'utf8')) as {
  cat: string;
  name: string;
  dur: number;
  args: { op_name?: string };
}[];
rmSync(join(tmpdir(), name), { force: true });
const byOp = new Map<string, { us: number; n: number }>();
for (const e of events)
  if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) {
    const o = byOp.get(e.args.op_name ?? '?') ?? { us: 0, n: 0 };
    o.us += e.dur;
    o.n++;
    byOp.set(e.args.op_name ?? '?', o);
  }
const runs = WARM + RUNS; // the profiler saw every run
const total = [...byOp.values()].reduce((a, o) => a + o.us, 0);
const kernels = [...byOp.values()].reduce((a, o) => a + o.n, 0) / runs;
console.log(
  `decode graph, small preset, batch ${B}, cache ${L}: ${graph.model.nodeCount} exported nodes, ${kernels} kernels per call after optimisation; ` +
    `${ms.toFixed(3)} ms per call (wall, ${RUNS} calls, profiler on); kernel time ${(total / runs / 1000).toFixed(3)} ms per call`,
);
for (const [op, o] of [...byOp].sort((a, b) => b[1].us - a[1].us))
  console.log(`  ${((100 * o.us) / total).toFixed(1).padStart(5)} %  ${(o.us / runs).toFixed(1).padStart(7)} µs  ${op} ×${o.n / runs}`);
