/**
 * Code: the playground (completion, infilling, streaming over the OpenAI routes), kept as it was,
 * and the same model run in this tab on onnxruntime-web — the server's own graphs; once loaded it
 * completes with the server stopped.
 */
import { PageGpt } from '../gpt.ts';
import { el, field, fmt, type StudioPage, status } from '../page.ts';

export const page: StudioPage = {
  id: 'code',
  title: 'Code',
  order: 10,
  needs: 'complete',
  render(root, info) {
    const model = info.models.find((m) => m.capabilities.includes('complete'));
    if (!model) {
      root.append(el('p', { class: 'status error', text: 'No text model is loaded: start the studio with --model <dir>.' }));
      return;
    }
    const prompt = el('textarea', { rows: '5', spellcheck: 'false', class: 'wide' });
    prompt.value = 'def fibonacci(n):';
    const maxTokens = el('input', { type: 'number', min: '1', max: '256', step: '1', value: '32' });
    const load = el('button', { class: 'primary', text: 'Load the model into this tab' });
    const go = el('button', { text: 'Complete in this tab', disabled: true });
    const out = el('pre', { class: 'code', id: 'in-page-out' });
    const st = status();
    st.node.id = 'in-page-status';
    let gpt: PageGpt | undefined;
    load.addEventListener('click', async () => {
      load.disabled = true;
      st.set('fetching the graphs and weights…');
      try {
        const t0 = performance.now();
        gpt = await PageGpt.load();
        st.set(`loaded in ${fmt((performance.now() - t0) / 1000, 2)} s: onnxruntime-web on ${gpt.provider} runs it now, no server needed`);
        go.disabled = false;
        root.dataset.inPage = 'ready';
      } catch (err) {
        st.set(`could not load the model: ${(err as Error).message}`, true);
        load.disabled = false;
      }
    });
    go.addEventListener('click', async () => {
      if (!gpt) return;
      go.disabled = true;
      out.textContent = '';
      st.set('generating (greedy)…');
      try {
        const r = await gpt.complete(prompt.value, Number(maxTokens.value), (text) => (out.textContent = text));
        out.textContent = r.text;
        out.dataset.done = 'true';
        st.set(
          `${r.tokens.length} tokens in ${fmt(r.seconds, 3)} s (${fmt(r.tokens.length / r.seconds, 3)} tokens/s), greedy, in this tab on ${gpt.provider}`,
        );
      } catch (err) {
        st.set((err as Error).message, true);
      } finally {
        go.disabled = false;
      }
    });
    root.append(
      el('p', {
        class: 'lead',
        text: `Completion and fill-in-the-middle with ${model.id}, streamed from this server's /v1/completions. Ctrl+Enter generates.`,
      }),
      el('iframe', { class: 'playground', src: '/playground', title: `Playground for ${model.id}` }),
      el('h2', { text: 'In this tab' }),
      el(
        'div',
        { class: 'card' },
        el('p', {
          class: 'muted',
          text: `The same prefill and decode graphs the server runs, on onnxruntime-web in this page (WebGPU where the browser has it, else WebAssembly), with ${model.id}'s weights: greedy completion without the server.`,
        }),
        field('Prompt', prompt),
        el('div', { class: 'row' }, field('Max tokens', maxTokens), load, go),
        st.node,
        out,
      ),
    );
  },
};
