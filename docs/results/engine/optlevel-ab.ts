/**
 * ONNX Runtime's graph-optimisation level for the training step: the same fused step graph (one
 * GPT size) in one session per level — 'all' (what Tony uses), 'extended', 'basic', 'disabled' —
 * run in interleaved rounds in one process (arena and pattern off, 2 threads, no spinning, as
 * Tony's runtime sets them), timing CPU time per step (user + system, all threads: the figure a
 * loaded machine moves least) and wall time, and checking every level gives the same loss.
 *
 *   node --import tsx docs/results/engine/optlevel-ab.ts [C,L,heads,T,B = 256,2,4,128,16] [rounds = 3]
 */
import { loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { adamwConfig, buildTrainStep } from '../../../src/engine/optim.ts';
import { input } from '../../../src/engine/tensor.ts';
import { GPT, gptConfig } from '../../../src/models/gpt/gpt.ts';

const [C = 256, L = 2, H = 4, T = 128, B = 16] = (process.argv[2] ?? '256,2,4,128,16').split(',').map(Number);
const ROUNDS = Number(process.argv[3] ?? 3);
const STEPS = 4;
const cfg = gptConfig({ vocabSize: 512, blockSize: T, nLayer: L, nHead: H, dModel: C, dropout: 0 });
const gpt = new GPT(cfg, true);
const idx = input('idx', [B, T], 'int64');
const targets = input('targets', [B, T], 'int64');
const step = buildTrainStep(gpt.ps, gpt.loss(idx, targets), [idx, targets], adamwConfig());
const feeds: Record<string, ort.Tensor> = {};
for (const v of step.model.inputs) {
  const n = v.shape.reduce((a, b) => a * b, 1);
  feeds[v.name] =
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
const LEVELS = ['all', 'extended', 'basic', 'disabled'] as const;
const sessions = new Map<string, ort.InferenceSession>();
for (const level of LEVELS)
  sessions.set(
    level,
    await ort.InferenceSession.create(step.model.bytes, {
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      graphOptimizationLevel: level,
      enableCpuMemArena: false,
      enableMemPattern: false,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    }),
  );
console.log(
  `GPT C${C} L${L} h${H} T${T} B${B}, ${step.model.nodeCount} nodes; ${ROUNDS} interleaved rounds of ${STEPS} steps after one warm-up; load ${loadavg()[0]!.toFixed(2)}`,
);
const cpu = new Map<string, number[]>();
const wall = new Map<string, number[]>();
const loss = new Map<string, number>();
for (let r = 0; r < ROUNDS; r++)
  for (const level of LEVELS) {
    const s = sessions.get(level)!;
    const out = await s.run(feeds);
    loss.set(level, Number((out.loss!.data as Float32Array)[0]));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < STEPS; i++) await s.run(feeds);
    const c = process.cpuUsage(c0);
    (cpu.get(level) ?? cpu.set(level, []).get(level)!).push((c.user + c.system) / 1000 / STEPS);
    (wall.get(level) ?? wall.set(level, []).get(level)!).push((performance.now() - t0) / STEPS);
  }
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const level of LEVELS)
  console.log(
    `  ${level.padEnd(9)} CPU ${med(cpu.get(level)!).toFixed(0).padStart(5)} ms/step (rounds ${cpu
      .get(level)!
      .map((x) => x.toFixed(0))
      .join(', ')}), wall ${med(wall.get(level)!).toFixed(0).padStart(5)} ms  loss ${loss.get(level)!.toFixed(6)}`,
  );
console.log(`load after: ${loadavg()[0]!.toFixed(2)}`);
