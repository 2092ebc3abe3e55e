/**
 * 3D: procedural captioned shapes meshed on the server (marching cubes on exact SDFs, vertex
 * colours, GLB), or any PLY / GLB / OBJ from disk, turnable with the mouse, touch or keyboard.
 * three.js draws: WebGL, glTF/PLY/OBJ loaders and orbit controls in one well-kept library.
 */
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { OBJLoader } from 'three/examples/jsm/loaders/OBJLoader.js';
import { PLYLoader } from 'three/examples/jsm/loaders/PLYLoader.js';
import { busyRunner, el, field, type StudioPage, status } from '../page.ts';

/** Radians per second of the turntable. */
const TURN_SPEED = 0.6;

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

    // preserveDrawingBuffer: the picture stays readable after a frame (screenshots, tests).
    const renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
    renderer.setPixelRatio(Math.min(2, window.devicePixelRatio));
    const scene = new THREE.Scene();
    scene.background = new THREE.Color('#1b2130');
    const camera = new THREE.PerspectiveCamera(40, 1, 0.01, 100);
    camera.position.set(2.2, 1.6, 2.6);
    scene.add(new THREE.HemisphereLight('#ffffff', '#445066', 1.6));
    const sun = new THREE.DirectionalLight('#ffffff', 1.8);
    sun.position.set(3, 5, 4);
    scene.add(sun);
    const controls = new OrbitControls(camera, canvas);
    controls.enableDamping = true;
    controls.listenToKeyEvents(canvas);
    const holder = new THREE.Group();
    scene.add(holder);

    const show = (object: THREE.Object3D, what: string) => {
      holder.clear();
      // Centre and scale to a unit box so every file sits in view.
      const box = new THREE.Box3().setFromObject(object);
      const size = box.getSize(new THREE.Vector3()).length() || 1;
      object.position.sub(box.getCenter(new THREE.Vector3()));
      const wrap = new THREE.Group().add(object);
      wrap.scale.setScalar(2 / size);
      holder.add(wrap);
      holder.rotation.set(0, 0, 0);
      let vertices = 0;
      object.traverse((o) => {
        const g = (o as THREE.Mesh).geometry as THREE.BufferGeometry | undefined;
        if (g?.attributes.position) vertices += g.attributes.position.count;
      });
      canvas.dataset.vertices = String(vertices);
      canvas.dataset.kind = object instanceof THREE.Points ? 'points' : 'mesh';
      st.set(`${what}: ${vertices.toLocaleString()} vertices`);
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
    left.addEventListener('click', () => (holder.rotation.y -= Math.PI / 8));
    right.addEventListener('click', () => (holder.rotation.y += Math.PI / 8));

    let last = performance.now();
    let frames = 0;
    let running = true;
    const frame = (now: number) => {
      if (!running) return;
      const w = canvas.clientWidth;
      const h = canvas.clientHeight;
      if (canvas.width !== Math.round(w * renderer.getPixelRatio()) || canvas.height !== Math.round(h * renderer.getPixelRatio())) {
        renderer.setSize(w, h, false);
        camera.aspect = w / Math.max(1, h);
        camera.updateProjectionMatrix();
      }
      if (turn.checked) holder.rotation.y += TURN_SPEED * Math.min(0.1, (now - last) / 1000);
      last = now;
      controls.update();
      renderer.render(scene, camera);
      canvas.dataset.angle = holder.rotation.y.toFixed(4);
      canvas.dataset.frames = String(++frames);
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    void meshCaption();
    return () => {
      running = false;
      controls.dispose();
      renderer.dispose();
    };
  },
};
