/**
 * The picture of "grid vs pooled vs text" in docs/results/pointe.md: for the first held-out scenes and
 * the first held-out combinations of a dataset, one row each — the view the image models read (the
 * dataset's render, enlarged), the scene's true shape (its exact mesh), then one sample per model at
 * guidance 3 with seed = row (text models get the caption, image models the view) — as one PNG of
 * 128-pixel tiles; the rows of the held-out scenes first, then those of the combinations.
 *
 *   node --import tsx docs/results/pointe/cond-renders.ts <data dir> <out.png> <rows per set> <model dir>...
 *
 * Environment: GUIDANCE (default 3) and SETS (default scenes,combos; any of scenes, combos,
 * arrangements, in that order of rows).
 */
import { writeFileAtomic } from '../../../src/io.ts';
import type { HeldOutSet } from '../../../src/models/pointe/data.ts';
import { heldOutScenes } from '../../../src/models/pointe/eval.ts';
import { readViewFile } from '../../../src/models/pointe/image.ts';
import { loadPointE } from '../../../src/models/pointe/model.ts';
import { meshField } from '../../../src/shape/marching-cubes.ts';
import { encodePng, type Image, orbitCameras, renderMesh, renderPoints } from '../../../src/shape/render.ts';
import { buildScene, parseCaption } from '../../../src/shape/scenes.ts';
import { compileShape } from '../../../src/shape/sdf.ts';

const [dataDir, out, rowsArg, ...modelDirs] = process.argv.slice(2);
if (!dataDir || !out || !rowsArg || modelDirs.length === 0)
  throw new Error('usage: cond-renders.ts <data dir> <out.png> <rows per set> <model dir>...');
const TILE = 128;
const guidance = Number(process.env.GUIDANCE ?? 3);
const sets = (process.env.SETS ?? 'scenes,combos').split(',') as HeldOutSet[];
const items = (await Promise.all(sets.map((s) => heldOutScenes(dataDir, Number(rowsArg), s)))).flat();
const models = await Promise.all(modelDirs.map((d) => loadPointE(d, { threads: 1 })));
const [cam] = orbitCameras(1, { size: TILE });
const cols = 2 + models.length;
const grid: Image = {
  width: cols * TILE,
  height: items.length * TILE,
  rgb: new Uint8Array(cols * TILE * items.length * TILE * 3).fill(255),
  alpha: new Uint8Array(cols * TILE * items.length * TILE).fill(255),
};
/** Paste an image into a tile, enlarged by nearest pixel to fill it. */
const paste = (img: Image, row: number, col: number) => {
  for (let y = 0; y < TILE; y++)
    for (let x = 0; x < TILE; x++) {
      const o = ((row * TILE + y) * grid.width + col * TILE + x) * 3;
      const i = (Math.floor((y * img.height) / TILE) * img.width + Math.floor((x * img.width) / TILE)) * 3;
      grid.rgb.set(img.rgb.subarray(i, i + 3), o);
    }
};
for (let r = 0; r < items.length; r++) {
  const { caption, render } = items[r]!;
  const view = await readViewFile(render!);
  paste(view, r, 0);
  paste(renderMesh(meshField(compileShape(buildScene(parseCaption(caption))), 64), cam!, { supersample: 2 }), r, 1);
  for (let c = 0; c < models.length; c++) {
    const m = models[c]!;
    const { cloud } = await m.sample({ ...(m.cfg.cond === 'text' ? { caption } : { image: view }), guidance, seed: r });
    paste(renderPoints(cloud, cam!, { supersample: 2, radius: 0.018 }), r, c + 2);
  }
  process.stdout.write(`row ${r + 1}: ${caption}\n`);
}
for (const m of models) await m.close();
await writeFileAtomic(out, encodePng(grid));
process.stdout.write(`${out}\n`);
