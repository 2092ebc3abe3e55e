/**
 * Several decoding steps per graph call (GenerateOptions.stepsPerCall, buildStepsDecodeGraph): the
 * greedy tokens against greedy recomputation of the whole context (no cache) up to the context's
 * end, for several steps per call and rows of different lengths; and the in-graph sampler
 * (sampleCategorical) against the exact softmax by a chi-square test, on ONNX Runtime.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';
import { prng, sampleCategorical } from '../../src/engine/nn.ts';
import { stateKey } from '../../src/engine/optim.ts';
import { generate } from '../../src/models/gpt/generate.ts';
import { buildRecomputeGraph, GPT, gptConfig } from '../../src/models/gpt/gpt.ts';
import { ByteTokenizer } from '../../src/text/tokenizer.ts';
import { greedyRecompute } from './greedy-recompute.ts';

// A context of 72 past CACHE_CHUNK (32): the cache generate feeds grows 32 → 64 → 72 positions mid-row.
const cfg = gptConfig({ vocabSize: 260, blockSize: 72, nLayer: 2, nHead: 2, dModel: 16 });
const tok = new ByteTokenizer();
let rt: T.Runtime;

beforeAll(async () => {
  rt = await T.Runtime.start({ threads: 1 });
  const init = new GPT(cfg).ps.initialize(7);
  // A random model is near-uniform; scale the embedding up so greedy choices are well separated.
  const wte = init['wte.weight']!.data as Float32Array;
  for (let i = 0; i < wte.length; i++) wte[i]! *= 20;
  await rt.setState(Object.fromEntries(Object.entries(init).map(([k, v]) => [stateKey.param(k), v])));
});
afterAll(() => rt.close());

/** Greedy decoding by recomputing the whole padded context for every token, until the context is full. */
const greedyToEnd = (prompt: readonly number[]) => greedyRecompute(rt, cfg, prompt);

describe('several tokens per graph call', () => {
  it('greedy tokens equal greedy recomputation to the end of the context, for 1, 3 and 8 steps per call', async () => {
    // Prompt lengths 9, 2 and 5 leave 63, 70 and 67 positions: no steps-per-call divides them all,
    // so calls end mid-row, rows finish inside a call, and the last tokens fall back to one per call.
    const prompts = ['def f(x):', 'ab', 'hello'].map((s) => tok.encode(s));
    const want = await Promise.all(prompts.map(greedyToEnd));
    for (const steps of [1, 3, 8]) {
      const got = await generate(rt, cfg, tok, prompts, { maxNewTokens: 100, temperature: 0, stopTokens: [], stepsPerCall: steps });
      got.forEach((g, i) => {
        const w = want[i]!;
        const upTo = w.includes(tok.special.eot) ? w.indexOf(tok.special.eot) : w.length;
        expect(g.tokens, `${steps} steps per call, row ${i}`).toEqual(w.slice(0, upTo));
        expect(upTo, 'a row ran past the first cache chunk').toBeGreaterThan(40);
        expect(g.finishReason).toBe(upTo < w.length ? 'stop' : 'length');
      });
    }
  });

  it('a stop token picked inside a call ends its row there; maxNewTokens cuts inside a call', async () => {
    const prompt = tok.encode('ab');
    const want = await greedyToEnd(prompt);
    // The fifth greedy token as a stop token: the row must end after four, which the graph
    // produced in the same call as tokens it must discard.
    const stop = want[4]!;
    const upTo = want.indexOf(stop);
    const got = await generate(rt, cfg, tok, [prompt], { maxNewTokens: 100, temperature: 0, stopTokens: [stop], stepsPerCall: 8 });
    expect(got[0]!.tokens).toEqual(want.slice(0, upTo));
    expect(got[0]!.stoppedBy).toEqual({ token: stop });
    const cut = await generate(rt, cfg, tok, [prompt], { maxNewTokens: 6, temperature: 0, stopTokens: [], stepsPerCall: 8 });
    expect(cut[0]!.tokens).toEqual(want.slice(0, 6));
  });

  it('sampling inside the graph: the same seed gives the same tokens, and they stay in the vocabulary', async () => {
    const p = tok.encode('hello');
    const run = (seed: number) => generate(rt, cfg, tok, [p, p, p], { maxNewTokens: 12, temperature: 1.5, seed, stepsPerCall: 4 });
    const [x, y, z] = [await run(3), await run(3), await run(4)];
    expect(x.map((g) => g.tokens)).toEqual(y.map((g) => g.tokens));
    expect(x.map((g) => g.tokens)).not.toEqual(z.map((g) => g.tokens));
    for (const g of x) for (const t of g.tokens) expect(t >= 0 && t < cfg.vocabSize).toBe(true);
  });
});

