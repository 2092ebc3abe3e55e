/**
 * `tony pointe ...` — Point-E: sample a coloured point cloud from a caption, and score a model on
 * held-out captions against their exact shapes. Thin: flags → src/models/pointe.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { TonyError } from '../errors.ts';
import { checkWritable, writeFileAtomic } from '../io.ts';
import { HELD_OUT_SETS, type HeldOutSet } from '../models/pointe/data.ts';
import { type ClassifierScores, type EvalReport, evaluatePointE, heldOutCaptions, heldOutScenes, viewsOf } from '../models/pointe/eval.ts';
import { evaluateSdf, evaluateUpsampler } from '../models/pointe/eval-stages.ts';
import { readViewFile } from '../models/pointe/image.ts';
import {
  loadPointE,
  loadPointESdf,
  loadPointEUpsampler,
  loadPointNet,
  MAX_POINTS,
  type PointESampler,
  type PointESdfModel,
} from '../models/pointe/model.ts';
import { readShapeFile, writeMeshFile } from '../shape/files.ts';
import { bounds, edgeReport, faceCount, isWatertight, type PointCloud, vertexCount } from '../shape/mesh.ts';
import { writePly } from '../shape/ply.ts';
import { encodePng, orbitCameras, renderPoints } from '../shape/render.ts';
import { collect, count, integer, number, runtimeOptions } from './flags.ts';
import { progressBar } from './progress.ts';

/** The SDF model this repository ships (docs/results/pointe.md). */
const BUNDLED_SDF = fileURLToPath(new URL('../../models/pointe/sdf', import.meta.url));

const MESH_EXTENSIONS = ['.glb', '.ply', '.obj'];

/** Mesh a cloud with the SDF model (progress on stderr), say whether it came out closed, write it. */
async function writeMesh(sdf: PointESdfModel, cloud: PointCloud, out: string, grid: number): Promise<void> {
  const bar = progressBar('mesh', 'queries');
  const { mesh, seconds } = await sdf.mesh(cloud, { grid, onProgress: bar.update });
  bar.stop();
  if (faceCount(mesh) === 0)
    throw new TonyError(
      'data',
      'the SDF model found no surface in this cloud (every grid value has one sign)',
      'check the cloud fills the unit cube, as the training clouds do',
    );
  const e = edgeReport(mesh);
  process.stderr.write(
    `tony: mesh of ${vertexCount(mesh)} vertices, ${faceCount(mesh)} faces at grid ${grid} in ${seconds.toFixed(1)} s; ` +
      (isWatertight(mesh) ? 'watertight\n' : `not watertight (${e.boundary} boundary, ${e.nonManifold} non-manifold edges)\n`),
  );
  await writeMeshFile(out, mesh);
}

