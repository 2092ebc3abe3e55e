/**
 * The upsampler and the SDF model against exact ground truth, each alone: fed the TRUE
 * low-resolution cloud of a held-out scene (not a base-model sample), so what is measured is the
 * stage itself. Clouds are drawn as the training data were: 2,048 points by area from the true
 * surface, farthest-point subsampled.
 *
 *  - Upsampler: Chamfer and F-score against the truth of the M-point input alone, of the input
 *    plus the N drawn points, and of an (M + N)-point subsample of the truth (what a perfect
 *    upsampler's cloud would score). The paper's claim is that upsampling lowers Chamfer.
 *  - SDF model: mesh the N-point cloud (grid 128 by default), then Chamfer and F-score of points
 *    sampled on the mesh against the truth, whether the mesh is watertight, and the exact SDF's own
 *    mesh at the same grid as the floor.
 */
import type { Progress } from '../../progress.ts';
import { meshField } from '../../shape/marching-cubes.ts';
import { faceCount, isWatertight, type PointCloud } from '../../shape/mesh.ts';
import { chamferDistance, fScore } from '../../shape/metrics.ts';
import { farthestPointSample, sampleSurface } from '../../shape/pointcloud.ts';
import { buildScene, parseCaption } from '../../shape/scenes.ts';
import { compileShape } from '../../shape/sdf.ts';
import { mean, stderr, truthCloud } from './eval.ts';
import type { PointESdfModel } from './model.ts';
import type { PointEUpsamplerModel } from './upsample.ts';

interface Score {
  chamfer: number;
  fscore: number;
}
interface Summary {
  chamfer: number;
  chamferSe: number;
  fscore: number;
  fscoreSe: number;
}

const score = (xyz: Float32Array, truth: Float32Array, tau: number): Score => ({
  chamfer: chamferDistance(xyz, truth).chamfer,
  fscore: fScore(xyz, truth, tau).fscore,
});
const summary = (rows: Score[]): Summary => ({
  chamfer: mean(rows.map((r) => r.chamfer)),
  chamferSe: stderr(rows.map((r) => r.chamfer)),
  fscore: mean(rows.map((r) => r.fscore)),
  fscoreSe: stderr(rows.map((r) => r.fscore)),
});

export interface StageEvalOptions {
  tau: number;
  truthPoints: number;
  seed?: number;
  /** Upsampler only: the Karras sampler's σ_max (default Point-E's 160). */
  sigmaMax?: number;
  onProgress?: (p: Progress) => void;
}

export interface UpsampleReport {
  scenes: string[];
  rows: { caption: string; input: Score; upsampled: Score; truthSubsample: Score; seconds: number }[];
  input: Summary;
  upsampled: Summary;
  truthSubsample: Summary;
  /** Paired over scenes: upsampled − input Chamfer, mean and standard error. */
  chamferChange: { mean: number; se: number };
  secondsPerSample: number;
}

/** Upsample each held-out scene's true M-point cloud and score input and output against the truth. */
export async function evaluateUpsampler(
  up: PointEUpsamplerModel,
  captions: readonly string[],
  o: StageEvalOptions,
): Promise<UpsampleReport> {
  const M = up.cfg.lowResPoints;
  const N = up.cfg.points;
  const rows: UpsampleReport['rows'] = [];
  for (let i = 0; i < captions.length; i++) {
    const c = captions[i]!;
    const truth = truthCloud(c, o.truthPoints, 1000 + i).xyz;
    const dense = truthCloud(c, 2048, 3000 + i); // a draw like the dataset's clouds
    const low = farthestPointSample(dense, M);
    const { cloud, seconds } = await up.upsample(low, { seed: (o.seed ?? 0) + i, ...(o.sigmaMax ? { sigmaMax: o.sigmaMax } : {}) });
    rows.push({
      caption: c,
      input: score(low.xyz, truth, o.tau),
      upsampled: score(cloud.xyz, truth, o.tau),
      truthSubsample: score(farthestPointSample(dense, M + N).xyz, truth, o.tau),
      seconds,
    });
    o.onProgress?.({ done: i + 1, total: captions.length });
  }
  const diff = rows.map((r) => r.upsampled.chamfer - r.input.chamfer);
  return {
    scenes: [...captions],
    rows,
    input: summary(rows.map((r) => r.input)),
    upsampled: summary(rows.map((r) => r.upsampled)),
    truthSubsample: summary(rows.map((r) => r.truthSubsample)),
    chamferChange: { mean: mean(diff), se: stderr(diff) },
    secondsPerSample: mean(rows.map((r) => r.seconds)),
  };
}

export interface MeshReport {
  grid: number;
  scenes: string[];
  /** `mesh` is null when the model's SDF had no zero crossing on the grid (no surface at all). */
  rows: { caption: string; mesh: Score | null; exact: Score; watertight: boolean; faces: number; seconds: number }[];
  /** Over the scenes that gave a surface. */
  mesh: Summary;
  /** Scenes whose mesh came out empty. */
  empty: number;
  /** The exact SDF meshed at the same grid: the floor. */
  exact: Summary;
  watertight: number;
  secondsPerMesh: number;
}

/** Mesh each held-out scene's true N-point cloud with the SDF model; score the mesh against the truth. */
export async function evaluateSdf(
  sdf: PointESdfModel,
  captions: readonly string[],
  o: StageEvalOptions & { grid: number },
): Promise<MeshReport> {
  const N = sdf.cfg.points;
  const rows: MeshReport['rows'] = [];
  for (let i = 0; i < captions.length; i++) {
    const c = captions[i]!;
    const truth = truthCloud(c, o.truthPoints, 1000 + i).xyz;
    const cloud: PointCloud = farthestPointSample(truthCloud(c, 2048, 3000 + i), N);
    const { mesh, seconds } = await sdf.mesh(cloud, { grid: o.grid });
    const surface = (m: typeof mesh) => (faceCount(m) > 0 ? sampleSurface(m, o.truthPoints, { seed: 5000 + i }).xyz : new Float32Array(0));
    const got = surface(mesh);
    const exact = surface(meshField(compileShape(buildScene(parseCaption(c))), o.grid));
    rows.push({
      caption: c,
      mesh: got.length ? score(got, truth, o.tau) : null,
      exact: score(exact, truth, o.tau),
      watertight: faceCount(mesh) > 0 && isWatertight(mesh),
      faces: faceCount(mesh),
      seconds,
    });
    o.onProgress?.({ done: i + 1, total: captions.length });
  }
  return {
    grid: o.grid,
    scenes: [...captions],
    rows,
    mesh: summary(rows.flatMap((r) => (r.mesh ? [r.mesh] : []))),
    empty: rows.filter((r) => !r.mesh).length,
    exact: summary(rows.map((r) => r.exact)),
    watertight: mean(rows.map((r) => +r.watertight)),
    secondsPerMesh: mean(rows.map((r) => r.seconds)),
  };
}
