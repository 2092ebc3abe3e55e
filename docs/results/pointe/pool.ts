/**
 * Pools `tony pointe eval --json` reports of disjoint parts of the held-out sets (e.g. scenes 0–31 and
 * 96 onwards, run with `--from`) and prints, per held-out set and guidance scale, what the bundling
 * rule reads: mean Chamfer ± standard error over all the parts' scenes, F, the augmented classifier's
 * caption accuracy ± its binomial standard error √(p(1−p)/n), the true clouds' accuracy, the floor and
 * the wrong-caption reference (scene-weighted means of the parts'), and the rule's two tests:
 * caption accuracy ≥ 0.30, and Chamfer below the wrong-caption reference by more than 3 s.e.
 *
 *   node --import tsx docs/results/pointe/pool.ts <eval.json> [<eval.json> ...]
 */
import { readFileSync } from 'node:fs';
import { type EvalReport, mean, stderr } from '../../../src/models/pointe/eval.ts';

const files = process.argv.slice(2);
if (!files.length) throw new Error('usage: pool.ts <eval.json> [<eval.json> ...]');
const parts = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, EvalReport>);
const f4 = (x: number) => x.toFixed(4);
const f3 = (x: number) => x.toFixed(3);
const binomial = (xs: boolean[]) => {
  const p = mean(xs.map(Number));
  return { p, se: Math.sqrt((p * (1 - p)) / xs.length), n: xs.length };
};
for (const set of Object.keys(parts[0]!)) {
  const reports = parts.map((p) => p[set]).filter((r): r is EvalReport => !!r);
  const scenes = reports.flatMap((r) => r.scenes);
  if (new Set(scenes).size !== scenes.length) throw new Error(`${set}: the parts share scenes`);
  const weighted = (pick: (r: EvalReport) => number) => reports.reduce((a, r) => a + pick(r) * r.scenes.length, 0) / scenes.length;
  const floor = weighted((r) => r.floor.chamfer);
  const wrong = weighted((r) => r.wrongCaption.chamfer);
  const truthAcc = reports[0]!.classifier ? binomial(reports.flatMap((r) => r.classifier!.truth.correct)) : undefined;
  process.stdout.write(
    `held-out ${set}: ${scenes.length} scenes (${reports.map((r) => r.scenes.length).join(' + ')}); floor ${f4(floor)}, ` +
      `wrong caption ${f4(wrong)}${truthAcc ? `; true clouds' caption acc. ${f3(truthAcc.p)} ± ${f3(truthAcc.se)}` : ''}\n`,
  );
  for (const g of reports[0]!.byGuidance.map((x) => x.guidance)) {
    const rows = reports.flatMap((r) => r.rows.filter((x) => x.guidance === g));
    const c = rows.map((x) => x.chamfer);
    const F = rows.map((x) => x.fscore);
    const m = mean(c);
    const se = stderr(c);
    let line = `  guidance ${g}: chamfer ${f4(m)} ± ${f4(se)} (${(m / floor).toFixed(2)}× floor; ${((wrong - m) / se).toFixed(1)} s.e. below wrong)  F ${f3(mean(F))} ± ${f3(stderr(F))}`;
    if (reports[0]!.classifier) {
      const acc = binomial(reports.flatMap((r) => r.classifier!.byGuidance.find((x) => x.guidance === g)!.correct));
      const rule = acc.p >= 0.3 && wrong - m > 3 * se;
      line += `  caption acc. ${f3(acc.p)} ± ${f3(acc.se)} (n ${acc.n})  rule: ${rule ? 'PASS' : 'fail'}`;
    }
    process.stdout.write(`${line}\n`);
  }
}
