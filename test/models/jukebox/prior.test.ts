/**
 * Jukebox's priors (src/models/jukebox/prior.ts, sample.ts), against oracles that do not come from
 * the code under test:
 *  - condition ids computed by hand from the tables' definitions;
 *  - causality: perturbing code j changes no logit at positions ≤ j (the definition of an
 *    autoregressive factorisation), and does change later ones;
 *  - windowed sampling against a rule-based stand-in prior whose argmax is known in closed form
 *    (next = previous + 1, or = the upper code above), across many window boundaries;
 *  - conditioning that learns: on codes that are a function of the key, a trained top prior
 *    samples that function of the key it is given.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostTensor, toNumbers } from '../../../src/engine/dtype.ts';
import { interpret } from '../../../src/engine/interpret.ts';
import { Runtime } from '../../../src/engine/runtime.ts';
import { input } from '../../../src/engine/tensor.ts';
import { TonyError } from '../../../src/errors.ts';
import { modelKind } from '../../../src/models/index.ts';
import type { LoadedVQVAE } from '../../../src/models/jukebox/codec.ts';
import { conditionalNll } from '../../../src/models/jukebox/conditioning.ts';
import { priorTask, readCodes } from '../../../src/models/jukebox/kind.ts';
import type { SongCodes } from '../../../src/models/jukebox/levels.ts';
import { conditionIds, Prior, priorConfig } from '../../../src/models/jukebox/prior.ts';
import { type LoadedPrior, loadPrior, sampleChain, sampleCodes } from '../../../src/models/jukebox/sample.ts';
import { vqvaeConfig } from '../../../src/models/jukebox/vqvae.ts';
import { trainWithRecipe } from '../../../src/models/recipe.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-prior-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('conditions', () => {
  it('maps timbre, key and tempo to table ids by hand, 0 for absent, and names bad values', () => {
    // TIMBRES = sine, triangle, square, saw, organ, pluck, bell → 1 … 7; keys: 1 + tonic (+12 minor); tempo 1 + round((bpm − 60)/5)
    expect(conditionIds({ timbre: 'sine', key: 'D minor', tempo: 120 })).toEqual([1, 15, 13]);
    expect(conditionIds({ timbre: 'bell', key: 'C major', tempo: 62 })).toEqual([7, 1, 1]);
    expect(conditionIds({ tempo: 500 })).toEqual([0, 0, 21]); // clamped to the last bucket
    expect(conditionIds({})).toEqual([0, 0, 0]);
    expect(() => conditionIds({ timbre: 'kazoo' })).toThrow(/unknown timbre 'kazoo'/);
    expect(() => conditionIds({ key: 'D' })).toThrow(TonyError);
  });

  it('rejects configs that cannot window, naming the key', () => {
    expect(() => priorConfig({ context: 30 })).toThrow(/context 30 is not a multiple of ratio 4/);
    expect(() => priorConfig({ level: 'upper' })).toThrow(/level must be top, middle or bottom/);
  });
});

describe('the network', () => {
  const cfg = priorConfig({ codes: 6, context: 8, dModel: 8, nHead: 2, nLayer: 2 });
  const up = priorConfig({ ...cfg, level: 'middle', condDepth: 1 });
  const weights = (p: Prior) =>
    Object.fromEntries(
      Object.entries(p.ps.initialize(3)).map(([k, t]) => [k, hostTensor('float64', t.shape, Float64Array.from(t.data as Float32Array))]),
    );
  const ids0 = [3, 1, 4, 1, 5, 0, 2, 5];

  for (const c of [cfg, up]) {
    it(`is causal (${c.level}): code j moves no logit at positions ≤ j, and moves later ones`, () => {
      const prior = new Prior(c);
      const ids = input('ids', [1, 8], 'int64');
      const cond = input('cond', [1, 3], 'int64'); // the upsampler reads labels too (the default)
      const upper = c.level === 'top' ? undefined : input('upper', [1, 2], 'int64');
      const logits = prior.forward(ids, { cond, ...(upper ? { upper } : {}) });
      const run = (v: number[]) =>
        toNumbers(
          interpret([logits], {
            ...weights(prior),
            ids: hostTensor('int64', [1, 8], v),
            cond: hostTensor('int64', [1, 3], [1, 2, 3]),
            ...(c.level === 'top' ? {} : { upper: hostTensor('int64', [1, 2], [4, 1]) }),
          })[0]!,
        );
      const base = run(ids0);
      for (const j of [2, 5]) {
        const v = [...ids0];
        v[j] = (v[j]! + 1) % 6;
        const moved = run(v);
        const diff = (pos: number) => Math.max(...Array.from({ length: 6 }, (_, k) => Math.abs(moved[pos * 6 + k]! - base[pos * 6 + k]!)));
        for (let pos = 0; pos <= j; pos++) expect(diff(pos), `position ${pos} after changing code ${j}`).toBe(0);
        expect(diff(j + 1)).toBeGreaterThan(1e-9);
      }
    });
  }
});

/** A rule-based stand-in prior: the argmax of position i is a closed-form function of its inputs. */
function rulePrior(level: 'top' | 'middle', T: number, K: number): LoadedPrior {
  const cfg = priorConfig({ level, codes: K, context: T, labels: level === 'top' });
  return {
    kind: 'rule',
    id: 'rule',
    capabilities: [],
    provider: 'host',
    cfg,
    async logits(ids, B, ctx) {
      const out = new Float32Array(B * T * K);
      for (let b = 0; b < B; b++)
        for (let i = 0; i < T; i++) {
          // top: position 0 → the timbre id, then previous + 1; upsampler: the upper code above position i
          const want =
            level === 'top' ? (i === 0 ? ctx.cond![3 * b]! : (ids[b * T + i - 1]! + 1) % K) : ctx.upper![b * (T / 4) + Math.floor(i / 4)]!;
          out[(b * T + i) * K + want] = 10;
        }
      return out;
    },
    close: async () => {},
  };
}

