// Procedural scenes: determinism, captions that parse back to the same geometry, fit in the unit
// cube, parts that touch but never overlap (so the union's SDF stays exact), the dataset writer
// and the `tony shapes` commands end to end in-process.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../../src/cli/shapes.ts';
import { generateDataset } from '../../src/shape/dataset.ts';
import { readShapeFile } from '../../src/shape/files.ts';
import { isWatertight } from '../../src/shape/mesh.ts';
import { readPly } from '../../src/shape/ply.ts';
import { makeRng } from '../../src/shape/random.ts';
import { decodePng } from '../../src/shape/render.ts';
import { buildScene, captionOf, generateScene, parseCaption, parseItemId } from '../../src/shape/scenes.ts';
import { compileShape, type ShapeNode, shapeBounds } from '../../src/shape/sdf.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-shapes-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Leaf primitives of a scene with their world transform applied, as separate exact fields. */
function parts(node: ShapeNode, scale = 1, offset = [0, 0, 0]): Array<(x: number, y: number, z: number) => number> {
  if (node.op === 'transform')
    return parts(
      node.child,
      scale * node.scale,
      [0, 1, 2].map((k) => offset[k]! + scale * node.offset[k]!),
    );
  if (node.op === 'union') return node.parts.flatMap((p) => parts(p, scale, offset));
  const f = compileShape(node);
  return [(x, y, z) => scale * f.sdf((x - offset[0]!) / scale, (y - offset[1]!) / scale, (z - offset[2]!) / scale)];
}

describe('procedural scenes', () => {
  it('are deterministic by (seed, index) and differ across indices', () => {
    expect(generateScene(3, 10)).toEqual(generateScene(3, 10));
    const captions = new Set(Array.from({ length: 40 }, (_, i) => generateScene(0, i).caption));
    expect(captions.size).toBeGreaterThan(35);
  });

  it('captions parse back into the attributes and hence the same scene', () => {
    for (let i = 0; i < 200; i++) {
      const item = generateScene(1, i);
      expect(parseCaption(item.caption)).toEqual(item.attributes);
      expect(buildScene(parseCaption(item.caption))).toEqual(item.scene);
    }
    expect(parseCaption('A Large red cube on top of an orange sphere.')).toEqual({
      objects: [
        { shape: 'cube', color: 'red', size: 'large', hole: false },
        { shape: 'sphere', color: 'orange', size: 'medium', hole: false },
      ],
      relations: ['on top of'],
    });
    expect(() => parseCaption('a red dodecahedron')).toThrow(/cannot read 'a red dodecahedron'/);
    expect(() => parseCaption('a red cone with a hole')).toThrow(/cannot have a hole/);
  });

  it('fit in the unit cube and their parts touch without overlapping', () => {
    const rng = makeRng(11);
    for (let i = 0; i < 60; i++) {
      const item = generateScene(2, i);
      const [lo, hi] = shapeBounds(item.scene);
      for (let k = 0; k < 3; k++) {
        expect(lo[k]).toBeGreaterThanOrEqual(-0.45 - 1e-9);
        expect(hi[k]).toBeLessThanOrEqual(0.45 + 1e-9);
      }
      const ps = parts(item.scene);
      if (ps.length < 2) continue;
      // No point lies strictly inside two parts (holes' drills count as parts of a difference, skip those).
      if (JSON.stringify(item.scene).includes('difference')) continue;
      for (let q = 0; q < 2000; q++) {
        const [x, y, z] = [rng() - 0.5, rng() - 0.5, rng() - 0.5];
        expect(ps.filter((f) => f(x!, y!, z!) < -1e-9).length).toBeLessThanOrEqual(1);
      }
    }
  });

  it('relations place objects where the words say', () => {
    const centreY = (caption: string) => {
      const s = buildScene(parseCaption(caption));
      const ps = s.op === 'transform' && s.child.op === 'union' ? s.child.parts : [];
      return ps.map((p) => {
        const [lo, hi] = shapeBounds(p);
        return [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2];
      });
    };
    const [a, b] = centreY('a red cube on top of a blue sphere');
    expect(a![1]).toBeGreaterThan(b![1]!);
    const [c, d] = centreY('a red cube in front of a blue sphere');
    expect(c![2]).toBeGreaterThan(d![2]!);
    const [e, f] = centreY('a red cube next to a blue sphere');
    expect(e![0]).toBeLessThan(f![0]!);
    expect(captionOf(parseCaption('a small red cube under a blue sphere'))).toBe('a small red cube under a blue sphere');
    expect(parseItemId('7-123')).toEqual({ seed: 7, index: 123 });
  });
});

describe('dataset and CLI', () => {
  it('generate writes clouds, renders and a manifest', async () => {
    const out = join(dir, 'ds');
    const entries = await generateDataset(out, { count: 3, seed: 5, points: 512, grid: 40, views: 2, size: 32, supersample: 1 });
    const lines = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.id)).toEqual(['5-0', '5-1', '5-2']);
    expect(lines[1].caption).toBe(generateScene(5, 1).caption);
    expect(entries[0]!.renders).toHaveLength(2);
    const ply = readPly(new Uint8Array(await readFile(join(out, lines[0].points))));
    expect(ply.xyz.length).toBe(3 * 512);
    expect(ply.rgb).toBeDefined();
    const img = decodePng(new Uint8Array(await readFile(join(out, lines[2].renders[1]))));
    expect([img.width, img.height]).toEqual([32, 32]);
    expect((await readdir(join(out, 'renders'))).length).toBe(6);
    // Item 5-1 regenerated on its own (start 1, count 1) is byte-identical: items depend on (seed, index) only.
    const again = join(dir, 'again');
    await generateDataset(again, { count: 1, seed: 5, start: 1, points: 512, grid: 40, views: 2, size: 32, supersample: 1 });
    for (const f of ['points/5-1.ply', 'renders/5-1_1.png']) {
      expect(Buffer.compare(await readFile(join(out, f)), await readFile(join(again, f)))).toBe(0);
    }
  });

  it('tony shapes mesh / render / metrics', async () => {
    const run = async (...args: string[]) => {
      const program = new Command('tony').exitOverride();
      register(program);
      await program.parseAsync(['node', 'tony', ...args]);
    };
    const glb = join(dir, 'x.glb');
    await run('shapes', 'mesh', '--caption', 'a red torus next to a blue cone', '--grid', '40', '--out', glb);
    const f = await readShapeFile(glb);
    expect(f.kind === 'mesh' && isWatertight(f.mesh)).toBe(true);
    await run('shapes', 'mesh', '--item', '0-3', '--grid', '32', '--out', join(dir, 'y.ply'));
    await run('shapes', 'render', glb, '--out', join(dir, 'x.png'), '--size', '48', '--supersample', '1');
    expect(decodePng(new Uint8Array(await readFile(join(dir, 'x.png')))).width).toBe(48);
    await run('shapes', 'metrics', glb, join(dir, 'y.ply'), '--points', '256');
    await expect(run('shapes', 'mesh', '--out', glb)).rejects.toThrow(/exactly one of --caption or --item/);
  });
});
