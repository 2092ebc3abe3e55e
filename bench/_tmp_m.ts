import { tfjsTrainStep } from './peers/tfjs-gpt.ts';
const cfg = { vocab: 512, dModel: 256, nHead: 4, nLayer: 2, seq: 128, batch: 16 };
const matmulGrads = process.argv[2] as 'nn' | 'tfjs';
const r = await tfjsTrainStep(cfg, { backend: 'wasm', threads: 2, steps: 3, warmup: 1, matmulGrads });
const med = [...r.msPerStep].sort((a, b) => a - b)[1]!;
console.log(matmulGrads, r.backend, 'ms/step', r.msPerStep.map((m) => m.toFixed(0)).join(' '), 'median', med.toFixed(0), 'tok/s', ((cfg.seq * cfg.batch) / (med / 1000)).toFixed(0), 'losses', r.losses.map((l) => l.toFixed(3)).join(' '));
