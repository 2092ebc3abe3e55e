/**
 * Point-E against exact ground truth: procedural captions parse back to their geometry
 * (src/shape/scenes.ts), so a sample for a held-out caption is compared with the true surface of
 * that caption — what the paper could only approximate with CLIP R-precision and P-FID.
 *
 * For each held-out scene (dataset items whose scene src/models/pointe/kind.ts holds out) and each
 * guidance scale: one sample, then Chamfer distance (squared-L2, both directions summed) and F-score
 * at τ against `truthPoints` points sampled uniformly by area from the caption's exact mesh. Two
 * references frame the numbers: the floor — a second, independent surface sample of the same true
 * shape, which is what a perfect model's N points would score — and the wrong-caption ceiling — the
 * true shape of another held-out caption.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TonyError } from '../../errors.ts';
import type { Progress } from '../../progress.ts';
import type { ManifestEntry } from '../../shape/dataset.ts';
import { meshField } from '../../shape/marching-cubes.ts';
import { type Mesh, type PointCloud, pointCount } from '../../shape/mesh.ts';
import { chamferDistance, fScore } from '../../shape/metrics.ts';
import { farthestPointSample, sampleSurface } from '../../shape/pointcloud.ts';
import type { Image } from '../../shape/render.ts';
import { buildScene, captionOf, parseCaption } from '../../shape/scenes.ts';
import { compileShape } from '../../shape/sdf.ts';
import { type Classified, HEAD_NAMES, type Head, labelsOf, type PointNetModel } from './classifier.ts';
import { type HeldOutSet, inHeldOutSet } from './data.ts';
import { readViewFile } from './image.ts';
import { frechetDistance, inceptionScore } from './metrics.ts';
import type { PointEModel, PointESampler } from './model.ts';
import type { PointEUpsamplerModel } from './upsample.ts';

/** Marching-cubes cells per axis for the true surface (the dataset's default mesh resolution). */
const TRUTH_GRID = 96;

export interface EvalOptions {
  /** Held-out scenes to sample (the first ones in manifest order). */
  scenes: number;
  /**
   * The index, within its held-out set, of the first caption (default 0). Every seed — the sample's
   * and the truth draws' — is by that index, so a scene scores the same whichever run it falls in and
   * a validation part (e.g. scenes 32–95) and a reporting part can be run separately.
   */
  first?: number;
  /** Points per sample (default: the model's training N; the network takes any N); the floor and wrong-caption references draw as many. */
  points?: number;
  guidance: readonly number[];
  /** F-score threshold in world units (the scenes fill the unit cube). */
  tau: number;
  /** Points sampled from each true surface. */
  truthPoints: number;
  steps?: number;
  /** Default: Point-E's Karras settings. */
  sampler?: PointESampler;
  seed?: number;
  /** The views of the scenes, in the captions' order: what an image-conditioned model samples from. */
  views?: readonly Image[];
  /** The trained PointNet (classifier.ts): adds P-FID, P-IS and caption accuracy. */
  classifier?: PointNetModel;
  /**
   * An upsampler chained after the base model, as Point-E's pipeline: each sample, farthest-point
   * subsampled to the upsampler's M if it has more points, gets the upsampler's new points; both
   * are scored against the truth.
   */
  upsampler?: PointEUpsamplerModel;
  onProgress?: (p: Progress) => void;
}

/** The classifier's verdict on one set of clouds, one per caption. */
export interface ClassifierScores {
  /** Fréchet distance of its features to those of the true clouds (metrics.ts). */
  pfid: number;
  /** exp(E KL(p(shape | x) ‖ p(shape))) over the shape head. */
  pis: number;
  /** Fraction whose arrangement, first shape and first colour all match the caption. */
  captionAccuracy: number;
  /** Per head: the fraction matching the caption. */
  accuracy: Record<Head, number>;
  /** Per cloud, in the captions' order: all three heads right (so runs over parts of a set can be pooled). */
  correct: boolean[];
}

interface SceneScore {
  caption: string;
  guidance: number;
  chamfer: number;
  fscore: number;
  seconds: number;
  /** With an upsampler: its input (the sample, subsampled to M) and input + new points. */
  upsampled?: { input: { chamfer: number; fscore: number }; output: { chamfer: number; fscore: number } };
}

/** Per guidance scale, with an upsampler: means over scenes and the paired Chamfer change. */
interface UpsampledSummary {
  guidance: number;
  inputChamfer: number;
  inputFscore: number;
  chamfer: number;
  fscore: number;
  /** Output − input Chamfer, paired over scenes: mean and standard error. */
  change: { mean: number; se: number };
}

