/**
 * Line charts on uPlot: small (~50 KB), fast with thousands of points, and it redraws a growing
 * series cheaply — what live training curves need. Runs and Scaling both draw through here.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  /** x values ascending; y may be null (a gap). */
  x: number[];
  y: Array<number | null>;
  dash?: boolean;
  points?: boolean;
  /** No line, only points (a scatter). */
  scatter?: boolean;
}

const COLORS = ['#2557d6', '#d6452f', '#1b9e5a', '#8e44ad', '#d68a00', '#138496', '#c2185b', '#5d6d7e'];
const colorOf = (i: number) => COLORS[i % COLORS.length]!;

/** Draw `series` into `host` (replacing what was there); returns the uPlot for hover hooks. */
export function lineChart(
  host: HTMLElement,
  series: Series[],
  o: {
    xLabel: string;
    yLabel: string;
    logX?: boolean;
    logY?: boolean;
    colors?: string[];
    onHover?: (seriesIdx: number, idx: number) => void;
  },
): uPlot | undefined {
  host.replaceChildren();
  if (!series.length) return undefined;
  const data = uPlot.join(series.map((s) => [s.x, s.y] as uPlot.AlignedData)) as uPlot.AlignedData;
  const width = Math.max(280, host.clientWidth || 600);
  const opts: uPlot.Options = {
    width,
    height: Math.min(380, Math.max(240, Math.round(width * 0.45))),
    scales: { x: { time: false, distr: o.logX ? 3 : 1 }, y: { distr: o.logY ? 3 : 1 } },
    axes: [{ label: o.xLabel }, { label: o.yLabel, size: 60 }],
    cursor: { drag: { x: true, y: false } },
    series: [
      { label: o.xLabel },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: o.colors?.[i] ?? colorOf(i),
        width: s.scatter ? 0 : 1.6,
        spanGaps: true,
        dash: s.dash ? [6, 4] : undefined,
        points: { show: s.points ?? s.scatter ?? false, size: s.scatter ? 7 : 5, fill: o.colors?.[i] ?? colorOf(i) },
        ...(s.scatter ? { paths: () => null } : {}),
      })),
    ],
    hooks: o.onHover
      ? { setCursor: [(u: uPlot) => u.cursor.idx != null && u.cursor.idx !== undefined && o.onHover!(0, u.cursor.idx)] }
      : {},
  };
  return new uPlot(opts, data, host);
}
