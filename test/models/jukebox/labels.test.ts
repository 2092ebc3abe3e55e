/**
 * The upsamplers' metadata conditioning (src/models/jukebox/prior.ts `labels`: timbre, key and
 * tempo in the start token's place, as the paper's code gives its upsamplers the artist/genre
 * labels), against oracles that do not come from the code under test:
 *  - condition dropout: over many training windows each condition is "none" at the rate condDrop
 *    asks (a binomial's 5-sigma band), never with condDrop 0, and always the song's own otherwise;
 *  - a wrong condition moves the logits at every position (position 0 reads it, and attention
 *    carries it on), and an upsampler built without labels has no such input;
 *  - the loss's gradient through the three condition tables and the conditioner against central
 *    finite differences (float64 reference interpreter);
 *  - an upsampler saved before labels existed (its config has no `labels`) loads as one without,
 *    and its logits are those the float64 interpreter gives for its weights;
 *  - sampling: a rule-based upsampler whose argmax is (upper code + key id) mod K, so the codes
 *    drawn show that every window received the request's condition ids.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../../src/engine/checkpoint.ts';
import { type HostTensor, hostTensor, toNumbers } from '../../../src/engine/dtype.ts';
import { interpret } from '../../../src/engine/interpret.ts';
import { input } from '../../../src/engine/tensor.ts';
import { priorTask, readCodes } from '../../../src/models/jukebox/kind.ts';
import type { SongCodes } from '../../../src/models/jukebox/levels.ts';
import { conditionIds, Prior, priorConfig } from '../../../src/models/jukebox/prior.ts';
import { type LoadedPrior, loadPrior, sampleCodes } from '../../../src/models/jukebox/sample.ts';
import { expectGradients, scaledWeights } from './fd-check.ts';

const small = { level: 'middle', codes: 6, context: 8, dModel: 8, nHead: 2, nLayer: 2, condDepth: 1 };
const f64 = (t: HostTensor) => hostTensor('float64', t.shape, Float64Array.from(t.data as Float32Array));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-labels-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('an upsampler with labels', () => {
  it('is the default, refused off on the top prior, and without labels has no condition tables', () => {
    expect(priorConfig({ level: 'bottom' }).labels).toBe(true);
    expect(() => priorConfig({ labels: false })).toThrow(/top prior is always conditioned/);
    expect(() => priorConfig({ level: 'bottom', labels: 'yes' })).toThrow(/'labels' must be a boolean/);
    const names = (labels: boolean) => new Prior(priorConfig({ ...small, labels })).ps.inputs.map((p) => p.name);
    expect(names(true)).toEqual(expect.arrayContaining(['cond.timbre.weight', 'cond.key.weight', 'cond.tempo.weight']));
    expect(names(true)).not.toContain('start');
    expect(names(false)).toContain('start');
    expect(names(false).some((n) => n!.startsWith('cond.key'))).toBe(false);
  });

  it('drops each condition to "none" at the rate condDrop asks, and keeps the song\'s own otherwise', async () => {
    const song = (i: number, split: 'train' | 'val'): SongCodes => ({
      id: `s${i}`,
      split,
      key: i % 2 ? 'D minor' : 'A major',
      tempo: 100 + 10 * i,
      timbre: 'bell',
      top: [],
      middle: Array.from({ length: 40 }, (_, j) => (i + j) % 6),
      bottom: [],
    });
    const path = join(dir, 'codes.jsonl');
    const songs = [...Array.from({ length: 6 }, (_, i) => song(i, 'train')), song(6, 'val')];
    await writeFile(path, songs.map((s) => JSON.stringify({ ...s, top: Array(10).fill(1), bottom: [0] })).join('\n') + '\n');
    const data = await readCodes([path]);
    const count = (condDrop: number, batches: number) => {
      const task = priorTask(priorConfig({ ...small, condDrop }), data, { batch: 16, seed: 3 });
      const none = [0, 0, 0];
      let n = 0;
      for (let i = 0; i < batches; i++) {
        const f = task.batch('train', i);
        const ids = toNumbers(f.ids!);
        const cond = toNumbers(f.cond!);
        const upper = toNumbers(f.upper!);
        for (let b = 0; b < 16; b++) {
          // which song: its middle codes are (i + j) mod 6, so the window's first code and offset name it
          const first = ids[b * 8]!;
          expect(upper.length).toBe(16 * 2);
          const own = (s: SongCodes) => conditionIds({ timbre: s.timbre, key: s.key, tempo: s.tempo });
          const candidates = data.train.filter((s) => s.middle.includes(first));
          for (let c = 0; c < 3; c++) {
            const v = cond[b * 3 + c]!;
            if (v === 0) none[c]!++;
            else
              expect(
                candidates.some((s) => own(s)[c] === v),
                `condition ${c} = ${v} is some song's own`,
              ).toBe(true);
          }
          n++;
        }
      }
      return { none, n };
    };
    expect(count(0, 10).none).toEqual([0, 0, 0]);
    const { none, n } = count(0.3, 40); // 640 windows
    const sd = Math.sqrt(n * 0.3 * 0.7);
    for (const k of none) expect(Math.abs(k - 0.3 * n), `${k} of ${n} dropped`).toBeLessThan(5 * sd);
  });

  it('reads them: a wrong key, timbre or tempo moves the logits at every position', () => {
    const prior = new Prior(priorConfig(small));
    const ids = input('ids', [1, 8], 'int64');
    const upper = input('upper', [1, 2], 'int64');
    const cond = input('cond', [1, 3], 'int64');
    const logits = prior.forward(ids, { upper, cond });
    const w = Object.fromEntries(Object.entries(prior.ps.initialize(4)).map(([k, t]) => [k, f64(t)]));
    const run = (c: number[]) =>
      toNumbers(
        interpret([logits], {
          ...w,
          ids: hostTensor('int64', [1, 8], [3, 1, 4, 1, 5, 0, 2, 5]),
          upper: hostTensor('int64', [1, 2], [4, 1]),
          cond: hostTensor('int64', [1, 3], c),
        })[0]!,
      );
    const right = run(conditionIds({ timbre: 'saw', key: 'D minor', tempo: 120 }));
    for (const wrong of [
      { timbre: 'saw', key: 'E major', tempo: 120 },
      { timbre: 'bell', key: 'D minor', tempo: 120 },
      { timbre: 'saw', key: 'D minor', tempo: 80 },
      {},
    ]) {
      const other = run(conditionIds(wrong));
      for (let pos = 0; pos < 8; pos++) {
        const d = Math.max(...Array.from({ length: 6 }, (_, k) => Math.abs(other[pos * 6 + k]! - right[pos * 6 + k]!)));
        expect(d, `${JSON.stringify(wrong)} at position ${pos}`).toBeGreaterThan(1e-9);
      }
    }
  });

  // The float64 reference interpreter, as the lyrics' gradient check (ONNX Runtime's float64 erf is float32).
  it('has the gradient finite differences give, through the condition tables and the conditioner', () => {
    const prior = new Prior(priorConfig(small));
    const ids = input('ids', [2, 8], 'int64');
    const upper = input('upper', [2, 2], 'int64');
    const cond = input('cond', [2, 3], 'int64');
    const loss = prior.loss(ids, { upper, cond });
    const pick = /^(cond\.(timbre|key|tempo)\.weight|cond\.emb\.weight|cond\.up\.weight)$/;
    const params = prior.ps.inputs.filter((p) => pick.test(p.name!));
    expect(params.length).toBe(5);
    const rows = [conditionIds({ timbre: 'organ', key: 'F# minor', tempo: 95 }), conditionIds({ key: 'C major' })];
    const feeds: Record<string, HostTensor> = {
      ids: hostTensor('int64', [2, 8], [3, 1, 4, 1, 5, 2, 0, 0, 2, 2, 1, 3, 4, 4, 0, 5]),
      upper: hostTensor('int64', [2, 2], [4, 1, 0, 5]),
      cond: hostTensor('int64', [2, 3], rows.flat()),
      ...scaledWeights(prior, (k) => k.includes('ln')),
    };
    const C = small.dModel;
    // rows of the tables the batch uses (and one it does not: its gradient must be 0)
    const at: Record<string, number[]> = {
      'cond.timbre.weight': [rows[0]![0]! * C, rows[0]![0]! * C + 5, 0 * C + 1],
      'cond.key.weight': [rows[0]![1]! * C + 2, rows[1]![1]! * C + 7, 20 * C],
      'cond.tempo.weight': [rows[0]![2]! * C + 3, 0 * C + 4, 15 * C],
    };
    const out = expectGradients(loss, params, feeds, (p) => at[p.name!] ?? [0, Math.floor(p.size / 2), p.size - 1]);
    // a table row no example uses (key id 20 = G# minor, tempo id 15) gets exactly nothing
    const key = out[params.findIndex((p) => p.name === 'cond.key.weight')]!;
    expect(key.slice(20 * C, 21 * C).every((v) => v === 0)).toBe(true);
  });
});

/** A rule-based upsampler with labels: position i's argmax is (the upper code above it + the key id) mod K. */
function ruleUpsampler(T: number, K: number): LoadedPrior {
  const cfg = priorConfig({ level: 'middle', codes: K, context: T });
  return {
    kind: 'rule',
    id: 'rule',
    capabilities: [],
    provider: 'host',
    cfg,
    async logits(_ids, B, ctx) {
      const out = new Float32Array(B * T * K);
      for (let b = 0; b < B; b++)
        for (let i = 0; i < T; i++)
          out[(b * T + i) * K + ((ctx.upper![b * (T / 4) + Math.floor(i / 4)]! + ctx.cond![3 * b + 1]!) % K)] = 10;
      return out;
    },
    close: async () => {},
  };
}