describe('windowed sampling', () => {
  it('continues across window boundaries: 300 codes through windows of 8 sliding by 4', async () => {
    const K = 50;
    const rows = await sampleCodes(rulePrior('top', 8, K), {
      length: 300,
      batch: 2,
      cond: Int32Array.from([7, 0, 0, 11, 0, 0]),
      temperature: 0,
    });
    expect(Array.from(rows[0]!)).toEqual(Array.from({ length: 300 }, (_, j) => (7 + j) % K));
    expect(Array.from(rows[1]!)).toEqual(Array.from({ length: 300 }, (_, j) => (11 + j) % K));
  });

  it('an upsampler reads the upper code above each position, window after window', async () => {
    const upper = Int32Array.from({ length: 40 }, (_, j) => (j * 7) % 13);
    const [row] = await sampleCodes(rulePrior('middle', 8, 13), { length: 150, batch: 1, upper: [upper], temperature: 0 });
    expect(Array.from(row!)).toEqual(Array.from({ length: 150 }, (_, j) => upper[Math.floor(j / 4)]!));
  });

  it('the chain samples its upsamplers at their own temperature, the top prior at its own', async () => {
    const K = 13;
    // A stand-in middle decoder: one sample per code, the code itself (only the codes matter here).
    const decoder: LoadedVQVAE = {
      kind: 'stand-in',
      id: 'stand-in',
      capabilities: [],
      provider: 'host',
      cfg: vqvaeConfig({ level: 'middle' }),
      hop: 32,
      encode: async () => new Int32Array(0),
      decode: async (ids) => Float32Array.from(ids),
      close: async () => {},
    };
    const chain = (temperature: number, upsamplerTemperature: number) =>
      sampleChain({
        priors: { top: rulePrior('top', 8, K), middle: rulePrior('middle', 8, K) },
        decoder,
        stopAt: 'middle',
        samples: 40 * 128, // 40 top codes, 160 middle codes
        batch: 1,
        cond: Int32Array.from([7, 0, 0]),
        temperature,
        upsamplerTemperature,
        seed: 5,
      });
    const rule = (top: Int32Array) => Array.from({ length: 160 }, (_, j) => top[Math.floor(j / 4)]!);
    const hits = (a: ArrayLike<number>, b: number[]) => b.filter((v, j) => a[j] === v).length;
    // Top exact (T 0), upsampler nearly uniform (T 100: p(rule) = e^0.1 / (e^0.1 + 12) ≈ 0.084, ~13 of 160)
    const a = await chain(0, 100);
    expect(Array.from(a.codes.top![0]!)).toEqual(Array.from({ length: 40 }, (_, j) => (7 + j) % K));
    expect(hits(a.codes.middle![0]!, rule(a.codes.top![0]!))).toBeLessThan(40);
    // Top nearly uniform, upsampler exact: every middle code is the top code above it
    const b = await chain(100, 0);
    expect(
      hits(
        b.codes.top![0]!,
        Array.from({ length: 40 }, (_, j) => (7 + j) % K),
      ),
    ).toBeLessThan(15);
    expect(Array.from(b.codes.middle![0]!)).toEqual(rule(b.codes.top![0]!));
  });

  it('refuses upper codes too short for the length asked, naming the row', async () => {
    await expect(sampleCodes(rulePrior('middle', 8, 13), { length: 100, batch: 1, upper: [new Int32Array(10)] })).rejects.toThrow(
      /row 0 has 10 upper codes; 100 codes need 25/,
    );
  });
});

