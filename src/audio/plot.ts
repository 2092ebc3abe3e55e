/**
 * Spectrogram pictures: a PNG with the spectrogram in dB (or log-mel), a time axis in seconds, a
 * frequency axis in Hz/kHz (or mel bands), tick labels, a title and a colour bar. Drawn pixel by
 * pixel with a small bitmap font and encoded by pngjs.
 */
import { PNG } from 'pngjs';
import { TonyError } from '../errors.ts';
import { GLYPH_H, glyph, textWidth } from './font5x7.ts';
import { applyFilterbank, melFilterbank, powerToDb } from './mel.ts';
import { magnitude, stft } from './stft.ts';

/** Perceptually uniform dark→bright ramp (anchor points of matplotlib's "magma", approximate). */
const MAGMA: Array<[number, number, number]> = [
  [0, 0, 4],
  [28, 16, 68],
  [79, 18, 123],
  [129, 37, 129],
  [181, 54, 122],
  [229, 80, 100],
  [251, 135, 97],
  [254, 194, 135],
  [252, 253, 191],
];
const MARGIN = { left: 64, right: 86, top: 30, bottom: 44 };
const MAX_WIDTH = 1400; // plot-area pixels; longer clips are pooled, shorter ones stretched to MIN_WIDTH
const MIN_WIDTH = 480;
const MAX_HEIGHT = 512;
const MIN_HEIGHT = 256; // few mel bands are stretched to stay readable
const BG: Rgb = [255, 255, 255];
const INK: Rgb = [20, 20, 20];
type Rgb = [number, number, number];

export interface SpectrogramPlotOptions {
  sampleRate: number;
  /** Default 1024 (or 512 below 16 kHz). */
  nFft?: number;
  /** Default nFft/4. */
  hop?: number;
  /** Draw a log-mel spectrogram with this many bands instead of the linear one. */
  nMels?: number;
  /** Dynamic range shown, dB below the maximum (default 80). */
  rangeDb?: number;
  /** Text at the top. */
  title?: string;
}

function colour(v: number): Rgb {
  const x = Math.max(0, Math.min(1, v)) * (MAGMA.length - 1);
  const i = Math.min(MAGMA.length - 2, Math.floor(x)),
    f = x - i;
  const a = MAGMA[i]!,
    b = MAGMA[i + 1]!;
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/** Tick step from 1, 2, 5 × 10^k giving about `target` ticks over `span`. */
function niceStep(span: number, target: number): number {
  const raw = span / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
}

function fmt(v: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(decimals);
}

class Canvas {
  readonly png: PNG;
  constructor(
    readonly w: number,
    readonly h: number,
  ) {
    this.png = new PNG({ width: w, height: h });
    for (let i = 0; i < w * h; i++) this.png.data.set([...BG, 255], 4 * i);
  }
  set(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) return;
    const i = 4 * (Math.round(y) * this.w + Math.round(x));
    this.png.data[i] = c[0];
    this.png.data[i + 1] = c[1];
    this.png.data[i + 2] = c[2];
    this.png.data[i + 3] = 255;
  }
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb = INK): void {
    const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let i = 0; i <= n; i++) this.set(x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, c);
  }
  /** Text with its anchor: 'left' | 'center' | 'right' horizontally, top at y. */
  text(s: string, x: number, y: number, align: 'left' | 'center' | 'right' = 'left', scale = 1, vertical = false): void {
    const w = textWidth(s, scale);
    const start = align === 'left' ? 0 : align === 'center' ? -w / 2 : -w;
    [...s].forEach((ch, k) => {
      glyph(ch).forEach((row, gy) =>
        row.forEach((on, gx) => {
          if (!on) return;
          for (let sy = 0; sy < scale; sy++)
            for (let sx = 0; sx < scale; sx++) {
              const along = start + (k * 6 + gx) * scale + sx,
                across = gy * scale + sy;
              // Vertical text reads bottom to top, centred on (x, y).
              if (vertical) this.set(x + across, y - along, INK);
              else this.set(x + along, y + across, INK);
            }
        }),
      );
    });
  }
}

/**
 * Render a spectrogram of `x` as PNG bytes.
 *
 *   await writeFileAtomic('spec.png', spectrogramPng(x, { sampleRate: 16000, title: 'a.wav' }));
 */
