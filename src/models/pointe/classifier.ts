/**
 * A PointNet classifier of the procedural scenes (Qi et al. 2017, "PointNet": a shared per-point MLP,
 * a symmetric max-pool, an MLP on the pooled vector), the stand-in for the PointNet++ of Point-E's
 * P-FID and P-IS (metrics.ts) and for CLIP in its R-precision: trained here on the procedural
 * classes, it says whether a sample shows what its caption asks for.
 *
 * Three heads, each a property of the caption the scenes' grammar fixes (src/shape/scenes.ts):
 *  - arrangement: one object; two objects and their relation (5); a stack of three — 7 classes;
 *  - the first object's shape (8) and colour (12).
 * A sample matches its caption when all three heads say what the caption says ("caption
 * accuracy", the analogue of CLIP R-precision). Its 128-wide penultimate vector is the P-FID
 * feature; the shape head's probabilities give P-IS.
 *
 * Departures: no input/feature transform nets (PointNet's T-Nets) — the scenes are axis-aligned
 * and upright, so there is no pose to undo; no batch norm (the trainer has no running statistics
 * for it here; layer norm after each shared layer instead).
 *
 *   tony train pointe --stage classifier --set preset=classifier --data runs/shapes
 */
import { hostTensor } from '../../engine/dtype.ts';
import { crossEntropy, LayerNorm, Linear, ParamSet } from '../../engine/nn.ts';
import { exportOnnx } from '../../engine/onnx.ts';
import * as T from '../../engine/ops/index.ts';
import type { Runtime, Session } from '../../engine/runtime.ts';
import { runOnWeights } from '../../engine/state.ts';
import { input, type Tensor } from '../../engine/tensor.ts';
import type { TrainTask } from '../../engine/trainer.ts';
import { TonyError } from '../../errors.ts';
import { prng, type Rng } from '../../random.ts';
import { type PointCloud, pointCount } from '../../shape/mesh.ts';
import { farthestPointSample } from '../../shape/pointcloud.ts';
import { COLORS, RELATIONS, type SceneAttrs, SHAPES } from '../../shape/scenes.ts';
import type { LoadedModel, TrainSetup } from '../index.ts';
import { manifestClouds, splitByScene } from './data.ts';
import { CHANNELS, type PointEConfig, toChannels } from './pointe.ts';

/** The classes of each head, in label order. */
export const HEADS = {
  arrangement: ['one object', ...RELATIONS.map((r) => `two, ${r}`), 'a stack of three'],
  shape: Object.keys(SHAPES),
  color: Object.keys(COLORS),
} as const;
export type Head = keyof typeof HEADS;
export const HEAD_NAMES = Object.keys(HEADS) as Head[];

/** A scene's label per head. */
export function labelsOf(a: SceneAttrs): Record<Head, number> {
  const n = a.objects.length;
  return {
    arrangement: n === 1 ? 0 : n === 2 ? 1 + RELATIONS.indexOf(a.relations[0]!) : HEADS.arrangement.length - 1,
    shape: HEADS.shape.indexOf(a.objects[0]!.shape),
    color: HEADS.color.indexOf(a.objects[0]!.color),
  };
}

/** Width of the pooled feature (PointNet: 1,024; 256 is plenty for 28 classes at this scale). */
const POOLED = 256;
/** Width of the penultimate feature: P-FID's. */
const FEATURES = 128;

export class PointNet {
  readonly ps = new ParamSet();
  readonly shared: { lin: Linear; ln: LayerNorm }[];
  readonly fc: Linear;
  readonly heads: Record<Head, Linear>;

  constructor(readonly cfg: Readonly<PointEConfig>) {
    const widths = [CHANNELS, cfg.width / 2, cfg.width, POOLED];
    this.shared = widths.slice(1).map((w, i) => ({
      lin: new Linear(this.ps, `shared.${i}`, widths[i]!, w, { std: Math.sqrt(2 / widths[i]!) }), // He init for ReLU
      ln: new LayerNorm(this.ps, `shared.${i}.ln`, w),
    }));
    this.fc = new Linear(this.ps, 'fc', POOLED, FEATURES, { std: Math.sqrt(2 / POOLED) });
    this.heads = Object.fromEntries(
      HEAD_NAMES.map((h) => [h, new Linear(this.ps, `head.${h}`, FEATURES, HEADS[h].length, { std: 0.01 })]),
    ) as Record<Head, Linear>;
  }

