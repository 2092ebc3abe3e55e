/**
 * Jukebox (PAPERS.md §5): a clip — procedural music or an uploaded WAV — encoded to codes at the
 * three VQ-VAE levels (hops 8, 32, 128) and decoded back through each level, heard, seen as a
 * spectrogram, with the codes drawn over time; and, when the model directory has priors, music
 * sampled top → middle → bottom under a timbre, key and tempo. The bundled chain (models/jukebox) is
 * listed first, then model directories from the runs folder; with neither, the page says what to train.
 */
import { api, busyRunner, el, field, fmt, type StudioPage, status } from '../page.ts';
import { type Clip, player } from '../player.ts';

const LEVELS = ['bottom', 'middle', 'top'] as const;
type Level = (typeof LEVELS)[number];

interface Models {
  runsDir: string | null;
  models: Array<{ name: string; priors: boolean }>;
  timbres: string[];
  train: string;
  /** The temperatures the bundled chain was judged at (docs/results/jukebox.md, session 10). */
  defaults: { temperature: number; upsamplerTemperature: number };
}

interface Encoded {
  sampleRate: number;
  samples: number;
  caption: string;
  original: Clip;
  levels: Record<Level, Clip & { hop: number; codebook: number; codes: number[]; scDb: number }>;
}

interface Sampled extends Clip {
  sampleRate: number;
  samples: number;
  codes: Record<Level, number[]>;
  codebooks: Record<Level, number>;
}

/**
 * Codes over time: one column per code, its height the code id over the codebook size. The canvas
 * keeps what it drew (data-codes, data-sum) for tests.
 */
function codesCanvas(level: string, codes: readonly number[], codebook: number): HTMLCanvasElement {
  const c = el('canvas', { class: 'codes', width: '720', height: '90', 'data-level': level, 'aria-label': `${level} codes over time` });
  const g = c.getContext('2d')!;
  g.fillStyle = '#1b2130';
  g.fillRect(0, 0, c.width, c.height);
  const w = c.width / Math.max(1, codes.length);
  codes.forEach((id, i) => {
    // Hue by id, so a repeated code reads as a repeated colour.
    g.fillStyle = `hsl(${Math.round((360 * id) / codebook)} 70% 60%)`;
    const y = (1 - (id + 1) / codebook) * (c.height - 2);
    g.fillRect(i * w, y, Math.max(1, w - (w > 3 ? 1 : 0)), 3);
  });
  c.dataset.codes = String(codes.length);
  c.dataset.sum = String(codes.reduce((a, v) => a + v, 0));
  return c;
}

function bytesToBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export const page: StudioPage = {
  id: 'jukebox',
  title: 'Jukebox',
  order: 52,
  async render(root) {
    const m = await api<Models>('/api/jukebox/models');
    root.append(
      el('p', {
        class: 'lead',
        text: 'Jukebox: a three-level VQ-VAE turns audio into codes (one per 8, 32 and 128 samples); each level decodes its own codes back to sound, coarser as the hop grows. Priors sample codes top-down under a timbre, key and tempo.',
      }),
    );
    if (m.models.length === 0) {
      root.append(
        el(
          'div',
          { class: 'notice', id: 'jukebox-none' },
          el('p', {
            text: m.runsDir
              ? `No Jukebox model directory (bottom/, middle/, top/) in the runs folder (${m.runsDir}). Train one, then reload:`
              : 'The studio was started without a runs folder (tony studio --runs <dir>), so there is no Jukebox model. Train one, then start the studio on its folder:',
          }),
          el('pre', { text: m.train }),
        ),
      );
      return;
    }
    const model = el(
      'select',
      { id: 'jukebox-model' },
      ...m.models.map((x) => el('option', { value: x.name, text: `${x.name}${x.priors ? ' (with priors)' : ''}` })),
    );
    const seed = el('input', { type: 'number', id: 'jukebox-seed', min: '0', step: '1', value: '7' });
    const seconds = el('input', { type: 'number', id: 'jukebox-seconds', min: '0.25', max: '10', step: '0.25', value: '3' });
    const file = el('input', { type: 'file', id: 'jukebox-file', accept: '.wav,audio/wav' });
    const encode = el('button', { class: 'primary', text: 'Encode the music clip', id: 'jukebox-encode' });
    const timbre = el(
      'select',
      { id: 'jukebox-timbre' },
      el('option', { value: '', text: 'any' }),
      ...m.timbres.map((t) => el('option', { value: t, text: t })),
    );
    const key = el('input', { type: 'text', id: 'jukebox-key', placeholder: 'any, e.g. D minor' });
    const tempo = el('input', { type: 'number', id: 'jukebox-tempo', min: '1', max: '400', placeholder: 'any' });
    const temperature = el('input', {
      type: 'number',
      id: 'jukebox-temperature',
      min: '0',
      max: '5',
      step: '0.05',
      value: String(m.defaults.temperature),
    });
    // Below 1 the upsamplers keep more of the top level's notes (docs/results/jukebox.md, sessions 4 and 7).
    const upTemperature = el('input', {
      type: 'number',
      id: 'jukebox-upsampler-temperature',
      min: '0',
      max: '5',
      step: '0.1',
      value: String(m.defaults.upsamplerTemperature),
      title: "the upsamplers' temperature; below 1 they keep more of the notes",
    });
    const sample = el('button', { class: 'primary', text: 'Sample', id: 'jukebox-sample' });
    const st = status();
    const encoded = el('div', { id: 'jukebox-encoded' });
    const sampled = el('div', { id: 'jukebox-sampled' });
    const noPriors = el('p', {
      class: 'muted',
      id: 'jukebox-no-priors',
      text: 'This model directory has no priors (prior-top/, prior-middle/, prior-bottom/): train them with tony train prior to sample.',
    });
    const sampleRow = el(
      'div',
      { class: 'row' },
      field('Timbre', timbre),
      field('Key', key),
      field('Tempo', tempo, 'bpm'),
      field('Temperature', temperature),
      field('Upsamplers', upTemperature, 'temperature'),
      sample,
    );
    root.append(
      el(
        'div',
        { class: 'row' },
        field('Model', model, 'a directory under the runs folder'),
        field('Music seed', seed),
        field('Seconds', seconds),
        encode,
      ),
      el('div', { class: 'row' }, field('Or encode a WAV', file, 'resampled to the models’ rate; at most 10 s')),
      el('h2', { text: 'Sample' }),
      sampleRow,
      noPriors,
      st.node,
      encoded,
      sampled,
    );
    const priorsShown = () => {
      const has = m.models.find((x) => x.name === model.value)?.priors ?? false;
      sampleRow.hidden = !has;
      noPriors.hidden = has;
    };
    model.addEventListener('change', priorsShown);
    priorsShown();

    const busy = busyRunner(st, [encode, sample]);
    const show = (r: Encoded) => {
      encoded.replaceChildren(
        el('h2', { text: 'Encoded and decoded' }),
        el('p', { class: 'muted', text: `${r.caption}: ${fmt(r.samples / r.sampleRate, 3)} s at ${r.sampleRate} Hz` }),
        el('div', { class: 'card' }, el('h3', { text: 'Original' }), player('original', r.original)),
        ...LEVELS.map((l) => {
          const x = r.levels[l];
          return el(
            'div',
            { class: 'card', 'data-level': l },
            el('h3', { text: `${l}: ${x.codes.length} codes (hop ${x.hop}), spectral convergence ${fmt(x.scDb, 3)} dB` }),
            codesCanvas(l, x.codes, x.codebook),
            player(l, x),
          );
        }),
      );
      st.set('');
    };
    const run = (body: Record<string, unknown>) =>
      busy('encoding…', async () => show(await api<Encoded>('/api/jukebox/encode', { model: model.value, ...body })));
    encode.addEventListener('click', () => void run({ source: `music:${seed.value}`, seconds: Number(seconds.value) }));
    file.addEventListener('change', () => {
      const f = file.files?.[0];
      if (f) void f.arrayBuffer().then((b) => run({ wav: bytesToBase64(new Uint8Array(b)) }));
    });
    sample.addEventListener(
      'click',
      () =>
        void busy('sampling top → middle → bottom…', async () => {
          const r = await api<Sampled>('/api/jukebox/sample', {
            model: model.value,
            ...(timbre.value ? { timbre: timbre.value } : {}),
            ...(key.value.trim() ? { key: key.value.trim() } : {}),
            ...(tempo.value ? { tempo: Number(tempo.value) } : {}),
            temperature: Number(temperature.value),
            ...(upTemperature.value ? { upsamplerTemperature: Number(upTemperature.value) } : {}),
            seconds: Number(seconds.value),
            seed: Number(seed.value),
          });
          sampled.replaceChildren(
            el('h2', { text: 'Sampled' }),
            player('sample', r),
            ...LEVELS.map((l) =>
              el(
                'div',
                { class: 'card' },
                el('h3', { text: `${l}: ${r.codes[l].length} codes` }),
                codesCanvas(l, r.codes[l], r.codebooks[l]),
              ),
            ),
          );
          st.set('');
        }),
    );
  },
};
