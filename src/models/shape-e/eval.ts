/**
 * Shap-E against exact ground truth, on held-out scenes of a `tony shapes generate` folder (the same
 * scenes, truth samples and seeds as Point-E's evaluation, src/models/pointe/eval.ts, so the two
 * are paired):
 *
 *  - reconstruction: the true surface (2,048 points by area, as the training clouds) → encoder →
 *    latent → STF mesh → 4,096 points by area, Chamfer and F@τ against 4,096 points of the exact
 *    surface; and the same latent's NeRF render against its mesh render and the true shape's
 *    render from one camera (silhouette IoU, coverage > ½);
 *  - generation (a diffusion model): a latent per caption and guidance scale → mesh → the same
 *    scores, plus N = 256 points farthest-point sampled from the mesh scored as Point-E's N-point
 *    clouds are;
 *  - seconds for each step (encode, sample, NeRF render, mesh).
 */
import type { Progress } from '../../progress.ts';
import { isWatertight, type Mesh, type PointCloud } from '../../shape/mesh.ts';
import { chamferDistance, fScore } from '../../shape/metrics.ts';
import { farthestPointSample, sampleSurface } from '../../shape/pointcloud.ts';
import { type Image, orbitCameras, renderField, renderMesh } from '../../shape/render.ts';
import { buildScene, parseCaption } from '../../shape/scenes.ts';
import { compileShape } from '../../shape/sdf.ts';
import { mean, stderr, truthCloud } from '../pointe/eval.ts';
import type { ShapeEModel } from './model.ts';
import { BOX_HI, BOX_LO, fieldViews } from './task.ts';

export interface ShapeEEvalOptions {
  grid: number;
  tau: number;
  truthPoints: number;
  /** Render size for the silhouettes. */
  size: number;
  /** Guidance scales to sample at (a diffusion model only). */
  guidance?: readonly number[];
  steps?: number;
  seed?: number;
  /** Called with [true | NeRF | mesh] side by side for each scene (and each sample). */
  onRender?: (name: string, img: Image) => Promise<void>;
  onProgress?: (p: Progress) => void;
}

