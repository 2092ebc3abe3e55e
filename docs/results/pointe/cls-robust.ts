/**
 * Is the judge thrown by noise a true cloud never has? The classifier's accuracy on held-out true
 * clouds (the dataset's 2,048-point draws of held-out scenes) as it saw them in training — the first
 * N farthest points — then with every coordinate jittered by N(0, σ²), and as N points drawn at
 * random from the 2,048 (not spread by farthest-point sampling, as a sample's are not).
 *
 *   node --import tsx docs/results/pointe/cls-robust.ts <classifier run> <data dir> [set] [clouds]
 */
import { HEAD_NAMES, labelsOf } from '../../../src/models/pointe/classifier.ts';
import { type HeldOutSet, inHeldOutSet, manifestClouds } from '../../../src/models/pointe/data.ts';
import { loadPointNet } from '../../../src/models/pointe/model.ts';
import { prng } from '../../../src/random.ts';
import type { PointCloud } from '../../../src/shape/mesh.ts';
import { farthestPointSample, selectPoints } from '../../../src/shape/pointcloud.ts';

const [run, data, set = 'scenes', count = '200'] = process.argv.slice(2);
if (!run || !data) throw new Error('usage: cls-robust.ts <classifier run> <data dir> [set] [clouds]');
const c = await loadPointNet(run, { threads: 1 });
const N = c.cfg.points;
const items: { cloud: PointCloud; labels: ReturnType<typeof labelsOf> }[] = [];
for await (const x of manifestClouds([data])) {
  if (!inHeldOutSet(x.scene, set as HeldOutSet)) continue;
  items.push({ cloud: x.cloud, labels: labelsOf(x.attributes) });
  if (items.length === Number(count)) break;
}
const jitter = (p: PointCloud, sigma: number, seed: number): PointCloud => {
  const r = prng(seed);
  return { ...p, xyz: p.xyz.map((v) => v + sigma * r.normal()) };
};
const randomSubset = (p: PointCloud, seed: number): PointCloud => {
  const r = prng(seed);
  const m = p.xyz.length / 3;
  const idx = Array.from({ length: m }, (_, i) => i);
  for (let i = 0; i < N; i++) {
    const k = r.int(i, m - 1);
    [idx[i], idx[k]] = [idx[k]!, idx[i]!];
  }
  return selectPoints(p, idx.slice(0, N));
};
const variants: [string, (p: PointCloud, i: number) => PointCloud][] = [
  ['farthest N (as trained)', (p) => farthestPointSample(p, N)],
  ['farthest N, σ 0.01', (p, i) => jitter(farthestPointSample(p, N), 0.01, i)],
  ['farthest N, σ 0.02', (p, i) => jitter(farthestPointSample(p, N), 0.02, i)],
  ['farthest N, σ 0.05', (p, i) => jitter(farthestPointSample(p, N), 0.05, i)],
  ['random N of 2,048', (p, i) => randomSubset(p, 100 + i)],
];
process.stdout.write(`${run}: ${items.length} held-out ${set} clouds, N = ${N}\n`);
process.stdout.write('variant                     all three  arrangement  shape  colour\n');
for (const [name, f] of variants) {
  const r = await c.classify(items.map((x, i) => f(x.cloud, i)));
  const argmax = (p: Float64Array) => p.indexOf(Math.max(...p));
  const right = items.map((x, i) => HEAD_NAMES.map((h) => argmax(r.probs[h][i]!) === x.labels[h]));
  const acc = (k: number) => right.filter((v) => v[k]).length / items.length;
  const all = right.filter((v) => v.every(Boolean)).length / items.length;
  process.stdout.write(
    `${name.padEnd(26)}  ${all.toFixed(3)}      ${acc(0).toFixed(3)}        ${acc(1).toFixed(3)}  ${acc(2).toFixed(3)}\n`,
  );
}
await c.close();
