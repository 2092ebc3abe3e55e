/**
 * A software renderer for thumbnails, Point-E's image conditioning and tests: triangle meshes by
 * z-buffered rasterisation (perspective-correct interpolation of vertex colours and normals),
 * SDFs by sphere tracing, and point clouds as shaded sphere splats — all with the same pinhole
 * cameras and the same lighting, so their silhouettes and shading agree.
 *
 * Lighting is Lambertian with two directional lights fixed to the camera (a key light from the
 * upper left and a weak fill from the right) plus ambient, applied to sRGB colours directly — a
 * look, not a physical model. Surfaces are lit from both sides so open meshes still read.
 */
import { PNG } from 'pngjs';
import { shapeError } from '../errors.ts';
import { bounds, type Mesh, type PointCloud, vertexNormals } from './mesh.ts';
import type { Field, Vec3 } from './sdf.ts';

/** A pinhole camera looking from `eye` at `target`; `fovY` is the vertical field of view in degrees. */
export interface Camera {
  eye: Vec3;
  target: Vec3;
  up: Vec3;
  fovY: number;
  width: number;
  height: number;
}

/** An RGB image with per-pixel coverage: rgb (H, W, 3) and alpha (H, W), 8-bit. */
export interface Image {
  width: number;
  height: number;
  rgb: Uint8Array;
  alpha: Uint8Array;
}

export interface RenderOptions {
  /** Background colour, sRGB in [0, 1] (default white, as Point-E's conditioning views). */
  background?: Vec3;
  /** Render at this many samples per pixel side and box-filter down (default 1). */
  supersample?: number;
  /** Surface colour where the input has none. */
  defaultColor?: Vec3;
}

const AMBIENT = 0.35;
const KEY = { dir: normalize([-0.5, 0.6, 0.62]), weight: 0.6 }; // camera space: up-left, toward viewer
const FILL = { dir: normalize([0.7, 0.1, 0.7]), weight: 0.2 };
const DEFAULT_COLOR: Vec3 = [0.7, 0.7, 0.7];

function normalize(v: Vec3): Vec3 {
  const l = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / l, v[1] / l, v[2] / l];
}
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/** Camera frame: forward f, right r, up u (orthonormal), and the image-plane half-extents. */
interface Frame {
  eye: Vec3;
  f: Vec3;
  r: Vec3;
  u: Vec3;
  tanY: number;
  tanX: number;
  width: number;
  height: number;
  /** Key and fill light directions in world space. */
  lights: Array<{ dir: Vec3; weight: number }>;
}

function frameOf(cam: Camera, scale: number): Frame {
  if (!(cam.fovY > 0 && cam.fovY < 180)) throw shapeError(`camera fovY must be in (0, 180) degrees, got ${cam.fovY}`);
  if (!(Number.isInteger(cam.width) && Number.isInteger(cam.height) && cam.width > 0 && cam.height > 0)) {
    throw shapeError(`image size must be positive integers, got ${cam.width}×${cam.height}`);
  }
  const view: Vec3 = [cam.target[0] - cam.eye[0], cam.target[1] - cam.eye[1], cam.target[2] - cam.eye[2]];
  if (Math.hypot(...view) === 0)
    throw shapeError(`camera eye and target coincide at ${JSON.stringify(cam.eye)}`, 'move the eye away from the target');
  const f = normalize(view);
  const r = normalize(cross(f, cam.up));
  if (!Number.isFinite(r[0]) || Math.hypot(...cross(f, cam.up)) < 1e-9)
    throw shapeError('camera up vector is parallel to the view direction', 'pick another `up`');
  const u = cross(r, f);
  const tanY = Math.tan((cam.fovY * Math.PI) / 360);
  const width = cam.width * scale;
  const height = cam.height * scale;
  const toWorld = (d: Vec3): Vec3 => normalize([0, 1, 2].map((k) => d[0] * r[k]! + d[1] * u[k]! + d[2] * -f[k]!) as Vec3);
  return {
    eye: cam.eye,
    f,
    r,
    u,
    tanY,
    tanX: (tanY * width) / height,
    width,
    height,
    lights: [KEY, FILL].map((l) => ({ dir: toWorld(l.dir), weight: l.weight })),
  };
}

/**
 * Shade a surface point with unit normal n seen along view direction v: colour × (ambient + Σ
 * lights), two-sided (back faces are flipped toward the viewer so open surfaces are still lit).
 */