describe('sampling an upsampler with labels', () => {
  it("gives every window each row's own condition ids", async () => {
    const K = 31;
    const upper = [Int32Array.from({ length: 40 }, (_, j) => (j * 7) % 13), Int32Array.from({ length: 40 }, (_, j) => j % 5)];
    const keys = ['D minor', 'Bb major'];
    const cond = Int32Array.from(keys.flatMap((k) => conditionIds({ key: k, tempo: 90 })));
    const rows = await sampleCodes(ruleUpsampler(8, K), { length: 150, batch: 2, upper, cond, temperature: 0 });
    keys.forEach((k, b) => {
      const key = conditionIds({ key: k })[1];
      expect(Array.from(rows[b]!), k).toEqual(Array.from({ length: 150 }, (_, j) => (upper[b]![Math.floor(j / 4)]! + key) % K));
    });
  });

  it('refuses to sample without condition ids, naming the level and the count', async () => {
    await expect(sampleCodes(ruleUpsampler(8, 13), { length: 20, batch: 1, upper: [new Int32Array(10)] })).rejects.toThrow(
      /the middle prior needs condition ids for 1 rows \(3\), got none/,
    );
  });
});

describe('an upsampler saved before labels existed', () => {
  it('loads without them, and scores windows as its weights say', async () => {
    const cfg = priorConfig({ ...small, labels: false });
    const prior = new Prior(cfg);
    const ids = input('ids', [1, 8], 'int64');
    const upper = input('upper', [1, 2], 'int64');
    const logits = prior.forward(ids, { upper });
    const params = prior.ps.initialize(7);
    const { labels: _gone, ...old } = cfg; // the session-1 config: no `labels` key
    const run = join(dir, 'old-upsampler');
    await saveCheckpoint(run, { config: { kind: 'jukebox-prior', model: old }, state: { step: 0 }, params });
    const want = toNumbers(
      interpret([logits], {
        ...Object.fromEntries(Object.entries(params).map(([k, t]) => [k, f64(t)])),
        ids: hostTensor('int64', [1, 8], [3, 1, 4, 1, 5, 0, 2, 5]),
        upper: hostTensor('int64', [1, 2], [4, 1]),
      })[0]!,
    );
    const loaded = await loadPrior(run, { threads: 1 });
    try {
      expect(loaded.cfg.labels).toBe(false);
      const got = await loaded.logits(Int32Array.from([3, 1, 4, 1, 5, 0, 2, 5]), 1, { upper: Int32Array.from([4, 1]) });
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-4);
    } finally {
      await loaded.close();
    }
  });
});
