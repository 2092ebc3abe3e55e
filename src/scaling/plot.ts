/**
 * The scaling plot: log-log loss against parameters or compute, with the fitted points, the learning
 * curves and their compute frontier, both fitted laws, and the formula in the title. Drawn as a
 * Vega-Lite spec, compiled to Vega and rendered headless to SVG (Vega's SVG renderer needs no canvas);
 * PNG is that SVG rasterised by resvg, which ships as a prebuilt npm binary.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { TonyError } from '../errors.ts';
import { writeFileAtomic } from '../io.ts';
import type { ScalingAnalysis } from './analyze.ts';
import { formatPowerLaw, powerLaw } from './powerlaw.ts';

/** Samples along x for drawing each fitted law (log-spaced, so the curve is smooth on a log axis). */
const CURVE_SAMPLES = 120;
const WIDTH = 640;
const HEIGHT = 420;
/** PNG pixels per SVG pixel: 2 gives a crisp image on high-density screens. */
const PNG_SCALE = 2;
/** Head room above and below the drawn losses, as a factor on the log axis. */
const Y_MARGIN = 1.03;

/** The Vega-Lite spec of the plot for an analysis. */
export function scalingPlotSpec(a: ScalingAnalysis): TopLevelSpec {
  const byParams = a.x === 'params';
  const v = byParams ? 'N' : 'C';
  const xTitle = byParams ? 'non-embedding parameters N' : 'compute C = 6·N·tokens (FLOPs)';
  const xOf = (p: { params: number; compute: number }) => (byParams ? p.params : p.compute);

  const xs = a.points.map(xOf);
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  // Draw the laws a little past the data on both sides: the point of a scaling law is extrapolation.
  const from = Math.log(lo) - 0.1 * Math.log(hi / lo);
  const to = Math.log(hi) + 0.25 * Math.log(hi / lo);
  // The laws drawn: both forms, and the one with L∞ fixed at a known floor when there is one (dotted).
  const laws = [
    { fit: a.fits.irreducible.fit, label: formatPowerLaw(a.fits.irreducible.fit, v), dash: [1, 0] },
    { fit: a.fits.pure.fit, label: formatPowerLaw(a.fits.pure.fit, v), dash: [6, 4] },
    ...(a.floorFit ? [{ fit: a.floorFit.fit, label: `${formatPowerLaw(a.floorFit.fit, v)} (L∞ fixed: known floor)`, dash: [2, 2] }] : []),
  ];
  const fitRows = laws.flatMap(({ fit, label }) => {
    return Array.from({ length: CURVE_SAMPLES }, (_, i) => {
      const x = Math.exp(from + ((to - from) * i) / (CURVE_SAMPLES - 1));
      return { x, loss: powerLaw(fit, x), law: label };
    });
  });
  const pointRows = a.points.map((p) => ({ x: xOf(p), loss: p.loss, run: p.run, params: p.params }));
  const xScale = { type: 'log' as const, domain: [Math.exp(from), Math.exp(to)], nice: false };
  // Fit the y axis to what is drawn; a 'nice' log axis would round out to whole decades and flatten it.
  const curveRows = byParams ? [] : a.curves.filter((p) => p.compute > 0 && p.compute >= Math.exp(from) && p.compute <= Math.exp(to));
  const ys = [...fitRows.map((r) => r.loss), ...pointRows.map((r) => r.loss), ...curveRows.map((r) => r.loss)];
  const yScale = { type: 'log' as const, domain: [Math.min(...ys) / Y_MARGIN, Math.max(...ys) * Y_MARGIN], nice: false };
  const xAxis = { format: byParams ? '~s' : '.0e' };

  const layers: TopLevelSpec[] = [];
  if (!byParams) {
    // Learning curves, one line per run, coloured by size; the frontier is their lower hull.
    layers.push({
      data: { values: curveRows.map((p) => ({ x: p.compute, loss: p.loss, run: p.run, params: p.params })) },
      mark: { type: 'line', strokeWidth: 1, opacity: 0.55 },
      encoding: {
        x: { field: 'x', type: 'quantitative', scale: xScale, title: xTitle, axis: xAxis },
        y: { field: 'loss', type: 'quantitative', scale: yScale, title: `${a.split} loss (nats/token)` },
        color: { field: 'params', type: 'quantitative', scale: { type: 'log', scheme: 'viridis' }, title: 'N' },
        detail: { field: 'run' },
        order: { field: 'x' },
      },
    } as unknown as TopLevelSpec);
  }
  layers.push({
    data: { values: fitRows },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale: xScale, title: xTitle, axis: xAxis },
      y: { field: 'loss', type: 'quantitative', scale: yScale, title: `${a.split} loss (nats/token)` },
      strokeDash: {
        field: 'law',
        type: 'nominal',
        title: 'fit',
        scale: { domain: laws.map((l) => l.label), range: laws.map((l) => l.dash) }, // irreducible solid, pure dashed
        legend: { orient: 'bottom', direction: 'vertical', labelLimit: 600 },
      },
      stroke: { value: '#d62728' },
    },
  } as unknown as TopLevelSpec);
  layers.push({
    data: { values: pointRows },
    mark: byParams
      ? { type: 'point', filled: true, size: 60, color: 'black' }
      : { type: 'line', point: { filled: true, size: 25, color: 'black' }, color: 'black', strokeWidth: 1 },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale: xScale },
      y: { field: 'loss', type: 'quantitative', scale: yScale },
      ...(byParams ? {} : { order: { field: 'x' } }),
    },
  } as unknown as TopLevelSpec);

  const f = a.fits.irreducible.fit;
  const subtitle = [`${formatPowerLaw(f, v)}   R² ${f.r2.toFixed(4)}`];
  if (a.optimalSize) subtitle.push(`N_opt(C) ∝ C^${a.optimalSize.beta.toFixed(3)}`);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: byParams ? `L(N): final ${a.split} loss of ${a.points.length} runs` : `L(C) on the compute frontier (black)`,
      subtitle,
    },
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    resolve: { scale: { color: 'independent' } },
    layer: layers,
  } as unknown as TopLevelSpec;
}

/** Render the plot to an SVG string. */
export async function renderScalingSvg(a: ScalingAnalysis): Promise<string> {
  const view = new vega.View(vega.parse(compile(scalingPlotSpec(a)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterise an SVG to PNG bytes. */
export function svgToPng(svg: string): Uint8Array {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: PNG_SCALE },
    // Vega asks for 'sans-serif'; resvg needs a concrete family installed on the system to draw text.
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}

/** Write the plot to `path`; the format follows the extension (.svg or .png). */
export async function writeScalingPlot(a: ScalingAnalysis, path: string): Promise<void> {
  const ext = path.toLowerCase().split('.').pop();
  if (ext !== 'svg' && ext !== 'png') {
    throw new TonyError('usage', `--plot '${path}': unknown image format '.${ext}'`, 'use a path ending in .svg or .png');
  }
  const svg = await renderScalingSvg(a);
  await writeFileAtomic(path, ext === 'svg' ? svg : svgToPng(svg));
}
