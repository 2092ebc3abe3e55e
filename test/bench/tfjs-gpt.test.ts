/**
 * The TensorFlow.js benchmark peer trains the GPT it claims to: checked against analytic results on
 * a tiny model on the cpu backend (and once on wasm, to prove the .wasm files load without network).
 */

import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { embed, type GptBenchConfig, tfjsTrainStep } from '../../bench/peers/tfjs-gpt.ts';

const tiny: GptBenchConfig = { vocab: 32, dModel: 16, nHead: 2, nLayer: 1, seq: 8, batch: 2 };

/** nanoGPT's parameter count: wte V·C, wpe T·C, per block 12C² + 13C (qkv 3C²+3C, proj C²+C,
 * fc 4C²+4C, out 4C²+C, two LayerNorms 4C), final LayerNorm 2C; the LM head is tied to wte. */
function gptParams({ vocab: V, dModel: C, nLayer: L, seq: T }: GptBenchConfig): number {
  return V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C;
}

describe('tfjs GPT peer', () => {
  it('has nanoGPT’s parameter count and starts at loss ln V', async () => {
    const r = await tfjsTrainStep(tiny, { backend: 'cpu', steps: 3, warmup: 0, seed: 1 });
    expect(r.params).toBe(gptParams(tiny));
    expect(r.backend).toBe('cpu threads=1');
    expect(r.losses).toHaveLength(3);
    expect(r.msPerStep).toHaveLength(3);
    // With 0.02-std weights the logits are ≈ 0, so the softmax is ≈ uniform: loss ≈ ln V.
    expect(Math.abs(r.losses[0]! - Math.log(tiny.vocab))).toBeLessThan(0.1);
    for (const ms of r.msPerStep) expect(ms).toBeGreaterThan(0);
  });

  it('learns a repeated pattern', async () => {
    const r = await tfjsTrainStep(tiny, { backend: 'cpu', steps: 20, warmup: 0, seed: 2, data: 'pattern' });
    const first = r.losses[0]!;
    const last = r.losses[r.losses.length - 1]!;
    // Each next token is a function of the current one; 20 AdamW steps must make clear progress.
    expect(last).toBeLessThan(first - 0.1);
    // Mostly downhill: a broken gradient or update wanders instead.
    const drops = r.losses.slice(1).filter((l, i) => l < r.losses[i]!).length;
    expect(drops).toBeGreaterThanOrEqual(15);
  });

  it('loads the wasm backend from node_modules and agrees with cpu on the first loss', async () => {
    const cpu = await tfjsTrainStep(tiny, { backend: 'cpu', steps: 1, warmup: 0, seed: 3 });
    const wasm = await tfjsTrainStep(tiny, { backend: 'wasm', threads: 2, steps: 1, warmup: 0, seed: 3 });
    expect(wasm.backend).toMatch(/^wasm simd=(true|false) threads=\d+ \(requested 2\)$/);
    // Same seeds, same weights and data: the two backends' float32 kernels agree to rounding.
    expect(Math.abs(wasm.losses[0]! - cpu.losses[0]!)).toBeLessThan(1e-4);
  });

  it('embedding gradient (scatter-add) equals tfjs’s own gather gradient, duplicates included', async () => {
    await tf.setBackend('cpu');
    const w = tf.randomNormal([6, 3], 0, 1, 'float32', 7);
    const ids = tf.tensor1d([4, 1, 4, 0, 4, 2], 'int32'); // id 4 three times, 3 and 5 never
    const dy = tf.randomNormal([6, 3], 0, 1, 'float32', 8); // a generic upstream gradient
    const ours = tf.grad((x: tf.Tensor) => embed(x, ids).mul(dy).sum())(w);
    const theirs = tf.grad((x: tf.Tensor) => tf.gather(x, ids).mul(dy).sum())(w);
    // Equal up to float32 summation order of the duplicate rows.
    const a = ours.dataSync();
    const b = theirs.dataSync();
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) expect(a[i]!).toBeCloseTo(b[i]!, 6);
    expect(Array.from(embed(w, ids).dataSync())).toEqual(Array.from(tf.gather(w, ids).dataSync()));
    tf.dispose([w, ids, dy, ours, theirs]);
  });

  it('is reproducible with the default seed', async () => {
    const a = await tfjsTrainStep(tiny, { backend: 'cpu', steps: 2, warmup: 0 });
    const b = await tfjsTrainStep(tiny, { backend: 'cpu', steps: 2, warmup: 0 });
    expect(a.losses).toEqual(b.losses);
  });

  it('rewritten matmul gradients train exactly like tfjs’s own', async () => {
    const opts = { backend: 'cpu', steps: 4, warmup: 0, seed: 4, data: 'pattern' } as const;
    const ours = await tfjsTrainStep(tiny, { ...opts, matmulGrads: 'nn' });
    const theirs = await tfjsTrainStep(tiny, { ...opts, matmulGrads: 'tfjs' });
    // Losses after step 0 depend on every gradient through the AdamW updates.
    for (let i = 0; i < 4; i++) expect(ours.losses[i]!).toBeCloseTo(theirs.losses[i]!, 5);
    expect(ours.losses[3]!).toBeLessThan(ours.losses[0]!);
  });

  it('rejects a head count that does not divide the width', async () => {
    await expect(tfjsTrainStep({ ...tiny, nHead: 3 }, { backend: 'cpu', steps: 1, warmup: 0 })).rejects.toThrow(/not divisible by nHead 3/);
  });
});
