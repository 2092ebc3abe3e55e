/**
 * The evaluation PointNet (src/models/pointe/classifier.ts):
 *  - labels from a caption's attributes, checked by hand against the scenes' grammar;
 *  - the gradient of its loss against central finite differences (float64 interpreter);
 *  - max-pooling makes it a function of the set: permuting the points changes nothing;
 *  - at initialisation (heads ≈ 0) each head's cross-entropy is ≈ ln(classes);
 *  - training augmentation: jitter's mean squared displacement against E[σ²] = jitter²/3 for
 *    σ ~ U(0, jitter); random subsets are distinct pool points, half the draws, each point equally often.
 */
import { describe, expect, it } from 'vitest';
import { grad } from '../../../src/engine/autodiff.ts';
import { type HostTensor, hostTensor } from '../../../src/engine/dtype.ts';
import { interpret } from '../../../src/engine/interpret.ts';
import { objective } from '../../../src/engine/step.ts';
import {
  augment,
  classifierInputs,
  classifierObjective,
  HEAD_NAMES,
  HEADS,
  labelsOf,
  PointNet,
} from '../../../src/models/pointe/classifier.ts';
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

  describe('training augmentation', () => {
    const labels = { arrangement: 0, shape: 0, color: 0 };
    it('without it, the first N farthest points as they are', () => {
      const x = Float32Array.from({ length: 4 * CHANNELS }, (_, i) => i / 10);
      const out = new Float32Array(4 * CHANNELS);
      augment({ id: 'a', scene: 'a red cube', x, labels }, out, pointeConfig({ stage: 'classifier', points: 4 }), prng(1));
      expect(out).toEqual(x);
    });

    it('jitters coordinates by N(0, σ²), σ ~ U(0, jitter): mean squared displacement jitter²/3, colours untouched', () => {
      const n = 2000;
      const J = 0.03;
      const c = pointeConfig({ stage: 'classifier', points: n, jitter: J });
      const x = new Float32Array(n * CHANNELS).fill(0.25);
      const r = prng(2);
      let sq = 0;
      let moved = 0;
      const draws = 200;
      for (let d = 0; d < draws; d++) {
        const out = new Float32Array(n * CHANNELS);
        augment({ id: 'a', scene: 'a red cube', x, labels }, out, c, r);
        for (let i = 0; i < n; i++) {
          for (let k = 0; k < 3; k++) sq += ((out[i * CHANNELS + k]! - 0.25) / 2) ** 2; // channels are coordinates × 2
          for (let k = 3; k < 6; k++) if (out[i * CHANNELS + k] !== 0.25) moved++;
        }
      }
      expect(moved).toBe(0);
      // E[σ²] = J²/3; over 200 draws its standard error is ≈ 6 % of that
      expect(sq / (draws * n * 3)).toBeGreaterThan((0.8 * (J * J)) / 3);
      expect(sq / (draws * n * 3)).toBeLessThan((1.2 * (J * J)) / 3);
    });

    it('draws half the clouds as N distinct points of the 4N pool, each point equally often', () => {
      const n = 8;
      const c = pointeConfig({ stage: 'classifier', points: n, subsets: true });
      // pool point i has every channel equal to i; the first n are the farthest-point prefix
      const pool = Float32Array.from({ length: 4 * n * CHANNELS }, (_, j) => Math.floor(j / CHANNELS));
      const ex = { id: 'a', scene: 'a red cube', x: pool.slice(0, n * CHANNELS), pool, labels };
      const r = prng(3);
      const seen = new Array<number>(4 * n).fill(0);
      let subsets = 0;
      const draws = 800;
      for (let d = 0; d < draws; d++) {
        const out = new Float32Array(n * CHANNELS);
        augment(ex, out, c, r);
        const idx = Array.from({ length: n }, (_, i) => out[i * CHANNELS]!);
        for (let i = 0; i < n; i++) for (let k = 1; k < CHANNELS; k++) expect(out[i * CHANNELS + k]).toBe(idx[i]); // whole rows
        if (idx.every((v, i) => v === i)) continue; // the prefix (a random subset equals it with probability ≈ 1e-8)
        subsets++;
        expect(new Set(idx).size).toBe(n);
        for (const v of idx) seen[v]!++;
      }
      expect(subsets / draws).toBeGreaterThan(0.44); // 0.5 ± 0.018 (binomial)
      expect(subsets / draws).toBeLessThan(0.56);
      // each pool point in a quarter of the subsets: Binomial(≈400, 1/4), mean ≈ 100, sd ≈ 8.7
      for (const v of seen) expect(Math.abs(v - subsets / 4)).toBeLessThan(40);
    });
  });
});
