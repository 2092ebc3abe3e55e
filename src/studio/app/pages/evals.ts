/** Evals: a results file (`*_results.jsonl`, as tony eval writes it) browsed per task: pass/fail, the program, why it failed. */
import { api, el, type StudioPage, status } from '../page.ts';

interface EvalRow {
  task_id: string;
  completion: string;
  result: string;
  passed: boolean;
  /** With the problems file (tony studio --problems): the rest of the program and its test. */
  prompt?: string;
  suffix?: string;
  test?: string;
}

export const page: StudioPage = {
  id: 'evals',
  title: 'Evals',
  order: 40,
  async render(root, info) {
    if (!info.runsDir) {
      root.append(
        el('p', {
          class: 'status error',
          text: 'No runs folder: start the studio with --runs <dir> (where tony eval wrote its *_results.jsonl).',
        }),
      );
      return;
    }
    const files = (await api<{ data: Array<{ name: string; samples: number; passed: number; error?: string }> }>('/api/evals')).data;
    const pick = el(
      'select',
      { id: 'eval-file' },
      ...files.map((f) =>
        el('option', { value: f.name, text: f.error ? `${f.name} — unreadable` : `${f.name} — ${f.passed}/${f.samples} passed` }),
      ),
    );
    const filter = el(
      'select',
      { id: 'eval-filter' },
      el('option', { value: 'all', text: 'all' }),
      el('option', { value: 'failed', text: 'failed' }),
      el('option', { value: 'passed', text: 'passed' }),
    );
    const tbody = el('tbody');
    const detail = el('div', { id: 'eval-detail' });
    const st = status();
    root.append(
      el('p', {
        class: 'lead',
        text: 'HumanEval-style results: each sample, whether it passed, the program, and the judge’s reason. Use the arrow keys in the list.',
      }),
      el(
        'div',
        { class: 'row' },
        el('div', { class: 'field' }, el('label', { for: 'eval-file', text: 'Results file' }), pick),
        el('div', { class: 'field' }, el('label', { for: 'eval-filter', text: 'Show' }), filter),
      ),
      st.node,
      el(
        'div',
        { class: 'split' },
        el(
          'div',
          { class: 'card list' },
          el('table', { id: 'eval-rows' }, el('thead', {}, el('tr', {}, el('th', { text: 'task' }), el('th', { text: 'verdict' }))), tbody),
        ),
        detail,
      ),
    );
    if (!files.length) return st.set('No *_results.jsonl under the runs folder: tony eval humaneval --samples … writes one.');

    let rows: EvalRow[] = [];
    const show = (r: EvalRow, tr: HTMLElement) => {
      for (const x of tbody.querySelectorAll('tr')) x.setAttribute('aria-selected', String(x === tr));
      detail.replaceChildren(
        el('h2', {}, r.task_id, ' ', el('span', { class: r.passed ? 'tag ok' : 'tag bad', text: r.passed ? 'passed' : 'failed' })),
        el('p', { class: 'verdict mono', text: r.result }),
        // The program as the judge ran it: the prompt and suffix dimmed, the model's part bright.
        el(
          'pre',
          { class: 'code program' },
          el('span', { class: 'given', text: r.prompt ?? '' }),
          el('span', { class: 'completion', text: r.completion }),
          el('span', { class: 'given', text: r.suffix ?? '' }),
        ),
        r.test
          ? el('details', {}, el('summary', { text: 'The test' }), el('pre', { class: 'code', text: r.test }))
          : el('p', { class: 'muted', text: 'Start the studio with --problems <HumanEval file> to see the prompt and the test.' }),
      );
    };
    const draw = () => {
      const want = filter.value;
      tbody.replaceChildren();
      for (const r of rows) {
        if ((want === 'failed' && r.passed) || (want === 'passed' && !r.passed)) continue;
        const tr = el(
          'tr',
          { class: 'pick', tabindex: '0', 'data-task': r.task_id },
          el('td', { class: 'mono', text: r.task_id }),
          el('td', {}, el('span', { class: r.passed ? 'tag ok' : 'tag bad', text: r.passed ? 'pass' : 'fail' })),
        );
        tr.addEventListener('click', () => show(r, tr));
        tr.addEventListener('focus', () => show(r, tr));
        tr.addEventListener('keydown', (e) => {
          const next = e.key === 'ArrowDown' ? tr.nextElementSibling : e.key === 'ArrowUp' ? tr.previousElementSibling : null;
          if (next instanceof HTMLElement) {
            e.preventDefault();
            next.focus();
          }
        });
        tbody.append(tr);
      }
      st.set(`${rows.filter((r) => r.passed).length} of ${rows.length} passed`);
    };
    const load = async () => {
      try {
        rows = (await api<{ rows: EvalRow[] }>(`/api/evals/${pick.value.split('/').map(encodeURIComponent).join('/')}`)).rows;
        draw();
      } catch (err) {
        st.set((err as Error).message, true);
      }
    };
    pick.addEventListener('change', () => void load());
    filter.addEventListener('change', draw);
    await load();
  },
};
