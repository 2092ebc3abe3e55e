/**
 * `tony shape-e ...` — Shap-E: caption → latent → NeRF render and textured mesh (`sample`), and a
 * shape file → latent → the same two decoders (`encode`). Thin: flags → src/models/shape-e.
 */
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { TonyError } from '../errors.ts';
import { checkWritable, writeFileAtomic } from '../io.ts';
import { heldOutCaptions } from '../models/pointe/eval.ts';
import { evaluateShapeE } from '../models/shape-e/eval.ts';
import { loadShapeE, type ShapeEModel } from '../models/shape-e/model.ts';
import { inputCameras } from '../models/shape-e/task.ts';
import { readShapeFile, writeMeshFile } from '../shape/files.ts';
import { bounds, edgeReport, faceCount, isWatertight, type PointCloud, vertexCount } from '../shape/mesh.ts';
import { normalizeToUnitCube, sampleSurface } from '../shape/pointcloud.ts';
import { encodePng, type Image, orbitCameras, renderMesh } from '../shape/render.ts';
import { count, integer, number, runtimeOptions } from './flags.ts';
import { progressBar } from './progress.ts';

/** The models this repository ships (docs/results/shape-e.md). */
const BUNDLED = fileURLToPath(new URL('../../models/shape-e', import.meta.url));
const MESH_EXTENSIONS = ['.glb', '.ply', '.obj'];
/** Scenes in the training data fill at most this much of the unit cube (src/shape/scenes.ts FIT). */
const FIT = 0.9;

async function checkOutputs(o: { out: string; render?: string; meshRender?: string }): Promise<void> {
  const ext = extname(o.out).toLowerCase();
  if (!MESH_EXTENSIONS.includes(ext))
    throw new TonyError('usage', `--out ${o.out}: the mesh is written as ${MESH_EXTENSIONS.join(', ')}`, 'e.g. --out shape.glb');
  for (const [flag, f] of [
    ['--render', o.render],
    ['--mesh-render', o.meshRender],
  ] as const) {
    if (f && extname(f).toLowerCase() !== '.png')
      throw new TonyError('usage', `${flag} ${f}: renders are PNG files`, `e.g. ${flag} view.png`);
  }
  await checkWritable(o.out, 'file');
  if (o.render) await checkWritable(o.render, 'file');
  if (o.meshRender) await checkWritable(o.meshRender, 'file');
}

