/**
 * Codebook usage curves of docs/results/jukebox.md: codes used per training batch and the batch's
 * code perplexity, against step, for runs named on the command line (label=run dir).
 *
 *   npx tsx docs/results/jukebox/usage-plot.ts docs/results/jukebox/usage.png \
 *     "restarts=runs/vq-bottom" "no restarts=runs/vq-bottom-norestart"
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { svgToPng } from '../../../src/scaling/plot.ts';

const [out, ...runs] = process.argv.slice(2);
if (!out || runs.length === 0) throw new Error('usage: usage-plot.ts out.png label=runDir …');
const rows: Array<{ run: string; step: number; metric: string; value: number }> = [];
for (const r of runs) {
  const [label, dir] = r.split('=') as [string, string];
  for (const line of (await readFile(join(dir, 'metrics.jsonl'), 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    const m = JSON.parse(line) as Record<string, number>;
    if (m.used === undefined) continue; // evaluation rows
    rows.push({ run: label, step: m.step!, metric: 'codes used per batch', value: m.used });
    rows.push({ run: label, step: m.step!, metric: 'code perplexity per batch', value: m.perplexity! });
  }
}
const spec: TopLevelSpec = {
  data: { values: rows },
  facet: { column: { field: 'metric', type: 'nominal', title: null } },
  spec: {
    width: 320,
    height: 220,
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training step' },
      y: { field: 'value', type: 'quantitative', title: null },
      color: { field: 'run', type: 'nominal', title: null },
    },
  },
  resolve: { scale: { y: 'independent' } },
  background: 'white',
};
const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
await writeFile(out, svgToPng(await view.toSVG()));
view.finalize();
