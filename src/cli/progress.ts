import cliProgress from 'cli-progress';

import type { Progress } from '../progress.ts';

export type { Progress };

/**
 * A terminal progress bar with rate and ETA. On a non-TTY (CI, pipes) it prints a plain line at
 * most every few seconds instead of redrawing.
 */
export function progressBar(label: string, unit = 'it') {
  let bar: cliProgress.SingleBar | undefined;
  let lastPlain = 0;
  const tty = process.stderr.isTTY;
  const started = Date.now();
  const fmtInfo = (info?: Record<string, string>) =>
    info
      ? Object.entries(info)
          .map(([k, v]) => `${k} ${v}`)
          .join(' | ')
      : '';
  return {
    update(p: Progress) {
      if (tty) {
        if (!bar) {
          bar = new cliProgress.SingleBar(
            {
              format: `${label} [{bar}] {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} | {info}`,
              stream: process.stderr,
              hideCursor: true,
              etaBuffer: 20,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(p.total, p.from ?? 0, { info: '', rate: '0' });
        }
        const rate = ((p.done - (p.from ?? 0)) / Math.max(1e-3, (Date.now() - started) / 1000)).toFixed(1);
        bar.setTotal(p.total);
        bar.update(p.done, { info: fmtInfo(p.info), rate });
      } else if (Date.now() - lastPlain > 5000 || p.done === p.total) {
        lastPlain = Date.now();
        const secs = (Date.now() - started) / 1000;
        const done = p.done - (p.from ?? 0); // this process's own work: a resumed run's earlier steps took no time here
        const eta = done > 0 ? ((p.total - p.done) * secs) / done : NaN;
        process.stderr.write(
          `${label} ${p.done}/${p.total} ${unit} | ${(done / Math.max(secs, 1e-3)).toFixed(1)} ${unit}/s | ETA ${
            Number.isFinite(eta) ? `${eta.toFixed(0)}s` : '?'
          } | ${fmtInfo(p.info)}\n`,
        );
      }
    },
    stop() {
      bar?.stop();
    },
  };
}
