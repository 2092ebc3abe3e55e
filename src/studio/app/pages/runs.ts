/**
 * Runs: every training run under the runs folder — its config, checkpoints and throughput — and
 * loss / validation-loss curves that grow as it trains (server-sent events following
 * metrics.jsonl). Tick several runs to compare them on one chart.
 */
import { lineChart, type Series } from '../chart.ts';
import { api, el, fmt, type StudioPage, status } from '../page.ts';

interface RunSummary {
  name: string;
  kind?: string;
  steps: number;
  lastLoss?: number;
  updated: number;
}
type Row = Record<string, unknown>;

/** How often the open run's checkpoints and config are reread while its metrics stream in. */
const DETAIL_REFRESH_MS = 2000;
/** How often the run list is reread for new runs. */
const RELIST_MS = 3000;

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export const page: StudioPage = {
  id: 'runs',
  title: 'Runs',
  order: 20,
  async render(root, info) {
    if (!info.runsDir) {
      root.append(
        el('p', {
          class: 'status error',
          text: 'No runs folder: start the studio with --runs <dir> (the folder tony train --out writes into).',
        }),
      );
      return;
    }
    const runs = (await api<{ data: RunSummary[] }>('/api/runs')).data;
    root.append(
      el('p', {
        class: 'lead',
        text: `${runs.length} run${runs.length === 1 ? '' : 's'} in ${info.runsDir}. Curves follow metrics.jsonl live; tick runs to compare.`,
      }),
    );
    const list = el('tbody');
    const chart = el('div', { class: 'chart', id: 'loss-chart', 'aria-label': 'loss curves' });
    const detail = el('div', { id: 'run-detail' });
    const st = status();
    root.append(
      el(
        'div',
        { class: 'split' },
        el(
          'div',
          { class: 'card list' },
          el(
            'table',
            { id: 'runs' },
            el(
              'thead',
              {},
              el('tr', {}, el('th', { text: '' }), el('th', { text: 'run' }), el('th', { text: 'steps' }), el('th', { text: 'loss' })),
            ),
            list,
          ),
        ),
        el('div', {}, el('div', { class: 'card' }, chart, st.node), detail),
      ),
    );

    const rows = new Map<string, Row[]>();
    const streams = new Map<string, EventSource>();
    let redrawQueued = false;
    const redraw = () => {
      if (redrawQueued) return;
      redrawQueued = true;
      requestAnimationFrame(() => {
        redrawQueued = false;
        const series: Series[] = [];
        let points = 0;
        let lastLoss: number | undefined;
        for (const [name, rs] of rows) {
          const train = rs.filter((r) => num(r.loss) !== undefined && num(r.step) !== undefined);
          const val = rs.filter((r) => num(r.val_loss) !== undefined && num(r.step) !== undefined);
          points += train.length;
          lastLoss = num(train.at(-1)?.loss) ?? lastLoss;
          if (train.length)
            series.push({ label: `${name} loss`, x: train.map((r) => r.step as number), y: train.map((r) => r.loss as number) });
          if (val.length)
            series.push({
              label: `${name} val`,
              x: val.map((r) => r.step as number),
              y: val.map((r) => r.val_loss as number),
              dash: true,
              points: true,
            });
        }
        chart.dataset.points = String(points);
        chart.dataset.lastLoss = lastLoss === undefined ? '' : String(lastLoss);
        lineChart(chart, series, { xLabel: 'step', yLabel: 'loss' });
        st.set(rows.size ? `${points} training steps plotted` : 'Tick a run to plot it.');
        showThroughput();
      });
    };

    let current: string | undefined;
    // New checkpoints appear as a run trains: reread the open run's detail now and then.
    const refresh = setInterval(() => current && void open(current).catch(() => {}), DETAIL_REFRESH_MS);
    const showThroughput = () => {
      const rs = current ? rows.get(current) : undefined;
      const tp = detail.querySelector('#throughput');
      if (!rs || !tp) return;
      const timed = rs.filter((r) => num(r.tokens) !== undefined && num(r.time_s) !== undefined);
      const a = timed.at(-Math.min(timed.length, 20));
      const b = timed.at(-1);
      tp.textContent =
        a && b && b !== a && (b.time_s as number) > (a.time_s as number)
          ? `${fmt(((b.tokens as number) - (a.tokens as number)) / ((b.time_s as number) - (a.time_s as number)), 3)} tokens/s over the last ${timed.indexOf(b) - timed.indexOf(a)} steps; step ${b.step}`
          : 'not enough steps yet';
    };

    const follow = (name: string, on: boolean) => {
      streams.get(name)?.close();
      streams.delete(name);
      if (!on) {
        rows.delete(name);
        redraw();
        return;
      }
      rows.set(name, []);
      const es = new EventSource(`/api/runs/${name.split('/').map(encodeURIComponent).join('/')}/metrics`);
      es.onmessage = (e) => {
        const msg = JSON.parse(e.data as string) as { rows?: Row[]; reset?: boolean; error?: { message: string } };
        if (msg.error) return st.set(msg.error.message, true);
        const list = msg.reset ? [] : (rows.get(name) ?? []);
        list.push(...(msg.rows ?? []));
        rows.set(name, list);
        redraw();
      };
      streams.set(name, es);
    };

    const open = async (name: string) => {
      current = name;
      for (const tr of list.querySelectorAll('tr')) tr.setAttribute('aria-selected', String(tr.dataset.run === name));
      const d = await api<{ config?: Record<string, unknown>; checkpoints: Array<{ name: string; step: number }> }>(
        `/api/runs/${name.split('/').map(encodeURIComponent).join('/')}`,
      );
      const cfg = Object.entries(d.config ?? {}).filter(([, v]) => typeof v !== 'object' || v === null);
      detail.replaceChildren(
        el('h2', { text: name }),
        el('p', { id: 'throughput', class: 'muted' }),
        el(
          'div',
          { class: 'card' },
          el('strong', { text: 'Checkpoints: ' }),
          d.checkpoints.length ? d.checkpoints.map((c) => `${c.name}`).join(', ') : 'none yet',
        ),
        el('h2', { text: 'Config' }),
        el(
          'div',
          { class: 'card' },
          el(
            'table',
            { class: 'mono' },
            el('tbody', {}, ...cfg.map(([k, v]) => el('tr', {}, el('th', { text: k }), el('td', { text: String(v) })))),
          ),
        ),
      );
      showThroughput();
    };

    const row = (r: RunSummary): HTMLElement => {
      const box = el('input', { type: 'checkbox', 'aria-label': `plot ${r.name}` }) as HTMLInputElement;
      box.addEventListener('change', () => follow(r.name, box.checked));
      const name = el('button', { class: 'link', text: r.name, 'aria-label': `open ${r.name}` });
      name.addEventListener('click', () => {
        if (!box.checked) {
          box.checked = true;
          follow(r.name, true);
        }
        void open(r.name);
      });
      return el(
        'tr',
        { class: 'pick', 'data-run': r.name },
        el('td', {}, box),
        el('td', {}, name, r.kind ? el('span', { class: 'tag', text: r.kind }) : null),
        el('td', { class: 'steps', text: String(r.steps) }),
        el('td', { class: 'loss', text: r.lastLoss === undefined ? '' : fmt(r.lastLoss) }),
      );
    };
    runs.forEach((r, i) => {
      const tr = row(r);
      list.append(tr);
      if (i === 0) {
        (tr.querySelector('input') as HTMLInputElement).checked = true;
        follow(r.name, true);
        void open(r.name);
      }
    });
    if (!runs.length) st.set('No runs yet: tony train … --out <runs folder>/<name> makes one.');
    // The list follows the folder too: runs started after the page opened appear, steps and losses move on.
    const relist = setInterval(async () => {
      let now: RunSummary[];
      try {
        now = (await api<{ data: RunSummary[] }>('/api/runs')).data;
      } catch {
        return; // the server went away; the streams say so
      }
      for (const r of now) {
        const tr = [...list.querySelectorAll('tr')].find((x) => x.dataset.run === r.name);
        if (!tr) list.prepend(row(r));
        else {
          tr.querySelector('.steps')!.textContent = String(r.steps);
          tr.querySelector('.loss')!.textContent = r.lastLoss === undefined ? '' : fmt(r.lastLoss);
        }
      }
    }, RELIST_MS);
    return () => {
      clearInterval(refresh);
      clearInterval(relist);
      for (const es of streams.values()) es.close();
    };
  },
};