describe('sampling inside the decoding graph, through generate', () => {
  it('the second token (picked by the graph) follows softmax(logits / T) given the first (chi-square)', async () => {
    // 16 rows of one prompt per call; the first token is pickToken's (from the prefill's logits),
    // the second the graph's. Among rows whose first token is the most frequent one, the second
    // must follow the model's distribution after prompt + that token, computed here by the
    // recompute graph and a float64 softmax at the temperature.
    const temp = 1;
    const prompt = tok.encode('ab');
    const pairs: [number, number][] = [];
    for (let seed = 0; seed < 50; seed++) {
      const g = await generate(rt, cfg, tok, new Array(16).fill(prompt), {
        maxNewTokens: 2,
        temperature: temp,
        seed,
        stopTokens: [],
        stepsPerCall: 4,
      });
      for (const r of g) if (r.tokens.length === 2) pairs.push([r.tokens[0]!, r.tokens[1]!]);
    }
    const firsts = new Map<number, number>();
    for (const [a] of pairs) firsts.set(a, (firsts.get(a) ?? 0) + 1);
    const first = [...firsts].sort((x, y) => y[1] - x[1])[0]![0];
    const seconds = pairs.filter(([a]) => a === first).map(([, b]) => b);
    expect(seconds.length).toBeGreaterThan(200);

    const g = buildRecomputeGraph(cfg, 1);
    const s = await rt.load(g.model);
    const seq = [...prompt, first];
    const idx = [...seq, ...new Array(cfg.blockSize - seq.length).fill(0)];
    const r = await rt.run(
      s,
      { idx: T.hostTensor('int64', [1, cfg.blockSize], idx), last: T.hostTensor('int64', [1], [seq.length - 1]) },
      { state: g.state },
    );
    await rt.release(s);
    const logits = [...(r.logits!.data as Float32Array)];
    const m = Math.max(...logits);
    const w = logits.map((l) => Math.exp((l - m) / temp));
    const z = w.reduce((a, b) => a + b, 0);
    const N = seconds.length;
    // Bins: every id expected ≥ 5 times on its own, the rest pooled.
    const counts = new Map<number, number>();
    for (const t of seconds) counts.set(t, (counts.get(t) ?? 0) + 1);
    let chi2 = 0;
    let bins = 0;
    let restObs = N;
    let restExp = N;
    logits.forEach((_, id) => {
      const e = (N * w[id]!) / z;
      if (e < 5) return;
      const o = counts.get(id) ?? 0;
      chi2 += (o - e) ** 2 / e;
      restObs -= o;
      restExp -= e;
      bins++;
    });
    if (restExp >= 5) {
      chi2 += (restObs - restExp) ** 2 / restExp;
      bins++;
    }
    expect(bins).toBeGreaterThanOrEqual(3);
    // The chi-square critical value at p = 0.001 for df = bins − 1, by Wilson and Hilferty's
    // approximation (z = 3.090): within 1 % of the exact value for df ≥ 2.
    const df = bins - 1;
    const crit = df * (1 - 2 / (9 * df) + 3.09 * Math.sqrt(2 / (9 * df))) ** 3;
    expect(chi2).toBeLessThan(crit);
  });
});

