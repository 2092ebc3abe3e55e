/**
 * A tiny byte-level GPT's whole training step — forward, backward and AdamW in one ONNX graph
 * (src/engine/optim.ts's buildTrainStep, the graph `tony train gpt` runs) — and its initial weights,
 * for the page to train in the tab on onnxruntime-web. The page feeds parameters and moments in and
 * takes the new ones back each step, as the runtime's state does on the server.
 */
import { type ADAMW_DEFAULTS, buildTrainStep } from '../engine/optim.ts';
import { input } from '../engine/tensor.ts';
import { GPT, GPT_PRESETS, gptConfig } from '../models/gpt/gpt.ts';

/** Small enough to step in tens of milliseconds in WebAssembly: 2 layers, width 64, 32 bytes of context. */
const CONFIG = gptConfig({ ...GPT_PRESETS.tiny, blockSize: 32 });
const BATCH = 8;
const OPTIMIZER: typeof ADAMW_DEFAULTS = {
  lr: 3e-3,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0.1,
  gradClip: 1,
  warmupSteps: 10,
  decaySteps: 2000,
  minLrRatio: 0.1,
};
const SEED = 0;

export interface InPageTraining {
  manifest: {
    config: typeof CONFIG;
    batch: number;
    lr: number;
    /** Parameters in init.bin (float32, in this order): name, shape, offset in floats. */
    params: Array<{ name: string; shape: readonly number[]; offset: number }>;
  };
  step: Uint8Array;
  init: Buffer;
}

let built: InPageTraining | undefined;

export function inPageTraining(): InPageTraining {
  if (built) return built;
  const gpt = new GPT(CONFIG);
  const idx = input('idx', [BATCH, CONFIG.blockSize], 'int64');
  const targets = input('targets', [BATCH, CONFIG.blockSize], 'int64');
  const step = buildTrainStep(gpt.ps, gpt.loss(idx, targets), [idx, targets], OPTIMIZER);
  const init = gpt.ps.initialize(SEED);
  const params: InPageTraining['manifest']['params'] = [];
  let offset = 0;
  for (const spec of gpt.ps.specs) {
    params.push({ name: spec.name, shape: spec.shape, offset });
    offset += init[spec.name]!.data.length;
  }
  const blob = Buffer.alloc(offset * 4);
  for (const p of params) {
    const f = Float32Array.from(init[p.name]!.data as ArrayLike<number>);
    Buffer.from(f.buffer).copy(blob, p.offset * 4);
  }
  built = { manifest: { config: CONFIG, batch: BATCH, lr: OPTIMIZER.lr, params }, step: step.model.bytes, init: blob };
  return built;
}
