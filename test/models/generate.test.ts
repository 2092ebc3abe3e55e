/**
 * Generation with a tiny random GPT: the KV-cache path (prefill + decode) against the full
 * recomputation path, per-row positions in a batch, seeds, stop strings, streaming and sampling
 * filters.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';
import { prng } from '../../src/engine/nn.ts';
import { stateKey } from '../../src/engine/optim.ts';
import { batchBucket, generate, MAX_BATCH, MAX_LIVE_GRAPHS, pickToken } from '../../src/models/gpt/generate.ts';
import { buildDecodeGraph, buildPrefillGraph, GPT, gptConfig } from '../../src/models/gpt/gpt.ts';
import { ByteTokenizer } from '../../src/text/tokenizer.ts';
import { greedyRecompute as greedyByRecompute } from './greedy-recompute.ts';

const cfg = gptConfig({ vocabSize: 260, blockSize: 24, nLayer: 2, nHead: 2, dModel: 16 });
const tok = new ByteTokenizer();
let rt: T.Runtime;

beforeAll(async () => {
  rt = await T.Runtime.start({ threads: 1 });
  const init = new GPT(cfg).ps.initialize(42);
  // A random model is near-uniform; scale the embedding up so greedy choices are well separated.
  const wte = init['wte.weight']!.data as Float32Array;
  for (let i = 0; i < wte.length; i++) wte[i]! *= 20;
  await rt.setState(Object.fromEntries(Object.entries(init).map(([k, v]) => [stateKey.param(k), v])));
});
afterAll(() => rt.close());

/**
 * What generation must return for greedy tokens `want`: everything before the first end-of-text
 * (EOT ends a row and is not part of its output), or all of them.
 */
const untilEot = (want: number[]) => (want.includes(tok.special.eot) ? want.slice(0, want.indexOf(tok.special.eot)) : want);

const greedyRecompute = (prompt: number[], n: number) => greedyByRecompute(rt, cfg, prompt, n);

describe('KV cache', () => {
  it('prefill + decode logits equal the full forward pass at every position', async () => {
    const tokens = [3, 1, 4, 1, 5, 9, 2, 6];
    const gpt = new GPT(cfg);
    const idx = T.input('idx', [1, cfg.blockSize], 'int64');
    const full = await rt.load(T.exportOnnx([idx, ...gpt.ps.inputs], { logits: gpt.forward(idx) }));
    const padded = [...tokens, ...new Array(cfg.blockSize - tokens.length).fill(7)];
    const state = Object.fromEntries(gpt.ps.specs.map((s) => [s.name, stateKey.param(s.name)]));
    const want = (await rt.run(full, { idx: T.hostTensor('int64', [1, cfg.blockSize], padded) }, { state })).logits!.data as Float32Array;
    const pre = buildPrefillGraph(cfg, 1);
    const dec = buildDecodeGraph(cfg, 1);
    const [ps, ds] = [await rt.load(pre.model), await rt.load(dec.model)];
    // Prefill the first 3 tokens, then decode the rest one at a time.
    const first = await rt.run(
      ps,
      { idx: T.hostTensor('int64', [1, cfg.blockSize], padded), last: T.hostTensor('int64', [1], [2]) },
      { state: pre.state, update: pre.update },
    );
    const V = cfg.vocabSize;
    Array.from(first.logits!.data as Float32Array).forEach((v, j) => expect(v).toBeCloseTo(want[2 * V + j]!, 4));
    for (let t = 3; t < tokens.length; t++) {
      const r = await rt.run(
        ds,
        { idx: T.hostTensor('int64', [1, 1], [tokens[t]!]), pos: T.hostTensor('int64', [1], [t]) },
        { state: dec.state, update: dec.update, fetch: ['logits'] },
      );
      Array.from(r.logits!.data as Float32Array).forEach((v, j) => expect(v).toBeCloseTo(want[t * V + j]!, 4));
    }
  });

  it('greedy generation with the cache equals greedy recomputation, also in a batch of different lengths', async () => {
    const a = tok.encode('def f(x):');
    const b = tok.encode('ab');
    const want = [await greedyRecompute(a, 8), await greedyRecompute(b, 8)];
    const got = await generate(rt, cfg, tok, [a, b], { maxNewTokens: 8, temperature: 0, stopTokens: [] });
    got.forEach((g, i) => expect(g.tokens).toEqual(untilEot(want[i]!)));
    expect(got.every((g) => g.tokens.length > 0)).toBe(true);
  });
});

