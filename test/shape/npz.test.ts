// Point-E's .npz clouds: read against the numpy arrays that wrote them (fixtures/pointe_npz.py,
// numpy.savez and savez_compressed), turned upright (z-up → y-up: (x, y, z) ↦ (x, z, −y)), and a
// render of the z-up column is taller than wide — before this, it lay on its side.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readShapeFile } from '../../src/shape/files.ts';
import { fromZUp, pointEFromNpz, readNpz } from '../../src/shape/npz.ts';
import { orbitCameras, renderPoints } from '../../src/shape/render.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const ref = JSON.parse(readFileSync(fixture('pointe_column.json'), 'utf8')) as {
  coords: number[][];
  R: number[];
  G: number[];
  B: number[];
};

/** Rows and columns of the render's covered pixels. */
function coverageExtent(img: { width: number; height: number; alpha: Uint8Array }): { w: number; h: number } {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++)
      if (img.alpha[y * img.width + x]! > 0) [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
  return { w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

describe('Point-E .npz', () => {
  for (const file of ['pointe_column.npz', 'pointe_column_compressed.npz']) {
    it(`reads ${file}: coords and R, G, B as numpy wrote them, rotated upright`, () => {
      const bytes = new Uint8Array(readFileSync(fixture(file)));
      const arrays = readNpz(bytes, file);
      expect([...arrays.keys()].sort()).toEqual(['B', 'G', 'R', 'coords']);
      expect(arrays.get('coords')!.shape).toEqual([24, 3]);
      const cloud = pointEFromNpz(bytes, file);
      ref.coords.forEach(([x, y, z], i) => {
        expect(cloud.xyz[3 * i]).toBeCloseTo(x!, 6);
        expect(cloud.xyz[3 * i + 1]).toBeCloseTo(z!, 6); // z-up's height is y-up's
        expect(cloud.xyz[3 * i + 2]).toBeCloseTo(-y!, 6);
        expect(cloud.rgb![3 * i]).toBeCloseTo(ref.R[i]!, 6);
        expect(cloud.rgb![3 * i + 1]).toBeCloseTo(ref.G[i]!, 6);
        expect(cloud.rgb![3 * i + 2]).toBeCloseTo(ref.B[i]!, 6);
      });
    });
  }

  it('is a proper rotation: lengths kept, determinant +1 (no mirror)', () => {
    const e = fromZUp(Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1])); // images of the basis vectors, as rows
    const det = e[0]! * (e[4]! * e[8]! - e[5]! * e[7]!) - e[1]! * (e[3]! * e[8]! - e[5]! * e[6]!) + e[2]! * (e[3]! * e[7]! - e[4]! * e[6]!);
    expect(det).toBe(1);
  });

  it('renders the z-up column standing: taller than wide (it lay on its side read as y-up)', async () => {
    const file = await readShapeFile(fixture('pointe_column.npz'));
    expect(file.kind).toBe('points');
    const [cam] = orbitCameras(1, { size: 96, elevation: 0, fitRadius: 0.5 });
    const upright = coverageExtent(renderPoints((file as { cloud: Parameters<typeof renderPoints>[0] }).cloud, cam!, { radius: 0.02 }));
    expect(upright.h).toBeGreaterThan(2 * upright.w);
    // the same points taken as y-up (Point-E's raw coords) lie on their side
    const raw = { xyz: Float32Array.from(ref.coords.flat()) };
    const lying = coverageExtent(renderPoints(raw, cam!, { radius: 0.02 }));
    expect(lying.h).toBeLessThan(lying.w);
  });

  it('names what is wrong with a bad file', () => {
    expect(() => readNpz(new Uint8Array([1, 2, 3, 4]), 'x.npz')).toThrow(/x.npz is not an .npz/);
    const bytes = new Uint8Array(readFileSync(fixture('pointe_column.npz')));
    // a ZIP whose members are not Point-E's: reuse the archive, then ask for a missing key via a renamed member
    const renamed = Uint8Array.from(bytes);
    const text = new TextDecoder('latin1').decode(renamed);
    for (let i = text.indexOf('coords.npy'); i >= 0; i = text.indexOf('coords.npy', i + 1))
      renamed.set(new TextEncoder().encode('cooooo.npy'), i);
    expect(() => pointEFromNpz(renamed, 'y.npz')).toThrow(/y.npz has no 'coords' array/);
  });
});
