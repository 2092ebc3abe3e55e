/**
 * Start a longer-context run from a trained GPT: copy every weight, and stretch the learned position
 * table (blockSize_old → blockSize_new rows) by linear interpolation — position interpolation, the
 * way ViT resizes its learned position embeddings for a new resolution — then save it as step 0 of a
 * run directory with zero AdamW moments. `tony train lm --out <run>` then fine-tunes from it.
 *
 *   node --import tsx docs/results/fim/extend-context.ts models/code runs/code-ctx1024 1024
 */

import { loadCheckpoint, saveRunCheckpoint } from '../../../src/engine/checkpoint.ts';
import { hostTensor } from '../../../src/engine/dtype.ts';

const [src, out, sizeArg] = process.argv.slice(2);
if (!src || !out || !sizeArg) throw new Error('usage: extend-context.ts <model dir> <run dir> <new block size>');
const T2 = Number(sizeArg);
const ck = await loadCheckpoint<{ model: { blockSize: number; dModel: number } }>(src);
const { blockSize: T1, dModel: C } = ck.config.model;
const old = ck.params['wpe.weight']!.data as Float32Array; // (T1, C)
const wpe = hostTensor('float32', [T2, C]);
const d = wpe.data as Float32Array;
for (let i = 0; i < T2; i++) {
  const x = (i * (T1 - 1)) / (T2 - 1); // new position i sits at old position x
  const a = Math.floor(x);
  const b = Math.min(a + 1, T1 - 1);
  const w = x - a;
  for (let c = 0; c < C; c++) d[i * C + c] = (1 - w) * old[a * C + c]! + w * old[b * C + c]!;
}
const params = { ...ck.params, 'wpe.weight': wpe };
const optimizer: Record<string, ReturnType<typeof hostTensor>> = {};
for (const [name, t] of Object.entries(params)) {
  optimizer[`m.${name}`] = hostTensor('float32', t.shape);
  optimizer[`v.${name}`] = hostTensor('float32', t.shape);
}
const config = { ...ck.config, model: { ...ck.config.model, blockSize: T2 }, extended_from: src };
await saveRunCheckpoint(out, 0, { config, state: { step: 0, tokens: 0 }, params, optimizer });
console.log(`${src} (context ${T1}) → ${out}/ckpt-0 (context ${T2}); position table interpolated`);
