/** Home: what Tony is, every model kind the registry knows, and the models this studio loaded. */
import { el, type StudioPage } from '../page.ts';

export const page: StudioPage = {
  id: 'home',
  title: 'Home',
  order: 0,
  render(root, info) {
    root.append(
      el(
        'p',
        { class: 'lead' },
        'Tony defines, trains, samples, evaluates and serves generative models in TypeScript. Each model is traced into one ONNX graph per step — forward, backward and optimizer — and run by ONNX Runtime. This studio shows what the toolkit holds: the models it serves, training runs as they train, scaling sweeps, eval results, audio and 3D.',
      ),
      el('h2', { text: 'Models served here' }),
    );
    const served = el('div', { class: 'grid', id: 'served' });
    if (!info.models.length) served.append(el('p', { class: 'muted', text: 'No model loaded.' }));
    for (const m of info.models)
      served.append(
        el(
          'div',
          { class: 'card', 'data-model': m.id },
          el('strong', { text: m.id }),
          el('span', { class: 'muted', text: ` — ${m.kind}` }),
          el('p', { class: 'muted', text: m.role }),
          el('div', {}, ...m.capabilities.map((c) => el('span', { class: 'tag', text: c }))),
          el('p', { class: 'mono muted', text: `${m.provider}\n${m.dir}` }),
        ),
      );
    const kinds = el(
      'table',
      { id: 'kinds' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', { text: 'tony train' }),
          el('th', { text: 'checkpoint kind' }),
          el('th', { text: 'what it is' }),
          el('th', { text: 'can' }),
          el('th', { text: 'status here' }),
        ),
      ),
    );
    const body = el('tbody');
    for (const k of info.kinds) {
      const loaded = info.models.filter((m) => m.kind === k.kind);
      body.append(
        el(
          'tr',
          { 'data-kind': k.name },
          el('td', { class: 'mono', text: k.name }),
          el('td', { class: 'mono', text: k.kind }),
          el('td', { text: k.summary }),
          el('td', {}, ...k.capabilities.map((c) => el('span', { class: 'tag', text: c }))),
          el(
            'td',
            {},
            loaded.length
              ? el('span', { class: 'tag ok', text: `serving ${loaded.map((m) => m.id).join(', ')}` })
              : el('span', { class: 'muted', text: 'no model loaded' }),
          ),
        ),
      );
    }
    kinds.append(body);
    root.append(served, el('h2', { text: 'Model kinds in the registry' }), el('div', { class: 'card' }, kinds));
    root.append(
      el(
        'p',
        { class: 'muted' },
        `Runs folder: ${info.runsDir ?? 'none (start with tony studio --runs <dir>)'}. OpenAI-compatible API at `,
        el('code', { text: '/v1' }),
        '.',
      ),
    );
  },
};