function shade(
  fr: Frame,
  nx: number,
  ny: number,
  nz: number,
  vx: number,
  vy: number,
  vz: number,
  color: ArrayLike<number>,
  out: Float32Array,
  o: number,
): void {
  const s = nx * vx + ny * vy + nz * vz > 0 ? -1 : 1;
  let light = AMBIENT;
  for (const l of fr.lights) light += l.weight * Math.max(0, s * (nx * l.dir[0] + ny * l.dir[1] + nz * l.dir[2]));
  out[o] = color[0]! * light;
  out[o + 1] = color[1]! * light;
  out[o + 2] = color[2]! * light;
}

/** A framebuffer at supersampled resolution: colour, depth along the view axis, coverage. */
interface Target {
  color: Float32Array;
  depth: Float32Array;
  frame: Frame;
}

function makeTarget(cam: Camera, opts: RenderOptions): Target {
  const ss = opts.supersample ?? 1;
  if (!(Number.isInteger(ss) && ss >= 1 && ss <= 8)) throw shapeError(`supersample must be an integer in 1..8, got ${ss}`);
  const frame = frameOf(cam, ss);
  const n = frame.width * frame.height;
  return { color: new Float32Array(3 * n), depth: new Float32Array(n).fill(Infinity), frame };
}

/** Box-filter the supersampled target down and composite over the background. */
function resolve(t: Target, cam: Camera, opts: RenderOptions): Image {
  const ss = opts.supersample ?? 1;
  const bg = opts.background ?? [1, 1, 1];
  const { width, height } = cam;
  const rgb = new Uint8Array(3 * width * height);
  const alpha = new Uint8Array(width * height);
  const W = t.frame.width;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let cover = 0;
      const acc = [0, 0, 0];
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const i = (y * ss + sy) * W + (x * ss + sx);
          const hit = t.depth[i]! < Infinity;
          if (hit) cover++;
          for (let k = 0; k < 3; k++) acc[k]! += hit ? t.color[3 * i + k]! : bg[k]!;
        }
      }
      const o = y * width + x;
      for (let k = 0; k < 3; k++) rgb[3 * o + k] = Math.round(255 * Math.min(1, Math.max(0, acc[k]! / (ss * ss))));
      alpha[o] = Math.round((255 * cover) / (ss * ss));
    }
  }
  return { width, height, rgb, alpha };
}

/** Project a world point: pixel coordinates (continuous, pixel centres at +0.5) and view depth. */
function project(fr: Frame, x: number, y: number, z: number, out: Float64Array, o: number): void {
  const dx = x - fr.eye[0],
    dy = y - fr.eye[1],
    dz = z - fr.eye[2];
  const zc = dx * fr.f[0] + dy * fr.f[1] + dz * fr.f[2];
  const xc = (dx * fr.r[0] + dy * fr.r[1] + dz * fr.r[2]) / (zc * fr.tanX);
  const yc = (dx * fr.u[0] + dy * fr.u[1] + dz * fr.u[2]) / (zc * fr.tanY);
  out[o] = ((xc + 1) / 2) * fr.width;
  out[o + 1] = ((1 - yc) / 2) * fr.height;
  out[o + 2] = zc;
}

/** The unit ray direction through pixel coordinates (px, py), written to out[0..2]. */
function rayDir(fr: Frame, px: number, py: number, out: Float64Array): void {
  const xc = ((2 * px) / fr.width - 1) * fr.tanX;
  const yc = (1 - (2 * py) / fr.height) * fr.tanY;
  const dx = fr.f[0] + xc * fr.r[0] + yc * fr.u[0];
  const dy = fr.f[1] + xc * fr.r[1] + yc * fr.u[1];
  const dz = fr.f[2] + xc * fr.r[2] + yc * fr.u[2];
  const inv = 1 / Math.sqrt(dx * dx + dy * dy + dz * dz);
  out[0] = dx * inv;
  out[1] = dy * inv;
  out[2] = dz * inv;
}

// ---------------------------------------------------------------------------------------------
// Meshes

/** Near-plane distance: triangles with a vertex closer than this are skipped (no clipping). */
const NEAR = 1e-3;