describe('sampleCategorical (the in-graph sampler)', () => {
  // Chi-square critical values at p = 0.001 (scipy.stats.chi2.ppf(0.999, df)): a correct sampler
  // fails one run in a thousand; a seeded run fails never or always.
  const CRIT: Record<number, number> = { 4: 18.467, 5: 20.515 };

  it.each([
    [1, [1.2, -0.3, 0.5, 2.0, -1.0, 0.0]],
    [0.6, [1.2, -0.3, 0.5, 2.0, -1.0, 0.0]],
    [2.5, [0.1, 3.0, -2.0, 0.7, 1.5, -0.5]],
  ])('at temperature %f its frequencies fit softmax(logits / T) (chi-square, 6,000 draws)', async (temp, row) => {
    const N = 6000;
    const V = row.length;
    const logits = T.input('logits', [N, V]);
    const u = T.input('u', [N]);
    const invTemp = T.input('invTemp', [1]);
    const s = await rt.load(T.exportOnnx([logits, u, invTemp], { tok: sampleCategorical(logits, u, invTemp) }));
    const rand = prng(11).next;
    const res = await rt.run(s, {
      logits: T.hostTensor(
        'float32',
        [N, V],
        Array.from({ length: N * V }, (_, i) => row[i % V]!),
      ),
      u: T.hostTensor('float32', [N], Array.from({ length: N }, rand)),
      invTemp: T.hostTensor('float32', [1], [1 / temp]),
    });
    await rt.release(s);
    const counts = new Array<number>(V).fill(0);
    for (const t of res.tok!.data as BigInt64Array) counts[Number(t)]!++;
    // The exact distribution, in float64.
    const m = Math.max(...row);
    const w = row.map((l) => Math.exp((l - m) / temp));
    const z = w.reduce((a, b) => a + b, 0);
    const chi2 = counts.reduce((acc, c, i) => acc + (c - (N * w[i]!) / z) ** 2 / ((N * w[i]!) / z), 0);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(N);
    expect(chi2).toBeLessThan(CRIT[V - 1]!);
  });

  it('never picks an id of zero probability, at either end of [0, 1)', async () => {
    // Ids 0 and 4 have zero mass in float32 (−1e9 logits); u = 0 and u just below 1 probe both ends.
    const row = [-1e9, 0.5, 1.0, -0.2, -1e9];
    const us = [0, 1e-9, 0.25, 0.5, 0.999, 1 - 2 ** -24, 1 - 2 ** -32];
    const logits = T.input('logits', [us.length, row.length]);
    const u = T.input('u', [us.length]);
    const invTemp = T.input('invTemp', [1]);
    const s = await rt.load(T.exportOnnx([logits, u, invTemp], { tok: sampleCategorical(logits, u, invTemp) }));
    const res = await rt.run(s, {
      logits: T.hostTensor(
        'float32',
        [us.length, row.length],
        us.flatMap(() => row),
      ),
      u: T.hostTensor('float32', [us.length], us),
      invTemp: T.hostTensor('float32', [1], [1]),
    });
    await rt.release(s);
    const picked = [...(res.tok!.data as BigInt64Array)].map(Number);
    // By hand: softmax of [0.5, 1.0, −0.2] is [0.3179, 0.5242, 0.1579]; cdf 0, 0.3179, 0.8421, 1, 1.
    expect(picked).toEqual([1, 1, 1, 2, 3, 3, 3]);
  });
});

describe('which decode graphs a pass loads', () => {
  it('a greedy pass runs on the prefill and several-token graphs only; nucleus sampling loads the one-token graph', async () => {
    // A fresh runtime: its sessions are exactly the graphs generate loaded (each holds its own
    // copy of the parameters baked in, so an unneeded one costs the model's size in memory).
    const fresh = await T.Runtime.start({ threads: 1 });
    try {
      await fresh.setState(Object.fromEntries(Object.entries(new GPT(cfg).ps.initialize(7)).map(([k, v]) => [stateKey.param(k), v])));
      const prompt = [tok.encode('ab')];
      await generate(fresh, cfg, tok, prompt, { maxNewTokens: 20, temperature: 0, stopTokens: [] });
      expect(fresh.liveSessions).toBe(2);
      await generate(fresh, cfg, tok, prompt, { maxNewTokens: 20, temperature: 0.8, topP: 0.9, seed: 1, stopTokens: [] });
      expect(fresh.liveSessions).toBe(3);
    } finally {
      await fresh.close();
    }
  });
});
