/**
 * Paired per scene: the base model's own 128-point samples (same-count-base128.json) against its 64-point
 * samples' 32 farthest points + 96 upsampled points (the `upsampled.output` of same-count-chain.json).
 *
 *   node --import tsx docs/results/pointe/same-count.ts docs/results/pointe/same-count-base128.json docs/results/pointe/same-count-chain.json
 */
import { readFileSync } from 'node:fs';
import { type EvalReport, mean, stderr } from '../../../src/models/pointe/eval.ts';

const [baseFile, chainFile] = process.argv.slice(2);
if (!baseFile || !chainFile) throw new Error('usage: same-count.ts <base128.json> <chain.json>');
const base = JSON.parse(readFileSync(baseFile, 'utf8')) as Record<string, EvalReport>;
const chain = JSON.parse(readFileSync(chainFile, 'utf8')) as Record<string, EvalReport>;
for (const set of Object.keys(base)) {
  const b = base[set]!.rows;
  const c = chain[set]!.rows;
  if (b.map((x) => x.caption).join() !== c.map((x) => x.caption).join()) throw new Error(`${set}: other scenes`);
  const d = b.map((x, i) => c[i]!.upsampled!.output.chamfer - x.chamfer);
  process.stdout.write(
    `${set}: ${b.length} scenes; base 128 ${mean(b.map((x) => x.chamfer)).toFixed(4)}, 64 + upsampler ${mean(c.map((x) => x.upsampled!.output.chamfer)).toFixed(4)}; ` +
      `(64 + upsampler) − base 128, paired: ${mean(d).toFixed(4)} ± ${stderr(d).toFixed(4)}\n`,
  );
}