  /** x (B, N, 6) in model channels → the P-FID feature (B, 128) and logits per head (B, classes). */
  forward(x: Tensor): { features: Tensor; logits: Record<Head, Tensor> } {
    let h = x;
    for (const { lin, ln } of this.shared) h = T.relu(ln.forward(lin.forward(h))); // (B, N, C)
    const pooled = T.max(h, 1); // (B, POOLED): symmetric in the points
    const features = T.relu(this.fc.forward(pooled)); // (B, 128)
    const logits = Object.fromEntries(HEAD_NAMES.map((k) => [k, this.heads[k].forward(features)])) as Record<Head, Tensor>;
    return { features, logits };
  }
}

/** The training graph's inputs: B clouds and a label per head. */
export function classifierInputs(B: number, N: number) {
  return {
    x: input('x', [B, N, CHANNELS]),
    labels: Object.fromEntries(HEAD_NAMES.map((h) => [h, input(`label_${h}`, [B], 'int64')])) as Record<Head, Tensor>,
  };
}

/** Loss: the sum of the heads' cross-entropies; logged, each head's accuracy. */
export function classifierObjective(model: PointNet, inp: ReturnType<typeof classifierInputs>) {
  const { logits } = model.forward(inp.x);
  const losses: Record<string, Tensor> = {};
  const metrics: Record<string, Tensor> = {};
  for (const h of HEAD_NAMES) {
    losses[h] = crossEntropy(logits[h], inp.labels[h]);
    metrics[`acc_${h}`] = T.mean(T.cast(T.equal(T.argmax(logits[h], 1), inp.labels[h]), 'float32'));
  }
  return { losses, metrics };
}

// ---------------------------------------------------------------------------------------------
// Training: the procedural scenes, held out by scene as every pointe stage

export interface LabelledCloud {
  id: string;
  scene: string;
  /** The first N farthest points, in model channels. */
  x: Float32Array;
  /** With `subsets`: the first 4N farthest points (model channels), the pool random subsets come from. */
  pool?: Float32Array;
  labels: Record<Head, number>;
}

export interface ClassifierData {
  train: LabelledCloud[];
  val: LabelledCloud[];
  notes: string[];
}

/** Read `tony shapes generate` folders: clouds farthest-point subsampled to N, labels from the attributes. */
export async function readLabelledClouds(paths: readonly string[], cfg: Readonly<PointEConfig>): Promise<ClassifierData> {
  const all: LabelledCloud[] = [];
  for await (const { id, scene, attributes, cloud, file } of manifestClouds(paths)) {
    if (cloud.xyz.length / 3 < cfg.points)
      throw new TonyError(
        'data',
        `${file}: ${cloud.xyz.length / 3} points, the classifier reads ${cfg.points}`,
        `--set points=${cloud.xyz.length / 3}`,
      );
    const n = cloud.xyz.length / 3;
    // farthest-point order is greedy, so the first N of a 4N sample are the N-point sample
    const fps = farthestPointSample(cloud, cfg.subsets ? Math.min(n, 4 * cfg.points) : cfg.points);
    const ch = toChannels(fps);
    all.push({
      id,
      scene,
      x: ch.slice(0, cfg.points * CHANNELS),
      ...(cfg.subsets ? { pool: ch } : {}),
      labels: labelsOf(attributes),
    });
  }
  const { train, val } = splitByScene(all);
  return { train, val, notes: [`${train.length} training and ${val.length} held-out labelled clouds`] };
}