export function register(program: Command): void {
  const pointe = program
    .command('pointe')
    .description("Point-E: a caption or a rendered view → coloured point cloud (train it with 'tony train pointe')");

  const sample = pointe
    .command('sample')
    .description('sample a coloured point cloud for a caption or a rendered view → .ply (and optionally a PNG render)')
    .requiredOption('--model <dir>', 'a pointe run or model directory')
    .option('--caption <text>', 'for a text-conditioned model, e.g. "a small red cube on top of a large blue sphere"')
    .option('--image <view.png>', 'for an image-conditioned model (--set cond=image): a rendered view, PNG')
    .requiredOption('--out <file>', 'output: a point cloud (.ply), or with --sdf a coloured mesh (.glb, .ply, .obj)')
    .option('--upsampler <dir>', 'a pointe upsampler run (tony train pointe --stage upsample): add its points to the sample')
    .option('--sdf <dir>', 'a pointe SDF-model run (tony train pointe --stage sdf): mesh the sample')
    .option('--grid <n>', 'marching-cubes cells per axis for --sdf (Point-E: 128)', integer('grid', 8, 512), 128)
    .option('--points <n>', `points to draw (default: the model's training N; at most ${MAX_POINTS})`, integer('points', 1, MAX_POINTS))
    .option('--guidance <s>', 'classifier-free guidance scale (1 = none; Point-E: 3)', number('guidance', { min: 0 }), 3)
    .option('--steps <n>', 'Karras Heun steps (Point-E: 64)', count('steps'), 64)
    .option('--seed <n>', 'sampling seed', integer('seed', 0), 0)
    .option('--render <file.png>', 'also render the cloud to a PNG');
  for (const o of runtimeOptions()) sample.addOption(o);
  sample.action(async (o) => {
    const ext = extname(o.out).toLowerCase();
    if (!o.sdf && ext !== '.ply')
      throw new TonyError(
        'usage',
        `--out ${o.out}: Point-E writes point clouds as .ply`,
        'a mesh (.glb) needs the SDF model: --sdf <run of tony train pointe --stage sdf>',
      );
    if (o.sdf && !MESH_EXTENSIONS.includes(ext))
      throw new TonyError('usage', `--out ${o.out}: a mesh is written as ${MESH_EXTENSIONS.join(', ')}`, 'e.g. --out shape.glb');
    if ((o.caption === undefined) === (o.image === undefined))
      throw new TonyError(
        'usage',
        'pass exactly one of --caption and --image',
        'a text model takes --caption "…", an image model --image view.png',
      );
    if (o.caption !== undefined && !o.caption.trim()) throw new TonyError('usage', 'the caption is empty', 'e.g. --caption "a red cube"');
    const image = o.image !== undefined ? await readViewFile(o.image) : undefined;
    await checkWritable(o.out, 'file');
    if (o.render) await checkWritable(o.render, 'file');
    const m = await loadPointE(o.model, { device: o.device, threads: o.threads });
    const sdf = o.sdf ? await loadPointESdf(o.sdf, { device: o.device, threads: o.threads }) : undefined;
    const up = o.upsampler ? await loadPointEUpsampler(o.upsampler, { device: o.device, threads: o.threads }) : undefined;
    try {
      process.stderr.write(`tony: pointe ${m.id} on ${m.provider}\n`);
      const bar = progressBar('sample', 'steps');
      let { cloud, seconds } = await m.sample({
        ...(image ? { image } : { caption: o.caption }),
        points: o.points,
        guidance: o.guidance,
        steps: o.steps,
        seed: o.seed,
        onProgress: bar.update,
      });
      bar.stop();
      if (up) {
        const upBar = progressBar('upsample', 'steps');
        const r = await up.upsample(cloud, { seed: o.seed, onProgress: upBar.update });
        upBar.stop();
        process.stderr.write(`tony: upsampled ${cloud.xyz.length / 3} → ${r.cloud.xyz.length / 3} points in ${r.seconds.toFixed(1)} s\n`);
        cloud = r.cloud;
        seconds += r.seconds;
      }
      if (sdf) await writeMesh(sdf, cloud, o.out, o.grid);
      else await writeFileAtomic(o.out, writePly(cloud, 'binary_little_endian'));
      process.stdout.write(`${o.out}\n`);
      if (o.render) {
        const [lo, hi] = bounds(cloud.xyz);
        const target: [number, number, number] = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2];
        const [cam] = orbitCameras(1, { size: 256, target, fitRadius: 0.75 });
        await writeFileAtomic(o.render, encodePng(renderPoints(cloud, cam!, { supersample: 2, radius: 0.02 })));
        process.stdout.write(`${o.render}\n`);
      }
      process.stderr.write(`tony: ${cloud.xyz.length / 3} points in ${seconds.toFixed(1)} s\n`);
    } finally {
      await m.close();
      await sdf?.close();
      await up?.close();
    }
  });

  const meshCmd = pointe
    .command('mesh')
    .description("mesh a coloured point cloud (.ply, or Point-E's own .npz) with the SDF model → .glb/.ply/.obj with vertex colours")
    .argument('<cloud>', 'a point cloud: .ply (xyz + rgb) or a Point-E .npz')
    .option('--sdf <dir>', 'a pointe SDF-model run (tony train pointe --stage sdf); default: the bundled models/pointe/sdf', BUNDLED_SDF)
    .requiredOption('--out <file>', 'output mesh (.glb, .ply, .obj)')
    .option('--grid <n>', 'marching-cubes cells per axis (Point-E: 128)', integer('grid', 8, 512), 128)
    .option('--up <axis>', "the cloud's up axis: z for Point-E's PLY files (its .npz files are always z-up)", 'y');
  for (const o of runtimeOptions()) meshCmd.addOption(o);
  meshCmd.action(async (path: string, o) => {
    const ext = extname(o.out).toLowerCase();
    if (!MESH_EXTENSIONS.includes(ext))
      throw new TonyError('usage', `--out ${o.out}: a mesh is written as ${MESH_EXTENSIONS.join(', ')}`, 'e.g. --out shape.glb');
    if (o.up !== 'y' && o.up !== 'z') throw new TonyError('usage', `--up must be y or z, got '${o.up}'`);
    await checkWritable(o.out, 'file');
    const file = await readShapeFile(path, { up: o.up });
    if (file.kind !== 'points')
      throw new TonyError('usage', `${path} is a mesh already`, 'pass a point cloud (.ply without faces, or .npz)');
    const sdf = await loadPointESdf(o.sdf, { device: o.device, threads: o.threads });
    try {
      process.stderr.write(`tony: pointe SDF model ${sdf.id} on ${sdf.provider}\n`);
      await writeMesh(sdf, file.cloud, o.out, o.grid);
      process.stdout.write(`${o.out}\n`);
    } finally {
      await sdf.close();
    }
  });

  const evalStage = pointe
    .command('eval-stage')
    .description("score the upsampler or the SDF model alone on held-out scenes' true clouds against their exact shapes")
    .requiredOption('--data <dir>', 'the `tony shapes generate` folder it trained on (held-out scenes come from it)')
    .option('--upsampler <dir>', 'an upsampler run: Chamfer of its input and of input + drawn points')
    .option('--sdf <dir>', 'an SDF-model run: Chamfer of its meshes, and how many are watertight')
    .option('--grid <n>', 'marching-cubes cells per axis for --sdf', integer('grid', 8, 512), 128)
    .option('--sigma-max <s>', "the upsampler's Karras σ_max (Point-E: 160)", number('sigma-max', { min: 0, exclusiveMin: true }))
    .option('--scenes <n>', 'held-out scenes', count('scenes'), 16)
    .option('--tau <d>', 'F-score threshold', number('tau', { min: 0, exclusiveMin: true }), 0.05)
    .option('--truth-points <n>', 'points sampled from each true surface', count('truth-points'), 4096)
    .option('--seed <n>', 'sampling seed', integer('seed', 0), 0)
    .option('--json <file>', 'write the full report as JSON');
  for (const o of runtimeOptions()) evalStage.addOption(o);
  evalStage.action(async (o) => {
    if (!o.upsampler === !o.sdf) throw new TonyError('usage', 'pass exactly one of --upsampler and --sdf');
    if (o.json) await checkWritable(o.json, 'file');
    const captions = await heldOutCaptions(o.data, o.scenes);
    const f = (x: number) => x.toFixed(4);
    const line = (name: string, s: { chamfer: number; chamferSe: number; fscore: number; fscoreSe: number }) =>
      `${name.padEnd(34)} ${f(s.chamfer)} ± ${f(s.chamferSe)}   ${f(s.fscore)} ± ${f(s.fscoreSe)}\n`;
    const opts = { tau: o.tau, truthPoints: o.truthPoints, seed: o.seed };
    const bar = progressBar('eval', 'scenes');
    if (o.upsampler) {
      const up = await loadPointEUpsampler(o.upsampler, { device: o.device, threads: o.threads });
      try {
        const r = await evaluateUpsampler(up, captions, { ...opts, sigmaMax: o.sigmaMax, onProgress: bar.update });
        bar.stop();
        if (o.json) await writeFileAtomic(o.json, JSON.stringify(r, null, 2) + '\n');
        const M = up.cfg.lowResPoints;
        const N = up.cfg.points;
        process.stdout.write(`${captions.length} held-out scenes     chamfer (± s.e.)     F@${o.tau} (± s.e.)\n`);
        process.stdout.write(line(`true ${M}-point input`, r.input));
        process.stdout.write(line(`input + ${N} upsampled points`, r.upsampled));
        process.stdout.write(line(`true ${M + N}-point subsample`, r.truthSubsample));
        process.stdout.write(
          `chamfer change, paired: ${f(r.chamferChange.mean)} ± ${f(r.chamferChange.se)}; ${r.secondsPerSample.toFixed(2)} s per upsample\n`,
        );
      } finally {
        await up.close();
      }
    } else {
      const sdf = await loadPointESdf(o.sdf, { device: o.device, threads: o.threads });
      try {
        const r = await evaluateSdf(sdf, captions, { ...opts, grid: o.grid, onProgress: bar.update });
        bar.stop();
        if (o.json) await writeFileAtomic(o.json, JSON.stringify(r, null, 2) + '\n');
        process.stdout.write(`${captions.length} held-out scenes, grid ${o.grid}   chamfer (± s.e.)     F@${o.tau} (± s.e.)\n`);
        process.stdout.write(line(`SDF model's meshes (${captions.length - r.empty} non-empty)`, r.mesh));
        process.stdout.write(line('exact SDF meshed at the same grid', r.exact));
        process.stdout.write(
          `watertight: ${(100 * r.watertight).toFixed(0)} % of ${captions.length}; empty: ${r.empty}; ${r.secondsPerMesh.toFixed(1)} s per mesh\n`,
        );
      } finally {
        await sdf.close();
      }
    }
  });

  const evalCmd = pointe
    .command('eval')
    .description("score samples for held-out captions against the captions' exact shapes (Chamfer, F-score), per guidance scale")
    .requiredOption('--model <dir>', 'a pointe run or model directory')
    .requiredOption('--data <dir>', 'the `tony shapes generate` folder it trained on (held-out scenes come from it)')
    .option('--scenes <n>', 'held-out scenes to sample', count('scenes'), 16)
    .option('--points <n>', "points per sample (default: the model's training N)", integer('points', 1, MAX_POINTS))
    .option(
      '--from <k>',
      "skip each set's first k held-out scenes (seeds stay by scene index): a validation part apart from a reporting part",
      integer('from', 0),
      0,
    )
    .option('--guidance <s>', 'a guidance scale (repeatable; default 0, 1, 3)', collect, [])
    .option('--tau <d>', 'F-score threshold (the scenes fill the unit cube)', number('tau', { min: 0, exclusiveMin: true }), 0.05)
    .option('--truth-points <n>', 'points sampled from each true surface', count('truth-points'), 4096)
    .option('--steps <n>', 'sampler steps (Point-E: 64 Karras Heun steps)', count('steps'), 64)
    .option('--sampler <kind>', "karras (Point-E's) or ddim", 'karras')
    .option('--churn <s>', "Karras s_churn (Point-E's base model: 3)", number('churn', { min: 0 }))
    .option('--sigma-min <s>', 'Karras σ_min (Point-E: 1e-3)', number('sigma-min', { min: 0, exclusiveMin: true }))
    .option('--sigma-max <s>', "Karras σ_max (Point-E's base model: 120)", number('sigma-max', { min: 0, exclusiveMin: true }))
    .option('--eta <s>', 'DDIM η (0: deterministic)', number('eta', { min: 0 }))
    .option('--seed <n>', 'sampling seed', integer('seed', 0), 0)
    .option('--classifier <dir>', 'a pointe classifier run (tony train pointe --stage classifier): adds P-FID, P-IS and caption accuracy')
    .option(
      '--held-out <set>',
      `a held-out set: ${HELD_OUT_SETS.join(' or ')} (repeatable; default all three, reported separately)`,
      collect,
      [],
    )
    .option('--upsampler <dir>', 'an upsampler run chained after the base model: Chamfer of each sample with and without its points')
    .option('--json <file>', 'write the full report (every scene), one per held-out set, as JSON');
  for (const o of runtimeOptions()) evalCmd.addOption(o);
  evalCmd.action(async (o) => {
    const guidance = (o.guidance.length ? o.guidance : ['0', '1', '3']).map((s: string) => {
      const v = Number(s);
      if (!(v >= 0)) throw new TonyError('usage', `--guidance ${s} is not a number ≥ 0`);
      return v;
    });
    const sets = (o.heldOut.length ? o.heldOut : HELD_OUT_SETS) as string[];
    for (const x of sets)
      if (!HELD_OUT_SETS.includes(x as HeldOutSet))
        throw new TonyError('usage', `--held-out ${x}: unknown held-out set`, `sets: ${HELD_OUT_SETS.join(', ')}`);
    const sampler = samplerOf(o);
    if (o.json) await checkWritable(o.json, 'file');
    const m = await loadPointE(o.model, { device: o.device, threads: o.threads });
    const classifier = o.classifier ? await loadPointNet(o.classifier, { device: o.device, threads: o.threads }) : undefined;
    const upsampler = o.upsampler ? await loadPointEUpsampler(o.upsampler, { device: o.device, threads: o.threads }) : undefined;
    try {
      const reports: Partial<Record<HeldOutSet, EvalReport>> = {};
      for (const set of sets as HeldOutSet[]) {
        const items = await heldOutScenes(o.data, o.scenes, set, o.from);
        const captions = items.map((x) => x.caption);
        const views = m.cfg.cond === 'text' ? undefined : await viewsOf(items);
        const which = o.from ? ` (from index ${o.from})` : '';
        process.stderr.write(
          `tony: pointe ${m.id} (${m.cfg.cond}) on ${m.provider}; ${captions.length} held-out ${set}${which} × guidance ${guidance.join(', ')}\n`,
        );
        const bar = progressBar('eval', 'samples');
        const report = await evaluatePointE(m, captions, {
          scenes: o.scenes,
          first: o.from,
          ...(o.points ? { points: o.points } : {}),
          guidance,
          tau: o.tau,
          truthPoints: o.truthPoints,
          steps: o.steps,
          sampler,
          seed: o.seed,
          ...(views ? { views } : {}),
          ...(classifier ? { classifier } : {}),
          ...(upsampler ? { upsampler } : {}),
          onProgress: bar.update,
        });
        bar.stop();
        reports[set] = report;
        printEval(set, report, o.tau);
      }
      if (o.json) await writeFileAtomic(o.json, JSON.stringify(reports, null, 2) + '\n');
    } finally {
      await m.close();
      await classifier?.close();
      await upsampler?.close();
    }
  });
}

