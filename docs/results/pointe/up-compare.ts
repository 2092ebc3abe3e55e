/**
 * Two upsamplers on the same held-out scenes and seeds (`tony pointe eval-stage --upsampler … --json`):
 * per upsampler the Chamfer change of input + new points against the input alone, then the per-scene
 * difference of their upsampled Chamfer (mean ± standard error of the paired differences).
 *
 *   node --import tsx docs/results/pointe/up-compare.ts <name>=<stage.json> <name>=<stage.json>
 */
import { readFileSync } from 'node:fs';
import { mean, stderr } from '../../../src/models/pointe/eval.ts';
import type { UpsampleReport } from '../../../src/models/pointe/eval-stages.ts';

const runs = process.argv.slice(2).map((a) => {
  const [name, file] = a.split('=');
  if (!name || !file) throw new Error('usage: up-compare.ts <name>=<stage.json> <name>=<stage.json>');
  return { name, r: JSON.parse(readFileSync(file, 'utf8')) as UpsampleReport };
});
const f = (x: number) => x.toFixed(4);
for (const { name, r } of runs) {
  const change = r.rows.map((x) => x.upsampled.chamfer - x.input.chamfer);
  process.stdout.write(
    `${name.padEnd(10)} ${r.rows.length} scenes: input ${f(r.input.chamfer)} → ${f(r.upsampled.chamfer)} ± ${f(r.upsampled.chamferSe)} ` +
      `(change ${f(mean(change))} ± ${f(stderr(change))}); F ${r.input.fscore.toFixed(3)} → ${r.upsampled.fscore.toFixed(3)}; ` +
      `a perfect upsampler ${f(r.truthSubsample.chamfer)}\n`,
  );
}
const [a, b] = runs;
if (a && b) {
  if (JSON.stringify(a.r.scenes) !== JSON.stringify(b.r.scenes)) throw new Error('the two reports hold other scenes');
  const d = a.r.rows.map((x, i) => b.r.rows[i]!.upsampled.chamfer - x.upsampled.chamfer);
  process.stdout.write(`${b.name} − ${a.name}, paired: ${f(mean(d))} ± ${f(stderr(d))}\n`);
}
