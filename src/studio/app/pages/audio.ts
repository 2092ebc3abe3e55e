/**
 * Audio: clips — procedural music, or the utterances of the corpus the studio was started with —
 * with their spectrograms, played through Web Audio with a level meter; and a clip's magnitude
 * turned back into sound by Griffin-Lim (plain or fast) or by a vocoder model (capability 'vocode')
 * when the server loaded one, with the spectral convergence of the result against the original.
 */
import { api, busyRunner, el, field, fmt, type StudioPage, status } from '../page.ts';
import { type Clip, player } from '../player.ts';

export const page: StudioPage = {
  id: 'audio',
  title: 'Audio',
  order: 50,
  async render(root, info) {
    const vocoder = info.models.find((m) => m.capabilities.includes('vocode'));
    const corpus = info.audioDir
      ? (await api<{ data: Array<{ id: string; text: string; seconds?: number }> }>('/api/audio/corpus')).data
      : [];
    const source = el(
      'select',
      {},
      el('option', { value: 'music', text: 'procedural music (by seed)' }),
      ...corpus.map((e) =>
        el('option', { value: `corpus:${e.id}`, text: `${e.id}${e.seconds ? ` (${fmt(e.seconds, 2)} s)` : ''}: ${e.text.slice(0, 60)}` }),
      ),
    );
    const seed = el('input', { type: 'number', min: '0', step: '1', value: '7' });
    const seconds = el('input', { type: 'number', min: '0.5', max: '10', step: '0.5', value: '4' });
    const method = el(
      'select',
      {},
      vocoder ? el('option', { value: 'vocoder', text: `vocoder: ${vocoder.id}` }) : null,
      el('option', { value: 'griffin-lim', text: 'Griffin-Lim' }),
      el('option', { value: 'fast-griffin-lim', text: 'fast Griffin-Lim (momentum 0.99)' }),
    );
    const iters = el('input', { type: 'number', min: '0', max: '200', step: '1', value: '32' });
    const make = el('button', { class: 'primary', text: 'Make clip' });
    const invert = el('button', { text: 'Invert its spectrogram' });
    const st = status();
    const original = el('div', { id: 'original' });
    const inverted = el('div', { id: 'inverted' });
    const musicFields = el('div', { class: 'row' }, field('Seed', seed), field('Seconds', seconds));
    root.append(
      el('p', {
        class: 'lead',
        text: `Clips at 16 kHz: procedural music (melody, chords, bass)${info.audioDir ? ` or the corpus in ${info.audioDir}` : ' (start with --audio <dir> to add a speech corpus)'}. Inversion keeps only the STFT magnitude and rebuilds the waveform${vocoder ? `, by the ${vocoder.id} vocoder or Griffin-Lim` : ' by Griffin-Lim (start with --vocoder <dir> to add a vocoder model)'}.`,
      }),
      el('div', { class: 'row' }, field('Source', source), musicFields, make),
      el('div', { class: 'row' }, field('Method', method), field('Iterations', iters, 'Griffin-Lim'), invert),
      st.node,
      el(
        'div',
        { class: 'pair' },
        el('div', { class: 'card' }, el('h2', { text: 'Original' }), original),
        el('div', { class: 'card' }, el('h2', { text: 'Reconstructed' }), inverted),
      ),
    );
    const sourceValue = () => (source.value === 'music' ? `music:${seed.value}` : source.value);
    source.addEventListener('change', () => {
      musicFields.hidden = source.value !== 'music';
      void makeClip();
    });
    const busy = busyRunner(st, [make, invert]);
    const makeClip = () =>
      busy('loading…', async () => {
        const c = await api<Clip & { caption: string }>(
          `/api/audio/clip?source=${encodeURIComponent(sourceValue())}&seconds=${encodeURIComponent(seconds.value)}`,
        );
        original.replaceChildren(el('p', { class: 'muted', text: c.caption }), player('original', c));
        inverted.replaceChildren();
        st.set('');
      });
    make.addEventListener('click', () => void makeClip());
    invert.addEventListener(
      'click',
      () =>
        void busy('inverting…', async () => {
          const r = await api<Clip & { scDb: number; elapsedS: number; method: string; vocoder?: string }>('/api/audio/invert', {
            source: sourceValue(),
            seconds: Number(seconds.value),
            method: method.value,
            iters: Number(iters.value),
          });
          const what = r.vocoder ? `vocoder ${r.vocoder}` : `${r.method}, ${iters.value} iterations`;
          inverted.replaceChildren(
            el('p', {
              class: 'muted',
              id: 'inversion-result',
              text: `${what}: spectral convergence ${fmt(r.scDb, 3)} dB in ${fmt(r.elapsedS, 2)} s`,
            }),
            player('reconstructed', r),
          );
          st.set('');
        }),
    );
    await makeClip();
  },
};
