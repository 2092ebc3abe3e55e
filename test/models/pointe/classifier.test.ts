/**
 * The evaluation PointNet (src/models/pointe/classifier.ts):
 *  - labels from a caption's attributes, checked by hand against the scenes' grammar;
 *  - the gradient of its loss against central finite differences (float64 interpreter);
 *  - max-pooling makes it a function of the set: permuting the points changes nothing;
 *  - at initialisation (heads ≈ 0) each head's cross-entropy is ≈ ln(classes).
 */
import { describe, expect, it } from 'vitest';
import { grad } from '../../../src/engine/autodiff.ts';
import { type HostTensor, hostTensor } from '../../../src/engine/dtype.ts';
import { interpret } from '../../../src/engine/interpret.ts';
import { objective } from '../../../src/engine/step.ts';
import { classifierInputs, classifierObjective, HEAD_NAMES, HEADS, labelsOf, PointNet } from '../../../src/models/pointe/classifier.ts';
import { CHANNELS, pointeConfig } from '../../../src/models/pointe/pointe.ts';
import { prng } from '../../../src/random.ts';
import { parseCaption } from '../../../src/shape/scenes.ts';
import { weights64 } from '../weights64.ts';

const B = 3;
const N = 6;
const cfg = pointeConfig({ stage: 'classifier', points: N, width: 8 });

function feeds(seed: number): Record<string, HostTensor> {
  const r = prng(seed);
  return {
    x: hostTensor(
      'float64',
      [B, N, CHANNELS],
      Float64Array.from({ length: B * N * CHANNELS }, () => r.uniform(-1, 1)),
    ),
    label_arrangement: hostTensor('int64', [B], [0, 3, 6]),
    label_shape: hostTensor('int64', [B], [1, 7, 2]),
    label_color: hostTensor('int64', [B], [11, 0, 4]),
  };
}

describe('pointe classifier', () => {
  it('labels a caption by arrangement, first shape and first colour', () => {
    expect(labelsOf(parseCaption('a red cube'))).toEqual({ arrangement: 0, shape: 1, color: 0 });
    // 'next to' is RELATIONS[2] → arrangement 3; torus is SHAPES' 4th key; blue the 5th colour
    expect(labelsOf(parseCaption('a small blue torus next to a large red sphere'))).toEqual({ arrangement: 3, shape: 3, color: 4 });
    expect(labelsOf(parseCaption('a black cone on top of a white cube on top of a green sphere'))).toEqual({
      arrangement: 6,
      shape: 5,
      color: 10,
    });
    expect(HEADS.arrangement.length).toBe(7);
  });

  it('gradient of the summed cross-entropies against central finite differences', () => {
    const model = new PointNet(cfg);
    const inp = classifierInputs(B, N);
    const { losses } = classifierObjective(model, inp);
    const obj = objective({ ps: model.ps, losses, data: [] });
    const f: Record<string, HostTensor> = { ...weights64(model.ps, 2), ...feeds(3) };
    const params = model.ps.inputs;
    const grads = interpret(grad(obj.loss, params), f);
    const H = 1e-6;
    params.forEach((p, k) => {
      for (const i of new Set([0, Math.floor(p.size / 2), p.size - 1])) {
        const at = (dx: number) => {
          const data = Float64Array.from(f[p.name!]!.data as Float64Array);
          data[i] = data[i]! + dx;
          return interpret([obj.loss], { ...f, [p.name!]: hostTensor('float64', p.shape, data) })[0]!.data[0] as number;
        };
        const fd = (at(H) - at(-H)) / (2 * H);
        const g = grads[k]!.data[i] as number;
        expect(Math.abs(g - fd), `${p.name}[${i}]: autodiff ${g}, finite differences ${fd}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(fd)));
      }
    });
  });

  it('is a function of the set of points, and starts at ln(classes) per head', () => {
    const model = new PointNet(cfg);
    const inp = classifierInputs(B, N);
    const { logits } = model.forward(inp.x);
    const { losses } = classifierObjective(model, inp);
    const w = weights64(model.ps, 4);
    const f = feeds(5);
    const outs = HEAD_NAMES.map((h) => logits[h]);
    const y = interpret(outs, { ...w, ...f });
    const x = f.x!.data as Float64Array;
    const perm = [5, 3, 1, 0, 2, 4];
    const px = new Float64Array(x.length);
    for (let b = 0; b < B; b++)
      for (let j = 0; j < N; j++)
        px.set(x.subarray((b * N + perm[j]!) * CHANNELS, (b * N + perm[j]! + 1) * CHANNELS), (b * N + j) * CHANNELS);
    const py = interpret(outs, { ...w, ...f, x: hostTensor('float64', [B, N, CHANNELS], px) });
    y.forEach((t, k) => t.data.forEach((v, i) => expect(py[k]!.data[i] as number).toBeCloseTo(v as number, 12)));
    // heads near zero (the init's std 0.01): each cross-entropy within 5 % of ln K (toBeCloseTo(1, 1): |ratio − 1| < 0.05)
    const init: Record<string, HostTensor> = {};
    for (const s of model.ps.specs) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const r = prng(n);
      const std = s.name.startsWith('head.') ? 0.01 : 0.3;
      init[s.name] = hostTensor(
        'float64',
        s.shape,
        Float64Array.from({ length: n }, () => (s.init.kind === 'ones' ? 1 : s.init.kind === 'zeros' ? 0 : std * r.normal())),
      );
    }
    const ce = interpret(
      HEAD_NAMES.map((h) => losses[h]!),
      { ...init, ...f },
    );
    HEAD_NAMES.forEach((h, k) => expect((ce[k]!.data[0] as number) / Math.log(HEADS[h].length)).toBeCloseTo(1, 1));
  });
});