describe('conditional NLL', () => {
  it('is the cross-entropy by hand: a rule prior sure of every code but the first, which only its condition names', async () => {
    const [T, K] = [8, 50];
    // top codes 3, 4, 5, …: the rule predicts previous + 1 everywhere, and position 0 from the timbre id (3 = square)
    const song: SongCodes = {
      id: 'a',
      split: 'val',
      timbre: 'square',
      top: Array.from({ length: T }, (_, j) => 3 + j), // one window, starting at the first code
      middle: [],
      bottom: [],
    };
    const r = await conditionalNll(rulePrior('top', T, K), [song]);
    const right = Math.log(Math.exp(10) + K - 1) - 10; // −log softmax of the peak
    const wrong = Math.log(Math.exp(10) + K - 1); // −log softmax of a 0 logit
    expect(r.conditioned).toBeCloseTo(right, 10);
    expect(r.unconditioned).toBeCloseTo(((T - 1) * right + wrong) / T, 10); // "none" (0) names code 0 at position 0
    // two songs, each given the other's timbre when shuffled: position 0 is wrong in both
    const other: SongCodes = { ...song, id: 'b', timbre: 'saw', top: Array.from({ length: 2 * T }, (_, j) => 4 + j) }; // saw = 4; two windows
    const two = await conditionalNll(rulePrior('top', T, K), [song, other]);
    expect([two.n, two.windows]).toEqual([2, 3]);
    // b's second window starts at code 4 + T, which its position 0 (the timbre's code, 4) never names
    expect(two.conditioned).toBeCloseTo(((3 * T - 1) * right + wrong) / (3 * T), 10);
    // shuffled: position 0 of every window is wrong (a gets saw = 4, b gets square = 3)
    expect(two.shuffled).toBeCloseTo(((3 * T - 3) * right + 3 * wrong) / (3 * T), 10);
    expect(two.perSong.map((p) => p.id)).toEqual(['a', 'b']);
    // one condition at a time: the rule reads only the timbre, so shuffling it alone is the full shuffle, the others nothing
    expect(two.oneShuffled!.timbre).toEqual(two.perSong.map((p) => p.shuffled));
    expect(two.oneShuffled!.key).toEqual(two.perSong.map((p) => p.conditioned));
    expect(two.oneShuffled!.tempo).toEqual(two.perSong.map((p) => p.conditioned));
  });
});

describe('a top prior that learns its conditioning', () => {
  it('on codes that are a function of the key, samples that function of the key it is asked for', async () => {
    // Each song's codes: its key's tonic, throughout (windows start anywhere, so only something
    // the same at every offset is a function of the key alone); tempo and timbre carry nothing.
    const keys = ['C major', 'D major', 'E minor', 'F major', 'G minor', 'A minor', 'Bb major', 'C# minor'];
    const tonic = (k: string) => conditionIds({ key: k })[1] - 1; // 0 … 23: tonic, +12 for minor
    const song = (i: number, split: 'train' | 'val'): SongCodes => {
      const key = keys[i % keys.length]!;
      const top = Array.from({ length: 40 }, () => tonic(key));
      return { id: `s${i}`, split, key, tempo: 100, timbre: 'sine', top, middle: [], bottom: [] };
    };
    const path = join(dir, 'codes.jsonl');
    const songs = [...Array.from({ length: 16 }, (_, i) => song(i, 'train')), song(3, 'val')];
    await writeFile(path, songs.map((s) => JSON.stringify({ ...s, middle: [0], bottom: [0] })).join('\n') + '\n');
    const data = await readCodes([path]);
    const cfg = priorConfig({ codes: 24, context: 8, dModel: 32, nHead: 2, nLayer: 1, condDrop: 0 });
    const rt = await Runtime.start({ threads: 1 });
    try {
      const out = join(dir, 'prior');
      await trainWithRecipe(rt, priorTask(cfg, data, { batch: 8, seed: 0 }), {
        steps: 120,
        lr: 1e-2,
        warmup: 10,
        seed: 0,
        evalEvery: 120,
        evalBatches: 1,
        checkpointEvery: 120,
        out,
        resume: false,
      });
      expect((await modelKind('prior')).kind).toBe('jukebox-prior');
      const prior = await loadPrior(out, { threads: 1 });
      try {
        const asked = ['E minor', 'Bb major', 'A minor'];
        const cond = Int32Array.from(asked.flatMap((k) => conditionIds({ key: k })));
        const rows = await sampleCodes(prior, { length: 20, batch: 3, cond, temperature: 0 });
        asked.forEach((k, b) => expect(Array.from(rows[b]!), k).toEqual(Array.from({ length: 20 }, () => tonic(k))));
      } finally {
        await prior.close();
      }
    } finally {
      await rt.close();
    }
  });

  it('names a codes corpus line that is not JSON, one without codes, and one whose codes are not a list', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"id":"a","split":"train","top":[1],"middle":[1],"bottom":[1]}\nnot json\n');
    await expect(readCodes([bad])).rejects.toThrow(/bad\.jsonl:2: not JSON/);
    await writeFile(bad, '{"id":"a","split":"train","top":[],"middle":[]}\n');
    await expect(readCodes([bad])).rejects.toThrow(/bad\.jsonl:1: song 'a' has no codes at any level/);
    await writeFile(bad, '{"id":"a","split":"train","top":5}\n');
    await expect(readCodes([bad])).rejects.toThrow(/bad\.jsonl:1: song 'a': top must be a list of codes/);
  });
});