/**
 * Rasterise a triangle mesh with a z-buffer. Pixel centres are sampled (top-left convention
 * irrelevant here since edges are shared exactly); colours and normals are interpolated
 * perspective-correctly.
 *
 *   const img = renderMesh(mesh, orbitCameras(1, { size: 256 })[0]!);
 */
export function renderMesh(mesh: Mesh, cam: Camera, opts: RenderOptions = {}): Image {
  const t = makeTarget(cam, opts);
  const fr = t.frame;
  const p = mesh.positions;
  const f = mesh.indices;
  const normals = vertexNormals(mesh);
  const scr = new Float64Array(p.length);
  for (let i = 0; i < p.length; i += 3) project(fr, p[i]!, p[i + 1]!, p[i + 2]!, scr, i);
  const def = opts.defaultColor ?? DEFAULT_COLOR;
  const col = [0, 0, 0];
  const ray = new Float64Array(3);
  const W = fr.width,
    H = fr.height;
  for (let tri = 0; tri < f.length; tri += 3) {
    const a = 3 * f[tri]!,
      b = 3 * f[tri + 1]!,
      c = 3 * f[tri + 2]!;
    const za = scr[a + 2]!,
      zb = scr[b + 2]!,
      zc = scr[c + 2]!;
    if (za < NEAR || zb < NEAR || zc < NEAR) continue;
    const ax = scr[a]!,
      ay = scr[a + 1]!,
      bx = scr[b]!,
      by = scr[b + 1]!,
      cx = scr[c]!,
      cy = scr[c + 1]!;
    const area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
    if (area === 0) continue;
    const x0 = Math.max(0, Math.ceil(Math.min(ax, bx, cx) - 0.5));
    const x1 = Math.min(W - 1, Math.floor(Math.max(ax, bx, cx) - 0.5));
    const y0 = Math.max(0, Math.ceil(Math.min(ay, by, cy) - 0.5));
    const y1 = Math.min(H - 1, Math.floor(Math.max(ay, by, cy) - 0.5));
    const iza = 1 / za,
      izb = 1 / zb,
      izc = 1 / zc;
    for (let y = y0; y <= y1; y++) {
      const py = y + 0.5;
      for (let x = x0; x <= x1; x++) {
        const px = x + 0.5;
        // Screen-space barycentrics, sign-normalised by the triangle's area (either winding).
        const w0 = ((bx - px) * (cy - py) - (by - py) * (cx - px)) / area;
        const w1 = ((cx - px) * (ay - py) - (cy - py) * (ax - px)) / area;
        const w2 = 1 - w0 - w1;
        if (w0 < 0 || w1 < 0 || w2 < 0) continue;
        // Perspective-correct: 1/z is affine in screen space.
        const iz = w0 * iza + w1 * izb + w2 * izc;
        const z = 1 / iz;
        const o = y * W + x;
        if (z >= t.depth[o]!) continue;
        t.depth[o] = z;
        const q0 = (w0 * iza) / iz,
          q1 = (w1 * izb) / iz,
          q2 = (w2 * izc) / iz;
        let nx = q0 * normals[a]! + q1 * normals[b]! + q2 * normals[c]!;
        let ny = q0 * normals[a + 1]! + q1 * normals[b + 1]! + q2 * normals[c + 1]!;
        let nz = q0 * normals[a + 2]! + q1 * normals[b + 2]! + q2 * normals[c + 2]!;
        const inv = 1 / (Math.sqrt(nx * nx + ny * ny + nz * nz) || 1);
        nx *= inv;
        ny *= inv;
        nz *= inv;
        for (let k = 0; k < 3; k++)
          col[k] = mesh.colors ? q0 * mesh.colors[a + k]! + q1 * mesh.colors[b + k]! + q2 * mesh.colors[c + k]! : def[k]!;
        rayDir(fr, px, py, ray);
        shade(fr, nx, ny, nz, ray[0]!, ray[1]!, ray[2]!, col, t.color, 3 * o);
      }
    }
  }
  return resolve(t, cam, opts);
}

// ---------------------------------------------------------------------------------------------
// SDFs

const TRACE_STEPS = 256;
const HIT_EPS = 2e-4; // world units; well under a pixel's footprint at thumbnail sizes
const NORMAL_H = 1e-4;

/**
 * Sphere-trace an SDF (Hart 1996): march each pixel's ray by the distance bound until it is within
 * HIT_EPS of the surface or leaves the bounding box [lo, hi]. Normals by central differences.
 */
