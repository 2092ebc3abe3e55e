/**
 * Plots of docs/results/passk-temperature.md and fim.md, drawn with the scaling plot's renderer
 * (Vega-Lite → SVG → PNG). From the repository root:
 *
 *   node --import tsx docs/results/passk/plot.ts passk <passk.json> <out.png>
 *   node --import tsx docs/results/passk/plot.ts curves <out.png> <run dir>...     # validation loss by step
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../../../src/io.ts';
import { svgToPng } from '../../../src/scaling/plot.ts';

async function render(spec: object, out: string): Promise<void> {
  const view = new vega.View(vega.parse(compile(spec as TopLevelSpec).spec), { renderer: 'none' });
  try {
    await writeFileAtomic(out, svgToPng(await view.toSVG()));
  } finally {
    view.finalize();
  }
}

const [what, ...args] = process.argv.slice(2);
if (what === 'passk') {
  const [input, out] = args as [string, string];
  const r = JSON.parse(await readFile(input, 'utf8')) as {
    problems: number;
    n: number;
    rows: Array<{ temperature: number; metrics: Record<string, number> }>;
  };
  const values = r.rows.flatMap((row) => Object.entries(row.metrics).map(([k, v]) => ({ T: row.temperature, k, pass: v })));
  await render(
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: {
        text: 'pass@k against sampling temperature',
        subtitle: `${r.problems} held-out tiny functions, n = ${r.n} samples each, top-p 0.95`,
      },
      width: 520,
      height: 340,
      background: 'white',
      data: { values },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'T', type: 'quantitative', title: 'temperature' },
        y: { field: 'pass', type: 'quantitative', title: 'pass@k', scale: { domain: [0, 1] } },
        color: { field: 'k', type: 'nominal', sort: ['pass@1', 'pass@10', 'pass@100'] },
      },
    },
    out,
  );
} else if (what === 'curves') {
  const [out, ...runs] = args as [string, ...string[]];
  const values: Array<{ run: string; step: number; loss: number }> = [];
  for (const dir of runs) {
    for (const line of (await readFile(join(dir, 'metrics.jsonl'), 'utf8')).split('\n')) {
      if (!line.trim()) continue;
      const m = JSON.parse(line) as { step: number; val_loss?: number };
      if (m.val_loss !== undefined) values.push({ run: basename(dir).replace(/-metrics\.jsonl$/, ''), step: m.step, loss: m.val_loss });
    }
  }
  await render(
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'left-to-right validation loss', subtitle: 'FIM rate 0 vs 0.5, three seeds each, equal tokens' },
      width: 520,
      height: 340,
      background: 'white',
      data: { values },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'step', type: 'quantitative' },
        y: { field: 'loss', type: 'quantitative', title: 'nats/token', scale: { type: 'log' } },
        color: { field: 'run', type: 'nominal' },
      },
    },
    out,
  );
} else {
  process.stderr.write('usage: plot.ts passk <passk.json> <out.png> | curves <out.png> <run dir>...\n');
  process.exit(2);
}
