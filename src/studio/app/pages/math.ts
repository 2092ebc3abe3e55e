/**
 * Math: the GSM8K verifier pipeline (PAPERS.md §3) on the bundled models/math — a problem in, N
 * solutions sampled with the calculator forced, ranked by the verifier's score (its value at the
 * last token), with the value after every character drawn as a colour behind it: where along a
 * solution the verifier's belief that it ends right rises or falls.
 */
import { api, busyRunner, el, field, fmt, type StudioPage, status } from '../page.ts';

interface Candidate {
  completion: string;
  answer: string | null;
  correct: boolean | null;
  score: number;
  pieces: Array<{ text: string; value: number }>;
}

/**
 * The colour of a value: the verifier is trained toward 0 (wrong) and 1 (right), so the scale is
 * red at ≤ 0 through yellow to green at ≥ 1; values outside are clipped, the title keeps the number.
 */
export const valueColour = (v: number): string => `hsl(${Math.round(120 * Math.min(1, Math.max(0, v)))} 75% 82%)`;

export const page: StudioPage = {
  id: 'math',
  title: 'Math',
  order: 55,
  render(root) {
    const question = el('textarea', { rows: '4', spellcheck: 'false', class: 'wide', id: 'math-question' });
    const n = el(
      'select',
      { id: 'math-n' },
      ...[1, 4, 8, 16, 32].map((k) => el('option', { value: String(k), text: String(k), selected: k === 8 })),
    );
    const temperature = el('input', { type: 'number', min: '0', max: '2', step: '0.1', value: '0.7', id: 'math-temperature' });
    const pick = el('button', { text: 'A held-out problem', id: 'math-pick' });
    const solve = el('button', { class: 'primary', text: 'Sample and rank', id: 'math-solve' });
    const summary = el('p', { id: 'math-summary' });
    const list = el('ol', { id: 'math-candidates' });
    const st = status();
    const run = busyRunner(st, [pick, solve]);
    // The reference answer of the problem the button drew; cleared when the question is edited.
    let reference: string | undefined;
    question.addEventListener('input', () => (reference = undefined));

    pick.addEventListener('click', () =>
      run('drawing a problem…', async () => {
        const p = await api<{ question: string; answer: string }>(`/api/math/problem?seed=0&index=${Math.floor(Math.random() * 1000)}`);
        question.value = p.question;
        reference = p.answer;
        st.set(`reference answer: ${p.answer.split('\n').at(-1)}`);
      }),
    );
    solve.addEventListener('click', () =>
      run('sampling and scoring…', async () => {
        delete list.dataset.done;
        const t0 = performance.now();
        const r = await api<{ candidates: Candidate[]; majority: string | null; verifier: string }>('/api/math/solve', {
          question: question.value,
          ...(reference ? { answer: reference } : {}),
          n: Number(n.value),
          temperature: Number(temperature.value),
        });
        list.replaceChildren(...r.candidates.map(drawCandidate));
        const right = r.candidates.filter((c) => c.correct).length;
        summary.textContent =
          `${r.candidates.length} solutions ranked by the ${r.verifier}-level verifier; majority answer ${r.majority ?? '(none)'}` +
          (reference ? `; ${right} of ${r.candidates.length} right` : '');
        st.set(`done in ${fmt((performance.now() - t0) / 1000, 3)} s`);
        list.dataset.done = 'true';
      }),
    );

    root.append(
      el('p', {
        class: 'lead',
        text: 'A grade-school problem in, N solutions from the generator with the calculator forced, ranked by the verifier. Behind each character: the verifier’s value after it, from red (predicts wrong) to green (predicts right).',
      }),
      field('Problem', question),
      el('div', { class: 'row' }, field('Solutions', n), field('Temperature', temperature), pick, solve),
      el(
        'p',
        { class: 'muted' },
        'value: ',
        ...[0, 0.25, 0.5, 0.75, 1].map((v) =>
          el('span', { style: `background:${valueColour(v)};color:#111;padding:0 0.5em`, text: fmt(v, 2) }),
        ),
      ),
      st.node,
      summary,
      list,
    );
    question.value = 'Mia has 46 oranges. Then Mia harvests 7 more oranges. Mia sells every orange for $3. How many dollars does Mia get?';
  },
};

function drawCandidate(c: Candidate, rank: number): HTMLElement {
  const verdict = c.correct === null ? '' : c.correct ? ' ✓ right' : ' ✗ wrong';
  // Dark text on light colours: the value scale stays readable (the studio's pre.code is dark).
  const text = el('pre', {
    class: 'math-solution',
    style: 'white-space:pre-wrap;color:#111;background:#fff;padding:0.6rem;border-radius:6px;font:12.5px/1.7 ui-monospace,monospace',
  });
  for (const p of c.pieces)
    text.append(
      el('span', { style: `background:${valueColour(p.value)}`, 'data-value': String(p.value), title: fmt(p.value, 3), text: p.text }),
    );
  return el(
    'li',
    { class: 'card', 'data-score': String(c.score), 'data-rank': String(rank + 1) },
    el('p', {
      class: 'mono',
      text: `#${rank + 1} · score ${fmt(c.score, 3)} · answer ${c.answer ?? '(no ####)'}${verdict}`,
    }),
    text,
  );
}
