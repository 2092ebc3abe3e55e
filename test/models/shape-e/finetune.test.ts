/**
 * The encoder's fine-tune stage (`tony train shape-e --stage encoder --set init=<encoder run>`):
 * a run started from another run's weights begins exactly at them (with a learning rate of 1e−12
 * one step leaves every weight where the first run left it, while a run from the seed is far from
 * them); parameters the first run lacks (the view input's) start from the seed; a run of other
 * sizes is refused naming the parameter. The rendering loss's gradient is checked against finite
 * differences in implicit.test.ts (the whole encoder objective, every parameter tensor).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestCheckpoint, loadCheckpoint } from '../../../src/engine/checkpoint.ts';
import { generateDataset } from '../../../src/shape/dataset.ts';
import { tony } from '../../tony.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-shape-e-finetune-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const data = join(dir, 'shapes');

const train = (out: string, ...extra: string[]) =>
  tony(
    [
      'train',
      'shape-e',
      '--stage',
      'encoder',
      '--data',
      data,
      '--set',
      'preset=tiny',
      '--batch',
      '2',
      '--eval-every',
      '100',
      '--threads',
      '1',
      '--out',
      join(dir, out),
      ...extra,
    ],
    { timeoutMs: 120_000 },
  );

const weights = async (run: string) => (await loadCheckpoint((await latestCheckpoint(join(dir, run)))!.dir)).params;
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

beforeAll(async () => {
  await generateDataset(data, { count: 12, points: 64, grid: 16, views: 1, size: 8 });
  const r = await train('a', '--steps', '20', '--lr', '1e-2', '--seed', '1');
  expect(r.status, r.stderr).toBe(0);
}, 130_000);

describe('the encoder fine-tune stage (init)', () => {
  it('starts exactly at the named run’s weights; a run from the seed does not', async () => {
    const r = await train('b', '--steps', '1', '--lr', '1e-12', '--set', `init=${join(dir, 'a')}`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/starting from .*ckpt-20/);
    const c = await train('c', '--steps', '1', '--lr', '1e-12');
    expect(c.status, c.stderr).toBe(0);
    const [a, b, s] = [await weights('a'), await weights('b'), await weights('c')];
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    let far = 0;
    for (const k of Object.keys(a)) {
      expect(maxDiff(b[k]!.data as Float32Array, a[k]!.data as Float32Array), k).toBeLessThan(1e-6);
      far = Math.max(far, maxDiff(s[k]!.data as Float32Array, a[k]!.data as Float32Array));
    }
    expect(far).toBeGreaterThan(1e-3); // 20 steps at lr 1e-2 moved the first run away from any seed's init
  }, 130_000);

  it('a view-reading encoder starts from a point-only run: shared weights carried over, view weights from the seed', async () => {
    const r = await train(
      'v',
      '--steps',
      '1',
      '--lr',
      '1e-12',
      '--set',
      `init=${join(dir, 'a')}`,
      '--set',
      'inputViews=1',
      '--set',
      'viewSize=8',
      '--set',
      'patch=4',
    );
    expect(r.status, r.stderr).toBe(0);
    const [a, v] = [await weights('a'), await weights('v')];
    expect(
      Object.keys(v)
        .filter((k) => !(k in a))
        .sort(),
    ).toEqual(['encoder.view_pos', 'encoder.view_proj.bias', 'encoder.view_proj.weight']);
    for (const k of Object.keys(a)) expect(maxDiff(v[k]!.data as Float32Array, a[k]!.data as Float32Array), k).toBeLessThan(1e-6);
  }, 130_000);

  it('refuses a run of other sizes, naming the parameter, and a run that is not an encoder', async () => {
    const r = await train('w', '--steps', '1', '--set', `init=${join(dir, 'a')}`, '--set', 'width=16');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/init .* has encoder\.[a-z_.0-9]+ of shape \[.*\], this encoder \[/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const n = await train('x', '--steps', '1', '--set', `init=${join(dir, 'nothing')}`);
    expect(n.status).toBe(2);
    expect(n.stderr).not.toMatch(/\n\s+at /);
  }, 130_000);
});