export function spectrogramPng(x: Float64Array, o: SpectrogramPlotOptions): Uint8Array {
  const sr = o.sampleRate;
  const nFft = o.nFft ?? (sr < 16000 ? 512 : 1024);
  const hop = o.hop ?? nFft / 4;
  const range = o.rangeDb ?? 80;
  if (x.length === 0) throw new TonyError('data', 'cannot draw the spectrogram of an empty signal');
  const S = stft(x, { nFft, hop });
  const power = magnitude(S).map((m) => m * m);
  let rows: number; // frequency rows of the data, low → high
  let db: Float64Array; // (frames, rows)
  if (o.nMels) {
    const fb = melFilterbank({ sampleRate: sr, nFft, nMels: o.nMels });
    db = powerToDb(applyFilterbank(power, S.frames, fb), { topDb: range });
    rows = o.nMels;
  } else {
    db = powerToDb(power, { topDb: range });
    rows = S.bins;
  }
  let max = -Infinity;
  for (const v of db) max = Math.max(max, v);
  const frames = S.frames;
  const W = Math.min(Math.max(frames, MIN_WIDTH), MAX_WIDTH),
    H = Math.min(Math.max(rows, MIN_HEIGHT), MAX_HEIGHT);
  const canvas = new Canvas(W + MARGIN.left + MARGIN.right, H + MARGIN.top + MARGIN.bottom);
  const x0 = MARGIN.left,
    y0 = MARGIN.top; // top-left of the plot area
  // Each pixel shows the max (in dB) of the data cells it covers, so short events stay visible.
  for (let px = 0; px < W; px++) {
    const t0 = Math.floor((px * frames) / W),
      t1 = Math.max(t0 + 1, Math.floor(((px + 1) * frames) / W));
    for (let py = 0; py < H; py++) {
      const r0 = Math.floor((py * rows) / H),
        r1 = Math.max(r0 + 1, Math.floor(((py + 1) * rows) / H));
      let v = -Infinity;
      for (let t = t0; t < t1; t++) for (let r = r0; r < r1; r++) v = Math.max(v, db[t * rows + r]!);
      canvas.set(x0 + px, y0 + H - 1 - py, colour(1 - (max - v) / range));
    }
  }
  // Frame around the plot.
  canvas.line(x0 - 1, y0 - 1, x0 + W, y0 - 1);
  canvas.line(x0 - 1, y0 + H, x0 + W, y0 + H);
  canvas.line(x0 - 1, y0 - 1, x0 - 1, y0 + H);
  canvas.line(x0 + W, y0 - 1, x0 + W, y0 + H);
  // Time axis: frame t is centred on sample t·hop.
  const seconds = ((frames - 1) * hop) / sr;
  const tStep = niceStep(Math.max(seconds, 1e-3), 8);
  for (let s = 0; s <= seconds + 1e-9; s += tStep) {
    const px = x0 + (seconds > 0 ? (s / seconds) * (W - 1) : 0);
    canvas.line(px, y0 + H, px, y0 + H + 4);
    canvas.text(fmt(s, tStep), px, y0 + H + 7, 'center');
  }
  canvas.text('Time (s)', x0 + W / 2, y0 + H + 22, 'center', 2);
  // Frequency axis.
  if (o.nMels) {
    const step = niceStep(rows, 8);
    for (let m = 0; m <= rows; m += step) {
      const py = y0 + H - (m / rows) * H;
      canvas.line(x0 - 5, py, x0 - 1, py);
      canvas.text(String(m), x0 - 8, py - GLYPH_H / 2, 'right');
    }
    canvas.text('Mel band', 12, y0 + H / 2, 'center', 2, true);
  } else {
    const nyq = sr / 2;
    const kHz = nyq >= 2000;
    const step = niceStep(kHz ? nyq / 1000 : nyq, 8);
    for (let f = 0; f <= (kHz ? nyq / 1000 : nyq) + 1e-9; f += step) {
      const py = y0 + H - ((kHz ? f * 1000 : f) / nyq) * H;
      canvas.line(x0 - 5, py, x0 - 1, py);
      canvas.text(fmt(f, step), x0 - 8, py - GLYPH_H / 2, 'right');
    }
    canvas.text(kHz ? 'Frequency (kHz)' : 'Frequency (Hz)', 12, y0 + H / 2, 'center', 2, true);
  }
  // Colour bar with dB labels.
  const cbX = x0 + W + 14,
    cbW = 14;
  for (let py = 0; py < H; py++) {
    const c = colour(1 - py / (H - 1));
    for (let i = 0; i < cbW; i++) canvas.set(cbX + i, y0 + py, c);
  }
  const dbStep = niceStep(range, 6);
  for (let d = 0; d <= range + 1e-9; d += dbStep) {
    const py = y0 + (d / range) * (H - 1);
    canvas.line(cbX + cbW, py, cbX + cbW + 3, py);
    canvas.text(`-${fmt(d, dbStep)}`.replace('-0', '0'), cbX + cbW + 6, py - GLYPH_H / 2);
  }
  canvas.text('dB', cbX + cbW / 2, y0 - 12, 'center');
  if (o.title) canvas.text(o.title, x0 + W / 2, 8, 'center', 2);
  return PNG.sync.write(canvas.png);
}
