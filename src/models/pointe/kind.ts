/**
 * Point-E's registry row (src/models/index.ts):
 *
 *   tony shapes generate --count 3000 --out data/shapes
 *   tony train pointe --data data/shapes --set preset=small --set stage=base --out runs/pointe
 *
 * Data: folders written by `tony shapes generate` (manifest.jsonl + points/<id>.ply). Each cloud is
 * farthest-point subsampled to the model's N points, as the paper subsamples 4K → 1K, and mapped to
 * the model's channels (coordinates ×2, colours to [−1, 1]); an image-conditioned model reads each
 * item's first render (image.ts). Held out (data.ts): by scene — a stable draw of 10 % of distinct
 * scenes, whatever caption prefix they were given — and by combination of attributes — scenes with
 * a (colour, shape) pair that training never shows; neither is trained on.
 */
import { diffusionFeeds } from '../../diffusion/losses.ts';
import { type HostTensor, hostTensor } from '../../engine/dtype.ts';
import type { TrainTask } from '../../engine/trainer.ts';
import { TonyError } from '../../errors.ts';
import { prng } from '../../random.ts';
import { farthestPointSample } from '../../shape/pointcloud.ts';
import type { ModelKind, TrainSetup } from '../index.ts';
import { buildVocabulary, captionFeeds, captionWords, encodeCaption } from './captions.ts';
import { type ClassifierData, classifierTask, readLabelledClouds } from './classifier.ts';
import { manifestClouds, splitByScene } from './data.ts';
import { readViewFile, viewChannels } from './image.ts';
import { loadPointEStage } from './model.ts';
import {
  CHANNELS,
  condInputList,
  diffusionOf,
  POINTE_PRESETS,
  PointE,
  type PointEConfig,
  pointeConfig,
  pointeInputs,
  pointeObjective,
  toChannels,
} from './pointe.ts';
import { readSdfShapes, type SdfData, sdfTask } from './sdf-task.ts';
import { readUpsampleShapes, type UpsampleData, upsampleTask } from './upsample.ts';

/** One training example: a caption and its cloud in model channels, N × 6 row-major. */
interface ShapeExample {
  id: string;
  caption: string;
  /** The scene's attributes as a prefix-free caption: what the split groups by. */
  scene: string;
  x0: Float32Array;
  /** The item's first render as the image encoder reads it (S × S × 3 in [−1, 1]); image models only. */
  image?: Float32Array;
}

export { isHeldOut } from './data.ts';

export interface ShapeData {
  train: ShapeExample[];
  val: ShapeExample[];
  /** Held-out combinations of attributes (never trained on; not in the validation loss either). */
  combo: ShapeExample[];
  /** Held-out colour × arrangement combinations (never trained on; not in the validation loss). */
  arrangement: ShapeExample[];
  /** The caption vocabulary (the sorted words of every caption read). */
  vocab: string[];
  notes: string[];
}

/** Read `tony shapes generate` folders into examples of cfg.points points, split by scene. */
export async function readShapes(paths: readonly string[], cfg: Readonly<PointEConfig>): Promise<ShapeData> {
  const all: ShapeExample[] = [];
  for await (const { id, caption, scene, cloud, file, renders } of manifestClouds(paths)) {
    const n = cloud.xyz.length / 3;
    if (n < cfg.points)
      throw new TonyError(
        'data',
        `${file}: ${n} points, the model needs ${cfg.points}`,
        `generate more points (tony shapes generate --points ${cfg.points * 4}) or train fewer (--set points=${n})`,
      );
    let image: Float32Array | undefined;
    if (cfg.cond !== 'text') {
      if (!renders[0])
        throw new TonyError(
          'data',
          `${file}: item ${id} has no render, and a '${cfg.cond}' model reads one`,
          'generate views: tony shapes generate --views 1',
        );
      image = viewChannels(await readViewFile(renders[0]), cfg.imageSize);
    }
    all.push({ id, caption, scene, x0: toChannels(farthestPointSample(cloud, cfg.points)), ...(image ? { image } : {}) });
  }
  const { train, val, combo, arrangement } = splitByScene(all);
  const vocab = buildVocabulary(all.map((x) => x.caption));
  return {
    train,
    val,
    combo,
    arrangement,
    vocab,
    notes: [
      `${train.length} training, ${val.length} held-out-scene, ${combo.length} held-out (colour, shape) and ${arrangement.length} held-out colour × arrangement clouds; ${vocab.length} caption words`,
    ],
  };
}

/**
 * The trainer's task. Training batch `index`: examples, timesteps t ~ U{0 … T − 1}, noise and
 * condition drops drawn from (seed, index). Validation: held-out examples in order with t and noise
 * drawn from the batch index, never dropped — every evaluation sees the same batches.
 */
