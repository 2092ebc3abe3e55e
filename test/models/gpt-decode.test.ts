/**
 * The decoding path generate.ts runs: a prefill of only the prompt's length bucket, then append
 * steps over a read-only KV cache that the runtime extends in place (Runtime `write`). Oracles: the
 * full forward pass's logits at every position (no cache), and hand-written expected buffers for
 * the in-place write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';
import { decodeMask } from '../../src/engine/nn.ts';
import { stateKey } from '../../src/engine/optim.ts';
import { promptBucket } from '../../src/models/gpt/generate.ts';
import { buildAppendDecodeGraph, buildPrefillGraph, GPT, gptConfig } from '../../src/models/gpt/gpt.ts';

const cfg = gptConfig({ vocabSize: 40, blockSize: 40, nLayer: 2, nHead: 2, dModel: 16 });
let rt: T.Runtime;

beforeAll(async () => {
  rt = await T.Runtime.start({ threads: 1 });
  const init = new GPT(cfg).ps.initialize(7);
  await rt.setState(Object.fromEntries(Object.entries(init).map(([k, v]) => [stateKey.param(k), v])));
});
afterAll(() => rt.close());

describe('runtime write (a cache extended in place)', () => {
  it('writes rows at per-row positions, broadcasts a batch-1 output, and refuses out-of-range writes', async () => {
    const x = T.input('x', [1, 2, 2, 3]);
    const s = await rt.load(T.exportOnnx([x], { y: T.mul(x, 2) }));
    const ones = T.hostTensor(
      'float32',
      [1, 2, 2, 3],
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    // Into a fresh (2, 2, 5, 3) buffer: row 0 at position 0, row 1 at position 3, both from the one input row.
    await rt.run(s, { x: ones }, { write: { y: { key: 'w', at: [0, 3], length: 5 } }, fetch: [] });
    const got = (await rt.getState(['w'])).w!;
    expect(got.shape).toEqual([2, 2, 5, 3]);
    const want = new Float32Array(2 * 2 * 5 * 3);
    for (let r = 0; r < 2; r++)
      for (let h = 0; h < 2; h++)
        for (let n = 0; n < 2; n++)
          for (let d = 0; d < 3; d++) want[((r * 2 + h) * 5 + [0, 3][r]! + n) * 3 + d] = 2 * ((h * 2 + n) * 3 + d + 1);
    expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want));
    // A second write touches only its positions.
    await rt.run(s, { x: ones }, { write: { y: { key: 'w', at: [2, 2], length: 5 } }, fetch: [] });
    const again = (await rt.getState(['w'])).w!.data as Float32Array;
    expect(again[((0 * 2 + 0) * 5 + 0) * 3]).toBe(2); // row 0, position 0 kept
    expect(again[((1 * 2 + 1) * 5 + 2) * 3 + 2]).toBe(2 * 9); // row 1, head 1, position 2 written
    await expect(rt.run(s, { x: ones }, { write: { y: { key: 'w', at: [4, 0], length: 5 } } })).rejects.toThrow(/cannot write 'y'/);
    // A longer length grows the buffer before the run: every position written so far kept, the new
    // ones zero, then this write's rows.
    await rt.run(s, { x: ones }, { write: { y: { key: 'w', at: [5, 6], length: 8 } }, fetch: [] });
    const grown = (await rt.getState(['w'])).w!;
    expect(grown.shape).toEqual([2, 2, 8, 3]);
    const wantGrown = new Float32Array(2 * 2 * 8 * 3);
    for (let rh = 0; rh < 4; rh++) wantGrown.set(again.subarray(rh * 15, rh * 15 + 15), rh * 24);
    for (let r = 0; r < 2; r++)
      for (let h = 0; h < 2; h++)
        for (let n = 0; n < 2; n++)
          for (let d = 0; d < 3; d++) wantGrown[((r * 2 + h) * 8 + [5, 6][r]! + n) * 3 + d] = 2 * ((h * 2 + n) * 3 + d + 1);
    expect(Array.from(grown.data as Float32Array)).toEqual(Array.from(wantGrown));
    await rt.dropState(['w']);
  });
});

describe('prefill of the prompt bucket + append decoding', () => {
  it('logits equal the full forward pass at every position, for two rows of different lengths', async () => {
    const rows = [
      [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4],
      [2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5, 2, 3, 5, 3],
    ];
    const prompt = [5, 11]; // row 0's prompt is 5 tokens, row 1's 11: both prefill in a 16 bucket
    const V = cfg.vocabSize;
    const gpt = new GPT(cfg);
    const idx = T.input('idx', [2, cfg.blockSize], 'int64');
    const full = await rt.load(T.exportOnnx([idx, ...gpt.ps.inputs], { logits: gpt.forward(idx) }));
    const padded = rows.flatMap((r) => [...r, ...new Array(cfg.blockSize - r.length).fill(0)]);
    const state = Object.fromEntries(gpt.ps.specs.map((s) => [s.name, stateKey.param(s.name)]));
    const want = (await rt.run(full, { idx: T.hostTensor('int64', [2, cfg.blockSize], padded) }, { state })).logits!.data as Float32Array;
    const at = (b: number, t: number) => want.subarray((b * cfg.blockSize + t) * V, (b * cfg.blockSize + t + 1) * V);

    const P = promptBucket(11, cfg.blockSize);
    expect(P).toBe(16);
    const pre = buildPrefillGraph(cfg, 2, P);
    const dec = buildAppendDecodeGraph(cfg, 2);
    const [ps, ds] = [await rt.load(pre.model), await rt.load(dec.model)];
    // Padding past each prompt is a token the rows never hold there (39), so a leak would show.
    const ids = rows.flatMap((r, b) => [...r.slice(0, prompt[b]), ...new Array(P - prompt[b]!).fill(39)]);
    // The cache's length varies from call to call (the graph's cache axis is symbolic): growing
    // and shrinking by 0–4 positions past the furthest filled one. Every length must give the same
    // logits; the runtime keeps the filled positions when it re-allocates.
    const lengthAt = (pos: number[]) => Math.min(cfg.blockSize, Math.max(...pos) + 1 + ((pos[0]! * 7) % 5));
    const write = (outs: Record<string, string>, pos: number[], length = lengthAt(pos)) =>
      Object.fromEntries(Object.entries(outs).map(([o, key]) => [o, { key, at: pos, length }]));
    const first = await rt.run(
      ps,
      {
        idx: T.hostTensor('int64', [2, P], ids),
        last: T.hostTensor(
          'int64',
          [2],
          prompt.map((n) => n - 1),
        ),
      },
      { state: pre.state, write: write(pre.update, [0, 0], P), fetch: ['logits'] },
    );
    const l0 = first.logits!.data as Float32Array;
    for (let b = 0; b < 2; b++) for (let j = 0; j < V; j++) expect(l0[b * V + j]).toBeCloseTo(at(b, prompt[b]! - 1)[j]!, 4);
    const pos = [...prompt];
    while (pos[1]! < rows[1]!.length) {
      const r = await rt.run(
        ds,
        {
          idx: T.hostTensor('int64', [2, 1], [rows[0]![pos[0]!]!, rows[1]![pos[1]!]!]),
          pos: T.hostTensor('int64', [2], pos),
          hidden: decodeMask(pos, lengthAt(pos)),
        },
        { state: dec.state, write: write(dec.writeKeys, pos), fetch: ['logits'] },
      );
      const l = r.logits!.data as Float32Array;
      for (let b = 0; b < 2; b++) for (let j = 0; j < V; j++) expect(l[b * V + j]).toBeCloseTo(at(b, pos[b]!)[j]!, 4);
      pos[0]!++;
      pos[1]!++;
    }
  });

  it('prompt buckets are powers of two from 16, capped at the block', () => {
    expect([1, 16, 17, 33, 64, 65, 200].map((n) => promptBucket(n, 128))).toEqual([16, 16, 32, 64, 64, 128, 128]);
  });
});
