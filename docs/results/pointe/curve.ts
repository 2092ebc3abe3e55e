/**
 * The long run's curve (docs/results/pointe.md, fourth session): for each checkpoint's
 * `tony pointe eval --json` report, per held-out set at guidance 1, Chamfer and F over the first n
 * scenes (mean ± standard error; reports with more scenes are cut to n, which are the same scenes
 * and seeds) and the classifier's caption accuracy, per-head accuracies and P-FID over the report's
 * own scenes (not cut: they are not stored per scene).
 *
 *   node --import tsx docs/results/pointe/curve.ts <n> <step>=<eval.json> ...
 */
import { readFileSync } from 'node:fs';
import { type EvalReport, mean, stderr } from '../../../src/models/pointe/eval.ts';

const [nArg, ...args] = process.argv.slice(2);
if (!nArg || args.length === 0) throw new Error('usage: curve.ts <n> <step>=<eval.json> ...');
const n = Number(nArg);
const runs = args.map((a) => {
  const [step, file] = a.split('=');
  return { step: step!, reports: JSON.parse(readFileSync(file!, 'utf8')) as Record<string, EvalReport> };
});
const f = (x: number, d = 4) => x.toFixed(d);
for (const set of Object.keys(runs[0]!.reports)) {
  process.stdout.write(
    `held-out ${set}, guidance 1: step | chamfer (first ${n}) | F | scenes judged | caption acc. | arrangement | shape | colour | P-FID\n`,
  );
  for (const r of runs) {
    const rep = r.reports[set];
    if (!rep) continue;
    const rows = rep.rows.filter((x) => x.guidance === 1).slice(0, n);
    if (rows.length < n) throw new Error(`${r.step}: ${rows.length} scenes in ${set}, fewer than ${n}`);
    const c = rows.map((x) => x.chamfer);
    const F = rows.map((x) => x.fscore);
    const k = rep.classifier?.byGuidance.find((x) => x.guidance === 1);
    process.stdout.write(
      `| ${r.step} | ${f(mean(c))} ± ${f(stderr(c))} | ${f(mean(F), 3)} | ${rep.scenes.length} | ` +
        (k
          ? `${f(k.captionAccuracy, 3)} | ${f(k.accuracy.arrangement, 3)} | ${f(k.accuracy.shape, 3)} | ${f(k.accuracy.color, 3)} | ${f(k.pfid, 1)} |\n`
          : '| | | | |\n'),
    );
  }
  process.stdout.write(
    `  floor ${f(runs[0]!.reports[set]!.floor.chamfer)}, wrong caption ${f(runs[0]!.reports[set]!.wrongCaption.chamfer)} (over the first report's scenes)\n`,
  );
}
