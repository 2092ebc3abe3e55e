/**
 * Shap-E against Point-E at equal wall clock (docs/results/shape-e.md): every kept checkpoint of
 * both runs, sampled for the same held-out captions with the same seeds (seed = scene index) and
 * scored the same way, by the formulas of Point-E's `evaluatePointE` (src/models/pointe/eval.ts):
 * Chamfer/F of the N-point cloud against 4,096 points of the exact surface (the same truth draws),
 * and with the PointNet classifier P-FID, P-IS and caption accuracy against farthest-point-sampled
 * true clouds. Shap-E's clouds come through `shapeECloudSampler` (latent → STF mesh → N points).
 * The truths are computed once here (evaluatePointE re-meshes each exact shape at 96³ five times per
 * caption per model, ~10 min per checkpoint on this machine); they are the same points, since
 * `truthCloud(c, n, seed)` is `sampleSurface(meshField(exact, 96), n, { seed })`.
 * One JSON line per (model, checkpoint), appended to <out.jsonl>; lines already there are skipped.
 *
 *   node --import tsx docs/results/shape-e/compare.ts <cmp dir> <data dir> <classifier run> <out.jsonl> [scenes] [guidance]
 *
 * <cmp dir> holds pointe-keep/ckpt-*, shape-e-keep/ckpt-* (every checkpoint of each run, copied as
 * the trainer wrote them) and pointe/, shape-e/ (the runs: metrics.jsonl gives each checkpoint's
 * training seconds).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { heldOutCaptions, mean, classifierScores as pointEScores, stderr } from '../../../src/models/pointe/eval.ts';
import { loadPointE, loadPointNet } from '../../../src/models/pointe/model.ts';
import { shapeECloudSampler } from '../../../src/models/shape-e/eval.ts';
import { loadShapeE } from '../../../src/models/shape-e/model.ts';
import { meshField } from '../../../src/shape/marching-cubes.ts';
import type { PointCloud } from '../../../src/shape/mesh.ts';
import { chamferDistance, fScore } from '../../../src/shape/metrics.ts';
import { farthestPointSample, sampleSurface } from '../../../src/shape/pointcloud.ts';
import { buildScene, parseCaption } from '../../../src/shape/scenes.ts';
import { compileShape } from '../../../src/shape/sdf.ts';

const [cmp, data, clsRun, out, scenesArg = '24', guidanceArg = '3'] = process.argv.slice(2);
if (!cmp || !data || !clsRun || !out)
  throw new Error('usage: compare.ts <cmp dir> <data dir> <classifier run> <out.jsonl> [scenes] [guidance]');
const scenes = Number(scenesArg);
const guidance = Number(guidanceArg);
/** Marching-cubes cells per axis for Shap-E's meshes (as the evaluation in shape-e.md). */
const GRID = 64;

const done = new Set(
  existsSync(out)
    ? readFileSync(out, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const r = JSON.parse(l) as { model: string; step: number };
          return `${r.model}:${r.step}`;
        })
    : [],
);

/** Seconds of training at each step, from the run's metrics.jsonl. */
function stepSeconds(run: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const l of readFileSync(join(run, 'metrics.jsonl'), 'utf8').split('\n')) {
    if (!l.trim()) continue;
    const r = JSON.parse(l) as { step: number; time_s?: number };
    if (r.time_s !== undefined) m.set(r.step, r.time_s);
  }
  return m;
}

const ckpts = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => /^ckpt-\d+$/.test(n))
        .map((n) => Number(n.slice(5)))
        .sort((a, b) => a - b)
    : [];

/** Cells per axis of the exact surface's mesh (Point-E's evaluation: TRUTH_GRID in src/models/pointe/eval.ts). */
const TRUTH_GRID = 96;
/** Points per cloud: Point-E's base model here and its classifier read 64. */
const N = 64;
const TAU = 0.05;

