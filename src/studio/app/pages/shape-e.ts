/**
 * Shap-E (PAPERS.md §8): a caption in; one latent sampled by the bundled models/shape-e out, shown
 * through both of its decoders side by side — the NeRF render (one view, volume rendered) and the
 * STF mesh (marching cubes on its signed distance, vertex colours), both turnable: the mesh in 3D,
 * the NeRF by re-rendering the same latent from the side the slider names (/api/shape-e/render).
 */
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { api, busyRunner, el, field, fmt, type StudioPage, status } from '../page.ts';
import { createViewer } from '../viewer3d.ts';

interface ModelInfo {
  model: string;
  available: boolean;
  train: string;
}

interface Sample {
  nerf: string;
  glb: string;
  vertices: number;
  faces: number;
  watertight: boolean;
  latent: string;
  seconds: { sample: number; nerf: number; mesh: number };
}

export const page: StudioPage = {
  id: 'shape-e',
  title: 'Shap-E',
  order: 63,
  async render(root) {
    const info = await api<ModelInfo>('/api/shape-e/model');
    const caption = el('input', { type: 'text', id: 'shape-e-caption', value: 'a large red torus' });
    const guidance = el('input', { type: 'number', id: 'shape-e-guidance', min: '0', max: '100', step: '0.5', value: '3' });
    const steps = el('input', { type: 'number', id: 'shape-e-steps', min: '1', max: '256', step: '1', value: '64' });
    const seed = el('input', { type: 'number', id: 'shape-e-seed', min: '0', step: '1', value: '0' });
    const grid = el(
      'select',
      { id: 'shape-e-grid' },
      ...[32, 64, 96, 128].map((g) => el('option', { value: String(g), text: `${g}³`, selected: g === 64 })),
    );
    // the NeRF render's side: 128² is the default, smaller renders answer in a fraction of the time
    const size = el(
      'select',
      { id: 'shape-e-size' },
      ...[32, 64, 128, 256].map((n) => el('option', { value: String(n), text: `${n}²`, selected: n === 128 })),
    );
    const go = el('button', { class: 'primary', text: 'Sample', id: 'shape-e-go' });
    const turn = el('input', { type: 'checkbox', id: 'shape-e-turn', checked: true }) as HTMLInputElement;
    // the NeRF's side, in degrees about the vertical axis (the sample is drawn from 30°)
    const azimuth = el('input', {
      type: 'range',
      id: 'shape-e-azimuth',
      min: '0',
      max: '345',
      step: '15',
      value: '30',
      disabled: true,
      'aria-label': 'NeRF view azimuth',
    }) as HTMLInputElement;
    const azimuthText = el('span', { id: 'shape-e-azimuth-text', text: '30°' });
    // the NeRF image fills the same box as the mesh's canvas (style.css's canvas.view3d is for canvases),
    // its pixels kept sharp: a 32² render should look like 32² pixels, not a blur
    const nerf = el('img', {
      id: 'shape-e-nerf',
      class: 'view3d',
      alt: 'the NeRF render of the latent',
      style: 'width:100%;height:480px;max-height:70vw;object-fit:contain;image-rendering:pixelated;border-radius:8px;background:#fff',
    });
    const meshCanvas = el('canvas', { class: 'view3d', id: 'shape-e-mesh', tabindex: '0', 'aria-label': 'its STF mesh: drag to turn' });
    const st = status();
    root.append(
      el('p', {
        class: 'lead',
        text: 'Shap-E: a diffusion model samples a latent for the caption; the latent is the weights of an MLP that answers density, colour and signed distance, so it renders as a NeRF (left) and meshes by marching cubes (right).',
      }),
      info.available
        ? el(
            'div',
            { class: 'row' },
            field('Caption', caption),
            field('Guidance', guidance, '1 = none'),
            field('Steps', steps),
            field('Seed', seed),
            field('Mesh grid', grid),
            field('NeRF size', size),
            go,
          )
        : el(
            'div',
            { class: 'notice', id: 'shape-e-none' },
            el('p', { text: `No Shap-E model at ${info.model}. Train one, then restart the studio:` }),
            el('pre', { text: info.train }),
          ),
      el('label', { for: 'shape-e-turn', class: 'inline' }, turn, ' turntable'),
      el('label', { for: 'shape-e-azimuth', class: 'inline' }, ' NeRF view ', azimuth, ' ', azimuthText),
      st.node,
      el(
        'div',
        { class: 'pair3d' },
        el('figure', {}, nerf, el('figcaption', { text: 'NeRF: volume rendering, 64 coarse + 128 fine samples per ray' })),
        el('figure', {}, meshCanvas, el('figcaption', { text: 'STF: marching cubes on the signed distance, vertex colours' })),
      ),
    );
    const meshView = createViewer(meshCanvas, () => turn.checked);
    const busy = busyRunner(st, [go, azimuth]);
    // the latest sample's latent and NeRF size: the slider re-renders that latent
    let shown: { latent: string; size: number } | undefined;
    const sample = () =>
      busy('sampling…', async () => {
        const s = await api<Sample>('/api/shape-e/sample', {
          caption: caption.value,
          guidance: Number(guidance.value),
          steps: Number(steps.value),
          seed: Number(seed.value),
          grid: Number(grid.value),
          size: Number(size.value),
        });
        nerf.setAttribute('src', `data:image/png;base64,${s.nerf}`);
        shown = { latent: s.latent, size: Number(size.value) };
        azimuth.value = '30';
        azimuthText.textContent = '30°';
        nerf.dataset.azimuth = '30';
        const bytes = Uint8Array.from(atob(s.glb), (c) => c.charCodeAt(0));
        const gltf = await new GLTFLoader().parseAsync(bytes.buffer, '');
        meshView.show(gltf.scene);
        meshCanvas.dataset.watertight = String(s.watertight);
        st.set(
          `latent in ${fmt(s.seconds.sample, 3)} s; NeRF in ${fmt(s.seconds.nerf, 3)} s; mesh of ${s.vertices.toLocaleString()} vertices, ${s.faces} faces (${s.watertight ? 'watertight' : 'not watertight'}) in ${fmt(s.seconds.mesh, 3)} s`,
        );
      });
    const turnNerf = () =>
      busy('rendering…', async () => {
        if (!shown) return;
        const deg = Number(azimuth.value);
        const r = await api<{ nerf: string; seconds: number }>('/api/shape-e/render', {
          latent: shown.latent,
          azimuth: deg,
          size: shown.size,
        });
        nerf.setAttribute('src', `data:image/png;base64,${r.nerf}`);
        nerf.dataset.azimuth = String(deg);
        st.set(`NeRF from ${deg}° in ${fmt(r.seconds, 3)} s`);
      });
    azimuth.addEventListener('input', () => (azimuthText.textContent = `${azimuth.value}°`));
    azimuth.addEventListener('change', () => void turnNerf());
    go.addEventListener('click', () => void sample());
    caption.addEventListener('keydown', (e) => e.key === 'Enter' && void sample());
    return () => meshView.dispose();
  },
};