export interface EvalReport {
  scenes: string[];
  rows: SceneScore[];
  /** Mean over scenes per guidance scale, with its standard error across scenes (std / √n). */
  byGuidance: { guidance: number; chamfer: number; chamferSe: number; fscore: number; fscoreSe: number; secondsPerSample: number }[];
  /** A second surface sample of the true shape (N points) against the truth. */
  floor: { chamfer: number; fscore: number };
  /** The next held-out caption's true shape (N points) against the truth. */
  wrongCaption: { chamfer: number; fscore: number };
  /**
   * With a classifier: its scores per guidance scale, and for a second draw of the true clouds
   * (their P-FID against the first draw is the floor; their accuracy the classifier's own ceiling).
   */
  classifier?: { byGuidance: (ClassifierScores & { guidance: number })[]; truth: ClassifierScores };
  upsampled?: UpsampledSummary[];
}

/** The classifier's scores of clouds for captions, against the true clouds' features. */
/** P-FID against the true clouds' features, P-IS over the shape head, accuracy per head and of all three. */
export async function classifierScores(
  c: PointNetModel,
  clouds: PointCloud[],
  captions: readonly string[],
  truth: Classified,
): Promise<ClassifierScores> {
  const r = await c.classify(clouds);
  const labels = captions.map((x) => labelsOf(parseCaption(x)));
  const argmax = (p: Float64Array) => p.indexOf(Math.max(...p));
  const right = (h: Head, i: number) => argmax(r.probs[h][i]!) === labels[i]![h];
  const accuracy = Object.fromEntries(HEAD_NAMES.map((h) => [h, mean(labels.map((_, i) => +right(h, i)))])) as Record<Head, number>;
  const correct = labels.map((_, i) => HEAD_NAMES.every((h) => right(h, i)));
  return {
    pfid: frechetDistance(r.features, truth.features),
    pis: inceptionScore(r.probs.shape),
    captionAccuracy: mean(correct.map(Number)),
    accuracy,
    correct,
  };
}

/** The true surface of a caption: parse → exact SDF → marching cubes → n points by area. */
export function truthCloud(caption: string, n: number, seed: number, mesh = truthMesh(caption)): PointCloud {
  return sampleSurface(mesh, n, { seed });
}

/** The caption's exact shape meshed at the truth's grid (the costly part of `truthCloud`: mesh once, draw many). */
function truthMesh(caption: string): Mesh {
  return meshField(compileShape(buildScene(parseCaption(caption))), TRUTH_GRID);
}

/** Held-out captions of a `tony shapes generate` folder: one per distinct held-out scene. */
export async function heldOutCaptions(dataDir: string, limit: number, set: HeldOutSet = 'scenes', first = 0): Promise<string[]> {
  return (await heldOutScenes(dataDir, limit, set, first)).map((x) => x.caption);
}

/**
 * One item per distinct scene of a held-out set (data.ts: `scenes`, `combos`, `arrangements`), in manifest order:
 * its caption and its first render (a path; undefined if the folder has no renders). `first` skips
 * that many distinct scenes (a validation part before a reporting part); fewer than `limit` come back
 * when the set runs out.
 */
export async function heldOutScenes(
  dataDir: string,
  limit: number,
  set: HeldOutSet = 'scenes',
  first = 0,
): Promise<{ caption: string; render?: string }[]> {
  const path = join(dataDir, 'manifest.jsonl');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new TonyError('data', `${dataDir}: no manifest.jsonl (${(err as Error).message})`, 'pass the folder the model trained on', {
      cause: err,
    });
  }
  const seen = new Set<string>();
  const out: { caption: string; render?: string }[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const e = JSON.parse(line) as ManifestEntry;
    const scene = captionOf(e.attributes, 0);
    if (!inHeldOutSet(scene, set) || seen.has(scene)) continue;
    seen.add(scene);
    if (seen.size <= first) continue;
    out.push({ caption: e.caption, ...(e.renders?.[0] ? { render: join(dataDir, e.renders[0]) } : {}) });
    if (out.length === limit) break;
  }
  if (out.length === 0)
    throw new TonyError(
      'data',
      `${dataDir}: no held-out ${set}${first ? ` after the first ${first} (it holds ${seen.size})` : ''}`,
      first ? 'start at a smaller index' : 'generate more items',
    );
  return out;
}

/** The views of held-out items (for an image-conditioned model); an item without a render is a data error. */
export async function viewsOf(items: readonly { caption: string; render?: string }[]): Promise<Image[]> {
  const views: Image[] = [];
  for (const x of items) {
    if (!x.render) throw new TonyError('data', `no render for "${x.caption}"`, 'generate the folder with --views 1');
    views.push(await readViewFile(x.render));
  }
  return views;
}

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Standard error of the mean: sample std / √n (0 for one value). */
export const stderr = (xs: number[]) => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1) / xs.length);
};

