/**
 * The priors' gradient checks (labels.test.ts, lyrics.test.ts): weights in float64 and autodiff
 * against central finite differences, both through the float64 reference interpreter (ONNX
 * Runtime's float64 mode computes erf, inside GELU, in float32, which swamps a difference at h = 1e-6).
 */
import { expect } from 'vitest';
import { grad } from '../../../src/engine/autodiff.ts';
import { type HostTensor, hostTensor, toNumbers } from '../../../src/engine/dtype.ts';
import { interpret } from '../../../src/engine/interpret.ts';
import type { Tensor } from '../../../src/engine/tensor.ts';
import type { Prior } from '../../../src/models/jukebox/prior.ts';

/** The prior's seed-6 init in float64, ×10 except where `keep` says (gains): attention far from uniform, every term mattering. */
export function scaledWeights(prior: Prior, keep: (name: string) => boolean): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [k, t] of Object.entries(prior.ps.initialize(6)))
    out[k] = hostTensor(
      'float64',
      t.shape,
      Float64Array.from(t.data as Float32Array, (v) => (keep(k) ? v : 10 * v)),
    );
  return out;
}

/**
 * Checks d loss / d p for each of `params` at the indices `at(p)` against central differences
 * (h = 1e-6, tolerance 1e-6 relative to max(1, |fd|)), and that each has some gradient; returns the
 * gradients, in `params`' order.
 */
export function expectGradients(
  loss: Tensor,
  params: readonly Tensor[],
  feeds: Record<string, HostTensor>,
  at: (p: Tensor) => number[],
): Float64Array[] {
  const out = interpret(grad(loss, [...params]), feeds).map(toNumbers);
  const lossAt = (f: Record<string, HostTensor>) => toNumbers(interpret([loss], f)[0]!)[0]!;
  const h = 1e-6;
  for (const [k, p] of params.entries()) {
    const g = out[k]!;
    expect(Math.max(...g.map(Math.abs)), `${p.name} has a gradient`).toBeGreaterThan(1e-6);
    for (const i of at(p)) {
      const bump = (dv: number) => {
        const data = Float64Array.from(feeds[p.name!]!.data as Float64Array);
        data[i]! += dv;
        return { ...feeds, [p.name!]: hostTensor('float64', p.shape, data) };
      };
      const fd = (lossAt(bump(h)) - lossAt(bump(-h))) / (2 * h);
      expect(Math.abs(g[i]! - fd), `${p.name}[${i}]: autodiff ${g[i]}, finite differences ${fd}`).toBeLessThan(
        1e-6 * Math.max(1, Math.abs(fd)),
      );
    }
  }
  return out;
}
