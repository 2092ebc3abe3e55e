// Shap-E's evaluation helpers (src/models/shape-e/eval.ts): silhouette IoU on masks counted by
// hand, and images placed side by side pixel for pixel.
import { describe, expect, it } from 'vitest';
import { sideBySide, silhouetteIoU } from '../../../src/models/shape-e/eval.ts';
import type { Image } from '../../../src/shape/render.ts';

const img = (w: number, h: number, alpha: number[], rgb = new Uint8Array(3 * w * h)): Image => ({
  width: w,
  height: h,
  rgb,
  alpha: Uint8Array.from(alpha),
});

describe('Shap-E eval helpers', () => {
  it('silhouette IoU: |A ∩ B| / |A ∪ B| with coverage > ½', () => {
    // A covers pixels 0, 1, 2 (128 counts, 127 does not); B covers 1, 2, 3 → 2 / 4
    const a = img(5, 1, [255, 200, 128, 127, 0]);
    const b = img(5, 1, [0, 255, 255, 255, 0]);
    expect(silhouetteIoU(a, b)).toBe(0.5);
    expect(silhouetteIoU(a, a)).toBe(1);
    expect(silhouetteIoU(img(2, 1, [0, 0]), img(2, 1, [0, 0]))).toBe(1); // both empty: they agree
  });

  it('side by side: each image keeps its pixels, shifted by the widths before it', () => {
    const a = img(1, 2, [10, 20], Uint8Array.from([1, 2, 3, 4, 5, 6]));
    const b = img(2, 2, [30, 40, 50, 60], Uint8Array.from([7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]));
    const s = sideBySide([a, b]);
    expect([s.width, s.height]).toEqual([3, 2]);
    expect(Array.from(s.alpha)).toEqual([10, 30, 40, 20, 50, 60]);
    expect(Array.from(s.rgb)).toEqual([1, 2, 3, 7, 8, 9, 10, 11, 12, 4, 5, 6, 13, 14, 15, 16, 17, 18]);
  });
});
