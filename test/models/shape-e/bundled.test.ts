// The bundled models/shape-e through the commands, against exact shapes: `tony shape-e encode` of a
// cloud drawn from the exact "large red torus" gives a closed mesh near that torus (Chamfer against
// its exact surface under 0.005, a tenth of what another scene's shape scores in shape-e.md) coloured
// red, and a NeRF render of the asked size; `tony shape-e sample` with the bundled diffusion model
// (guidance 3, seed 11: scene 11 of shape-e.md's evaluation) gives a closed mesh within Chamfer 0.01
// of the exact "large orange cylinder", coloured orange.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { truthCloud } from '../../../src/models/pointe/eval.ts';
import { readShapeFile } from '../../../src/shape/files.ts';
import { isWatertight } from '../../../src/shape/mesh.ts';
import { chamferDistance } from '../../../src/shape/metrics.ts';
import { writePly } from '../../../src/shape/ply.ts';
import { sampleSurface } from '../../../src/shape/pointcloud.ts';
import { decodePng } from '../../../src/shape/render.ts';
import { tony } from '../../tony.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-shape-e-bundled-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the bundled models/shape-e', () => {
  it('encode: a true torus cloud → a closed red mesh within Chamfer 0.005 of the exact torus, and its NeRF render', async () => {
    const cloud = join(dir, 'torus.ply');
    writeFileSync(cloud, writePly(truthCloud('a large red torus', 2048, 1)));
    const out = join(dir, 'torus.glb');
    const png = join(dir, 'torus.png');
    const r = await tony(['shape-e', 'encode', cloud, '--grid', '48', '--size', '32', '--render', png, '--threads', '1', '--out', out], {
      timeoutMs: 120_000,
    });
    expect(r.stderr).toMatch(/shape-e encoder/);
    expect(r.status).toBe(0);
    const file = await readShapeFile(out);
    if (file.kind !== 'mesh') throw new Error('expected a mesh');
    expect(isWatertight(file.mesh)).toBe(true);
    const pts = sampleSurface(file.mesh, 4096, { seed: 0 }).xyz;
    expect(chamferDistance(pts, truthCloud('a large red torus', 4096, 2).xyz).chamfer).toBeLessThan(0.005);
    const c = file.mesh.colors!;
    let red = 0;
    for (let i = 0; i < c.length; i += 3) if (c[i]! > 0.6 && c[i + 1]! < 0.35 && c[i + 2]! < 0.35) red++;
    expect(red / (c.length / 3)).toBeGreaterThan(0.9); // the dataset's red is (0.85, 0.12, 0.10)
    const img = decodePng(new Uint8Array(readFileSync(png)));
    expect([img.width, img.height]).toEqual([32, 32]);
  }, 130_000);

  it('sample: "a large orange cylinder" → a closed orange mesh within Chamfer 0.01 of the exact cylinder', async () => {
    const out = join(dir, 'sample.ply');
    const r = await tony(
      ['shape-e', 'sample', '--caption', 'a large orange cylinder', '--seed', '11', '--grid', '48', '--threads', '1', '--out', out],
      { timeoutMs: 120_000 },
    );
    expect(r.stderr).toMatch(/shape-e diffusion/);
    expect(r.status).toBe(0);
    const file = await readShapeFile(out);
    if (file.kind !== 'mesh') throw new Error('expected a mesh');
    expect(isWatertight(file.mesh)).toBe(true);
    const pts = sampleSurface(file.mesh, 4096, { seed: 0 }).xyz;
    expect(chamferDistance(pts, truthCloud('a large orange cylinder', 4096, 2).xyz).chamfer).toBeLessThan(0.01);
    const c = file.mesh.colors!;
    let orange = 0;
    for (let i = 0; i < c.length; i += 3) if (c[i]! > 0.6 && c[i + 1]! > 0.25 && c[i + 1]! < 0.7 && c[i + 2]! < 0.3) orange++;
    expect(orange / (c.length / 3)).toBeGreaterThan(0.8); // the dataset's orange is (0.95, 0.5, 0.08)
  }, 130_000);
});
