/**
 * What is wrong with the trained upsampler (docs/results/pointe.md, "The upsampler")? Three
 * measurements on held-out scenes (the first four captions of eval-upsample.json), each pair built
 * as in training (upsamplePair on a 2,048-point draw, as eval-stages does):
 *
 *  1. ε̂ against the true ε at fixed t (x_t = √ᾱ x_0 + √(1 − ᾱ) ε): mean squared error and the
 *     per-channel mean error, and what that mean error does to x̂_0 = x_0 + σ_t (ε − ε̂) in y.
 *  2. Does the low-resolution cloud matter? ε̂ MSE with the scene's own condition vs another's.
 *  3. Sampled clouds: the share of new points on a face of the clip box (|coordinate| ≥ 0.499).
 *  4. The same samples with the constant offset of (1) taken out of ε̂ (its mean over these scenes
 *     at t = 1,023, per channel): a diagnosis of where the pile-up comes from, not a fix (the offset
 *     is measured on the very scenes it is then applied to). Chamfer against 4,096 exact points.
 *
 *   node --import tsx docs/results/pointe/upsample-diagnose.ts <upsampler run>
 */
import type { EpsModel } from '../../../src/diffusion/gaussian.ts';
import { truthCloud } from '../../../src/models/pointe/eval.ts';
import { loadPointEUpsampler } from '../../../src/models/pointe/model.ts';
import { diffusionOf, toChannels } from '../../../src/models/pointe/pointe.ts';
import { upsamplePair, upsampleWith } from '../../../src/models/pointe/upsample.ts';
import { prng } from '../../../src/random.ts';
import type { PointCloud } from '../../../src/shape/mesh.ts';
import { chamferDistance } from '../../../src/shape/metrics.ts';

const run = process.argv[2];
if (!run) throw new Error('usage: upsample-diagnose.ts <upsampler run>');
const up = await loadPointEUpsampler(run, { threads: 1 });
const M = up.cfg.lowResPoints;
const N = up.cfg.points;
const d = diffusionOf(up.cfg);
const caps = ['a render of a black cone', 'a large red capsule', 'a large black torus', 'a small yellow octahedron'];
const pairs = caps.map((c, i) => upsamplePair(truthCloud(c, 2048, 3000 + i), M, N));
const eps = async (model: EpsModel, x0: Float32Array, t: number, seed: number) => {
  const a = d.alphasCumprod[t]!;
  const r = prng(seed);
  const e = Float64Array.from(x0, () => r.normal());
  const xt = Float64Array.from(x0, (v, k) => Math.sqrt(a) * v + Math.sqrt(1 - a) * e[k]!);
  const out = await model(xt, Int32Array.of(t));
  return { e, hat: out.eps };
};

console.log(`run ${run}: M = ${M}, N = ${N}, ${up.cfg.schedule} schedule, T = ${d.T}; scenes: ${caps.join('; ')}`);
let offset = [0, 0, 0, 0, 0, 0]; // mean ε̂ − ε per channel at t = 1,023
console.log('\n1. ε̂ − ε by timestep (mean over 4 scenes, one noise draw each)');
console.log('   t     σ_t     ε-MSE   mean(ε̂−ε) x y z r g b            → x̂_0 offset in y (σ_t·mean, model units; box is ±1)');
for (const t of [1023, 1000, 900, 700, 500, 300, 100, 30, 10]) {
  const a = d.alphasCumprod[t]!;
  const sigma = Math.sqrt((1 - a) / a);
  let mse = 0;
  const bias = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < caps.length; i++) {
    const x0 = toChannels(pairs[i]!.high);
    const { e, hat } = await eps(await up.denoiser(pairs[i]!.low, N), x0, t, 10 + i);
    for (let k = 0; k < x0.length; k++) {
      mse += (hat[k]! - e[k]!) ** 2 / x0.length / caps.length;
      bias[k % 6]! += (hat[k]! - e[k]!) / N / caps.length;
    }
  }
  if (t === 1023) offset = bias;
  console.log(
    `   ${String(t).padStart(4)} ${sigma.toFixed(3).padStart(8)} ${mse.toFixed(4)}   ${bias.map((b) => b.toFixed(3).padStart(6)).join(' ')}   ${(-sigma * bias[1]!).toFixed(3)}`,
  );
}

console.log('\n2. ε̂ MSE with the scene’s own low-resolution cloud vs the next scene’s (same x_t)');
for (const t of [500, 300, 100, 30]) {
  let own = 0;
  let other = 0;
  for (let i = 0; i < caps.length; i++) {
    const x0 = toChannels(pairs[i]!.high);
    for (const j of [i, (i + 1) % caps.length]) {
      const { e, hat } = await eps(await up.denoiser(pairs[j]!.low, N), x0, t, 10 + i);
      let m = 0;
      for (let k = 0; k < x0.length; k++) m += (hat[k]! - e[k]!) ** 2 / x0.length / caps.length;
      if (j === i) own += m;
      else other += m;
    }
  }
  console.log(
    `   t = ${String(t).padStart(3)}: own ${own.toFixed(4)}, another scene's ${other.toFixed(4)} (${((100 * (other - own)) / own).toFixed(1)} % worse)`,
  );
}

const onFaces = (cloud: PointCloud) => {
  const faces = [0, 0, 0, 0, 0, 0]; // −x +x −y +y −z +z
  let n = 0;
  for (let p = M; p < M + N; p++) {
    let hit = false;
    for (let k = 0; k < 3; k++) {
      const v = cloud.xyz[3 * p + k]!;
      if (Math.abs(v) >= 0.499) {
        faces[2 * k + (v > 0 ? 1 : 0)]!++;
        hit = true;
      }
    }
    if (hit) n++;
  }
  return `${String(n).padStart(3)}/${N} on a face (−x +x −y +y −z +z: ${faces.join(' ')})`;
};
console.log('\n3. sampled new points on a face of the clip box (|coordinate| ≥ 0.499), seed = scene index;');
console.log(`4. the same with ε̂ − offset, offset = ${offset.map((b) => b.toFixed(3)).join(' ')}; Chamfer vs 4,096 exact points`);
for (let i = 0; i < caps.length; i++) {
  const truth = truthCloud(caps[i]!, 4096, 1000 + i).xyz;
  const { cloud } = await up.upsample(pairs[i]!.low, { seed: i });
  const model = await up.denoiser(pairs[i]!.low, N);
  const corrected: EpsModel = async (x, t) => {
    const o = await model(x, t);
    return { ...o, eps: o.eps.map((v, k) => v - offset[k % 6]!) };
  };
  const fixed = await upsampleWith(d, corrected, pairs[i]!.low, N, { seed: i });
  const ch = (c: PointCloud | Float32Array) => chamferDistance(c instanceof Float32Array ? c : c.xyz, truth).chamfer.toFixed(4);
  console.log(`   ${caps[i]}`);
  console.log(`     as trained:       ${onFaces(cloud)}; Chamfer ${ch(cloud)} (input alone ${ch(pairs[i]!.low.xyz)})`);
  console.log(`     offset taken out: ${onFaces(fixed)}; Chamfer ${ch(fixed)}`);
}
await up.close();