/** The sampler flags as one choice; a flag of the other sampler is a usage error, not ignored. */
function samplerOf(o: { sampler: string; churn?: number; sigmaMin?: number; sigmaMax?: number; eta?: number }): PointESampler {
  if (o.sampler === 'ddim') {
    for (const [flag, v] of [
      ['--churn', o.churn],
      ['--sigma-min', o.sigmaMin],
      ['--sigma-max', o.sigmaMax],
    ] as const)
      if (v !== undefined) throw new TonyError('usage', `${flag} is a Karras setting; --sampler ddim takes --eta`);
    return { kind: 'ddim', ...(o.eta !== undefined ? { eta: o.eta } : {}) };
  }
  if (o.sampler !== 'karras') throw new TonyError('usage', `--sampler ${o.sampler}: unknown sampler`, 'samplers: karras, ddim');
  if (o.eta !== undefined) throw new TonyError('usage', '--eta is a DDIM setting', 'add --sampler ddim');
  return {
    kind: 'karras',
    ...(o.churn !== undefined ? { sChurn: o.churn } : {}),
    ...(o.sigmaMin !== undefined ? { sigmaMin: o.sigmaMin } : {}),
    ...(o.sigmaMax !== undefined ? { sigmaMax: o.sigmaMax } : {}),
  };
}