/** Both decoders of one latent: the NeRF render (--render), the STF mesh (--out) and its render (--mesh-render). */
async function decode(
  m: ShapeEModel,
  latent: Float32Array,
  o: { out: string; render?: string; meshRender?: string; grid: number; size: number },
): Promise<void> {
  const cam = orbitCameras(1, { size: o.size })[0]!;
  if (o.render) {
    const bar = progressBar('nerf', 'rays');
    const t0 = performance.now();
    const img = await m.renderNerf(latent, cam, { onProgress: bar.update });
    bar.stop();
    await writeFileAtomic(o.render, encodePng(img));
    process.stderr.write(
      `tony: NeRF render ${o.size}×${o.size} (64 coarse + 128 fine samples per ray) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    process.stdout.write(`${o.render}\n`);
  }
  const t0 = performance.now();
  const mesh = await m.mesh(latent, { grid: o.grid });
  const seconds = (performance.now() - t0) / 1000;
  if (faceCount(mesh) === 0)
    throw new TonyError(
      'data',
      'the latent decodes to no surface (its signed distance has one sign on the whole grid)',
      'try another seed or caption',
    );
  const e = edgeReport(mesh);
  process.stderr.write(
    `tony: STF mesh of ${vertexCount(mesh)} vertices, ${faceCount(mesh)} faces at grid ${o.grid} in ${seconds.toFixed(1)} s; ` +
      (isWatertight(mesh) ? 'watertight\n' : `not watertight (${e.boundary} boundary, ${e.nonManifold} non-manifold edges)\n`),
  );
  await writeMeshFile(o.out, mesh);
  process.stdout.write(`${o.out}\n`);
  if (o.meshRender) {
    await writeFileAtomic(o.meshRender, encodePng(renderMesh(mesh, cam, { supersample: 2 })));
    process.stdout.write(`${o.meshRender}\n`);
  }
}

export function register(program: Command): void {
  const se = program.command('shape-e').description("Shap-E: latents that are implicit functions (train it with 'tony train shape-e')");
  const decodeOptions = (c: Command) =>
    c
      .requiredOption('--out <file>', 'the STF mesh with vertex colours (.glb, .ply, .obj)')
      .option('--render <file.png>', 'the NeRF render of the latent')
      .option('--mesh-render <file.png>', "the mesh's render from the same camera")
      .option('--grid <n>', 'marching-cubes cells per axis (Shap-E: 128)', integer('grid', 8, 256), 64)
      .option('--size <n>', 'render width and height in pixels', integer('size', 8, 1024), 128);

  const sample = decodeOptions(
    se
      .command('sample')
      .description('sample a latent for a caption → its NeRF render and its textured mesh')
      .option(
        '--model <dir>',
        'a shape-e diffusion run (tony train shape-e --stage diffusion); default: the bundled models/shape-e/diffusion',
        `${BUNDLED}/diffusion`,
      )
      .requiredOption('--caption <text>', 'e.g. "a small red cube on top of a large blue sphere"')
      .option('--guidance <s>', 'classifier-free guidance scale (1 = none; Shap-E: 15 for text)', number('guidance', { min: 0 }), 3)
      .option('--steps <n>', 'Karras Heun steps (Shap-E: 64)', count('steps'), 64)
      .option('--seed <n>', 'sampling seed', integer('seed', 0), 0),
  );
  for (const o of runtimeOptions()) sample.addOption(o);
  sample.action(async (o) => {
    if (!o.caption.trim()) throw new TonyError('usage', 'the caption is empty', 'e.g. --caption "a red cube"');
    await checkOutputs(o);
    const m = await loadShapeE(o.model, { device: o.device, threads: o.threads });
    try {
      process.stderr.write(`tony: shape-e ${m.id} on ${m.provider}\n`);
      const bar = progressBar('sample', 'steps');
      const { latent, seconds } = await m.sample({
        caption: o.caption,
        guidance: o.guidance,
        steps: o.steps,
        seed: o.seed,
        onProgress: bar.update,
      });
      bar.stop();
      process.stderr.write(`tony: latent sampled in ${seconds.toFixed(1)} s\n`);
      await decode(m, latent, o);
    } finally {
      await m.close();
    }
  });

  const encode = decodeOptions(
    se
      .command('encode')
      .description('encode a shape (a coloured point cloud or mesh: .ply, .obj, .glb) → latent → NeRF render and textured mesh')
      .argument('<shape>', 'the shape file')
      .option('--model <dir>', 'a shape-e run of either stage; default: the bundled models/shape-e/encoder', `${BUNDLED}/encoder`)
      .option('--points <n>', 'points sampled from a mesh before encoding', count('points'), 4096),
  );
  for (const o of runtimeOptions()) encode.addOption(o);
  encode.action(async (path: string, o) => {
    await checkOutputs(o);
    const file = await readShapeFile(path);
    let cloud: PointCloud = file.kind === 'points' ? file.cloud : sampleSurface(file.mesh, o.points, { seed: 0 });
    // where each input point goes (identity unless the shape is scaled into the unit cube)
    let place = (v: number, _k: number) => v;
    const [lo, hi] = bounds(cloud.xyz);
    if ([...lo, ...hi].some((v) => Math.abs(v) > 0.5)) {
      // the encoder saw scenes inside the unit cube only
      const { center, scale } = normalizeToUnitCube(cloud);
      place = (v, k) => (v - center[k]!) * scale * FIT;
      cloud = { ...cloud, xyz: cloud.xyz.map((v, i) => place(v, i % 3)) };
      process.stderr.write(`tony: ${path} reaches outside the unit cube; scaled into it (longest side ${FIT}) before encoding\n`);
    }
    if (!cloud.rgb) process.stderr.write(`tony: ${path} has no colours; encoding it as grey\n`);
    const m = await loadShapeE(o.model, { device: o.device, threads: o.threads });
    try {
      process.stderr.write(`tony: shape-e ${m.id} on ${m.provider}\n`);
      let views: Image[] | undefined;
      if (m.cfg.inputViews > 0) {
        // an encoder that reads views gets them from the software renderer, of the mesh as placed
        if (file.kind !== 'mesh')
          throw new TonyError(
            'usage',
            `${m.id} reads ${m.cfg.inputViews} rendered views besides the cloud, and ${path} is a point cloud`,
            'encode a mesh (.ply with faces, .obj, .glb), or use an encoder trained without views (inputViews=0)',
          );
        const mesh = { ...file.mesh, positions: file.mesh.positions.map((v, i) => place(v, i % 3)) };
        views = inputCameras(m.cfg).map((cam) => renderMesh(mesh, cam));
      }
      const latent = await m.encode(cloud.rgb ? cloud : { ...cloud, rgb: new Float32Array(cloud.xyz.length).fill(0.5) }, views);
      await decode(m, latent, o);
    } finally {
      await m.close();
    }
  });

  const evalCmd = se
    .command('eval')
    .description(
      'score a model on held-out scenes against their exact shapes: reconstruction (and, for a diffusion model, samples), NeRF-vs-mesh silhouettes, seconds',
    )
    .requiredOption('--model <dir>', 'a shape-e run of either stage')
    .requiredOption('--data <dir>', 'the `tony shapes generate` folder it trained on (held-out scenes come from it)')
    .option('--scenes <n>', 'held-out scenes', count('scenes'), 12)
    .option('--grid <n>', 'marching-cubes cells per axis', integer('grid', 8, 256), 64)
    .option('--size <n>', 'silhouette render size in pixels', integer('size', 8, 1024), 64)
    .option('--guidance <list>', 'guidance scales to sample at, comma-separated (diffusion models)', '3')
    .option('--steps <n>', 'Karras Heun steps', count('steps'), 64)
    .option('--tau <d>', 'F-score threshold', number('tau', { min: 0, exclusiveMin: true }), 0.05)
    .option('--truth-points <n>', 'points sampled from each true surface and each mesh', count('truth-points'), 4096)
    .option('--seed <n>', 'sampling seed', integer('seed', 0), 0)
    .option('--renders <dir>', 'write [true | NeRF | mesh] PNGs per scene here')
    .option('--json <file>', 'write the full report as JSON');
  for (const o of runtimeOptions()) evalCmd.addOption(o);
  evalCmd.action(async (o) => {
    const guidance = String(o.guidance)
      .split(',')
      .map((s) => Number(s.trim()));
    if (guidance.some((g) => !(g >= 0 && Number.isFinite(g))))
      throw new TonyError('usage', `--guidance ${o.guidance}: expected numbers ≥ 0 separated by commas`, 'e.g. --guidance 1,3');
    if (o.json) await checkWritable(o.json, 'file');
    const captions = await heldOutCaptions(o.data, o.scenes);
    const m = await loadShapeE(o.model, { device: o.device, threads: o.threads });
    try {
      process.stderr.write(`tony: shape-e ${m.id} on ${m.provider}\n`);
      const bar = progressBar('eval', 'decodes');
      const r = await evaluateShapeE(m, captions, {
        grid: o.grid,
        tau: o.tau,
        truthPoints: o.truthPoints,
        size: o.size,
        guidance,
        steps: o.steps,
        seed: o.seed,
        onProgress: bar.update,
        onRender: o.renders ? (name, img) => writeFileAtomic(join(o.renders, `${name}.png`), encodePng(img)) : undefined,
      });
      bar.stop();
      if (o.json) await writeFileAtomic(o.json, JSON.stringify(r, null, 2) + '\n');
      process.stdout.write(`${captions.length} held-out scenes, grid ${o.grid}, renders ${o.size}², F@${o.tau}; mean ± s.e.\n`);
      for (const [k, v] of Object.entries(r.summary)) process.stdout.write(`${k.padEnd(44)} ${v.mean.toFixed(4)} ± ${v.se.toFixed(4)}\n`);
    } finally {
      await m.close();
    }
  });
}
