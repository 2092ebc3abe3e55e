/**
 * `tony jukebox encode|decode` as a user runs them, on three freshly initialised tiny levels: the
 * code counts are the token rates (⌈L/8⌉, ⌈L/32⌉, ⌈L/128⌉), a WAV at another rate is resampled,
 * decoding gives back the encoded length, and bad input is a clear error naming the file.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav, writeWav } from '../../../src/audio/wav.ts';
import { saveCheckpoint } from '../../../src/engine/checkpoint.ts';
import { input } from '../../../src/engine/tensor.ts';
import { Prior, priorConfig } from '../../../src/models/jukebox/prior.ts';
import { LEVELS, VQVAE, vqvaeConfig } from '../../../src/models/jukebox/vqvae.ts';
import { tony } from '../../tony.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-jukebox-cli-'));
  for (const level of LEVELS) {
    const cfg = vqvaeConfig({ level, width: 4, depth: 1, codes: 8, codeWidth: 3, segment: 512 });
    const m = new VQVAE(cfg);
    m.objective(input('wav', [1, cfg.segment]), input('restart_idx', [cfg.codes], 'int64')); // declares every weight
    await saveCheckpoint(join(dir, 'models', level), {
      config: { kind: 'vqvae', model: { ...cfg } },
      state: { step: 0 },
      params: { ...m.ps.initialize(1), ...m.buffers.initialize(1) },
    });
  }
  // priors initialised here (no training): the sampling loop's plumbing, not its quality
  for (const level of LEVELS) {
    const cfg = priorConfig({ level, codes: 8, context: 16, dModel: 16, nHead: 2, nLayer: 1, condDepth: 1 });
    const p = new Prior(cfg);
    const ids = input('ids', [1, cfg.context], 'int64');
    // every level reads the conditions (upsamplers: labels, the default); upsamplers the codes above too
    p.forward(ids, { cond: input('cond', [1, 3], 'int64'), ...(level === 'top' ? {} : { upper: input('upper', [1, 4], 'int64') }) });
    await saveCheckpoint(join(dir, 'models', `prior-${level}`), {
      config: { kind: 'jukebox-prior', model: { ...cfg } },
      state: { step: 0 },
      params: p.ps.initialize(2),
    });
  }
  // 1.5 s at 16 kHz: resampled to the models' 8 kHz → 12,000 samples
  await writeWav(join(dir, 'in.wav'), {
    sampleRate: 16000,
    channels: [Float64Array.from({ length: 24000 }, (_, i) => 0.5 * Math.sin(0.05 * i))],
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tony jukebox encode | decode', () => {
  it('encodes a WAV at every level at the token rates and decodes it back to its length', async () => {
    const models = join(dir, 'models');
    const enc = await tony([
      'jukebox',
      'encode',
      join(dir, 'in.wav'),
      '--models',
      models,
      '--out',
      join(dir, 'codes.json'),
      '--threads',
      '1',
    ]);
    expect(enc.stderr).toContain('resampled');
    expect(enc.status, enc.stderr).toBe(0);
    const codes = JSON.parse(await readFile(join(dir, 'codes.json'), 'utf8'));
    expect(codes.sampleRate).toBe(8000);
    expect(codes.samples).toBe(12000);
    expect([codes.levels.bottom.length, codes.levels.middle.length, codes.levels.top.length]).toEqual([1500, 375, Math.ceil(12000 / 128)]);
    const dec = await tony([
      'jukebox',
      'decode',
      join(dir, 'codes.json'),
      '--level',
      'middle',
      '--models',
      models,
      '--out',
      join(dir, 'out.wav'),
      '--threads',
      '1',
    ]);
    expect(dec.status, dec.stderr).toBe(0);
    const y = await readWav(join(dir, 'out.wav'));
    expect(y.sampleRate).toBe(8000);
    expect(y.channels[0]!.length).toBe(12000);
  });

  it('names what is wrong: a missing level, a file that is not codes, an unknown level', async () => {
    await mkdir(join(dir, 'half'), { recursive: true });
    const missing = await tony(['jukebox', 'encode', join(dir, 'in.wav'), '--models', join(dir, 'half'), '--out', join(dir, 'x.json')]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/has no bottom, middle, top level/);
    expect(missing.stderr).not.toMatch(/\n\s+at /); // no stack trace
    await writeFile(join(dir, 'bad.json'), '{"sampleRate": 8000, "levels": {"upper": [1]}}');
    const bad = await tony(['jukebox', 'decode', join(dir, 'bad.json'), '--models', join(dir, 'models'), '--out', join(dir, 'y.wav')]);
    expect(bad.stderr).toMatch(/bad\.json: unknown level 'upper'/);
    const level = await tony([
      'jukebox',
      'decode',
      join(dir, 'bad.json'),
      '--models',
      join(dir, 'models'),
      '--level',
      'upper',
      '--out',
      join(dir, 'y.wav'),
    ]);
    expect(level.stderr).toMatch(/--level must be bottom, middle or top, got 'upper'/);
  });
});

describe('tony jukebox sample', () => {
  it('samples every level at its token rate, the same codes with and without the KV cache, and refuses lyrics a prior cannot read', async () => {
    const models = join(dir, 'models');
    const run = (out: string, ...extra: string[]) =>
      tony([
        'jukebox',
        'sample',
        '--models',
        models,
        '--key',
        'D minor',
        '--tempo',
        '120',
        '--seconds',
        '0.5',
        '--seed',
        '4',
        '--codes',
        join(dir, `${out}.json`),
        '--out',
        join(dir, `${out}.wav`),
        '--threads',
        '1',
        ...extra,
      ]);
    const cached = await run('s1');
    expect(cached.status, cached.stderr).toBe(0);
    expect(cached.stderr).toMatch(/top: 32 codes in/);
    const plain = await run('s2', '--no-cache');
    expect(plain.status, plain.stderr).toBe(0);
    const a = JSON.parse(await readFile(join(dir, 's1.json'), 'utf8'));
    const b = JSON.parse(await readFile(join(dir, 's2.json'), 'utf8'));
    expect([a.levels.bottom.length, a.levels.middle.length, a.levels.top.length]).toEqual([500, 125, 32]); // ⌈4000 / hop⌉
    expect(a.levels).toEqual(b.levels);
    expect((await readWav(join(dir, 's1.wav'))).channels[0]!.length).toBe(4000);
    const lyrics = await run('s3', '--lyrics', 'la la la');
    expect(lyrics.status).not.toBe(0);
    expect(lyrics.stderr).toMatch(/this top prior was trained without lyrics/);
    expect(lyrics.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('tony train prior --level', () => {
  it('is --set level=: checked by the prior, refused by a kind without levels', async () => {
    const bad = await tony(['train', 'prior', '--data', dir, '--level', 'sideways']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/prior: level must be top, middle or bottom, got "sideways"/);
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const none = await tony(['train', 'mcnn', '--data', dir, '--level', 'top']);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/unknown mcnn config key 'level'/);
  });
});
