/**
 * Where a GPT training step's time goes, per ONNX Runtime op type: the fused training graph
 * (forward, backward, clipping, AdamW — what `tony train` runs) built for one size, run straight on
 * onnxruntime-node (2 threads, arena and memory pattern off as Tony's runtime sets them) on arbitrary
 * feeds, timed over 5 steps after 3 warm-up steps, then ORT's profiler summed per op type.
 *
 *   node --import tsx docs/results/engine/profile-step.ts [C,L,heads,T,B = 256,2,4,128,16]
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { adamwConfig, buildTrainStep } from '../../../src/engine/optim.ts';
import { input } from '../../../src/engine/tensor.ts';
import { GPT, gptConfig } from '../../../src/models/gpt/gpt.ts';

const [C = 256, L = 2, H = 4, T = 128, B = 16] = (process.argv[2] ?? '256,2,4,128,16').split(',').map(Number);
const cfg = gptConfig({ vocabSize: 512, blockSize: T, nLayer: L, nHead: H, dModel: C, dropout: 0 });
const gpt = new GPT(cfg, true);
const idx = input('idx', [B, T], 'int64');
const targets = input('targets', [B, T], 'int64');
const step = buildTrainStep(gpt.ps, gpt.loss(idx, targets), [idx, targets], adamwConfig());
const prefix = join(tmpdir(), `tony-step-profile-${process.pid}`);
const s = await ort.InferenceSession.create(step.model.bytes, {
  intraOpNumThreads: 2,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  enableCpuMemArena: false,
  enableMemPattern: false,
  enableProfiling: true,
  profileFilePrefix: prefix,
});
const feeds: Record<string, ort.Tensor> = {};
for (const v of step.model.inputs) {
  const n = v.shape.reduce((a, b) => a * b, 1);
  const dims = [...v.shape];
  if (v.dtype === 'int64')
    feeds[v.name] = new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 500)),
      dims,
    );
  else
    feeds[v.name] = new ort.Tensor(
      'float32',
      Float32Array.from({ length: n }, (_, i) => 0.02 * Math.sin(i + 1)),
      dims,
    );
}
for (let i = 0; i < 3; i++) await s.run(feeds);
const t0 = performance.now();
for (let i = 0; i < 5; i++) await s.run(feeds);
const ms = (performance.now() - t0) / 5;
(s as unknown as { endProfiling(): void }).endProfiling();
const name = readdirSync(tmpdir()).find((f) => f.startsWith(`tony-step-profile-${process.pid}`) && f.endsWith('.json'));
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
const runs = 8; // the profiler saw every run: 3 warm-up + 5 timed
const total = [...byOp.values()].reduce((a, o) => a + o.us, 0);
console.log(
  `GPT C${C} L${L} h${H} T${T} B${B}: ${step.model.nodeCount} nodes; ${ms.toFixed(1)} ms per step (wall, 5 steps); kernels ${(total / runs / 1000).toFixed(1)} ms per step`,
);
for (const [op, o] of [...byOp].sort((a, b) => b[1].us - a[1].us).slice(0, 16))
  console.log(
    `  ${((100 * o.us) / total).toFixed(1).padStart(5)} %  ${(o.us / runs / 1000).toFixed(2).padStart(7)} ms  ${op} ×${o.n / runs}`,
  );
