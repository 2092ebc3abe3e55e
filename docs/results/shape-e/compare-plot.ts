/**
 * The training curves of docs/results/shape-e.md's comparison: Chamfer, F@0.05, P-FID and caption
 * accuracy of each kept checkpoint (compare.ts's lines) against the CPU minutes spent to reach it
 * (one thread: the run's seconds before its first step — reading data, and for Shap-E encoding every
 * cloud — plus its metrics.jsonl seconds at the checkpoint). Shap-E is drawn twice: its diffusion
 * process alone, and shifted by the encoder's training time (counted).
 *
 *   npx tsx docs/results/shape-e/compare-plot.ts <compare.jsonl> <out.png> <Point-E start s> <Shap-E start s> <encoder s>
 */
import { readFile, writeFile } from 'node:fs/promises';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { svgToPng } from '../../../src/scaling/plot.ts';

const [src, out, pStart, sStart, encS] = process.argv.slice(2);
if (!src || !out || !pStart || !sStart || !encS)
  throw new Error('usage: compare-plot.ts compare.jsonl out.png pointeStart shapeEStart encoderSeconds');
const rows: Array<{ run: string; minutes: number; metric: string; value: number }> = [];
const METRICS = [
  ['chamfer', 'Chamfer (64 points) ↓'],
  ['fscore', 'F@0.05 ↑'],
  ['pfid', 'P-FID ↓'],
  ['caption_acc', 'caption accuracy ↑'],
] as const;
for (const line of (await readFile(src, 'utf8')).split('\n')) {
  if (!line.trim()) continue;
  const r = JSON.parse(line) as Record<string, number> & { model: string };
  const start = Number(r.model === 'pointe' ? pStart : sStart);
  const minutes = (start + r.train_s!) / 60;
  const series: Array<[string, number]> =
    r.model === 'pointe'
      ? [["Tony's Point-E (base, 64 points)", minutes]]
      : [
          ['Shap-E: diffusion stage only', minutes],
          ["Shap-E: + the encoder's training", minutes + Number(encS) / 60],
        ];
  for (const [run, m] of series) for (const [k, title] of METRICS) rows.push({ run, minutes: m, metric: title, value: r[k]! });
}
const spec: TopLevelSpec = {
  data: { values: rows },
  facet: { field: 'metric', type: 'nominal', title: null, sort: METRICS.map((m) => m[1]) },
  columns: 2,
  spec: {
    width: 330,
    height: 200,
    mark: { type: 'line', point: true, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'minutes', type: 'quantitative', title: 'CPU minutes (one thread, wall clock)' },
      y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
      color: { field: 'run', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 1, labelLimit: 600 } },
      strokeDash: { field: 'run', type: 'nominal', title: null },
    },
  },
  resolve: { scale: { y: 'independent' } },
  background: 'white',
};
const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
await writeFile(out, svgToPng(await view.toSVG()));
view.finalize();
