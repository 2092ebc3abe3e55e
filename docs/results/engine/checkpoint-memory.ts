/**
 * Peak RSS of a training run with and without the checkpoint every `tony train` saves at its end:
 * the GPT-2-small shape (12 × 768, T 1024, B 1, vocabulary 512, as the engine bench's gpt2s), two
 * steps. Run it once each way, in fresh processes.
 *
 *   node --import tsx docs/results/engine/checkpoint-memory.ts save|nosave [C,L,h,T,B = 768,12,12,1024,1]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as T from '../../../src/engine/index.ts';
import { adamwConfig } from '../../../src/engine/optim.ts';
import { train } from '../../../src/engine/trainer.ts';
import { gptConfig } from '../../../src/models/gpt/gpt.ts';
import { gptTask } from '../../../src/models/gpt/lm.ts';

const [C, L, h, Tn, B] = (process.argv[3] ?? '768,12,12,1024,1').split(',').map(Number) as [number, number, number, number, number];
const cfg = gptConfig({ vocabSize: 512, dModel: C, nLayer: L, nHead: h, blockSize: Tn });
const stream = Uint16Array.from({ length: 1 << 16 }, (_, i) => (i * 2654435761) % cfg.vocabSize);
const dir = mkdtempSync(join(tmpdir(), 'tony-ckpt-mem-'));
const rt = await T.Runtime.start({ threads: 2 });
const mb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const save = process.argv[2] === 'save';
const STEPS = 2;
await train(rt, gptTask(cfg, { train: stream, val: stream, files: 1, bytes: stream.length }, { batch: B }), {
  steps: STEPS,
  optimizer: adamwConfig(),
  ...(save ? { outDir: dir } : {}),
});
console.log(
  `GPT C${C} L${L} h${h} T${Tn} B${B}, ${STEPS} steps, ${save ? 'then the final checkpoint' : 'no checkpoint'}: peak RSS ${mb()} MB; load ${loadavg()[0]!.toFixed(1)}`,
);
await rt.close();
rmSync(dir, { recursive: true, force: true });
