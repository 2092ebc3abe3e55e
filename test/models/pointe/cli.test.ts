// `tony pointe sample` and `tony train pointe` refuse bad input with a clear message and status 2,
// never a stack trace: an empty caption, a non-image file for --image, neither or both of --caption and --image, a mesh output the base model cannot make, an unsupported
// point count, a directory without a model, data that is not a shapes folder, a stage unknown (--stage and --set stage=), a mesh format or cloud file `tony pointe mesh` cannot use.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { truthCloud } from '../../../src/models/pointe/eval.ts';
import { readShapeFile } from '../../../src/shape/files.ts';
import { isWatertight } from '../../../src/shape/mesh.ts';
import { writePly } from '../../../src/shape/ply.ts';
import { farthestPointSample } from '../../../src/shape/pointcloud.ts';
import { tony } from '../../tony.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-pointe-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ply = join(dir, 'out.ply');
const notImage = join(dir, 'view.txt');
writeFileSync(notImage, 'a red cube\n');

describe('tony pointe / tony train pointe: bad input', () => {
  it.each([
    [['pointe', 'sample', '--model', dir, '--caption', '  ', '--out', ply], /the caption is empty/],
    [['pointe', 'sample', '--model', dir, '--image', notImage, '--out', ply], /view\.txt is not a PNG image/],
    [['pointe', 'sample', '--model', dir, '--image', join(dir, 'nothing.png'), '--out', ply], /cannot read the image .*nothing\.png/],
    [['pointe', 'sample', '--model', dir, '--out', ply], /pass exactly one of --caption and --image/],
    [['pointe', 'sample', '--model', dir, '--caption', 'a red cube', '--image', notImage, '--out', ply], /exactly one of/],
    [
      ['pointe', 'sample', '--model', dir, '--caption', 'a red cube', '--out', ply, '--points', '20000'],
      /--points must be an integer in \[1, 16384\]/,
    ],
    [['pointe', 'eval', '--model', dir, '--data', dir, '--held-out', 'colours'], /--held-out colours: unknown held-out set/],
    [['pointe', 'eval', '--model', dir, '--data', dir, '--sampler', 'euler'], /--sampler euler: unknown sampler/],
    [['pointe', 'eval', '--model', dir, '--data', dir, '--sampler', 'ddim', '--churn', '3'], /--churn is a Karras setting/],
    [['pointe', 'eval', '--model', dir, '--data', dir, '--eta', '1'], /--eta is a DDIM setting/],
    [
      ['pointe', 'sample', '--model', dir, '--caption', 'a red cube', '--out', join(dir, 'out.glb')],
      /Point-E writes point clouds as \.ply/,
    ],
    [
      ['pointe', 'sample', '--model', dir, '--caption', 'a red cube', '--out', ply, '--points', '0'],
      /--points must be an integer in \[1, 16384\]/,
    ],
    [['pointe', 'sample', '--model', join(dir, 'none'), '--caption', 'a red cube', '--out', ply], /checkpoint|config\.json/],
    [['train', 'pointe', '--data', join(dir, 'missing')], /--data '.*missing' does not exist/],
    [['train', 'pointe', '--data', dir], /no manifest\.jsonl/],
    [['train', 'pointe', '--data', dir, '--set', 'stage=upsampler'], /unknown stage 'upsampler'/],
    [['train', 'pointe', '--data', dir, '--stage', 'upsample'], /no manifest\.jsonl/],
    [['train', 'pointe', '--data', dir, '--stage', 'sdff'], /unknown stage 'sdff'/],
    [['train', 'pointe', '--data', dir, '--stage', 'sdf'], /no manifest\.jsonl/],
    [
      ['pointe', 'sample', '--model', dir, '--sdf', dir, '--caption', 'a red cube', '--out', join(dir, 'x.png')],
      /a mesh is written as \.glb/,
    ],
    [['pointe', 'mesh', join(dir, 'none.ply'), '--sdf', dir, '--out', join(dir, 'm.glb')], /none\.ply/],
    [['pointe', 'mesh', join(dir, 'c.txt'), '--sdf', dir, '--out', join(dir, 'm.glb')], /unsupported shape file extension '\.txt'/],
    [['pointe', 'mesh', join(dir, 'c.ply'), '--sdf', dir, '--out', join(dir, 'm.stl')], /a mesh is written as \.glb, \.ply, \.obj/],
  ])(
    'refuses %j',
    async (args, message) => {
      const r = await tony(args as string[], { timeoutMs: 120_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message as RegExp);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    },
    130_000,
  );
});

describe('tony pointe mesh', () => {
  it('meshes a cloud with the bundled models/pointe/sdf when no --sdf is given', async () => {
    const cloud = join(dir, 'torus.ply');
    writeFileSync(cloud, writePly(farthestPointSample(truthCloud('a large red torus', 2048, 1), 256)));
    const out = join(dir, 'torus.glb');
    const r = await tony(['pointe', 'mesh', cloud, '--grid', '32', '--threads', '1', '--out', out], { timeoutMs: 120_000 });
    expect(r.stderr).toMatch(/pointe SDF model sdf/);
    expect(r.status).toBe(0);
    const mesh = await readShapeFile(out);
    expect(mesh.kind).toBe('mesh');
    if (mesh.kind === 'mesh') expect(isWatertight(mesh.mesh)).toBe(true);
  }, 130_000);
});
