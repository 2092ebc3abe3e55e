/**
 * Where a training step's peak memory goes: peak RSS of fresh processes that stop at successive
 * stages, for one GPT size — Node with onnxruntime-node loaded; + the step graph's session; + its
 * inputs (parameters, two moments, the batch) as tensors; + running the forward pass only; + the
 * forward and backward passes; + the whole step (clipping, AdamW, new parameters and moments out).
 * Each stage's increase over the one before is what it adds at its peak. Sessions as Tony's
 * runtime makes them: 2 threads, graph optimisation 'all', ONNX Runtime's arena and memory pattern
 * off. Peak RSS hardly moves with the load (docs/results/engine.md), so this runs on a busy machine.
 *
 *   node --import tsx docs/results/engine/memory-breakdown.ts [C,L,heads,T,B = 512,6,8,256,8]
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { grad } from '../../../src/engine/autodiff.ts';
import { exportOnnx } from '../../../src/engine/onnx.ts';
import { adamwConfig, buildTrainStep } from '../../../src/engine/optim.ts';
import { input, type Tensor } from '../../../src/engine/tensor.ts';
import { GPT, gptConfig } from '../../../src/models/gpt/gpt.ts';

const shape = process.argv[2] ?? '512,6,8,256,8';
const [C = 512, L = 6, H = 8, T = 256, B = 8] = shape.split(',').map(Number);
const STAGES = ['node + ort', 'session', 'inputs', 'forward', 'forward+backward', 'whole step'] as const;
const stage = process.argv[3];
const rssMB = () => process.resourceUsage().maxRSS / 1024;

if (stage) {
  const upTo = STAGES.indexOf(stage as (typeof STAGES)[number]);
  const cfg = gptConfig({ vocabSize: 512, blockSize: T, nLayer: L, nHead: H, dModel: C, dropout: 0 });
  const gpt = new GPT(cfg, true);
  const idx = input('idx', [B, T], 'int64');
  const targets = input('targets', [B, T], 'int64');
  const loss = gpt.loss(idx, targets);
  const params = gpt.ps.inputs;
  // The session of the stage's graph; the earlier stages load the whole step (its size is theirs).
  // Every stage from 'inputs' on holds the whole step's inputs (parameters and both moments) and
  // feeds the graph those it takes, so the stages differ only by what the run adds.
  const step = buildTrainStep(gpt.ps, loss, [idx, targets], adamwConfig()).model;
  const model =
    stage === 'forward'
      ? exportOnnx([idx, targets, ...params], { loss }, { name: 'forward' })
      : stage === 'forward+backward'
        ? exportOnnx(
            [idx, targets, ...params],
            { loss, ...Object.fromEntries(grad(loss, params).map((g: Tensor, i) => [`grad.${params[i]!.name}`, g])) },
            { name: 'forward_backward' },
          )
        : step;
  // The graph's bytes and the tracing are not the step's: measure from here.
  const base = rssMB();
  if (upTo >= 1) {
    const s = await ort.InferenceSession.create(model.bytes, {
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      enableCpuMemArena: false,
      enableMemPattern: false,
    });
    const held: Record<string, ort.Tensor> = {};
    if (upTo >= 2)
      for (const v of step.inputs) {
        const n = v.shape.reduce((a, b) => a * b, 1);
        held[v.name] =
          v.dtype === 'int64'
            ? new ort.Tensor(
                'int64',
                BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 7) % 500)),
                [...v.shape],
              )
            : new ort.Tensor(
                'float32',
                Float32Array.from({ length: n }, (_, i) => (v.shape.length ? 0.02 * Math.sin(i + 1) : 1)),
                [...v.shape],
              );
      }
    const feeds = Object.fromEntries(model.inputs.map((v) => [v.name, held[v.name]!]));
    if (upTo >= 3) for (let i = 0; i < 2; i++) await s.run(feeds);
  }
  process.stdout.write(`${JSON.stringify({ base, peak: rssMB() })}\n`);
  process.exit(0);
}

const cfg = gptConfig({ vocabSize: 512, blockSize: T, nLayer: L, nHead: H, dModel: C, dropout: 0 });
const nParams = new GPT(cfg).ps.count();
console.log(
  `GPT C${C} L${L} h${H} T${T} B${B}: ${(nParams / 1e6).toFixed(2)} M parameters = ${((4 * nParams) / 1e6).toFixed(0)} MB in float32; load ${loadavg()[0]!.toFixed(2)}`,
);
let prev = 0;
for (const st of STAGES) {
  const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), shape, st], { encoding: 'utf8' });
  const { base, peak } = JSON.parse(out.trim().split('\n').pop()!) as { base: number; peak: number };
  console.log(
    `  ${st.padEnd(17)} peak RSS ${peak.toFixed(0).padStart(5)} MB  (${st === STAGES[0] ? 'after tracing the graph' : `+${(peak - prev).toFixed(0)} MB`}${st === STAGES[0] ? `, of which ${base.toFixed(0)} MB before` : ''})`,
  );
  prev = peak;
}
