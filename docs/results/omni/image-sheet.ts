/**
 * Held-out shapes-world renders (top row of each pair) and their image-tokenizer reconstructions
 * (bottom), 16 codes each, scaled ×4: `npx tsx docs/results/omni/image-sheet.ts <image run> <out.png>`.
 */
import { writeFileSync } from 'node:fs';
import { isHeldOutCaption, loadImageTokenizer, renderShape, shapeWorld } from '../../../src/models/omni/images.ts';
import { encodePng } from '../../../src/shape/render.ts';

const [run, out] = process.argv.slice(2);
const tok = await loadImageTokenizer(run!, { threads: 1 });
const items = shapeWorld()
  .filter((w) => isHeldOutCaption(w.caption))
  .slice(0, 12);
const S = 32 * 4;
const W = items.length * S;
const rgb = new Uint8Array(W * 2 * S * 3);
let mse = 0;
for (const [i, w] of items.entries()) {
  const a = renderShape(w.size, w.color, w.shape);
  const b = await tok.decode(await tok.encode(a));
  for (let k = 0; k < a.length; k++) mse += (a[k]! - b[k]!) ** 2 / a.length / items.length;
  for (const [row, img] of [a, b].entries())
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++)
        for (let c = 0; c < 3; c++)
          rgb[((row * S + y) * W + i * S + x) * 3 + c] = Math.round(255 * img[((y >> 2) * 32 + (x >> 2)) * 3 + c]!);
}
writeFileSync(out!, encodePng({ width: W, height: 2 * S, rgb, alpha: new Uint8Array(W * 2 * S).fill(255) }));
console.log(`${items.length} held-out captions: ${items.map((w) => w.caption).join(' | ')}\nmean squared error ${mse.toFixed(5)}`);
await tok.close();
