/**
 * The registry's seam, proven with a kind that is not text and not shipped: the 1-D conv autoencoder
 * in test/models/conv-ae/ gets its row from TONY_MODEL_KINDS, is trained by `tony train conv-ae`
 * (the CLI, end to end), saved, and loaded back through `loadModel`.
 *
 * Oracles: the loaded model's reconstruction error on the validation signals, computed here in
 * float64 from its outputs, equals the validation loss the trainer logged for the same weights (the
 * val batches cover the split exactly once); and it is far below the data's variance — the error of
 * the best constant prediction, which a model that learned nothing would not beat.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { asCompletionModel, loadModel, MODEL_KINDS_ENV, modelKind, modelKinds } from '../../src/models/index.ts';
import { Rng } from '../../src/random.ts';
import type { LoadedAutoencoder } from './conv-ae/kind.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = join(root, 'test/models/conv-ae/kind.ts');
const dir = mkdtempSync(join(tmpdir(), 'tony-kinds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LENGTH = 32;
/** Sinusoids of 1–3 periods per window, random amplitude and phase. */
function signals(rng: Rng, n: number): number[][] {
  return Array.from({ length: n }, () => {
    const f = rng.int(1, 3);
    const a = rng.uniform(0.5, 1.5);
    const phase = rng.uniform(0, 2 * Math.PI);
    return Array.from({ length: LENGTH }, (_, t) => a * Math.sin((2 * Math.PI * f * t) / LENGTH + phase));
  });
}

const withEnv = async <T>(value: string | undefined, fn: () => Promise<T>): Promise<T> => {
  const before = process.env[MODEL_KINDS_ENV];
  if (value === undefined) delete process.env[MODEL_KINDS_ENV];
  else process.env[MODEL_KINDS_ENV] = value;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env[MODEL_KINDS_ENV];
    else process.env[MODEL_KINDS_ENV] = before;
  }
};

describe('model registry', () => {
  it('lists gpt and lm first, both loading kind "gpt" checkpoints, then mcnn; plugin rows only when named', async () => {
    const builtin = await withEnv(undefined, modelKinds);
    expect(builtin.map((k) => [k.name, k.kind])).toEqual([
      ['gpt', 'gpt'],
      ['lm', 'gpt'],
      ['mcnn', 'mcnn'],
      ['math-generator', 'gpt'],
      ['verifier', 'verifier'],
      ['pointe', 'pointe'],
      ['shape-e', 'shape-e'],
      ['vqvae', 'vqvae'],
      ['prior', 'jukebox-prior'],
      ['omni-speech', 'omni-speech'],
      ['omni-image', 'omni-image'],
      ['omni', 'omni'],
    ]);
    const all = await withEnv(fixture, modelKinds);
    expect(all.map((k) => k.name)).toEqual([
      'gpt',
      'lm',
      'mcnn',
      'math-generator',
      'verifier',
      'pointe',
      'shape-e',
      'vqvae',
      'prior',
      'omni-speech',
      'omni-image',
      'omni',
      'conv-ae',
    ]);
    await expect(withEnv(undefined, () => modelKind('conv-ae'))).rejects.toMatchObject({
      message: "unknown model kind 'conv-ae'",
      hint: 'known: gpt, lm, mcnn, math-generator, verifier, pointe, shape-e, vqvae, prior, omni-speech, omni-image, omni',
    });
    await expect(withEnv(join(dir, 'nope.ts'), modelKinds)).rejects.toThrow(/TONY_MODEL_KINDS: cannot import/);
  });

  it('a conv autoencoder trained by `tony train conv-ae` loads back through the registry with the error it was trained to', async () => {
    const rng = new Rng(7);
    const data = { train: signals(rng, 64), val: signals(rng, 16) };
    const dataPath = join(dir, 'signals.json');
    writeFileSync(dataPath, JSON.stringify(data));
    const out = join(dir, 'ae');
    const r = spawnSync(
      process.execPath,
      [
        'bin/tony.js',
        'train',
        'conv-ae',
        '--data',
        dataPath,
        '--steps',
        '300',
        '--batch',
        '8',
        '--lr',
        '0.01',
        '--warmup',
        '10',
        '--eval-every',
        '100',
        '--eval-batches',
        '2',
        '--threads',
        '1',
        '--out',
        out,
      ],
      { cwd: root, encoding: 'utf8', timeout: 180_000, env: { ...process.env, [MODEL_KINDS_ENV]: fixture } },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('tony: model conv-ae {"length":32,"channels":8,"latent":2}');
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; val_loss?: number });
    const vals = rows.filter((x) => x.val_loss !== undefined);
    expect(vals.map((x) => x.step)).toEqual([100, 200, 300]);
    const logged = vals.at(-1)!.val_loss!;

    // Without the plugin module, the checkpoint names a kind nobody registered.
    await expect(withEnv(undefined, () => loadModel(out))).rejects.toThrow(/no model kind 'conv-ae' is registered/);

    const model = (await withEnv(fixture, () => loadModel(out, { threads: 1 }))) as LoadedAutoencoder;
    try {
      expect([model.kind, model.id, model.capabilities]).toEqual(['conv-ae', 'ae', ['reconstruct']]);
      expect(() => asCompletionModel(model)).toThrow(/'conv-ae' model \(reconstruct\); this command needs one that completes text/);
      const y = await model.reconstruct(data.val);
      let se = 0;
      data.val.forEach((x, i) => x.forEach((v, t) => (se += (y[i]![t]! - v) ** 2)));
      const mse = se / (data.val.length * LENGTH);
      expect(Math.abs(mse - logged) / logged).toBeLessThan(1e-4);

      const flat = data.val.flat();
      const mean = flat.reduce((a, b) => a + b, 0) / flat.length;
      const variance = flat.reduce((a, b) => a + (b - mean) ** 2, 0) / flat.length;
      // Measured: MSE ≈ 1.8e-3 against a variance of 0.60.
      expect(mse).toBeLessThan(0.02 * variance);

      // The CLI's other commands go through the registry too: export copies any kind; sample
      // refuses a model that cannot complete text, saying what it is.
      const cli = (...args: string[]) =>
        spawnSync(process.execPath, ['bin/tony.js', ...args], {
          cwd: root,
          encoding: 'utf8',
          timeout: 60_000,
          env: { ...process.env, [MODEL_KINDS_ENV]: fixture },
        });
      const exported = cli('export', '--run', out, '--out', join(dir, 'ae-model'));
      expect(exported.status, exported.stderr).toBe(0);
      const again = (await withEnv(fixture, () => loadModel(join(dir, 'ae-model'), { threads: 1 }))) as LoadedAutoencoder;
      try {
        expect(await again.reconstruct(data.val)).toEqual(y);
      } finally {
        await again.close();
      }
      const sampled = cli('sample', '--model', out, '--prompt', 'x');
      expect(sampled.status).toBe(2);
      expect(sampled.stderr).toMatch(/ae is a 'conv-ae' model \(reconstruct\); tony sample needs one that completes text/);
    } finally {
      await model.close();
    }
  }, 240_000);
});
