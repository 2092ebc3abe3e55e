/**
 * 3D: procedural captioned shapes meshed on the server (marching cubes on exact SDFs, vertex
 * colours, GLB), or any PLY / GLB / OBJ from disk, turnable with the mouse, touch or keyboard.
 * three.js draws: WebGL, glTF/PLY/OBJ loaders and orbit controls in one well-kept library.
 */
import * as THREE from 'three';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { OBJLoader } from 'three/examples/jsm/loaders/OBJLoader.js';
import { PLYLoader } from 'three/examples/jsm/loaders/PLYLoader.js';
import { busyRunner, el, field, type StudioPage, status } from '../page.ts';
import { createViewer } from '../viewer3d.ts';

export const page: StudioPage = {
  id: '3d',
  title: '3D',
  order: 60,
  render(root) {
    const caption = el('input', { type: 'text', value: 'a small red cube on top of a large blue sphere' });
    const grid = el('select', {}, ...[32, 64, 96, 128].map((g) => el('option', { value: String(g), text: `${g}³`, selected: g === 64 })));
    const mesh = el('button', { class: 'primary', text: 'Mesh it' });
    const random = el('button', { text: 'Random scene' });
    const file = el('input', { type: 'file', accept: '.ply,.glb,.obj' });
    const turn = el('input', { type: 'checkbox', id: 'turn', checked: true }) as HTMLInputElement;
    const left = el('button', { text: '⟲', 'aria-label': 'turn left' });
    const right = el('button', { text: '⟳', 'aria-label': 'turn right' });
    const canvas = el('canvas', {
      class: 'view3d',
      id: 'view3d',
      tabindex: '0',
      'aria-label': '3D view: drag to turn, wheel to zoom, arrow keys to pan',
    });
    const st = status();
    root.append(
      el('p', {
        class: 'lead',
        text: 'Captions name up to three objects (cube, sphere, cylinder, cone, torus…; colours; sizes; on top of, under, next to, in front of, behind). The server meshes the exact signed-distance field; drag to turn it.',
      }),
      el('div', { class: 'row' }, field('Caption', caption), field('Grid', grid), mesh, random),
      el(
        'div',
        { class: 'row' },
        field('Open a file', file, 'PLY, GLB or OBJ'),
        el('label', { for: 'turn', class: 'inline' }, turn, ' turntable'),
        left,
        right,
      ),
      st.node,
      canvas,
    );

    const viewer = createViewer(canvas, () => turn.checked);
    const show = (object: THREE.Object3D, what: string) => {
      st.set(`${what}: ${viewer.show(object).toLocaleString()} vertices`);
    };
    const fromGeometry = (g: THREE.BufferGeometry): THREE.Object3D => {
      const colors = Boolean(g.attributes.color);
      // PLYLoader indexes the faces it reads: no index means no faces, a point cloud.
      if (!g.index) {
        return new THREE.Points(g, new THREE.PointsMaterial({ size: 0.015, vertexColors: colors, color: colors ? '#ffffff' : '#8fb0ff' }));
      }
      if (!g.attributes.normal) g.computeVertexNormals();
      return new THREE.Mesh(
        g,
        new THREE.MeshStandardMaterial({ vertexColors: colors, color: colors ? '#ffffff' : '#8fb0ff', roughness: 0.6 }),
      );
    };
    const loadGlb = async (bytes: ArrayBuffer, what: string) => {
      const gltf = await new GLTFLoader().parseAsync(bytes, '');
      show(gltf.scene, what);
    };

    const busy = busyRunner(st, [mesh, random]);
    const meshCaption = () =>
      busy('meshing…', async () => {
        const res = await fetch('/api/shapes/mesh', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ caption: caption.value, grid: Number(grid.value) }),
        });
        if (!res.ok) throw new Error(((await res.json()) as { error: { message: string } }).error.message);
        await loadGlb(await res.arrayBuffer(), caption.value);
      });
    mesh.addEventListener('click', () => void meshCaption());
    caption.addEventListener('keydown', (e) => e.key === 'Enter' && void meshCaption());
    random.addEventListener(
      'click',
      () =>
        void busy('choosing…', async () => {
          const r = (await (await fetch(`/api/shapes/scene?seed=${Math.floor(Math.random() * 1e6)}&index=0`)).json()) as {
            caption: string;
          };
          caption.value = r.caption;
          await meshCaption();
        }),
    );
    file.addEventListener(
      'change',
      () =>
        void busy('reading…', async () => {
          const f = file.files?.[0];
          if (!f) return;
          const ext = f.name.toLowerCase().split('.').pop();
          if (ext === 'glb') await loadGlb(await f.arrayBuffer(), f.name);
          else if (ext === 'ply') show(fromGeometry(new PLYLoader().parse(await f.arrayBuffer())), f.name);
          else if (ext === 'obj') show(new OBJLoader().parse(await f.text()), f.name);
          else throw new Error(`${f.name}: open a .ply, .glb or .obj file`);
        }),
    );
    left.addEventListener('click', () => viewer.turn(-Math.PI / 8));
    right.addEventListener('click', () => viewer.turn(Math.PI / 8));

    void meshCaption();
    return () => viewer.dispose();
  },
};