const captions = await heldOutCaptions(data, scenes);
const exact = captions.map((c) => meshField(compileShape(buildScene(parseCaption(c))), TRUTH_GRID));
const truths = exact.map((m, i) => sampleSurface(m, 4096, { seed: 1000 + i }).xyz);
const score = (xyz: Float32Array, i: number) => ({
  chamfer: chamferDistance(xyz, truths[i]!).chamfer,
  fscore: fScore(xyz, truths[i]!, TAU).fscore,
});
// Point-E's references: a second N-point draw of the truth (the floor) and the next caption's shape
const floor = exact.map((m, i) => score(sampleSurface(m, N, { seed: 5000 + i }).xyz, i));
const wrong = exact.map((_m, i) => score(sampleSurface(exact[(i + 1) % exact.length]!, N, { seed: 7000 + i }).xyz, i));
const classifier = await loadPointNet(clsRun, { threads: 1 });
const truthDraw = (seed: number) => exact.map((m, i) => farthestPointSample(sampleSurface(m, 2048, { seed: seed + i }), N));
const truthFeatures = await classifier.classify(truthDraw(9000));
const classifierScores = (clouds: PointCloud[]) => pointEScores(classifier, clouds, captions, truthFeatures);
const truthScores = await classifierScores(truthDraw(11_000));
const summary = (rows: Array<{ chamfer: number; fscore: number }>) => ({
  chamfer: mean(rows.map((r) => r.chamfer)),
  fscore: mean(rows.map((r) => r.fscore)),
});

try {
  for (const model of ['pointe', 'shape-e'] as const) {
    if (!existsSync(join(cmp, model))) continue;
    const secs = stepSeconds(join(cmp, model));
    for (const step of ckpts(join(cmp, `${model}-keep`))) {
      if (done.has(`${model}:${step}`)) continue;
      const dir = join(cmp, `${model}-keep`, `ckpt-${step}`);
      const t0 = performance.now();
      const m = model === 'pointe' ? await loadPointE(dir, { threads: 1 }) : await loadShapeE(dir, { threads: 1 });
      try {
        const sampler =
          m.kind === 'pointe' ? m : shapeECloudSampler(m as Awaited<ReturnType<typeof loadShapeE>>, { points: N, grid: GRID });
        if (sampler.cfg.points !== N) throw new Error(`${dir}: ${sampler.cfg.points}-point clouds, this comparison scores ${N}`);
        const clouds: PointCloud[] = [];
        const rows: Array<{ chamfer: number; fscore: number; seconds: number }> = [];
        for (let i = 0; i < captions.length; i++) {
          const { cloud, seconds } = await sampler.sample({ caption: captions[i]!, guidance, seed: i });
          clouds.push(cloud);
          rows.push({ ...score(cloud.xyz, i), seconds });
        }
        const c = await classifierScores(clouds);
        const row = {
          model,
          step,
          train_s: secs.get(step) ?? null,
          saved_at: statSync(join(dir, 'tony-checkpoint.json')).mtimeMs / 1000,
          scenes: captions.length,
          guidance,
          points: N,
          chamfer: mean(rows.map((r) => r.chamfer)),
          chamfer_se: stderr(rows.map((r) => r.chamfer)),
          fscore: mean(rows.map((r) => r.fscore)),
          fscore_se: stderr(rows.map((r) => r.fscore)),
          s_per_sample: mean(rows.map((r) => r.seconds)),
          pfid: c.pfid,
          pis: c.pis,
          caption_acc: c.captionAccuracy,
          acc: c.accuracy,
          per_scene: rows.map((r) => ({ chamfer: r.chamfer, fscore: r.fscore })),
          floor: summary(floor),
          wrong_caption: summary(wrong),
          truth_classifier: truthScores,
          eval_s: (performance.now() - t0) / 1000,
        };
        await appendFile(out, JSON.stringify(row) + '\n');
        process.stdout.write(
          `${model} step ${step} (${row.train_s?.toFixed(0)} s): Chamfer ${row.chamfer.toFixed(4)} ± ${row.chamfer_se.toFixed(4)}, F ${row.fscore.toFixed(3)}, ` +
            `P-FID ${c.pfid.toFixed(1)}, P-IS ${c.pis.toFixed(2)}, caption acc ${c.captionAccuracy.toFixed(3)}, ${row.s_per_sample.toFixed(2)} s/sample\n`,
        );
      } finally {
        await m.close();
      }
    }
  }
} finally {
  await classifier.close();
}
