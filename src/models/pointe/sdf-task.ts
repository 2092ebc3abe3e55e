/**
 * The SDF model's training task (`tony train pointe --stage sdf --set preset=sdf-small`): clouds
 * from a `tony shapes generate` folder, farthest-point subsampled to N as the base model's, and
 * query points labelled with the scene's exact signed distance (src/shape/sdf.ts) — ground truth
 * Point-E's own training never had.
 */
import { hostTensor } from '../../engine/dtype.ts';
import type { TrainTask } from '../../engine/trainer.ts';
import { TonyError } from '../../errors.ts';
import { prng, type Rng } from '../../random.ts';
import { farthestPointSample } from '../../shape/pointcloud.ts';
import { compileShape, type Field } from '../../shape/sdf.ts';
import type { TrainSetup } from '../index.ts';
import { manifestClouds, splitByScene } from './data.ts';
import type { PointEConfig } from './pointe.ts';
import { COORD_SCALE, PointESdf, sdfInputs, sdfObjective } from './sdf.ts';

/** Near-surface queries: a surface point plus Gaussian noise of this standard deviation (unit-cube units). */
export const NEAR_SIGMA = 0.02;
/** Uniform queries fill the unit cube plus this margin on every side (the mesher's grid reaches 2 cells past it). */
export const QUERY_MARGIN = 0.05;

interface SdfExample {
  id: string;
  scene: string;
  field: Field;
  /** Every surface point the folder holds (N' × 3): where near-surface queries start. */
  surface: Float32Array;
  /** The model's input: cfg.points farthest points, N × 3, unscaled. */
  cloud: Float32Array;
}

export interface SdfData {
  train: SdfExample[];
  val: SdfExample[];
  notes: string[];
}

/** Read `tony shapes generate` folders for the SDF model, split by scene as the base model's. */
export async function readSdfShapes(paths: readonly string[], cfg: Readonly<PointEConfig>): Promise<SdfData> {
  const all: SdfExample[] = [];
  for await (const { id, scene, tree, cloud, file } of manifestClouds(paths)) {
    const n = cloud.xyz.length / 3;
    if (n < cfg.points)
      throw new TonyError(
        'data',
        `${file}: ${n} points, the SDF model reads ${cfg.points}`,
        `generate more points (tony shapes generate --points ${cfg.points * 4}) or read fewer (--set points=${n})`,
      );
    all.push({ id, scene, field: compileShape(tree), surface: cloud.xyz, cloud: farthestPointSample({ xyz: cloud.xyz }, cfg.points).xyz });
  }
  const { train, val } = splitByScene(all);
  return { train, val, notes: [`${train.length} training and ${val.length} held-out clouds with exact SDFs`] };
}

/**
 * Q queries for one example (Q × 3, unit-cube coordinates) and their exact distances: the first
 * half near the surface, the rest uniform over the cube plus QUERY_MARGIN.
 */
export function drawQueries(ex: Pick<SdfExample, 'field' | 'surface'>, Q: number, r: Rng): { q: Float32Array; s: Float32Array } {
  const q = new Float32Array(3 * Q);
  const s = new Float32Array(Q);
  const nSurf = ex.surface.length / 3;
  const half = Math.floor(Q / 2);
  for (let i = 0; i < Q; i++) {
    if (i < half) {
      const p = r.int(0, nSurf - 1);
      for (let k = 0; k < 3; k++) q[3 * i + k] = ex.surface[3 * p + k]! + NEAR_SIGMA * r.normal();
    } else {
      for (let k = 0; k < 3; k++) q[3 * i + k] = (r.next() - 0.5) * (1 + 2 * QUERY_MARGIN);
    }
    s[i] = ex.field.sdf(q[3 * i]!, q[3 * i + 1]!, q[3 * i + 2]!);
  }
  return { q, s };
}

const scaled = (x: Float32Array) => x.map((v) => v * COORD_SCALE);

/**
 * The trainer's task. Training batch `index`: examples and queries drawn from (seed, index).
 * Validation: held-out examples in order, queries drawn from the batch index — every evaluation
 * sees the same batches.
 */
export function sdfTask(cfg: Readonly<PointEConfig>, data: SdfData, setup: TrainSetup): TrainTask {
  const B = setup.batch;
  const N = cfg.points;
  const Q = cfg.queries;
  return {
    trace() {
      const model = new PointESdf(cfg);
      const inp = sdfInputs(cfg, B);
      const { losses, metrics } = sdfObjective(model, inp);
      return { ps: model.ps, losses, metrics, data: [inp.cloud, inp.queries, inp.target] };
    },
    batch(split, index) {
      const r = prng(split === 'train' ? Math.imul(setup.seed + 1, 0x9e3779b1) ^ index : 0x5eed ^ Math.imul(index + 1, 0x85ebca6b));
      const cloud = new Float32Array(B * N * 3);
      const queries = new Float32Array(B * Q * 3);
      const target = new Float32Array(B * Q);
      for (let j = 0; j < B; j++) {
        const ex = split === 'train' ? data.train[r.int(0, data.train.length - 1)]! : data.val[(index * B + j) % data.val.length]!;
        cloud.set(scaled(ex.cloud), j * N * 3);
        const { q, s } = drawQueries(ex, Q, r);
        queries.set(scaled(q), j * Q * 3);
        target.set(s, j * Q);
      }
      return {
        cloud: hostTensor('float32', [B, N, 3], cloud),
        queries: hostTensor('float32', [B, Q, 3], queries),
        target: hostTensor('float32', [B, Q], target),
      };
    },
    tokensPerStep: B * (N + Q),
    config: {
      kind: 'pointe',
      model: { ...cfg },
      batch: B,
      seed: setup.seed,
      ...(setup.preset ? { preset: setup.preset } : {}),
      data: { train: data.train.length, val: data.val.length, val_ids: data.val.map((x) => x.id).slice(0, 500) },
    },
  };
}