function pointeTask(cfg: Readonly<PointEConfig>, data: ShapeData, setup: TrainSetup): TrainTask {
  const B = setup.batch;
  const N = cfg.points;
  const d = diffusionOf(cfg);
  const longest = [...data.train, ...data.val].reduce((a, x) => (captionWords(x.caption).length > captionWords(a.caption).length ? x : a));
  const words = captionWords(longest.caption).length;
  if (words > cfg.maxWords)
    throw new TonyError(
      'config',
      `pointe: caption of ${longest.id} has ${words} words, the model reads at most ${cfg.maxWords}`,
      `--set maxWords=${words}`,
    );
  const batch = (split: 'train' | 'val', index: number): Record<string, HostTensor> => {
    const r = prng(split === 'train' ? Math.imul(setup.seed + 1, 0x9e3779b1) ^ index : 0x5eed ^ Math.imul(index + 1, 0x85ebca6b));
    const x0 = new Float64Array(B * N * CHANNELS);
    const S = cfg.imageSize;
    const images = cfg.cond === 'text' ? undefined : new Float32Array(B * S * S * 3);
    const captions: { ids: number[]; valid: boolean[] }[] = [];
    const keep = new Float32Array(B);
    const t = new Int32Array(B);
    for (let j = 0; j < B; j++) {
      const ex = split === 'train' ? data.train[r.int(0, data.train.length - 1)]! : data.val[(index * B + j) % data.val.length]!;
      x0.set(ex.x0, j * N * CHANNELS);
      if (images) images.set(ex.image!, j * S * S * 3);
      else captions.push(encodeCaption(ex.caption, data.vocab, cfg.maxWords));
      keep[j] = split === 'train' && r.next() < cfg.condDrop ? 0 : 1;
      t[j] = r.int(0, d.T - 1);
    }
    const noise = new Float64Array(x0.length);
    for (let i = 0; i < noise.length; i++) noise[i] = r.normal();
    return {
      ...diffusionFeeds(d, x0, t, noise, [B, N, CHANNELS], cfg.learnSigma),
      ...(images ? { image: hostTensor('float32', [B, S, S, 3], images) } : captionFeeds(captions, cfg.maxWords)),
      keep: hostTensor('float32', [B, 1], keep),
    };
  };
  return {
    trace() {
      const model = new PointE(cfg, data.vocab.length);
      const inp = pointeInputs(cfg, B, N);
      const dd = inp.diffusion;
      const feedsOrder = [
        dd.xt,
        dd.noise,
        dd.t,
        ...(dd.qMean ? [dd.qMean, ...Object.values(dd.coefs!)] : []),
        ...condInputList(inp.cond),
        inp.keep,
      ];
      return { ps: model.ps, losses: pointeObjective(model, inp), data: feedsOrder };
    },
    batch,
    tokensPerStep: B * N,
    config: {
      kind: 'pointe',
      model: { ...cfg },
      vocab: data.vocab,
      batch: B,
      seed: setup.seed,
      ...(setup.preset ? { preset: setup.preset } : {}),
      data: {
        train: data.train.length,
        val: data.val.length,
        combo: data.combo.length,
        arrangement: data.arrangement.length,
        val_ids: data.val.map((x) => x.id).slice(0, 500),
      },
    },
  };
}

type Stage = 'base' | 'upsample' | 'sdf' | 'classifier';
type AnyData = ShapeData | UpsampleData | SdfData | ClassifierData;

/**
 * One registry row, four stages: the config's `stage` picks the data reader and the task (base:
 * text → points, this file; upsample: more points, upsample.ts; sdf: points → signed distances,
 * sdf-task.ts; classifier: the metrics' PointNet, classifier.ts).
 */
const STAGE_ROWS: Record<
  Stage,
  {
    data: (paths: readonly string[], cfg: Readonly<PointEConfig>) => Promise<AnyData>;
    task: (cfg: Readonly<PointEConfig>, data: AnyData, setup: TrainSetup) => TrainTask;
  }
> = {
  base: { data: readShapes, task: (c, d, s) => pointeTask(c, d as ShapeData, s) },
  upsample: { data: readUpsampleShapes, task: (c, d, s) => upsampleTask(c, d as UpsampleData, s) },
  sdf: { data: readSdfShapes, task: (c, d, s) => sdfTask(c, d as SdfData, s) },
  classifier: { data: readLabelledClouds, task: (c, d, s) => classifierTask(c, d as ClassifierData, s) },
};

export const pointeKind: ModelKind<Readonly<PointEConfig>, ShapeData | UpsampleData | SdfData | ClassifierData> = {
  name: 'pointe',
  kind: 'pointe',
  summary:
    'Point-E: the base model (a caption or a rendered view → coloured point cloud; --set cond=text|image|image-pooled) or, with --stage sdf, the SDF model (cloud → mesh); data: a `tony shapes generate` folder',
  capabilities: ['generate-shape'],
  // `--set preset=small` picks a preset; other keys override it
  config: (overrides) => {
    const { preset, ...rest } = overrides;
    if (preset !== undefined && (typeof preset !== 'string' || !(preset in POINTE_PRESETS)))
      throw new TonyError(
        'config',
        `pointe: unknown preset ${JSON.stringify(preset)}`,
        `presets: ${Object.keys(POINTE_PRESETS).join(', ')}`,
      );
    return pointeConfig({ ...(preset ? POINTE_PRESETS[preset as string] : {}), ...rest });
  },
  data: (paths, cfg) => STAGE_ROWS[cfg.stage as Stage].data(paths, cfg),
  task: (cfg, data, setup) => STAGE_ROWS[cfg.stage as Stage].task(cfg, data, setup),
  load: (dir, opts) => loadPointEStage(dir, opts),
};
