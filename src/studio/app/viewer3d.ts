/**
 * The studio's 3D viewer, shared by the 3D and Point-E pages: a three.js scene on a canvas with
 * orbit controls (mouse, touch, keyboard), an optional turntable, and `show` to put one object in
 * view centred and scaled to a unit box. The canvas carries what tests read: data-vertices,
 * data-kind ('points' or 'mesh'), data-angle and data-frames.
 */
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';

/** Radians per second of the turntable. */
const TURN_SPEED = 0.6;

export interface Viewer {
  /** Show `object` alone, centred and scaled to fit; returns its vertex count. */
  show(object: THREE.Object3D): number;
  /** Turn the shown object about the vertical axis. */
  turn(radians: number): void;
  dispose(): void;
}

export function createViewer(canvas: HTMLCanvasElement, turning: () => boolean): Viewer {
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
    if (turning()) holder.rotation.y += TURN_SPEED * Math.min(0.1, (now - last) / 1000);
    last = now;
    controls.update();
    renderer.render(scene, camera);
    canvas.dataset.angle = holder.rotation.y.toFixed(4);
    canvas.dataset.frames = String(++frames);
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);

  return {
    show(object) {
      holder.clear();
      // Centre and scale to a unit box so every object sits in view.
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
      return vertices;
    },
    turn(radians) {
      holder.rotation.y += radians;
    },
    dispose() {
      running = false;
      controls.dispose();
      renderer.dispose();
    },
  };
}
