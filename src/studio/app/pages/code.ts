/** Code: the playground (completion, infilling, streaming over the OpenAI routes), kept as it was. */
import { el, type StudioPage } from '../page.ts';

export const page: StudioPage = {
  id: 'code',
  title: 'Code',
  order: 10,
  render(root, info) {
    const model = info.models.find((m) => m.capabilities.includes('complete'));
    if (!model) {
      root.append(el('p', { class: 'status error', text: 'No text model is loaded: start the studio with --model <dir>.' }));
      return;
    }
    root.append(
      el('p', {
        class: 'lead',
        text: `Completion and fill-in-the-middle with ${model.id}, streamed from this server's /v1/completions. Ctrl+Enter generates.`,
      }),
      el('iframe', { class: 'playground', src: '/playground', title: `Playground for ${model.id}` }),
    );
  },
};