describe('batches: power-of-two buckets, a shared prefill, passes, bounded sessions', () => {
  it('three different prompts (padded to a batch of 4) each equal their own greedy recomputation', async () => {
    const prompts = ['def f(x):', 'ab', 'class A:\n'].map((t) => tok.encode(t));
    const want = await Promise.all(prompts.map((p) => greedyRecompute(p, 6)));
    const got = await generate(rt, cfg, tok, prompts, { maxNewTokens: 6, temperature: 0, stopTokens: [] });
    expect(got).toHaveLength(3);
    got.forEach((g, i) => expect(g.tokens).toEqual(untilEot(want[i]!)));
    expect(got.every((g) => g.tokens.length > 0)).toBe(true);
  });

  it('n copies of one prompt (one prefill for all rows), also past MAX_BATCH in two passes, equal greedy recomputation', async () => {
    const p = tok.encode('import os');
    const want = await greedyRecompute(p, 6);
    for (const n of [3, MAX_BATCH + 1]) {
      const streamed = new Set<number>();
      const got = await generate(rt, cfg, tok, new Array(n).fill(p), {
        maxNewTokens: 6,
        temperature: 0,
        onText: (row) => streamed.add(row),
      });
      expect(got).toHaveLength(n);
      for (const g of got) expect(g.tokens).toEqual(untilEot(want));
      if (got[0]!.text) expect([...streamed].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
  });

  it('buckets are the next power of two', () => {
    expect([1, 2, 3, 4, 5, 8, 9, 16].map(batchBucket)).toEqual([1, 2, 4, 4, 8, 8, 16, 16]);
  });

  it('keeps at most 3 × MAX_LIVE_GRAPHS sessions loaded however the batch size varies', async () => {
    const own = await T.Runtime.start({ threads: 1 });
    try {
      await own.setState(Object.fromEntries(Object.entries(new GPT(cfg).ps.initialize(3)).map(([k, v]) => [stateKey.param(k), v])));
      const p = tok.encode('x');
      let most = 0;
      for (let n = 1; n <= MAX_BATCH; n++) {
        // Alternate one prompt (shared prefill) and different prompts (one row each).
        const prompts = Array.from({ length: n }, (_, i) => (n % 2 ? p : tok.encode(`x${i}`)));
        await generate(own, cfg, tok, prompts, { maxNewTokens: 2, temperature: 0 });
        most = Math.max(most, own.liveSessions);
      }
      // Before buckets and eviction: two new sessions for every n (32 here).
      expect(most).toBeLessThanOrEqual(3 * MAX_LIVE_GRAPHS); // prefill, broadcast, decode per shape at most
      expect(most).toBeGreaterThanOrEqual(2); // the count is real: generation loads sessions
    } finally {
      await own.close();
    }
  });
});

describe('sampling', () => {
  const prompt = tok.encode('hello');

  it('the same seed gives the same text; another seed differs', async () => {
    const run = (seed: number) => generate(rt, cfg, tok, [prompt, prompt], { maxNewTokens: 12, temperature: 1.5, seed });
    const [x, y, z] = [await run(1), await run(1), await run(2)];
    expect(x.map((g) => g.tokens)).toEqual(y.map((g) => g.tokens));
    expect(x.map((g) => g.tokens)).not.toEqual(z.map((g) => g.tokens));
  });

  it('streams exactly the final text, never a partial stop string, and cuts before the stop string', async () => {
    const full = (await generate(rt, cfg, tok, [prompt], { maxNewTokens: 16, temperature: 0 }))[0]!;
    expect(full.text.length).toBeGreaterThan(4);
    const stop = full.text.slice(3, 5); // a string the greedy text is known to contain
    const streamed: string[] = [];
    const cut = (
      await generate(rt, cfg, tok, [prompt], { maxNewTokens: 16, temperature: 0, stopStrings: [stop], onText: (_, t) => streamed.push(t) })
    )[0]!;
    expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(cut.finishReason).toBe('stop');
    expect(streamed.join('')).toBe(cut.text);
  });

  it('reports log-probabilities that are normalised and ranked', async () => {
    const g = (await generate(rt, cfg, tok, [prompt], { maxNewTokens: 4, temperature: 0, logprobs: 3 }))[0]!;
    const lp = g.logprobs!;
    expect(lp.tokens.length).toBe(g.tokens.length);
    lp.topLogprobs.forEach((top, i) => {
      const vals = Object.values(top);
      expect(vals.every((v) => v <= 0)).toBe(true);
      expect(Math.max(...vals)).toBeCloseTo(lp.tokenLogprobs[i]!, 6); // greedy picks the top token
    });
  });

  it('top-k and top-p restrict the support; temperature 0 is argmax', () => {
    const logits = Float32Array.from([2, 1, 0.5, 0, -1]);
    const rand = prng(5).next;
    const seen = (o: object) => new Set(Array.from({ length: 400 }, () => pickToken(logits, o, rand)));
    expect(seen({ temperature: 1, topK: 2 })).toEqual(new Set([0, 1]));
    // softmax(logits): p0 ≈ 0.55, p0 + p1 ≈ 0.76: top-p 0.7 keeps exactly the first two
    expect(seen({ temperature: 1, topP: 0.7 })).toEqual(new Set([0, 1]));
    expect(seen({ temperature: 1, topP: 0.5 })).toEqual(new Set([0]));
    expect(seen({ temperature: 0 })).toEqual(new Set([0]));
    expect(seen({ temperature: 1 }).size).toBe(5);
  });
});
