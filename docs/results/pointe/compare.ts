/**
 * Paired comparison of `tony pointe eval --json` reports of several models on the same held-out
 * scenes and seeds (docs/results/pointe.md, "grid vs pooled vs text"): for each held-out set and
 * guidance scale, each model's Chamfer and F (mean ± standard error over scenes), then the per-scene
 * Chamfer difference of every pair of models (mean ± standard error of the differences) — the noise
 * that matters when the same scenes are scored twice.
 *
 *   node --import tsx docs/results/pointe/compare.ts <name>=<eval.json> <name>=<eval.json> ...
 */
import { readFileSync } from 'node:fs';
import { type EvalReport, mean, stderr } from '../../../src/models/pointe/eval.ts';

const runs = process.argv.slice(2).map((a) => {
  const [name, file] = a.split('=');
  if (!name || !file) throw new Error('usage: compare.ts <name>=<eval.json> ...');
  return { name, reports: JSON.parse(readFileSync(file, 'utf8')) as Record<string, EvalReport> };
});
const f = (x: number) => x.toFixed(4);
for (const set of Object.keys(runs[0]!.reports)) {
  const first = runs[0]!.reports[set]!;
  for (const r of runs)
    if (JSON.stringify(r.reports[set]?.scenes) !== JSON.stringify(first.scenes)) throw new Error(`${r.name}: other scenes in ${set}`);
  process.stdout.write(`held-out ${set}: ${first.scenes.length} scenes\n`);
  for (const g of first.byGuidance.map((x) => x.guidance)) {
    const per = runs.map((r) => r.reports[set]!.rows.filter((x) => x.guidance === g));
    for (let i = 0; i < runs.length; i++) {
      const c = per[i]!.map((x) => x.chamfer);
      const F = per[i]!.map((x) => x.fscore);
      process.stdout.write(
        `  guidance ${g}  ${runs[i]!.name.padEnd(14)} chamfer ${f(mean(c))} ± ${f(stderr(c))}   F ${f(mean(F))} ± ${f(stderr(F))}\n`,
      );
    }
    for (let i = 0; i < runs.length; i++)
      for (let j = i + 1; j < runs.length; j++) {
        const d = per[i]!.map((x, k) => x.chamfer - per[j]![k]!.chamfer);
        process.stdout.write(`  guidance ${g}  chamfer ${runs[i]!.name} − ${runs[j]!.name}: ${f(mean(d))} ± ${f(stderr(d))} (paired)\n`);
      }
  }
}