/** Silhouette IoU of two renders (a pixel is covered when its alpha exceeds ½). */
export function silhouetteIoU(a: Image, b: Image): number {
  let inter = 0;
  let union = 0;
  for (let p = 0; p < a.alpha.length; p++) {
    const x = a.alpha[p]! > 127;
    const y = b.alpha[p]! > 127;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/** Images of one height side by side. */
export function sideBySide(images: readonly Image[]): Image {
  const H = images[0]!.height;
  const W = images.reduce((s, im) => s + im.width, 0);
  const rgb = new Uint8Array(3 * W * H);
  const alpha = new Uint8Array(W * H);
  let x0 = 0;
  for (const im of images) {
    for (let y = 0; y < H; y++)
      for (let x = 0; x < im.width; x++) {
        const o = y * W + x0 + x;
        const i = y * im.width + x;
        rgb.set(im.rgb.subarray(3 * i, 3 * i + 3), 3 * o);
        alpha[o] = im.alpha[i]!;
      }
    x0 += im.width;
  }
  return { width: W, height: H, rgb, alpha };
}

interface Decoded {
  chamfer: number;
  fscore: number;
  /** N points farthest-point sampled from the mesh, scored as Point-E's clouds. */
  chamferN: number;
  fscoreN: number;
  iouNerfMesh: number;
  iouNerfTrue: number;
  iouMeshTrue: number;
  watertight: boolean;
  nerfSeconds: number;
  meshSeconds: number;
}

export interface ShapeEEvalReport {
  scenes: string[];
  reconstruction: Array<Decoded & { caption: string; encodeSeconds: number }>;
  generation: Array<Decoded & { caption: string; guidance: number; sampleSeconds: number }>;
  summary: Record<string, { mean: number; se: number }>;
}

const POINTE_N = 256;

export async function evaluateShapeE(model: ShapeEModel, captions: readonly string[], o: ShapeEEvalOptions): Promise<ShapeEEvalReport> {
  const cam = orbitCameras(1, { size: o.size })[0]!;
  const reconstruction: ShapeEEvalReport['reconstruction'] = [];
  const generation: ShapeEEvalReport['generation'] = [];
  const guidance = model.capabilities.includes('generate-shape') ? (o.guidance ?? [3]) : [];
  const total = captions.length * (1 + guidance.length);
  let done = 0;
  for (let i = 0; i < captions.length; i++) {
    const caption = captions[i]!;
    const truth = truthCloud(caption, o.truthPoints, 1000 + i).xyz; // Point-E's eval draws the same
    const trueImg = renderField(compileShape(buildScene(parseCaption(caption))), cam, { lo: BOX_LO, hi: BOX_HI });
    const decode = async (latent: Float32Array, name: string): Promise<Decoded> => {
      let t0 = performance.now();
      const nerf = await model.renderNerf(latent, cam);
      const nerfSeconds = (performance.now() - t0) / 1000;
      t0 = performance.now();
      const mesh: Mesh = await model.mesh(latent, { grid: o.grid });
      const meshSeconds = (performance.now() - t0) / 1000;
      const empty = mesh.indices.length === 0;
      const pts = empty ? new Float32Array([0, 0, 0]) : sampleSurface(mesh, o.truthPoints, { seed: 2000 + i }).xyz;
      const ptsN = empty ? pts : farthestPointSample({ xyz: pts }, POINTE_N).xyz;
      const meshImg = renderMesh(mesh, cam);
      await o.onRender?.(name, sideBySide([trueImg, nerf, meshImg]));
      return {
        chamfer: chamferDistance(pts, truth).chamfer,
        fscore: fScore(pts, truth, o.tau).fscore,
        chamferN: chamferDistance(ptsN, truth).chamfer,
        fscoreN: fScore(ptsN, truth, o.tau).fscore,
        iouNerfMesh: silhouetteIoU(nerf, meshImg),
        iouNerfTrue: silhouetteIoU(nerf, trueImg),
        iouMeshTrue: silhouetteIoU(meshImg, trueImg),
        watertight: !empty && isWatertight(mesh),
        nerfSeconds,
        meshSeconds,
      };
    };
    const t0 = performance.now();
    // an encoder that reads views gets the software renderer's views of the exact shape
    const views = model.cfg.inputViews > 0 ? fieldViews(model.cfg, compileShape(buildScene(parseCaption(caption)))) : undefined;
    const latent = await model.encode(truthCloud(caption, 2048, 3000 + i), views);
    const encodeSeconds = (performance.now() - t0) / 1000;
    reconstruction.push({ caption, encodeSeconds, ...(await decode(latent, `recon-${i}`)) });
    o.onProgress?.({ done: ++done, total });
    for (const g of guidance) {
      const s = await model.sample({ caption, guidance: g, steps: o.steps, seed: (o.seed ?? 0) + i });
      generation.push({ caption, guidance: g, sampleSeconds: s.seconds, ...(await decode(s.latent, `sample-g${g}-${i}`)) });
      o.onProgress?.({ done: ++done, total });
    }
  }
  const summary: ShapeEEvalReport['summary'] = {};
  const add = (prefix: string, rows: Array<Record<string, unknown>>) => {
    if (rows.length === 0) return;
    for (const k of Object.keys(rows[0]!)) {
      const xs = rows.map((r) => r[k]);
      if (typeof xs[0] === 'number') summary[`${prefix}.${k}`] = { mean: mean(xs as number[]), se: stderr(xs as number[]) };
      if (typeof xs[0] === 'boolean') summary[`${prefix}.${k}`] = { mean: mean(xs.map((x) => (x ? 1 : 0))), se: 0 };
    }
  };
  add('reconstruction', reconstruction as unknown as Array<Record<string, unknown>>);
  for (const g of guidance)
    add(`generation.g${g}`, generation.filter((r) => r.guidance === g) as unknown as Array<Record<string, unknown>>);
  // Point-E's references on the same truths: a second true N-point sample (floor) and another caption's shape (ceiling)
  const floor = captions.map((c, i) => truthCloud(c, POINTE_N, 5000 + i).xyz);
  const wrong = captions.map((_c, i) => truthCloud(captions[(i + 1) % captions.length]!, POINTE_N, 7000 + i).xyz);
  const truths = captions.map((c, i) => truthCloud(c, o.truthPoints, 1000 + i).xyz);
  add(
    'floor',
    floor.map((p, i) => ({ chamferN: chamferDistance(p, truths[i]!).chamfer, fscoreN: fScore(p, truths[i]!, o.tau).fscore })),
  );
  add(
    'wrongCaption',
    wrong.map((p, i) => ({ chamferN: chamferDistance(p, truths[i]!).chamfer, fscoreN: fScore(p, truths[i]!, o.tau).fscore })),
  );
  return { scenes: [...captions], reconstruction, generation, summary };
}

/**
 * Shap-E as a point-cloud sampler, so that Point-E's evaluation (src/models/pointe/eval.ts
 * `evaluatePointE`: Chamfer/F against the same truths, the classifier's P-FID, P-IS and caption
 * accuracy) scores both models with the same code: caption → latent → STF mesh at `grid` →
 * 4,096 points by area (with the mesh's vertex colours) → N farthest points. `seconds` is the
 * whole path from caption to cloud (Point-E's counts its sampling, which is its whole path).
 * An empty mesh answers N points at the origin, grey (a failure scored as one).
 */
export function shapeECloudSampler(model: ShapeEModel, o: { points: number; grid: number }) {
  return {
    cfg: { points: o.points },
    async sample(s: {
      caption: string;
      guidance?: number;
      steps?: number;
      seed?: number;
    }): Promise<{ cloud: PointCloud; seconds: number }> {
      const t0 = performance.now();
      const { latent } = await model.sample(s);
      const mesh = await model.mesh(latent, { grid: o.grid });
      const cloud =
        mesh.indices.length === 0
          ? { xyz: new Float32Array(3 * o.points), rgb: new Float32Array(3 * o.points).fill(0.5) }
          : farthestPointSample(sampleSurface(mesh, 4096, { seed: s.seed ?? 0 }), o.points);
      return { cloud, seconds: (performance.now() - t0) / 1000 };
    },
  };
}