/** One held-out set's report as the eval command prints it. */
function printEval(set: HeldOutSet, report: EvalReport, tau: number): void {
  const f = (x: number) => x.toFixed(4);
  process.stdout.write(`held-out ${set}: ${report.scenes.length}\n`);
  process.stdout.write(`guidance  chamfer (± s.e. over scenes)  F@${tau} (± s.e.)  s/sample\n`);
  for (const r of report.byGuidance)
    process.stdout.write(
      `${String(r.guidance).padEnd(8)}  ${f(r.chamfer)} ± ${f(r.chamferSe)}         ${f(r.fscore)} ± ${f(r.fscoreSe)}    ${r.secondsPerSample.toFixed(1)}\n`,
    );
  process.stdout.write(`floor (a second sample of the true surface): chamfer ${f(report.floor.chamfer)}, F ${f(report.floor.fscore)}\n`);
  process.stdout.write(
    `wrong caption (another held-out scene's truth): chamfer ${f(report.wrongCaption.chamfer)}, F ${f(report.wrongCaption.fscore)}\n`,
  );
  if (report.classifier) {
    const row = (name: string, c: ClassifierScores) =>
      `${name.padEnd(22)}  ${c.pfid.toFixed(3).padStart(8)}  ${c.pis.toFixed(3).padStart(6)}  ${c.captionAccuracy.toFixed(3)}     ` +
      `${c.accuracy.arrangement.toFixed(3)}        ${c.accuracy.shape.toFixed(3)}  ${c.accuracy.color.toFixed(3)}\n`;
    process.stdout.write('classifier              P-FID     P-IS    caption   arrangement  shape  colour\n');
    for (const c of report.classifier.byGuidance) process.stdout.write(row(`guidance ${c.guidance}`, c));
    process.stdout.write(row('true clouds (2nd draw)', report.classifier.truth));
  }
  if (report.upsampled) {
    process.stdout.write('upsampler after the base model: chamfer of its input → input + new points (change, paired ± s.e.); F\n');
    for (const u of report.upsampled)
      process.stdout.write(
        `guidance ${u.guidance}: ${f(u.inputChamfer)} → ${f(u.chamfer)} (${f(u.change.mean)} ± ${f(u.change.se)}); F ${f(u.inputFscore)} → ${f(u.fscore)}\n`,
      );
  }
}
