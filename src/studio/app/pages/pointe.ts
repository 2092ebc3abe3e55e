/**
 * Point-E (PAPERS.md §7): a caption (or, for an image-conditioned run, a rendered view) in, a
 * coloured point cloud sampled by a base model from a run under the runs folder, and that cloud
 * meshed by the bundled SDF model (models/pointe/sdf) — both turnable in 3D. No base model is bundled: without one in the runs folder the page says so and
 * shows the command that trains one.
 */
import * as THREE from 'three';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { api, busyRunner, el, field, fmt, type StudioPage, status } from '../page.ts';
import { createViewer } from '../viewer3d.ts';

interface Models {
  runsDir: string | null;
  runs: string[];
  /** What each run is conditioned on: 'text', 'image' or 'image-pooled'. */
  conds: Record<string, string>;
  sdf: boolean;
  train: string;
}

interface Sample {
  points: number;
  xyz: number[];
  rgb: number[];
  seconds: number;
}

/** A three.js point cloud of flat xyz and rgb arrays (colours in [0, 1]). */
export function pointsObject(xyz: readonly number[], rgb: readonly number[]): THREE.Points {
  const g = new THREE.BufferGeometry();
  g.setAttribute('position', new THREE.Float32BufferAttribute(xyz, 3));
  g.setAttribute('color', new THREE.Float32BufferAttribute(rgb, 3));
  return new THREE.Points(g, new THREE.PointsMaterial({ size: 0.05, vertexColors: true }));
}

