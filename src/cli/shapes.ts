/**
 * `tony shapes ...` — procedural 3D data, meshing, rendering and metrics. Thin: flags → typed
 * options → src/shape.
 */
import { basename, dirname, extname, join } from 'node:path';
import { type Command, Option } from 'commander';
import { TonyError } from '../errors.ts';
import { checkWritable, writeFileAtomic } from '../io.ts';
import { generateDataset } from '../shape/dataset.ts';
import { readShapeFile, type ShapeFile, writeMeshFile } from '../shape/files.ts';
import { meshField } from '../shape/marching-cubes.ts';
import { bounds, edgeReport, faceCount, meshArea, meshVolume, type PointCloud, vertexCount } from '../shape/mesh.ts';
import { chamferDistance, emdApprox, fScore } from '../shape/metrics.ts';
import { farthestPointSample, sampleSurface } from '../shape/pointcloud.ts';
import { encodePng, orbitCameras, renderMesh, renderPoints } from '../shape/render.ts';
import { buildScene, generateScene, parseCaption, parseItemId } from '../shape/scenes.ts';
import { compileShape } from '../shape/sdf.ts';
import { count, integer, number } from './flags.ts';
import { progressBar } from './progress.ts';

export function register(program: Command): void {
  const shapes = program.command('shapes').description('procedural captioned 3D shapes, marching cubes, renders, PLY/OBJ/GLB, metrics');

  shapes
    .command('generate')
    .description('write a dataset: manifest.jsonl, points/<id>.ply (xyz+rgb), renders/<id>_<v>.png')
    .requiredOption('--out <dir>', 'output folder')
    .option('--count <n>', 'number of items', count('count'), 16)
    .option('--seed <n>', 'dataset seed', integer('seed', 0), 0)
    .option('--start <n>', 'index of the first item', integer('start', 0), 0)
    .option('--points <n>', 'points per cloud', count('points'), 4096)
    .option('--grid <n>', 'marching-cubes cells per axis', count('grid'), 96)
    .option('--views <n>', 'renders per item', count('views'), 4)
    .option('--size <px>', 'render size', count('size'), 128)
    .action(async (o) => {
      await checkWritable(o.out); // before the items, not after them
      const bar = progressBar('generate', 'items');
      const entries = await generateDataset(
        o.out,
        { count: o.count, seed: o.seed, start: o.start, points: o.points, grid: o.grid, views: o.views, size: o.size },
        (p) => bar.update(p),
      );
      bar.stop();
      process.stdout.write(`wrote ${entries.length} items to ${o.out} (manifest.jsonl, points/, renders/)\n`);
    });

  shapes
    .command('mesh')
    .description('mesh a caption or a dataset item by marching cubes on its SDF, with vertex colours')
    .option('--caption <text>', 'e.g. "a small red cube on top of a large blue sphere"')
    .option('--item <id>', 'a dataset item id (<seed>-<index>, see manifest.jsonl)')
    .option('--grid <n>', 'cells per axis', count('grid'), 128)
    .option('--ascii', 'write ASCII PLY instead of binary')
    .requiredOption('--out <file>', 'x.glb, x.ply or x.obj')
    .action(async (o) => {
      if (!o.caption === !o.item)
        throw new TonyError('usage', 'give exactly one of --caption or --item', 'e.g. --caption "a red torus" or --item 0-17');
      const scene = o.caption
        ? buildScene(parseCaption(o.caption))
        : (() => {
            const { seed, index } = parseItemId(o.item);
            return generateScene(seed, index).scene;
          })();
      await checkWritable(o.out, 'file'); // before marching cubes
      const bar = progressBar('mesh', 'slices');
      const mesh = meshField(compileShape(scene), o.grid, { onProgress: (p) => bar.update(p) });
      bar.stop();
      await writeMeshFile(o.out, mesh, { plyFormat: o.ascii ? 'ascii' : 'binary_little_endian' });
      const r = edgeReport(mesh);
      process.stdout.write(
        `${o.out}: ${vertexCount(mesh)} vertices, ${faceCount(mesh)} faces, area ${meshArea(mesh).toFixed(4)}, volume ${meshVolume(mesh).toFixed(4)}, ` +
          `${r.boundary === 0 && r.nonManifold === 0 && r.misoriented === 0 ? 'watertight' : `boundary edges ${r.boundary}, non-manifold ${r.nonManifold}`}\n`,
      );
    });

  shapes
    .command('render <input>')
    .description('render a .ply (mesh or points), .obj, .glb or Point-E .npz to PNG with lighting')
    .requiredOption('--out <file.png>', 'output PNG; with --views > 1, <name>_<v>.png')
    .option('--size <px>', 'width and height', count('size'), 256)
    .option('--views <n>', 'number of views orbiting the shape', count('views'), 1)
    .option('--azimuth <deg>', 'azimuth of the first view', number('azimuth'), 30)
    .option('--elevation <deg>', 'camera elevation', number('elevation'), 20)
    .option('--supersample <n>', 'samples per pixel side', count('supersample'), 2)
    .option('--point-radius <r>', 'splat radius for point clouds (world units)', number('point-radius'))
    .option('--transparent', 'write coverage as alpha instead of a white background')
    .addOption(
      new Option('--up <axis>', "the file's up axis (Point-E's files are z-up; .npz are always read as Point-E's)")
        .choices(['y', 'z'])
        .default('y'),
    )
    .action(async (input: string, o) => {
      const file = await readShapeFile(input, { up: o.up });
      const xyz = file.kind === 'mesh' ? file.mesh.positions : file.cloud.xyz;
      const [lo, hi] = bounds(xyz);
      const target: [number, number, number] = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2];
      const fitRadius = Math.max(1e-6, Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]) / 2);
      const cams = orbitCameras(o.views, { size: o.size, azimuth0: o.azimuth, elevation: o.elevation, target, fitRadius });
      const stem = join(dirname(o.out), basename(o.out, extname(o.out)));
      for (let v = 0; v < cams.length; v++) {
        const opts = { supersample: o.supersample };
        const img =
          file.kind === 'mesh'
            ? renderMesh(file.mesh, cams[v]!, opts)
            : renderPoints(file.cloud, cams[v]!, { ...opts, ...(o.pointRadius ? { radius: o.pointRadius } : {}) });
        const path = cams.length === 1 ? o.out : `${stem}_${v}.png`;
        await writeFileAtomic(path, encodePng(img, { transparent: !!o.transparent }));
        process.stdout.write(`${path}\n`);
      }
    });

  shapes
    .command('metrics <a> [b]')
    .description('one file: mesh area, volume, watertightness; two files: Chamfer, F-score, approx EMD')
    .option('--points <n>', 'points sampled from meshes / kept by FPS for EMD', count('points'), 2048)
    .option('--tau <d>', 'F-score threshold (world units)', number('tau'), 0.01)
    .action(async (a: string, b: string | undefined, o) => {
      const fa = await readShapeFile(a);
      if (!b) {
        if (fa.kind !== 'mesh')
          throw new TonyError('usage', `${a} is a point cloud; area and volume need a mesh`, 'give two files to compare clouds');
        const r = edgeReport(fa.mesh);
        process.stdout.write(
          JSON.stringify(
            { vertices: vertexCount(fa.mesh), faces: faceCount(fa.mesh), area: meshArea(fa.mesh), volume: meshVolume(fa.mesh), ...r },
            null,
            2,
          ) + '\n',
        );
        return;
      }
      const fb = await readShapeFile(b);
      const cloudOf = (f: ShapeFile): PointCloud => (f.kind === 'mesh' ? sampleSurface(f.mesh, o.points, { seed: 0 }) : f.cloud);
      const ca = cloudOf(fa);
      const cb = cloudOf(fb);
      const n = Math.min(o.points, ca.xyz.length / 3, cb.xyz.length / 3);
      const emd = emdApprox(farthestPointSample(ca, n).xyz, farthestPointSample(cb, n).xyz).emd;
      process.stdout.write(
        JSON.stringify({ ...chamferDistance(ca.xyz, cb.xyz), ...fScore(ca.xyz, cb.xyz, o.tau), tau: o.tau, emd, emdPoints: n }, null, 2) +
          '\n',
      );
    });
}