export function renderField(field: Field, cam: Camera, opts: RenderOptions & { lo?: Vec3; hi?: Vec3 } = {}): Image {
  const t = makeTarget(cam, opts);
  const fr = t.frame;
  const lo = opts.lo ?? [-1, -1, -1];
  const hi = opts.hi ?? [1, 1, 1];
  const rgb = new Float64Array(3);
  const d = new Float64Array(3);
  const sdf = field.sdf;
  const [ex, ey, ez] = fr.eye;
  for (let y = 0; y < fr.height; y++) {
    for (let x = 0; x < fr.width; x++) {
      rayDir(fr, x + 0.5, y + 0.5, d);
      const dx = d[0]!,
        dy = d[1]!,
        dz = d[2]!;
      // Slab test against the bounds: march only inside [tNear, tFar].
      let tNear = 0,
        tFar = Infinity;
      for (let k = 0; k < 3; k++) {
        const inv = 1 / d[k]!;
        let t0 = (lo[k]! - fr.eye[k]!) * inv,
          t1 = (hi[k]! - fr.eye[k]!) * inv;
        if (t0 > t1) [t0, t1] = [t1, t0];
        tNear = Math.max(tNear, t0);
        tFar = Math.min(tFar, t1);
      }
      if (tNear > tFar) continue;
      let s = tNear;
      for (let step = 0; step < TRACE_STEPS && s <= tFar; step++) {
        const px = ex + s * dx,
          py = ey + s * dy,
          pz = ez + s * dz;
        const dist = sdf(px, py, pz);
        if (dist < HIT_EPS) {
          const o = y * fr.width + x;
          t.depth[o] = s * (dx * fr.f[0] + dy * fr.f[1] + dz * fr.f[2]);
          const h = NORMAL_H;
          let nx = sdf(px + h, py, pz) - sdf(px - h, py, pz);
          let ny = sdf(px, py + h, pz) - sdf(px, py - h, pz);
          let nz = sdf(px, py, pz + h) - sdf(px, py, pz - h);
          const inv = 1 / (Math.sqrt(nx * nx + ny * ny + nz * nz) || 1);
          nx *= inv;
          ny *= inv;
          nz *= inv;
          field.color(px, py, pz, rgb);
          shade(fr, nx, ny, nz, dx, dy, dz, rgb, t.color, 3 * o);
          break;
        }
        s += dist;
      }
    }
  }
  return resolve(t, cam, opts);
}

// ---------------------------------------------------------------------------------------------
// Point clouds

/**
 * Draw each point as a small sphere of world radius `radius` (default: 1/100 of the cloud's
 * bounding diagonal): a screen disk whose pixels get the sphere's depth and normal, so splats
 * occlude and shade like geometry.
 */
export function renderPoints(cloud: PointCloud, cam: Camera, opts: RenderOptions & { radius?: number } = {}): Image {
  const t = makeTarget(cam, opts);
  const fr = t.frame;
  const xyz = cloud.xyz;
  const [lo, hi] = bounds(xyz);
  const radius = opts.radius ?? Math.max(1e-6, Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]) / 100);
  const def = opts.defaultColor ?? DEFAULT_COLOR;
  const scr = new Float64Array(3);
  const ray = new Float64Array(3);
  const W = fr.width,
    H = fr.height;
  const focal = H / (2 * fr.tanY); // pixels per unit of (camera-plane offset / depth)
  for (let i = 0; i < xyz.length; i += 3) {
    project(fr, xyz[i]!, xyz[i + 1]!, xyz[i + 2]!, scr, 0);
    const zc = scr[2]!;
    if (zc < NEAR + radius) continue;
    const rpx = (radius * focal) / zc;
    const cx = scr[0]!,
      cy = scr[1]!;
    const color = cloud.rgb ? cloud.rgb.subarray(i, i + 3) : def;
    const x0 = Math.max(0, Math.ceil(cx - rpx - 0.5)),
      x1 = Math.min(W - 1, Math.floor(cx + rpx - 0.5));
    const y0 = Math.max(0, Math.ceil(cy - rpx - 0.5)),
      y1 = Math.min(H - 1, Math.floor(cy + rpx - 0.5));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const ux = (x + 0.5 - cx) / rpx,
          uy = (y + 0.5 - cy) / rpx;
        const q = ux * ux + uy * uy;
        if (q > 1) continue;
        const uz = Math.sqrt(1 - q); // toward the camera
        const z = zc - uz * radius;
        const o = y * W + x;
        if (z >= t.depth[o]!) continue;
        t.depth[o] = z;
        // The impostor sphere's normal: camera-space (ux, −uy, uz) in world axes.
        const nx = ux * fr.r[0] - uy * fr.u[0] - uz * fr.f[0];
        const ny = ux * fr.r[1] - uy * fr.u[1] - uz * fr.f[1];
        const nz = ux * fr.r[2] - uy * fr.u[2] - uz * fr.f[2];
        rayDir(fr, x + 0.5, y + 0.5, ray);
        shade(fr, nx, ny, nz, ray[0]!, ray[1]!, ray[2]!, color, t.color, 3 * o);
      }
    }
  }
  return resolve(t, cam, opts);
}