export const page: StudioPage = {
  id: 'pointe',
  title: 'Point-E',
  order: 62,
  async render(root) {
    const models = await api<Models>('/api/pointe/models');
    const caption = el('input', { type: 'text', id: 'pointe-caption', value: 'a small red cube on top of a large blue sphere' });
    const run = el('select', { id: 'pointe-run' }, ...models.runs.map((r) => el('option', { value: r, text: r })));
    const guidance = el('input', { type: 'number', id: 'pointe-guidance', min: '0', max: '100', step: '0.5', value: '3' });
    const steps = el('input', { type: 'number', id: 'pointe-steps', min: '1', max: '256', step: '1', value: '64' });
    const seed = el('input', { type: 'number', id: 'pointe-seed', min: '0', step: '1', value: '0' });
    const grid = el(
      'select',
      { id: 'pointe-grid' },
      ...[32, 64, 96, 128].map((g) => el('option', { value: String(g), text: `${g}³`, selected: g === 64 })),
    );
    // an image-conditioned run takes a rendered view (a PNG) in place of the caption
    const image = el('input', { type: 'file', id: 'pointe-image', accept: 'image/png' }) as HTMLInputElement;
    const preview = el('img', {
      id: 'pointe-image-preview',
      alt: 'the view the cloud is drawn from',
      style: 'height:48px;image-rendering:pixelated',
    });
    const captionField = field('Caption', caption);
    const imageField = field('View (PNG)', image, 'a render, e.g. tony shapes generate --views 1');
    imageField.append(preview);
    const isImageRun = () => (models.conds[run.value] ?? 'text') !== 'text';
    const showCondition = () => {
      // style, not `hidden`: the stylesheet's display for .field would override the attribute
      captionField.style.display = isImageRun() ? 'none' : '';
      imageField.style.display = isImageRun() ? '' : 'none';
    };
    run.addEventListener('change', showCondition);
    let imageB64: string | undefined;
    image.addEventListener('change', async () => {
      const f = image.files?.[0];
      if (!f) return;
      const bytes = new Uint8Array(await f.arrayBuffer());
      let bin = '';
      for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      imageB64 = btoa(bin);
      preview.setAttribute('src', `data:image/png;base64,${imageB64}`);
    });
    const go = el('button', { class: 'primary', text: 'Sample and mesh', id: 'pointe-go' });
    const turn = el('input', { type: 'checkbox', id: 'pointe-turn', checked: true }) as HTMLInputElement;
    const cloudCanvas = el('canvas', {
      class: 'view3d',
      id: 'pointe-cloud',
      tabindex: '0',
      'aria-label': 'the sampled point cloud: drag to turn',
    });
    const meshCanvas = el('canvas', { class: 'view3d', id: 'pointe-mesh', tabindex: '0', 'aria-label': 'its mesh: drag to turn' });
    const st = status();
    const none = models.runs.length === 0;
    root.append(
      el('p', {
        class: 'lead',
        text: 'Point-E: a transformer denoises a coloured point cloud for the caption, or for the rendered view an image-conditioned run takes (Karras Heun steps, classifier-free guidance), and the SDF model turns the cloud into a mesh coloured from its nearest points (closed when the cloud outlines a solid).',
      }),
      none
        ? el(
            'div',
            { class: 'notice', id: 'pointe-none' },
            el('p', {
              text: models.runsDir
                ? `No Point-E base model in the runs folder (${models.runsDir}). Train one (about an hour of one core at the small preset), then reload:`
                : 'The studio was started without a runs folder (tony studio --runs <dir>), so there is no Point-E base model to sample. Train one, then start the studio on its folder:',
            }),
            el('pre', { text: models.train }),
          )
        : el(
            'div',
            { class: 'row' },
            field('Model', run, 'a run under the runs folder'),
            captionField,
            imageField,
            field('Guidance', guidance, '1 = none'),
            field('Steps', steps),
            field('Seed', seed),
            field('Mesh grid', grid),
            go,
          ),
      ...(models.sdf ? [] : [el('p', { class: 'status error', text: 'No SDF model at models/pointe/sdf: clouds are not meshed.' })]),
      el('label', { for: 'pointe-turn', class: 'inline' }, turn, ' turntable'),
      st.node,
      el(
        'div',
        { class: 'pair3d' },
        el('figure', {}, cloudCanvas, el('figcaption', { text: 'the sampled cloud' })),
        el('figure', {}, meshCanvas, el('figcaption', { text: 'its mesh (SDF model, marching cubes, nearest-point colours)' })),
      ),
    );
    const cloudView = createViewer(cloudCanvas, () => turn.checked);
    const meshView = createViewer(meshCanvas, () => turn.checked);
    showCondition();
    const busy = busyRunner(st, [go]);
    const sample = () =>
      busy('sampling…', async () => {
        if (isImageRun() && !imageB64) throw new Error('Choose a view (a PNG) for this image-conditioned run.');
        const s = await api<Sample>('/api/pointe/sample', {
          run: run.value,
          ...(isImageRun() ? { image: imageB64 } : { caption: caption.value }),
          guidance: Number(guidance.value),
          steps: Number(steps.value),
          seed: Number(seed.value),
        });
        cloudView.show(pointsObject(s.xyz, s.rgb));
        // The positions drawn, for the test: the page shows exactly the cloud it was sent.
        cloudCanvas.dataset.sum = String(s.xyz.reduce((a, v) => a + v, 0));
        st.set(`${s.points} points in ${fmt(s.seconds, 3)} s; meshing…`);
        if (!models.sdf) return;
        const res = await fetch('/api/pointe/mesh', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ xyz: s.xyz, rgb: s.rgb, grid: Number(grid.value) }),
        });
        if (!res.ok) throw new Error(((await res.json()) as { error: { message: string } }).error.message);
        const faces = res.headers.get('X-Faces');
        const watertight = res.headers.get('X-Watertight') === 'true';
        const gltf = await new GLTFLoader().parseAsync(await res.arrayBuffer(), '');
        const vertices = meshView.show(gltf.scene);
        meshCanvas.dataset.watertight = String(watertight);
        st.set(
          `${s.points} points in ${fmt(s.seconds, 3)} s; mesh of ${vertices.toLocaleString()} vertices, ${faces} faces, ${watertight ? 'watertight' : 'not watertight'}`,
        );
      });
    go.addEventListener('click', () => void sample());
    caption.addEventListener('keydown', (e) => e.key === 'Enter' && void sample());
    return () => {
      cloudView.dispose();
      meshView.dispose();
    };
  },
};
