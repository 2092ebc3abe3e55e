/**
 * Hand-set Shap-E implicit-function weights whose function is known in closed form (stf.test.ts
 * derives it): every latent decodes to sdf ≈ |p|² − r², a constant colour, density ∝ r² − |p|².
 */
import { type HostTensor, hostTensor } from '../../../src/engine/dtype.ts';
import { ShapeEAutoencoder, shapeEConfig } from '../../../src/models/shape-e/shape-e.ts';

export const cfg = shapeEConfig({ hidden: 8, metaLayers: 2, mlpLayers: 3, latentWidth: 2, fourier: 0, points: 8 });
export const S = 0.3;
export const R = 0.3;
const SHIFT = 20;
export const COLOR = [0.2, 0.5, 0.8];
const logit = (p: number) => Math.log(p / (1 - p));

export function sphereWeights(): Record<string, HostTensor> {
  const ae = new ShapeEAutoencoder(cfg);
  const w: Record<string, HostTensor> = {};
  for (const s of ae.ps.specs) w[s.name] = hostTensor('float32', s.shape, new Float32Array(s.shape.reduce((a, b) => a * b, 1)));
  const set = (name: string, i: number, v: number) => {
    (w[name]!.data as Float32Array)[i] = v;
  };
  const H = cfg.hidden;
  // layer 0 (3 → H): rows ±s·e_a
  for (let a = 0; a < 3; a++) {
    set('implicit.meta.0.weight_bias', 2 * a * 3 + a, S);
    set('implicit.meta.0.weight_bias', (2 * a + 1) * 3 + a, -S);
  }
  // layer 1 (H → H): row 0 sums the six, shifted into SiLU's linear range
  for (let i = 0; i < 6; i++) set('implicit.meta.1.weight_bias', 0 * H + i, 1);
  set('implicit.meta.1.bias', 0, SHIFT);
  // layer 2 (plain, weight [in, out]): passes unit 0 through
  set('implicit.fc.2.weight', 0 * H + 0, 1);
  // head (weight [H, 5]): sdf, density, rgb
  const q = 2 / (S * S); // Σ·q ≈ |p|²
  set('implicit.out.weight', 0 * 5 + 0, q);
  set('implicit.out.bias', 0, -SHIFT * q - R * R);
  set('implicit.out.weight', 0 * 5 + 1, -500 * q);
  set('implicit.out.bias', 1, 500 * (SHIFT * q + R * R));
  for (let k = 0; k < 3; k++) set('implicit.out.bias', 2 + k, logit(COLOR[k]!));
  return w;
}
