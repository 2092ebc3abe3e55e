/**
 * P-FID and P-IS (src/models/pointe/metrics.ts) against numpy/scipy: fixtures/frechet_reference.py
 * (scipy.linalg.sqrtm for the Fréchet distance, numpy for the Inception-style score; its JSON is
 * committed beside it). The Fréchet distance of a set with itself is 0; the eigensolver
 * reconstructs its matrix.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { frechetDistance, inceptionScore, symmetricEigen } from '../../../src/models/pointe/metrics.ts';
import { prng } from '../../../src/random.ts';

const ref = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'frechet_reference.json'), 'utf8')) as {
  frechet: { a: number[][]; b: number[][]; fid: number; fid_aa: number }[];
  is: { p: number[][]; score: number };
};

describe('P-FID and P-IS against numpy/scipy', () => {
  it.each(ref.frechet.map((c, i) => [i, c] as const))('Fréchet distance, case %i (scipy sqrtm)', (_, c) => {
    expect(Math.abs(frechetDistance(c.a, c.b) - c.fid)).toBeLessThan(1e-8 * Math.max(1, c.fid));
    expect(Math.abs(frechetDistance(c.a, c.a))).toBeLessThan(1e-9);
  });

  it('Inception-style score of class probabilities', () => {
    expect(inceptionScore(ref.is.p)).toBeCloseTo(ref.is.score, 12);
    expect(
      inceptionScore([
        [0.5, 0.5],
        [0.5, 0.5],
      ]),
    ).toBeCloseTo(1, 12); // no information: 1
    expect(
      inceptionScore([
        [1, 0],
        [0, 1],
      ]),
    ).toBeCloseTo(2, 12); // two confident, different classes: 2
  });

  it('the Jacobi eigensolver reconstructs a random symmetric matrix, V Λ Vᵀ', () => {
    const d = 7;
    const r = prng(3);
    const a = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) a[i * d + j] = a[j * d + i] = r.normal();
    const { values, vectors } = symmetricEigen(a, d);
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += vectors[i * d + k]! * values[k]! * vectors[j * d + k]!;
        expect(s).toBeCloseTo(a[i * d + j]!, 10);
      }
  });
});