/** One training cloud into `out` (N × 6), augmented as cfg says (`jitter`, `subsets`). */
export function augment(ex: LabelledCloud, out: Float32Array, cfg: Readonly<PointEConfig>, r: Rng): void {
  const N = out.length / CHANNELS;
  if (ex.pool && r.next() < 0.5) {
    // N distinct points of the pool: a partial Fisher–Yates shuffle of its indices
    const m = ex.pool.length / CHANNELS;
    const idx = Array.from({ length: m }, (_, i) => i);
    for (let i = 0; i < N; i++) {
      const k = r.int(i, m - 1);
      [idx[i], idx[k]] = [idx[k]!, idx[i]!];
      out.set(ex.pool.subarray(idx[i]! * CHANNELS, (idx[i]! + 1) * CHANNELS), i * CHANNELS);
    }
  } else out.set(ex.x);
  if (cfg.jitter > 0) {
    const sigma = r.uniform(0, cfg.jitter) * 2; // channels are coordinates × 2
    for (let i = 0; i < N; i++) for (let k = 0; k < 3; k++) out[i * CHANNELS + k]! += sigma * r.normal();
  }
}

export function classifierTask(cfg: Readonly<PointEConfig>, data: ClassifierData, setup: TrainSetup): TrainTask {
  const B = setup.batch;
  const N = cfg.points;
  return {
    trace() {
      const model = new PointNet(cfg);
      const inp = classifierInputs(B, N);
      const { losses, metrics } = classifierObjective(model, inp);
      return { ps: model.ps, losses, metrics, data: [inp.x, ...HEAD_NAMES.map((h) => inp.labels[h])] };
    },
    batch(split, index) {
      const r = prng(split === 'train' ? Math.imul(setup.seed + 1, 0x9e3779b1) ^ index : 0x5eed ^ Math.imul(index + 1, 0x85ebca6b));
      const x = new Float32Array(B * N * CHANNELS);
      const labels = Object.fromEntries(HEAD_NAMES.map((h) => [h, new Array<number>(B)])) as Record<Head, number[]>;
      for (let j = 0; j < B; j++) {
        const ex = split === 'train' ? data.train[r.int(0, data.train.length - 1)]! : data.val[(index * B + j) % data.val.length]!;
        if (split === 'train') augment(ex, x.subarray(j * N * CHANNELS, (j + 1) * N * CHANNELS), cfg, r);
        else x.set(ex.x, j * N * CHANNELS);
        for (const h of HEAD_NAMES) labels[h][j] = ex.labels[h];
      }
      return {
        x: hostTensor('float32', [B, N, CHANNELS], x),
        ...Object.fromEntries(HEAD_NAMES.map((h) => [`label_${h}`, hostTensor('int64', [B], labels[h])])),
      };
    },
    tokensPerStep: B * N,
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

// ---------------------------------------------------------------------------------------------
// The trained classifier, loaded: clouds → P-FID features and class probabilities

export interface Classified {
  /** The P-FID feature of each cloud (128 wide). */
  features: Float32Array[];
  /** Class probabilities per head, one row per cloud. */
  probs: Record<Head, Float64Array[]>;
}

export class PointNetModel implements LoadedModel {
  readonly kind = 'pointe';
  readonly capabilities = ['classify-points'] as const;
  private readonly model: PointNet;
  private sessions = new Map<number, Promise<Session>>();

  constructor(
    readonly id: string,
    readonly cfg: Readonly<PointEConfig>,
    private readonly rt: Runtime,
  ) {
    this.model = new PointNet(cfg);
  }

  get provider(): string {
    return this.rt.description;
  }

  /** Classify clouds one at a time (any N each; the classifier max-pools over its points). */
  async classify(clouds: readonly PointCloud[]): Promise<Classified> {
    const out: Classified = { features: [], probs: { arrangement: [], shape: [], color: [] } };
    for (const c of clouds) {
      const N = pointCount(c);
      let s = this.sessions.get(N);
      if (!s) {
        const m = new PointNet(this.cfg);
        const x = input('x', [1, N, CHANNELS]);
        const { features, logits } = m.forward(x);
        const outs = { features, ...Object.fromEntries(HEAD_NAMES.map((h) => [h, T.softmax(logits[h], 1)])) };
        s = this.rt.load(exportOnnx([x, ...m.ps.inputs], outs, { name: `pointe_classifier_${N}` }));
        this.sessions.set(N, s);
      }
      const res = await runOnWeights(this.rt, await s, this.model.ps, { x: hostTensor('float32', [1, N, CHANNELS], toChannels(c)) });
      out.features.push(Float32Array.from(res.features!.data as Float32Array));
      for (const h of HEAD_NAMES) out.probs[h].push(Float64Array.from(res[h]!.data as Float32Array));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.rt.close();
  }
}
