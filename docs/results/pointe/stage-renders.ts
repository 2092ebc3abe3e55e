/**
 * The stage pictures in docs/results/pointe.md, for the first held-out captions of a dataset, one
 * row each, 160-pixel tiles:
 *
 *   --sdf <run>        the true cloud the SDF model reads (N points), the model's coloured mesh at
 *                      grid 128, the exact shape's mesh;
 *   --upsampler <run>  the true low-resolution cloud, it plus the upsampler's points, a true
 *                      subsample of the same size.
 *
 *   node --import tsx docs/results/pointe/stage-renders.ts --sdf <run> <data dir> <out.png> [rows]
 *   node --import tsx docs/results/pointe/stage-renders.ts --upsampler <run> <data dir> <out.png> [rows]
 */
import { writeFileAtomic } from '../../../src/io.ts';
import { heldOutCaptions, truthCloud } from '../../../src/models/pointe/eval.ts';
import { loadPointESdf, loadPointEUpsampler } from '../../../src/models/pointe/model.ts';
import { meshField } from '../../../src/shape/marching-cubes.ts';
import { farthestPointSample } from '../../../src/shape/pointcloud.ts';
import { encodePng, type Image, orbitCameras, renderMesh, renderPoints } from '../../../src/shape/render.ts';
import { buildScene, parseCaption } from '../../../src/shape/scenes.ts';
import { compileShape } from '../../../src/shape/sdf.ts';

const [which, run, dataDir, out, rowsArg = '4'] = process.argv.slice(2);
if ((which !== '--sdf' && which !== '--upsampler') || !run || !dataDir || !out)
  throw new Error('usage: stage-renders.ts --sdf|--upsampler <run> <data dir> <out.png> [rows]');
const TILE = 160;
const COLS = 3;
const captions = await heldOutCaptions(dataDir, Number(rowsArg));
const [cam] = orbitCameras(1, { size: TILE });
const grid: Image = {
  width: COLS * TILE,
  height: captions.length * TILE,
  rgb: new Uint8Array(COLS * TILE * captions.length * TILE * 3).fill(255),
  alpha: new Uint8Array(COLS * TILE * captions.length * TILE).fill(255),
};
const paste = (img: Image, row: number, col: number) => {
  for (let y = 0; y < TILE; y++)
    for (let x = 0; x < TILE; x++) {
      const o = ((row * TILE + y) * grid.width + col * TILE + x) * 3;
      grid.rgb.set(img.rgb.subarray((y * TILE + x) * 3, (y * TILE + x) * 3 + 3), o);
    }
};
const dot = { supersample: 2, radius: 0.014 };
for (let r = 0; r < captions.length; r++) {
  const c = captions[r]!;
  const dense = truthCloud(c, 2048, 3000 + r); // as eval-stages.ts draws it
  if (which === '--sdf') {
    const sdf = await loadPointESdf(run, { threads: 1 });
    const cloud = farthestPointSample(dense, sdf.cfg.points);
    const { mesh } = await sdf.mesh(cloud, { grid: 128 });
    await sdf.close();
    paste(renderPoints(cloud, cam!, dot), r, 0);
    if (mesh.indices.length) paste(renderMesh(mesh, cam!, { supersample: 2 }), r, 1);
    paste(renderMesh(meshField(compileShape(buildScene(parseCaption(c))), 128), cam!, { supersample: 2 }), r, 2);
  } else {
    const up = await loadPointEUpsampler(run, { threads: 1 });
    const low = farthestPointSample(dense, up.cfg.lowResPoints);
    const { cloud } = await up.upsample(low, { seed: r });
    await up.close();
    paste(renderPoints(low, cam!, dot), r, 0);
    paste(renderPoints(cloud, cam!, dot), r, 1);
    paste(renderPoints(farthestPointSample(dense, up.cfg.lowResPoints + up.cfg.points), cam!, dot), r, 2);
  }
  process.stdout.write(`row ${r + 1}: ${c}\n`);
}
await writeFileAtomic(out, encodePng(grid));
process.stdout.write(`${out}\n`);
