/**
 * Decode graphs run with their parameters baked in as constants (LoadOptions.bake): a baked session
 * gives the outputs of the same graph fed the parameters, and generate follows parameters that
 * change between generations (training, another checkpoint) instead of decoding with the values
 * it baked first — checked against greedy recomputation of the whole context, which feeds the
 * parameters from state. The runtime's side: bake of a non-input is an error; the state version
 * moves with setState and with a run's updates, and not with a KV-cache write.
 */

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';
import { stateKey } from '../../src/engine/optim.ts';
import { input } from '../../src/engine/tensor.ts';
import { TonyError } from '../../src/errors.ts';
import { generate } from '../../src/models/gpt/generate.ts';
import { GPT, gptConfig } from '../../src/models/gpt/gpt.ts';
import { ByteTokenizer } from '../../src/text/tokenizer.ts';
import { greedyRecompute } from './greedy-recompute.ts';

const cfg = gptConfig({ vocabSize: 260, blockSize: 48, nLayer: 2, nHead: 2, dModel: 16 });
const tok = new ByteTokenizer();
const SCALE = 2;
let rt: T.Runtime;

/** Parameters from `seed`, the embedding scaled (×2) so greedy choices are well separated and the two seeds decode differently. */
function weights(seed: number) {
  const init = new GPT(cfg).ps.initialize(seed);
  const wte = init['wte.weight']!.data as Float32Array;
  for (let i = 0; i < wte.length; i++) wte[i]! *= SCALE;
  return Object.fromEntries(Object.entries(init).map(([k, v]) => [stateKey.param(k), v]));
}

// Baked values go through a temporary model file: the runtime's worker reads TMPDIR when it starts.
let scratch: string;
const tmpWas = process.env.TMPDIR;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tony-bake-test-'));
  process.env.TMPDIR = scratch;
  rt = await T.Runtime.start({ threads: 1 });
});
afterAll(async () => {
  await rt.close();
  if (tmpWas === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = tmpWas;
  await rm(scratch, { recursive: true, force: true });
});

describe('decode graphs with their parameters baked in', () => {
  it('generate decodes with the parameters the runtime holds now, through a change of parameters', async () => {
    const prompt = tok.encode('ab');
    const upTo = (w: number[]) => w.slice(0, w.includes(tok.special.eot) ? w.indexOf(tok.special.eot) : w.length);
    const tokens = [];
    let sessions = 0;
    for (const seed of [1, 2, 1]) {
      await rt.setState(weights(seed));
      const want = upTo(await greedyRecompute(rt, cfg, prompt, 20));
      for (const steps of [1, 8]) {
        const got = await generate(rt, cfg, tok, [prompt], { maxNewTokens: 20, temperature: 0, stopTokens: [], stepsPerCall: steps });
        expect(got[0]!.tokens, `seed ${seed}, ${steps} steps per call`).toEqual(want);
      }
      tokens.push(want);
      // Stale sessions are released, not kept beside the new ones.
      if (sessions) expect(rt.liveSessions).toBe(sessions);
      sessions = rt.liveSessions;
    }
    // The two models decode differently, so decoding with stale parameters would have been seen.
    expect(tokens[1]).not.toEqual(tokens[0]);
    expect(tokens[2]).toEqual(tokens[0]);
  });

  it('a baked session computes what the graph fed its state computes; bake names only inputs', async () => {
    const x = input('x', [2, 3], 'float32');
    const w = input('w', [3, 4], 'float32');
    const b = input('b', [4], 'float32');
    const model = T.exportOnnx([x, w, b], { y: T.add(T.matmul(x, w), b) });
    const xv = [1, 2, 3, -1, 0.5, 2];
    const xs = T.hostTensor('float32', [2, 3], xv);
    const ws = Array.from({ length: 12 }, (_, i) => (i % 5) - 2);
    const bs = [0.25, -1, 3, 0.5];
    await rt.setState({ W: T.hostTensor('float32', [3, 4], ws), B: T.hostTensor('float32', [4], bs) });
    // Two values baked: the second lies at a later offset of the temporary data file.
    const baked = await rt.load(model, { bake: { w: 'W', b: 'B' } });
    const y = (await rt.run(baked, { x: xs }, { state: { w: 'W' } })).y!.data as Float32Array;
    // By hand: y[i][j] = Σ_k x[i][k] · w[k][j] + b[j].
    const want = [0, 1].flatMap((i) =>
      [0, 1, 2, 3].map((j) => [0, 1, 2].reduce((s, k) => s + xv[i * 3 + k]! * ws[k * 4 + j]!, 0) + bs[j]!),
    );
    expect([...y]).toEqual(want);
    const left = (await readdir(scratch)).filter((f) => f.startsWith('tony-bake-'));
    expect(left, 'the temporary model files are deleted once the session exists').toEqual([]);
    await expect(rt.load(model, { bake: { nope: 'W' } })).rejects.toThrow(TonyError);
    await expect(rt.load(model, { threads: 0 })).rejects.toThrow(/threads must be a positive integer/);
    // Its own thread count and the arena: the same numbers.
    const own = await rt.load(model, { bake: { w: 'W', b: 'B' }, threads: 1, arena: true });
    expect([...((await rt.run(own, { x: xs })).y!.data as Float32Array)]).toEqual(want);
    await rt.release(own);
    await rt.release(baked);
  });

  it('the state version moves with setState and updates, not with cache writes', async () => {
    const v0 = rt.stateVersion(['A', 'B']);
    await rt.setState({ A: T.hostTensor('float32', [1], [1]) });
    const v1 = rt.stateVersion(['A', 'B']);
    expect(v1).not.toBe(v0);
    expect(rt.stateVersion(['B'])).toBe(v0.split(',')[1]);
    const a = input('a', [1], 'float32');
    const s = await rt.load(T.exportOnnx([a], { b: T.add(a, a) }));
    await rt.run(s, {}, { state: { a: 'A' }, update: { b: 'B' } });
    expect(rt.stateVersion(['A'])).toBe(v1.split(',')[0]);
    expect(rt.stateVersion(['B'])).not.toBe(v0.split(',')[1]);
    await rt.release(s);
  });
});
