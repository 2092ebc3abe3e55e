/**
 * When does ONNX Runtime run the optimizer's kernels that read only a step's inputs — AdamW's
 * m·β1, v·β2 and p·(1 − lr·wd), whose inputs are all there before the forward pass starts? Run
 * early, each holds a parameter-sized result through the forward and backward passes: together up
 * to three more copies of the parameters at the step's peak. This profiles one training step of a
 * small GPT as Tony's runtime makes sessions and prints where in the executed kernel sequence those
 * nodes ran, against the forward pass's first kernel and the last gradient kernel.
 *
 *   node --import tsx docs/results/engine/step-order-probe.ts [C,L,heads,T,B = 64,2,2,32,2]
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { adamwConfig, buildTrainStep } from '../../../src/engine/optim.ts';
import { input } from '../../../src/engine/tensor.ts';
import { GPT, gptConfig } from '../../../src/models/gpt/gpt.ts';

const [C = 64, L = 2, H = 2, Tn = 32, B = 2] = (process.argv[2] ?? '64,2,2,32,2').split(',').map(Number);
const cfg = gptConfig({ vocabSize: 64, blockSize: Tn, nLayer: L, nHead: H, dModel: C });
const gpt = new GPT(cfg);
const idx = input('idx', [B, Tn], 'int64');
const targets = input('targets', [B, Tn], 'int64');
const step = buildTrainStep(gpt.ps, gpt.loss(idx, targets), [idx, targets], adamwConfig()).model;
const graph = onnxProto.onnx.ModelProto.decode(step.bytes).graph!;
const moment = new Set(
  step.inputs.filter((v) => /^[mv]\./.test(v.name) || gpt.ps.inputs.some((p) => p.name === v.name)).map((v) => v.name),
);
// Nodes that read a moment or a parameter and nothing computed (inputs and initializers only).
const computed = new Set(graph.node!.flatMap((n) => n.output!));
const early = new Set(
  graph
    .node!.filter((n) => n.opType === 'Mul' && n.input!.some((i) => moment.has(i)) && !n.input!.some((i) => computed.has(i)))
    .map((n) => n.name!),
);
const prefix = join(tmpdir(), `tony-order-${process.pid}`);
const s = await ort.InferenceSession.create(step.bytes, {
  intraOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  enableCpuMemArena: false,
  enableMemPattern: false,
  enableProfiling: true,
  profileFilePrefix: prefix,
});
const feeds: Record<string, ort.Tensor> = {};
for (const v of step.inputs) {
  const n = v.shape.reduce((a, b) => a * b, 1);
  feeds[v.name] =
    v.dtype === 'int64'
      ? new ort.Tensor(
          'int64',
          BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 64)),
          [...v.shape],
        )
      : new ort.Tensor(
          'float32',
          Float32Array.from({ length: n }, (_, i) => (v.shape.length ? 0.01 * Math.sin(i) : 1)),
          [...v.shape],
        );
}
await s.run(feeds);
s.endProfiling();
const file = readdirSync(tmpdir()).find((f) => f.startsWith(`tony-order-${process.pid}`))!;
const events = (JSON.parse(readFileSync(join(tmpdir(), file), 'utf8')) as { cat: string; name: string; ts: number }[])
  .filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'))
  .sort((a, b) => a.ts - b.ts)
  .map((e) => e.name.replace(/_kernel_time$/, ''));
for (const f of readdirSync(tmpdir())) if (f.startsWith(`tony-order-${process.pid}`)) rmSync(join(tmpdir(), f));
const at = (pred: (n: string) => boolean) => events.findIndex(pred);
const positions = events.map((n, i) => (early.has(n) ? i : -1)).filter((i) => i >= 0);
const opOf = new Map(graph.node!.map((n) => [n.name!, n.opType!]));
const firstGather = at((n) => opOf.get(n) === 'Gather');
const lastScatter = events.length - 1 - [...events].reverse().findIndex((n) => opOf.get(n) === 'ScatterND');
console.log(
  `GPT C${C} L${L} T${Tn} B${B}: ${events.length} kernels ran; ${early.size} optimizer Muls read only inputs (moments, parameters)`,
);
console.log(`  the forward's first Gather ran at #${firstGather}; the embedding gradient's ScatterND at #${lastScatter}`);
console.log(`  those Muls ran at #${positions.join(', #')}`);
console.log(
  `  before the forward's first Gather: ${positions.filter((p) => p < firstGather).length}; before the embedding gradient: ${positions.filter((p) => p < lastScatter).length}`,
);
