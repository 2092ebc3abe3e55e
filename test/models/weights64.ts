/**
 * Random float64 weights for a model's parameters, for the float64 reference interpreter in gradient
 * checks: every weight drawn, the zero-initialised ones too (an output projection left at zero makes
 * every deeper gradient vanish), around 1 for the ones-initialised gains.
 */
import { type HostTensor, hostTensor } from '../../src/engine/dtype.ts';
import type { ParamSet } from '../../src/engine/nn.ts';
import { prng } from '../../src/random.ts';

export function weights64(ps: ParamSet, seed: number, scale = 0.4): Record<string, HostTensor> {
  const r = prng(seed);
  const out: Record<string, HostTensor> = {};
  for (const s of ps.specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    out[s.name] = hostTensor(
      'float64',
      s.shape,
      Float64Array.from({ length: n }, () => (s.init.kind === 'ones' ? 1 : 0) + scale * r.normal()),
    );
  }
  return out;
}
