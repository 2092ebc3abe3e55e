/**
 * Where a GPT training step's time goes, kernel by kernel, against the work each kernel has to do.
 * Three graphs of one size are profiled with ONNX Runtime's profiler (2 threads, graph optimisation
 * 'all', arena and memory pattern off as Tony's runtime sets them; 2 warm-up runs, then `runs`
 * profiled): the forward loss alone, forward + backward (loss and every gradient as outputs), and
 * the whole training step (+ clipping and AdamW). Kernel time per phase is the difference.
 *
 * Per kernel the profile gives its input and output shapes, from which the script computes the
 * work it must do: for MatMul / FusedMatMul / Gemm 2·M·N·K FLOP (K recovered from the shapes), for
 * everything else the bytes it must read and write at least (float32 elements in + out). Achieved
 * GFLOP/s and GB/s say whether a kernel runs at the machine's speed or wastes it. Kernel times are
 * per-kernel wall times, which a loaded machine inflates less than it does a whole step (a kernel
 * that loses its core mid-run is still counted, so compare rows within one run).
 *
 *   node --import tsx docs/results/engine/profile-kernels.ts [C,L,heads,T,B = 256,2,4,128,16] [runs = 4]
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { grad } from '../../../src/engine/autodiff.ts';
import { exportOnnx } from '../../../src/engine/onnx.ts';
import { adamwConfig, buildTrainStep } from '../../../src/engine/optim.ts';
import { input, type Tensor } from '../../../src/engine/tensor.ts';
import { GPT, gptConfig } from '../../../src/models/gpt/gpt.ts';

const [C = 256, L = 2, H = 4, T = 128, B = 16] = (process.argv[2] ?? '256,2,4,128,16').split(',').map(Number);
const RUNS = Number(process.argv[3] ?? 4);
const cfg = gptConfig({ vocabSize: 512, blockSize: T, nLayer: L, nHead: H, dModel: C, dropout: 0 });

interface Kernel {
  name: string;
  op: string;
  us: number;
  ins: number[][];
  outs: number[][];
}

/** Profile one graph: per-node kernel time (µs per run, summed over its records) and shapes. */
async function profile(bytes: Uint8Array, inputs: readonly { name: string; shape: readonly number[]; dtype: string }[]): Promise<Kernel[]> {
  const prefix = join(tmpdir(), `tony-kernels-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const s = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    enableCpuMemArena: false,
    enableMemPattern: false,
    enableProfiling: true,
    profileFilePrefix: prefix,
  });
  const feeds: Record<string, ort.Tensor> = {};
  for (const v of inputs) {
    const n = v.shape.reduce((a, b) => a * b, 1);
    const dims = [...v.shape];
    feeds[v.name] =
      v.dtype === 'int64'
        ? new ort.Tensor(
            'int64',
            BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 7) % 500)),
            dims,
          )
        : new ort.Tensor(
            'float32',
            Float32Array.from({ length: n }, (_, i) => (v.shape.length ? 0.02 * Math.sin(i + 1) : 1)),
            dims,
          );
  }
  for (let i = 0; i < 2 + RUNS; i++) await s.run(feeds);
  (s as unknown as { endProfiling(): void }).endProfiling();
  await s.release();
  const dir = tmpdir();
  const base = prefix.slice(dir.length + 1);
  const file = readdirSync(dir).find((f) => f.startsWith(base) && f.endsWith('.json'));
  if (!file) throw new Error(`no profile file ${prefix}*.json`);
  const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
    cat: string;
    name: string;
    dur: number;
    args: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] };
  }[];
  rmSync(join(dir, file), { force: true });
  const byNode = new Map<string, Kernel>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    let k = byNode.get(name);
    if (!k) {
      const shapes = (xs: Record<string, number[]>[] = []) => xs.map((x) => Object.values(x)[0] ?? []);
      k = { name, op: e.args.op_name ?? '?', us: 0, ins: shapes(e.args.input_type_shape), outs: shapes(e.args.output_type_shape) };
      byNode.set(name, k);
    }
    k.us += e.dur;
  }
  // Every run was profiled: 2 warm-up + RUNS. Per run:
  for (const k of byNode.values()) k.us /= 2 + RUNS;
  return [...byNode.values()];
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const MATMULS = new Set(['MatMul', 'FusedMatMul', 'Gemm']);

/** 2·M·N·K for a (batched) matrix product, K from the operand and output sizes. */
function flops(k: Kernel): number {
  const [a, b] = k.ins as [number[], number[]];
  const out = k.outs[0]!;
  const batch = (s: number[]) => size(s.slice(0, -2));
  // A (bA, M, K), B (bB, K, N), out (max(bA, bB), M, N): |A|·|B| / |out| = min(bA, bB)·K².
  const K = Math.round(Math.sqrt((size(a) * size(b)) / (size(out) * Math.min(batch(a), batch(b)))));
  return 2 * size(out) * K;
}
const bytes = (k: Kernel) => 4 * (k.ins.reduce((n, s) => n + size(s), 0) + k.outs.reduce((n, s) => n + size(s), 0));

const gpt = new GPT(cfg, true);
const idx = input('idx', [B, T], 'int64');
const targets = input('targets', [B, T], 'int64');
const loss = gpt.loss(idx, targets);
const params = gpt.ps.inputs;
const gradients = grad(loss, params);
const fwd = exportOnnx([idx, targets, ...params], { loss }, { name: 'forward' });
const fwdBwd = exportOnnx(
  [idx, targets, ...params],
  { loss, ...Object.fromEntries(gradients.map((g: Tensor, i) => [`grad.${params[i]!.name}`, g])) },
  { name: 'forward_backward' },
);
const step = buildTrainStep(gpt.ps, loss, [idx, targets], adamwConfig());

const nParams = gpt.ps.count();
console.log(
  `GPT C${C} L${L} h${H} T${T} B${B} (${(nParams / 1e6).toFixed(2)} M params), ${RUNS} profiled runs after 2 warm-up, load ${loadavg()[0]!.toFixed(2)}`,
);
const phases: [string, Kernel[]][] = [];
for (const [name, m] of [
  ['forward', fwd],
  ['forward+backward', fwdBwd],
  ['whole step', step.model],
] as const) {
  const t0 = performance.now();
  phases.push([name, await profile(m.bytes, m.inputs)]);
  console.log(`  profiled ${name} (${m.nodeCount} nodes) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const total = (ks: Kernel[]) => ks.reduce((a, k) => a + k.us, 0) / 1000;
const [tf, tfb, ts] = phases.map(([, ks]) => total(ks)) as [number, number, number];
console.log(
  `kernel ms per run: forward ${tf.toFixed(1)}, backward ${(tfb - tf).toFixed(1)} (forward+backward ${tfb.toFixed(1)}), clipping + AdamW ${(ts - tfb).toFixed(1)}; whole step ${ts.toFixed(1)} ms, ${phases[2]![1].length} kernels after ORT's fusions`,
);

const kernels = phases[2]![1];
// Per op type, then the attention-score kernels (anything whose output has T×T trailing dims).
const byOp = new Map<string, { us: number; n: number; flop: number; bytes: number }>();
for (const k of kernels) {
  const o = byOp.get(k.op) ?? { us: 0, n: 0, flop: 0, bytes: 0 };
  o.us += k.us;
  o.n++;
  o.flop += MATMULS.has(k.op) ? flops(k) : 0;
  o.bytes += bytes(k);
  byOp.set(k.op, o);
}
const rate = (o: { us: number; flop: number; bytes: number }, op: string) =>
  MATMULS.has(op)
    ? `${(o.flop / 1e9).toFixed(2).padStart(7)} GFLOP ${(o.flop / o.us / 1e3).toFixed(0).padStart(4)} GFLOP/s`
    : `${(o.bytes / 1e6).toFixed(0).padStart(7)} MB    ${(o.bytes / o.us / 1e3).toFixed(1).padStart(5)} GB/s`;
console.log('\nwhole step, per op type (ms per run, share of kernel time, the least work it must do, achieved rate):');
for (const [op, o] of [...byOp].sort((a, b) => b[1].us - a[1].us).slice(0, 18))
  console.log(
    `  ${(o.us / 1000).toFixed(2).padStart(8)} ms ${((100 * o.us) / 1000 / ts).toFixed(1).padStart(5)} %  ${op.padEnd(20)} ×${String(o.n).padEnd(4)} ${rate(o, op)}`,
  );

// Attention scores: (B, nh, queries, keys) with both trailing axes longer than a head (the dense
// graph's (T, T), the block graph's (block, keys ≤ T)).
const hs = C / H;
const isScores = (k: Kernel) => k.outs.concat(k.ins).some((s) => s.length === 4 && s[2]! > hs && s[3]! > hs);
const scores = kernels.filter(isScores);
const sUs = scores.reduce((a, k) => a + k.us, 0);
console.log(
  `\nkernels touching an attention-score tensor (B, nh, queries, keys): ${scores.length}, ${(sUs / 1000).toFixed(1)} ms (${((100 * sUs) / 1000 / ts).toFixed(1)} % of the step)`,
);

// The optimizer's kernels, picked by shape (the graph's node names do not say which phase made
// them): elementwise kernels whose output has a parameter's shape and whose inputs have that shape
// or are scalars, and the reductions of such a tensor to a scalar (the clipping norm's squares).
const paramShapes = new Set(gpt.ps.specs.map((s) => s.shape.join(',')));
const isOptimizer = (k: Kernel) => {
  const out = k.outs[0]?.join(',') ?? '';
  const scalarOrSame = k.ins.every((s) => size(s) === 1 || s.join(',') === out);
  if (['Mul', 'Add', 'Sub', 'Div', 'Sqrt'].includes(k.op)) return paramShapes.has(out) && scalarOrSame;
  return k.op === 'ReduceSum' && size(k.outs[0] ?? []) === 1 && paramShapes.has(k.ins[0]?.join(',') ?? '');
};
const opt = kernels.filter(isOptimizer);
const oUs = opt.reduce((a, k) => a + k.us, 0);
const oBytes = opt.reduce((a, k) => a + bytes(k), 0);
console.log(
  `clipping + AdamW kernels (elementwise over parameter-shaped tensors): ${opt.length}, ${(oUs / 1000).toFixed(1)} ms (${((100 * oUs) / 1000 / ts).toFixed(1)} % of the step), ${(oBytes / 1e6).toFixed(0)} MB moved = ${(oBytes / (4 * nParams)).toFixed(1)} × 4 bytes per parameter`,
);

console.log('\nthe 25 slowest kernels of the whole step:');
for (const k of [...kernels].sort((a, b) => b.us - a.us).slice(0, 25)) {
  const shp = `${k.ins.map((s) => `[${s}]`).join(' ')} → ${k.outs.map((s) => `[${s}]`).join(' ')}`;
  const r = MATMULS.has(k.op)
    ? `${(flops(k) / 1e6).toFixed(0)} MFLOP, ${(flops(k) / k.us / 1e3).toFixed(0)} GFLOP/s`
    : `${(bytes(k) / 1e6).toFixed(1)} MB, ${(bytes(k) / k.us / 1e3).toFixed(1)} GB/s`;
  console.log(`  ${(k.us / 1000).toFixed(2).padStart(7)} ms  ${k.op.padEnd(16)} ${r.padEnd(26)} ${shp}`);
}
