// `tony shape-e sample|encode` and `tony train shape-e` refuse bad input with a clear message and
// status 2, never a stack trace: an empty caption, a mesh or render format they cannot write, a
// directory without a model, a missing shape file, an unknown stage, a diffusion stage without
// its encoder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tony } from '../../tony.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-shape-e-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const glb = join(dir, 'out.glb');

describe('tony shape-e / tony train shape-e: bad input', () => {
  it.each([
    [['shape-e', 'sample', '--model', dir, '--caption', '  ', '--out', glb], /the caption is empty/],
    [
      ['shape-e', 'sample', '--model', dir, '--caption', 'a red cube', '--out', join(dir, 'x.stl')],
      /the mesh is written as \.glb, \.ply, \.obj/,
    ],
    [
      ['shape-e', 'sample', '--model', dir, '--caption', 'a red cube', '--out', glb, '--render', join(dir, 'v.jpg')],
      /--render .*renders are PNG files/,
    ],
    [['shape-e', 'sample', '--model', join(dir, 'none'), '--caption', 'a red cube', '--out', glb], /checkpoint|config\.json/],
    [['shape-e', 'encode', join(dir, 'none.ply'), '--model', dir, '--out', glb], /none\.ply/],
    [['shape-e', 'encode', join(dir, 'c.txt'), '--model', dir, '--out', glb], /unsupported shape file extension '\.txt'/],
    [['train', 'shape-e', '--data', dir, '--stage', 'decoder'], /unknown stage 'decoder'/],
    [['train', 'shape-e', '--data', dir], /no manifest\.jsonl/],
    [['train', 'shape-e', '--data', dir, '--stage', 'diffusion'], /the diffusion stage needs an encoder run/],
    [['train', 'shape-e', '--data', dir, '--set', 'metaLayers=5'], /metaLayers 5 exceeds mlpLayers 4/],
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
