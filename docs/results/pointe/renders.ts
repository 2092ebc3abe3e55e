/**
 * The picture in docs/results/pointe.md: for the first held-out captions of a dataset, one row each —
 * the caption's true shape (its exact mesh), then the model's samples at guidance 0 (unconditional),
 * 1 (conditional, no guidance) and 3 (Point-E's), same seed — as one PNG of 128-pixel tiles.
 *
 *   node --import tsx docs/results/pointe/renders.ts <model dir> <data dir> <out.png> [rows]
 */
import { writeFileAtomic } from '../../../src/io.ts';
import { heldOutCaptions } from '../../../src/models/pointe/eval.ts';
import { loadPointE } from '../../../src/models/pointe/model.ts';
import { meshField } from '../../../src/shape/marching-cubes.ts';
import { encodePng, type Image, orbitCameras, renderMesh, renderPoints } from '../../../src/shape/render.ts';
import { buildScene, parseCaption } from '../../../src/shape/scenes.ts';
import { compileShape } from '../../../src/shape/sdf.ts';

const [modelDir, dataDir, out, rowsArg = '6'] = process.argv.slice(2);
if (!modelDir || !dataDir || !out) throw new Error('usage: renders.ts <model dir> <data dir> <out.png> [rows]');
const TILE = 128;
const GUIDANCE = [0, 1, 3];
const captions = await heldOutCaptions(dataDir, Number(rowsArg));
const m = await loadPointE(modelDir, { threads: 1 });
const [cam] = orbitCameras(1, { size: TILE });
const cols = 1 + GUIDANCE.length;
const grid: Image = {
  width: cols * TILE,
  height: captions.length * TILE,
  rgb: new Uint8Array(cols * TILE * captions.length * TILE * 3).fill(255),
  alpha: new Uint8Array(cols * TILE * captions.length * TILE).fill(255),
};
const paste = (img: Image, row: number, col: number) => {
  for (let y = 0; y < TILE; y++)
    for (let x = 0; x < TILE; x++) {
      const o = ((row * TILE + y) * grid.width + col * TILE + x) * 3;
      const i = (y * TILE + x) * 3;
      grid.rgb.set(img.rgb.subarray(i, i + 3), o);
    }
};
for (let r = 0; r < captions.length; r++) {
  const mesh = meshField(compileShape(buildScene(parseCaption(captions[r]!))), 64);
  paste(renderMesh(mesh, cam!, { supersample: 2 }), r, 0);
  for (let c = 0; c < GUIDANCE.length; c++) {
    const { cloud } = await m.sample({ caption: captions[r]!, guidance: GUIDANCE[c], seed: r });
    paste(renderPoints(cloud, cam!, { supersample: 2, radius: 0.018 }), r, c + 1);
  }
  process.stdout.write(`row ${r + 1}: ${captions[r]}\n`);
}
await m.close();
await writeFileAtomic(out, encodePng(grid));
process.stdout.write(`${out}\n`);