/** Sample every caption at every guidance scale and score it against its true shape. */
export async function evaluatePointE(model: PointEModel, captions: readonly string[], o: EvalOptions): Promise<EvalReport> {
  const N = o.points ?? model.cfg.points;
  const at = o.first ?? 0;
  if (o.classifier && o.classifier.cfg.points !== N)
    throw new TonyError(
      'usage',
      `the classifier ${o.classifier.id} judges clouds of ${o.classifier.cfg.points} points; these samples have ${N}`,
      'score with the classifier at its N, or leave it out at another point count',
    );
  // each exact shape meshed once: every draw below (truth, floor, wrong caption, the classifier's) samples it
  const meshes = captions.map((c) => truthMesh(c));
  const truths = captions.map((c, i) => truthCloud(c, o.truthPoints, 1000 + at + i, meshes[i]));
  const rows: SceneScore[] = [];
  const samples = new Map<number, PointCloud[]>(o.guidance.map((g) => [g, []]));
  const total = captions.length * o.guidance.length;
  for (let i = 0; i < captions.length; i++) {
    for (const g of o.guidance) {
      const cond = model.cfg.cond === 'text' ? { caption: captions[i]! } : { image: o.views?.[i] };
      if ('image' in cond && !cond.image) throw new TonyError('usage', `${model.id} reads a view per scene; pass views`);
      const { cloud, seconds } = await model.sample({
        ...cond,
        guidance: g,
        ...(o.points ? { points: o.points } : {}),
        steps: o.steps,
        ...(o.sampler ? { sampler: o.sampler } : {}),
        seed: (o.seed ?? 0) + at + i,
      });
      samples.get(g)!.push(cloud);
      const score = (c: PointCloud) => ({
        chamfer: chamferDistance(c.xyz, truths[i]!.xyz).chamfer,
        fscore: fScore(c.xyz, truths[i]!.xyz, o.tau).fscore,
      });
      let upsampled: SceneScore['upsampled'];
      if (o.upsampler) {
        const M = o.upsampler.cfg.lowResPoints;
        const low = pointCount(cloud) > M ? farthestPointSample(cloud, M) : cloud;
        const up = await o.upsampler.upsample(low, { seed: (o.seed ?? 0) + at + i });
        upsampled = { input: score(low), output: score(up.cloud) };
      }
      rows.push({ caption: captions[i]!, guidance: g, ...score(cloud), seconds, ...(upsampled ? { upsampled } : {}) });
      o.onProgress?.({ done: rows.length, total });
    }
  }
  const floorRows = captions.map((c, i) => {
    const other = truthCloud(c, N, 5000 + at + i, meshes[i]).xyz;
    return { chamfer: chamferDistance(other, truths[i]!.xyz).chamfer, fscore: fScore(other, truths[i]!.xyz, o.tau).fscore };
  });
  const wrongRows = captions.map((_c, i) => {
    const j = (i + 1) % captions.length;
    const other = truthCloud(captions[j]!, N, 7000 + at + i, meshes[j]).xyz;
    return { chamfer: chamferDistance(other, truths[i]!.xyz).chamfer, fscore: fScore(other, truths[i]!.xyz, o.tau).fscore };
  });
  let classifier: EvalReport['classifier'];
  if (o.classifier) {
    // the true clouds as the classifier trained on them: dense surface points, farthest-point subsampled to N
    const truthDraw = (seed: number) => captions.map((c, i) => farthestPointSample(truthCloud(c, 2048, seed + at + i, meshes[i]), N));
    const truth = await o.classifier.classify(truthDraw(9000));
    classifier = {
      byGuidance: [],
      truth: await classifierScores(o.classifier, truthDraw(11_000), captions, truth),
    };
    for (const g of o.guidance)
      classifier.byGuidance.push({ guidance: g, ...(await classifierScores(o.classifier, samples.get(g)!, captions, truth)) });
  }
  const upsampledSummary = o.upsampler
    ? o.guidance.map((g): UpsampledSummary => {
        const u = rows.filter((x) => x.guidance === g).map((x) => x.upsampled!);
        const change = u.map((x) => x.output.chamfer - x.input.chamfer);
        return {
          guidance: g,
          inputChamfer: mean(u.map((x) => x.input.chamfer)),
          inputFscore: mean(u.map((x) => x.input.fscore)),
          chamfer: mean(u.map((x) => x.output.chamfer)),
          fscore: mean(u.map((x) => x.output.fscore)),
          change: { mean: mean(change), se: stderr(change) },
        };
      })
    : undefined;
  return {
    scenes: [...captions],
    rows,
    ...(classifier ? { classifier } : {}),
    ...(upsampledSummary ? { upsampled: upsampledSummary } : {}),
    byGuidance: o.guidance.map((g) => {
      const r = rows.filter((x) => x.guidance === g);
      const c = r.map((x) => x.chamfer);
      const f = r.map((x) => x.fscore);
      return {
        guidance: g,
        chamfer: mean(c),
        chamferSe: stderr(c),
        fscore: mean(f),
        fscoreSe: stderr(f),
        secondsPerSample: mean(r.map((x) => x.seconds)),
      };
    }),
    floor: { chamfer: mean(floorRows.map((x) => x.chamfer)), fscore: mean(floorRows.map((x) => x.fscore)) },
    wrongCaption: { chamfer: mean(wrongRows.map((x) => x.chamfer)), fscore: mean(wrongRows.map((x) => x.fscore)) },
  };
}
