/**
 * Scaling: a sweep folder (tony scale sweep --out) — every run's learning curve, the L(N) fit over
 * final losses and the compute frontier with L(C). Hover a point to see its run.
 */
import { lineChart, type Series } from '../chart.ts';
import { api, el, fmt, type StudioPage, status } from '../page.ts';

interface Point {
  run: string;
  params: number;
  compute: number;
  loss: number;
}
interface Fit {
  lInf: number;
  x0: number;
  alpha: number;
  r2: number;
}
interface Analysis {
  split: string;
  points: Point[];
  curves: Point[];
  fits: { irreducible: { fit: Fit }; pure: { fit: Fit } };
  optimalSize?: { beta: number };
}
type View = { analysis: Analysis } | { note: string };

const law = (f: Fit, x: number) => f.lInf + (f.x0 / x) ** f.alpha;
const logspace = (a: number, b: number, n: number) => Array.from({ length: n }, (_, i) => a * (b / a) ** (i / (n - 1)));

export const page: StudioPage = {
  id: 'scaling',
  title: 'Scaling',
  order: 30,
  async render(root, info) {
    if (!info.runsDir) {
      root.append(
        el('p', {
          class: 'status error',
          text: 'No runs folder: start the studio with --runs <dir> holding a sweep (tony scale sweep --out).',
        }),
      );
      return;
    }
    // A sweep is a folder holding several runs: group the run list by parent folder.
    const runs = (await api<{ data: Array<{ name: string }> }>('/api/runs')).data;
    const parents = new Map<string, number>();
    for (const r of runs) {
      const p = r.name.includes('/') ? r.name.slice(0, r.name.lastIndexOf('/')) : '.';
      parents.set(p, (parents.get(p) ?? 0) + 1);
    }
    // Sub-folders first: the runs folder itself is a sweep only when started on one.
    const sweeps = [...parents]
      .filter(([, n]) => n >= 2)
      .map(([p]) => p)
      .sort((a, b) => Number(a === '.') - Number(b === '.') || a.localeCompare(b));
    const pick = el(
      'select',
      { id: 'sweep' },
      ...sweeps.map((s) => el('option', { value: s, text: s === '.' ? '(the runs folder itself)' : s })),
    );
    const st = status();
    const hover = el('p', { id: 'hover', class: 'mono muted', 'aria-live': 'polite' });
    const nChart = el('div', { class: 'chart', id: 'scaling-n' });
    const cChart = el('div', { class: 'chart', id: 'scaling-c' });
    const nText = el('p', { class: 'mono' });
    const cText = el('p', { class: 'mono' });
    root.append(
      el('p', {
        class: 'lead',
        text: 'Kaplan et al.’s power laws on a sweep: L(N) = L∞ + (N₀/N)^α over final validation losses, and L(C) on the compute frontier of every learning curve.',
      }),
      el('div', { class: 'field' }, el('label', { for: 'sweep', text: 'Sweep folder' }), pick),
      st.node,
      hover,
      el(
        'div',
        { class: 'pair' },
        el('div', { class: 'card' }, el('h2', { text: 'Loss vs parameters' }), nChart, nText),
        el('div', { class: 'card' }, el('h2', { text: 'Loss vs compute' }), cChart, cText),
      ),
    );
    if (!sweeps.length) return st.set('No folder here holds two or more runs: tony scale sweep --out <runs folder>/<sweep> makes one.');

    const draw = async () => {
      st.set('fitting…');
      let v: { params: View; compute: View };
      try {
        v = await api(`/api/scaling?dir=${encodeURIComponent(pick.value)}`);
      } catch (err) {
        return st.set((err as Error).message, true);
      }
      st.set('');
      const show = (view: View, host: HTMLElement, text: HTMLElement, axis: 'params' | 'compute') => {
        if ('note' in view) {
          host.replaceChildren();
          text.textContent = view.note;
          return;
        }
        const a = view.analysis;
        const xOf = (p: Point) => (axis === 'params' ? p.params : p.compute);
        const pts = [...a.points].sort((p, q) => xOf(p) - xOf(q));
        const xs = pts.map(xOf);
        const grid = logspace(Math.min(...xs) / 1.5, Math.max(...xs) * 1.5, 40);
        const f = a.fits.irreducible.fit;
        const series: Series[] = [
          { label: axis === 'params' ? 'final loss' : 'frontier', x: xs, y: pts.map((p) => p.loss), scatter: true },
          { label: `L∞ + (x₀/x)^α, α=${fmt(f.alpha, 3)}`, x: grid, y: grid.map((x) => law(f, x)) },
        ];
        if (axis === 'compute') {
          const curves = [...a.curves].filter((p) => p.compute > 0).sort((p, q) => p.compute - q.compute);
          series.unshift({ label: 'all curves', x: curves.map((p) => p.compute), y: curves.map((p) => p.loss), scatter: true });
        }
        const xsAll = new Map<number, Point>();
        for (const p of axis === 'compute' ? [...a.curves, ...pts] : pts) xsAll.set(xOf(p), p);
        const u = lineChart(host, series, {
          xLabel: axis === 'params' ? 'non-embedding parameters' : 'compute (FLOPs)',
          yLabel: `${a.split} loss`,
          logX: true,
          logY: true,
          colors: axis === 'compute' ? ['#b8c2d6', '#d6452f', '#2557d6'] : ['#d6452f', '#2557d6'],
          onHover: (_s, idx) => {
            const x = u?.data[0][idx];
            const p = x === undefined ? undefined : xsAll.get(x);
            if (p) hover.textContent = `${p.run}: ${fmt(p.params, 3)} params, ${fmt(p.compute, 3)} FLOPs, loss ${fmt(p.loss)}`;
          },
        });
        host.dataset.points = String(pts.length);
        text.textContent =
          `L(${axis === 'params' ? 'N' : 'C'}) = ${fmt(f.lInf, 3)} + (${fmt(f.x0, 3)}/x)^${fmt(f.alpha, 3)}, R² ${fmt(f.r2, 3)}` +
          (a.optimalSize ? `; N_opt ∝ C^${fmt(a.optimalSize.beta, 3)}` : '');
      };
      show(v.params, nChart, nText, 'params');
      show(v.compute, cChart, cText, 'compute');
    };
    pick.addEventListener('change', () => void draw());
    await draw();
  },
};
