/**
 * Sampling the priors with a KV cache (src/models/jukebox/sample.ts, Prior.prefill / Prior.step),
 * against the oracle of recomputing the whole window for every position — the definition of the
 * autoregressive model, which the uncached path is:
 *  - the cached step's logits equal the window's logits at every position, after a prefill of a
 *    first window (position 0) and of a later one (its first half), with the positions not yet
 *    sampled scrambled (top prior with lyrics, and an upsampler whose conditioner vector the step
 *    reads by position);
 *  - sampling with and without the cache draws the same codes, token for token, across many
 *    window boundaries, from priors trained until their distributions are peaked.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../../src/engine/runtime.ts';
import { priorTask, readCodes } from '../../../src/models/jukebox/kind.ts';
import type { SongCodes } from '../../../src/models/jukebox/levels.ts';
import { conditionIds, lyricsIds, type PriorConfig, priorConfig } from '../../../src/models/jukebox/prior.ts';
import { type LoadedPrior, loadPrior, sampleCodes } from '../../../src/models/jukebox/sample.ts';
import { trainWithRecipe } from '../../../src/models/recipe.ts';
import { prng } from '../../../src/random.ts';

const K = 16;
const T = 8;
const LYRICS = 12;
let dir: string;
const priors: Record<string, LoadedPrior> = {};

/** Songs whose codes follow a rule the priors can learn in a few dozen steps (so their distributions are peaked). */
function songs(): SongCodes[] {
  const r = prng(4);
  return Array.from({ length: 12 }, (_, i) => {
    const top = Array.from({ length: 24 }, (_, j) => (i + 3 * j) % K);
    const middle = Array.from({ length: 96 }, (_, j) => (top[Math.floor(j / 4)]! + (j % 4) + (r.next() < 0.1 ? 1 : 0)) % K);
    return {
      id: `s${i}`,
      split: i < 10 ? 'train' : 'val',
      key: i % 2 ? 'D minor' : 'C major',
      tempo: 100 + 5 * i,
      timbre: 'sine',
      lyrics: `song number ${i}`,
      top,
      middle,
      bottom: [0],
    };
  });
}

async function trained(cfg: Readonly<PriorConfig>, name: string): Promise<LoadedPrior> {
  const path = join(dir, 'codes.jsonl');
  const data = await readCodes([path]);
  const rt = await Runtime.start({ threads: 1 });
  try {
    const out = join(dir, name);
    await trainWithRecipe(rt, priorTask(cfg, data, { batch: 8, seed: 0 }), {
      steps: 60,
      lr: 1e-2,
      warmup: 5,
      seed: 0,
      evalEvery: 60,
      evalBatches: 1,
      checkpointEvery: 60,
      out,
      resume: false,
    });
    return await loadPrior(out, { threads: 1 });
  } finally {
    await rt.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-jb-sample-'));
  await writeFile(
    join(dir, 'codes.jsonl'),
    songs()
      .map((s) => JSON.stringify(s))
      .join('\n') + '\n',
  );
  const small = { codes: K, context: T, dModel: 16, nHead: 2, nLayer: 2 };
  priors.top = await trained(priorConfig({ ...small, level: 'top', lyrics: LYRICS, textLayers: 1 }), 'top');
  priors.middle = await trained(priorConfig({ ...small, level: 'middle', condDepth: 1 }), 'middle');
}, 120_000);
afterAll(async () => {
  for (const p of Object.values(priors)) await p.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the cached step', () => {
  for (const level of ['top', 'middle'] as const) {
    it(`gives the window's logits at every position (${level})`, async () => {
      const prior = priors[level]!;
      const B = 2;
      const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % K);
      const ctx =
        level === 'top'
          ? {
              cond: Int32Array.from([...conditionIds({ key: 'D minor', tempo: 120 }), ...conditionIds({ timbre: 'bell' })]),
              text: Int32Array.from([...lyricsIds('song number 3', LYRICS), ...lyricsIds(undefined, LYRICS)]),
            }
          : {
              upper: Int32Array.from([3, 9, 14, 0]),
              cond: Int32Array.from([...conditionIds({ key: 'C major' }), ...conditionIds({ timbre: 'saw' })]),
            };
      const want = await prior.logits(ids, B, ctx); // (B, T, K)
      // Prefilled at 0 (a first window) and at T/2 (every later one), then stepped to the window's end.
      for (const from of [0, T / 2]) {
        const dec = await prior.decoder!(B);
        // Everything from `from` on scrambled: the cache must read only what came before.
        const scrambled = Int32Array.from(ids, (v, i) => (i % T < from ? v : (v + 7) % K));
        const first = await dec.prefill(scrambled, ctx, from);
        for (let b = 0; b < B; b++)
          for (let k = 0; k < K; k++)
            expect(Math.abs(first[b * K + k]! - want[(b * T + from) * K + k]!), `prefill at ${from}, row ${b} code ${k}`).toBeLessThan(
              1e-5,
            );
        for (let i = from + 1; i < T; i++) {
          const got = await dec.step(
            Int32Array.from({ length: B }, (_, b) => ids[b * T + i - 1]!),
            i,
          );
          for (let b = 0; b < B; b++)
            for (let k = 0; k < K; k++)
              expect(Math.abs(got[b * K + k]! - want[(b * T + i) * K + k]!), `from ${from}: row ${b} position ${i} code ${k}`).toBeLessThan(
                1e-4,
              );
        }
        await dec.release();
      }
    });
  }
});

describe('sampling with the cache', () => {
  it('draws the same codes as recomputing every window, token for token, over 14 window boundaries', async () => {
    const B = 3;
    const cond = Int32Array.from([...conditionIds({ key: 'D minor' }), ...conditionIds({ tempo: 130 }), ...conditionIds({})]);
    const text = Int32Array.from([
      ...lyricsIds('song number 1', LYRICS),
      ...lyricsIds('song number 4', LYRICS),
      ...lyricsIds(undefined, LYRICS),
    ]);
    const o = { length: 60, batch: B, cond, text, temperature: 1, seed: 9 };
    const cached = await sampleCodes(priors.top!, o);
    const plain = await sampleCodes(priors.top!, { ...o, cache: false });
    expect(cached.map((r) => Array.from(r))).toEqual(plain.map((r) => Array.from(r)));
    // the trained prior is sure of its rule (next = previous + 3): most steps follow it, so equal rows are not luck
    const follows = cached.flatMap((r) => Array.from(r.subarray(1), (v, j) => v === (r[j]! + 3) % K)).filter(Boolean).length;
    expect(follows / (B * 59)).toBeGreaterThan(0.8);

    const upper = cached.map((r) => r.subarray(0, 60));
    const mc = await sampleCodes(priors.middle!, { length: 200, batch: B, upper, cond, temperature: 1, seed: 3 });
    const mp = await sampleCodes(priors.middle!, { length: 200, batch: B, upper, cond, temperature: 1, seed: 3, cache: false });
    expect(mc.map((r) => Array.from(r))).toEqual(mp.map((r) => Array.from(r)));
  });
});