// ---------------------------------------------------------------------------------------------
// Cameras and files

/**
 * `n` cameras evenly spaced in azimuth around `target` at a fixed elevation, each fitting a sphere
 * of `fitRadius` (default √3/2, the unit cube's) in view.
 *
 *   orbitCameras(4, { size: 128 }) // front, left, back, right at 20° elevation
 */
export function orbitCameras(
  n: number,
  opts: { size?: number; elevation?: number; fovY?: number; fitRadius?: number; target?: Vec3; azimuth0?: number } = {},
): Camera[] {
  const size = opts.size ?? 256;
  const fovY = opts.fovY ?? 40;
  const elev = ((opts.elevation ?? 20) * Math.PI) / 180;
  const target = opts.target ?? [0, 0, 0];
  const fit = opts.fitRadius ?? Math.sqrt(3) / 2;
  // Distance at which a sphere of radius `fit` just fills the view, plus a 5 % margin.
  const dist = (1.05 * fit) / Math.sin((fovY * Math.PI) / 360);
  const cams: Camera[] = [];
  for (let v = 0; v < n; v++) {
    const az = ((opts.azimuth0 ?? 30) * Math.PI) / 180 + (2 * Math.PI * v) / n;
    cams.push({
      eye: [
        target[0] + dist * Math.cos(elev) * Math.sin(az),
        target[1] + dist * Math.sin(elev),
        target[2] + dist * Math.cos(elev) * Math.cos(az),
      ],
      target,
      up: [0, 1, 0],
      fovY,
      width: size,
      height: size,
    });
  }
  return cams;
}

/** Encode an image as PNG bytes (RGBA; alpha = coverage when `transparent`, else opaque). */
export function encodePng(img: Image, opts: { transparent?: boolean } = {}): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) {
    png.data[4 * i] = img.rgb[3 * i]!;
    png.data[4 * i + 1] = img.rgb[3 * i + 1]!;
    png.data[4 * i + 2] = img.rgb[3 * i + 2]!;
    png.data[4 * i + 3] = opts.transparent ? img.alpha[i]! : 255;
  }
  return new Uint8Array(PNG.sync.write(png));
}

/** Decode PNG bytes (any colour type pngjs reads) into an Image; alpha is the PNG's alpha. */
export function decodePng(bytes: Uint8Array): Image {
  const png = PNG.sync.read(Buffer.from(bytes));
  const n = png.width * png.height;
  const rgb = new Uint8Array(3 * n);
  const alpha = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    rgb.set(png.data.subarray(4 * i, 4 * i + 3), 3 * i);
    alpha[i] = png.data[4 * i + 3]!;
  }
  return { width: png.width, height: png.height, rgb, alpha };
}

/**
 * The unit ray through the centre of every pixel of `cam` (no supersampling), row-major: the same
 * rays renderMesh, renderField and renderPoints sample, so a volume renderer (nerf.ts) shooting
 * them sees exactly their pixels. Returns the eye and directions (H·W × 3).
 */
export function pixelRays(cam: Camera): { eye: Vec3; dirs: Float64Array } {
  const fr = frameOf(cam, 1);
  const dirs = new Float64Array(3 * fr.width * fr.height);
  const d = new Float64Array(3);
  for (let y = 0; y < fr.height; y++) {
    for (let x = 0; x < fr.width; x++) {
      rayDir(fr, x + 0.5, y + 0.5, d);
      dirs.set(d, 3 * (y * fr.width + x));
    }
  }
  return { eye: [...cam.eye], dirs };
}
