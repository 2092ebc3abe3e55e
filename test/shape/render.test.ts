// The renderer against analytic silhouettes: a sphere of radius r at distance d seen through a
// pinhole with vertical field of view F covers a disk of radius tan(asin(r/d)) / tan(F/2) · H/2
// pixels — for meshes, sphere-traced SDFs and point splats alike. Plus occlusion, lighting and PNG.
import { describe, expect, it } from 'vitest';
import { meshField } from '../../src/shape/marching-cubes.ts';
import { sampleSurface } from '../../src/shape/pointcloud.ts';
import {
  type Camera,
  decodePng,
  encodePng,
  type Image,
  orbitCameras,
  renderField,
  renderMesh,
  renderPoints,
} from '../../src/shape/render.ts';
import { compileShape, type ShapeNode } from '../../src/shape/sdf.ts';

const R = 0.4;
const D = 2;
const FOV = 40;
const H = 160;
const cam: Camera = { eye: [0, 0, D], target: [0, 0, 0], up: [0, 1, 0], fovY: FOV, width: H, height: H };
const expectedRadius = (r: number) => (Math.tan(Math.asin(r / D)) / Math.tan((FOV * Math.PI) / 360)) * (H / 2);
const sphere: ShapeNode = { op: 'primitive', primitive: { kind: 'sphere', radius: R }, at: [0, 0, 0], color: [0.85, 0.12, 0.1] };
const field = compileShape(sphere);

/** Radius of the covered area, as if it were a disk; and the covered pixels' centroid. */
function silhouette(img: Image): { radius: number; cx: number; cy: number } {
  let n = 0,
    sx = 0,
    sy = 0;
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      if (img.alpha[y * img.width + x]! > 127) {
        n++;
        sx += x + 0.5;
        sy += y + 0.5;
      }
    }
  return { radius: Math.sqrt(n / Math.PI), cx: sx / n, cy: sy / n };
}

describe('sphere silhouettes have the analytic radius', () => {
  const want = expectedRadius(R); // ≈ 46 px

  it('sphere tracing an SDF', () => {
    const s = silhouette(renderField(field, cam));
    expect(Math.abs(s.radius - want)).toBeLessThan(0.5);
    expect(s.cx).toBeCloseTo(H / 2, 1);
    expect(s.cy).toBeCloseTo(H / 2, 1);
  });

  it('rasterising its marching-cubes mesh', () => {
    const s = silhouette(renderMesh(meshField(field, 64), cam));
    expect(Math.abs(s.radius - want)).toBeLessThan(0.5);
    expect(s.cx).toBeCloseTo(H / 2, 1);
  });

  it('splatting dense surface points (silhouette grows by the splat radius)', () => {
    const splat = 0.012; // > the points' spacing (~0.008), so the disk is filled
    const cloud = sampleSurface(meshField(field, 64), 30000, { seed: 1 });
    const s = silhouette(renderPoints(cloud, cam, { radius: splat }));
    expect(Math.abs(s.radius - expectedRadius(R + splat))).toBeLessThan(0.75);
  });

  it('an off-centre sphere covers exactly the pixels whose rays hit it (closed-form ray test)', () => {
    const c = [0.3, 0.2, -0.1];
    const img = renderField(compileShape({ ...sphere, at: c } as ShapeNode), cam);
    const t = Math.tan((FOV * Math.PI) / 360);
    let wrong = 0,
      covered = 0;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < H; x++) {
        // Camera on +z looking at −z: right = +x, up = +y. Ray o + s·d hits iff the discriminant ≥ 0.
        const d = [((2 * (x + 0.5)) / H - 1) * t, (1 - (2 * (y + 0.5)) / H) * t, -1];
        const oc = [0 - c[0]!, 0 - c[1]!, D - c[2]!];
        const a = d[0]! ** 2 + d[1]! ** 2 + d[2]! ** 2;
        const b = 2 * (oc[0]! * d[0]! + oc[1]! * d[1]! + oc[2]! * d[2]!);
        const cc = oc[0]! ** 2 + oc[1]! ** 2 + oc[2]! ** 2 - R * R;
        const hit = b * b - 4 * a * cc >= 0;
        if (hit) covered++;
        if (hit !== img.alpha[y * H + x]! > 127) wrong++;
      }
    expect(covered).toBeGreaterThan(5000);
    expect(wrong).toBeLessThan(0.01 * covered); // only grazing rays at the rim may differ
  });
});

describe('shading and composition', () => {
  it('nearer objects occlude farther ones; the lit side is brighter; background is white', () => {
    const scene = compileShape({
      op: 'union',
      parts: [
        { op: 'primitive', primitive: { kind: 'sphere', radius: 0.2 }, at: [0, 0, 0.5], color: [1, 0, 0] },
        { op: 'primitive', primitive: { kind: 'box', half: [0.5, 0.5, 0.1] }, at: [0, 0, -0.3], color: [0, 0, 1] },
      ],
    });
    for (const img of [renderField(scene, cam), renderMesh(meshField(scene, 48, { lo: [-0.6, -0.6, -0.6], hi: [0.7, 0.7, 0.7] }), cam)]) {
      const px = (x: number, y: number) => [...img.rgb.subarray(3 * (y * H + x), 3 * (y * H + x) + 3)];
      const centre = px(H / 2, H / 2);
      expect(centre[0]).toBeGreaterThan(100); // red sphere in front
      expect(centre[2]).toBe(0);
      expect(px(H / 2 + 45, H / 2)[2]).toBeGreaterThan(100); // blue box around it
      expect(px(2, 2)).toEqual([255, 255, 255]);
      // Key light from the upper left: the sphere's upper-left is brighter than its lower-right.
      expect(px(H / 2 - 8, H / 2 - 8)[0]!).toBeGreaterThan(px(H / 2 + 8, H / 2 + 8)[0]!);
    }
  });

  it('supersampling gives fractional coverage on edges only', () => {
    const img = renderField(field, { ...cam, width: 40, height: 40 }, { supersample: 3 });
    const partial = [...img.alpha].filter((a) => a > 0 && a < 255).length;
    const full = [...img.alpha].filter((a) => a === 255).length;
    expect(partial).toBeGreaterThan(10);
    expect(partial).toBeLessThan(full);
  });

  it('PNG encodes and decodes losslessly', () => {
    const img = renderField(field, orbitCameras(1, { size: 48 })[0]!);
    const back = decodePng(encodePng(img, { transparent: true }));
    expect(back.rgb).toEqual(img.rgb);
    expect(back.alpha).toEqual(img.alpha);
    expect(decodePng(encodePng(img)).alpha.every((a) => a === 255)).toBe(true);
  });

  it('orbit cameras keep the unit cube in view', () => {
    const cube = compileShape({ op: 'primitive', primitive: { kind: 'box', half: [0.5, 0.5, 0.5] }, at: [0, 0, 0], color: [1, 1, 1] });
    for (const c of orbitCameras(4, { size: 64 })) {
      const img = renderField(cube, c);
      for (let x = 0; x < 64; x++) {
        expect(img.alpha[x]).toBe(0); // top row
        expect(img.alpha[63 * 64 + x]).toBe(0); // bottom row
        expect(img.alpha[x * 64]).toBe(0); // left column
      }
    }
  });

  it('rejects bad cameras', () => {
    expect(() => renderField(field, { ...cam, fovY: 0 })).toThrow(/fovY/);
    expect(() => renderField(field, { ...cam, up: [0, 0, 1] })).toThrow(/parallel/);
  });
});
