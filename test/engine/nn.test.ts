/**
 * nn blocks against independent plain-loop implementations written here: attention (causal,
 * bidirectional, key-padding masks, cross-attention with masks and its KV cache) with the same
 * weights, masked/weighted cross-entropy, timestep embeddings, and the conv/dropout blocks'
 * contracts. Gradients of the new blocks go through the op table's harness (finite differences).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';
import {
  attention,
  blockCausalAttention,
  CAUSAL_BLOCK,
  CausalSelfAttention,
  Conv1d,
  ConvTranspose1d,
  CrossAttention,
  crossEntropy,
  Dropout,
  keyPaddingMask,
  MASK,
  ParamSet,
  SelfAttention,
  timestepEmbedding,
} from '../../src/engine/nn.ts';
import { checkOp, makeInput, type OpCase } from './harness.ts';

let rt: T.Runtime;
beforeAll(async () => {
  rt = await T.Runtime.start({ threads: 1 });
});
afterAll(() => rt.close());

type Mat = number[][];
const matmul = (a: Mat, b: Mat): Mat => a.map((r) => b[0]!.map((_, j) => r.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const rows = (h: T.HostTensor, cols: number): Mat => {
  const v = Array.from(T.toNumbers(h));
  return Array.from({ length: v.length / cols }, (_, i) => v.slice(i * cols, (i + 1) * cols));
};
const linear = (x: Mat, w: T.HostTensor, b: T.HostTensor, nOut: number) =>
  matmul(x, rows(w, nOut)).map((r) => r.map((v, j) => v + (b.data[j] as number)));

/**
 * Textbook multi-head attention for one sequence: q (Tq, C), k/v (Tk, C); query i sees key j when
 * `sees(i, j)` (true for all = unmasked; j ≤ i = causal).
 */
function naiveAttention(q: Mat, k: Mat, v: Mat, nHead: number, causal: boolean | ((i: number, j: number) => boolean)): Mat {
  const sees = typeof causal === 'function' ? causal : (i: number, j: number) => !causal || j <= i;
  const C = q[0]!.length;
  const hs = C / nHead;
  const out: Mat = q.map(() => new Array<number>(C).fill(0));
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < q.length; i++) {
      const scores = k.map((kr, j) => {
        if (!sees(i, j)) return -Infinity;
        let s = 0;
        for (let d = 0; d < hs; d++) s += q[i]![h * hs + d]! * kr[h * hs + d]!;
        return s / Math.sqrt(hs);
      });
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let d = 0; d < hs; d++) out[i]![h * hs + d] = e.reduce((acc, w, j) => acc + (w / z) * v[j]![h * hs + d]!, 0);
    }
  }
  return out;
}

async function runBlock(ps: ParamSet, ins: T.Tensor[], y: T.Tensor, feeds: Record<string, T.HostTensor>) {
  const init = ps.initialize(11);
  // Non-zero biases so their wiring is tested too.
  for (const s of ps.specs)
    if (s.name.endsWith('.bias')) init[s.name] = makeInput({ shape: [...s.shape], dtype: 'float32' }, s.name.length);
  const s = await rt.load(T.exportOnnx([...ins, ...ps.inputs], { y }));
  return { y: (await rt.run(s, { ...feeds, ...init })).y!, init };
}

describe('attention blocks', () => {
  const B = 2,
    Tn = 5,
    C = 8,
    nh = 2;

  it('causal self-attention equals a plain-loop implementation', async () => {
    const ps = new ParamSet();
    const attn = new CausalSelfAttention(ps, 'a', C, nh);
    const x = T.input('x', [B, Tn, C]);
    const xh = makeInput({ shape: [B, Tn, C], dtype: 'float32' }, 3);
    const { y, init } = await runBlock(ps, [x], attn.forward(x), { x: xh });
    const all = rows(xh, C);
    for (let b = 0; b < B; b++) {
      const xb = all.slice(b * Tn, (b + 1) * Tn);
      const qkv = linear(xb, init['a.qkv.weight']!, init['a.qkv.bias']!, 3 * C);
      const att = naiveAttention(
        qkv.map((r) => r.slice(0, C)),
        qkv.map((r) => r.slice(C, 2 * C)),
        qkv.map((r) => r.slice(2 * C)),
        nh,
        true,
      );
      const want = linear(att, init['a.proj.weight']!, init['a.proj.bias']!, C);
      const got = rows(y, C).slice(b * Tn, (b + 1) * Tn);
      want.flat().forEach((v, i) => expect(got.flat()[i]).toBeCloseTo(v, 5));
    }
  });

  it('cross-attention (queries from x, keys/values from a context) equals a plain-loop implementation', async () => {
    const ps = new ParamSet();
    const S = 3,
      Cc = 6;
    const attn = new CrossAttention(ps, 'x', C, Cc, nh);
    const x = T.input('x', [B, Tn, C]);
    const ctx = T.input('ctx', [B, S, Cc]);
    const xh = makeInput({ shape: [B, Tn, C], dtype: 'float32' }, 4);
    const ch = makeInput({ shape: [B, S, Cc], dtype: 'float32' }, 5);
    const { y, init } = await runBlock(ps, [x, ctx], attn.forward(x, ctx), { x: xh, ctx: ch });
    for (let b = 0; b < B; b++) {
      const q = linear(rows(xh, C).slice(b * Tn, (b + 1) * Tn), init['x.q.weight']!, init['x.q.bias']!, C);
      const kv = linear(rows(ch, Cc).slice(b * S, (b + 1) * S), init['x.kv.weight']!, init['x.kv.bias']!, 2 * C);
      const att = naiveAttention(
        q,
        kv.map((r) => r.slice(0, C)),
        kv.map((r) => r.slice(C)),
        nh,
        false,
      );
      const want = linear(att, init['x.proj.weight']!, init['x.proj.bias']!, C);
      const got = rows(y, C).slice(b * Tn, (b + 1) * Tn);
      want.flat().forEach((v, i) => expect(got.flat()[i]).toBeCloseTo(v, 5));
    }
  });
});

describe('attention with masks', () => {
  const B = 2,
    Tn = 5,
    C = 8,
    nh = 2;
  // row 0 has 3 real tokens, row 1 all 5
  const lengths = [3, 5];
  const validHost = T.hostTensor(
    'bool',
    [B, Tn],
    Array.from({ length: B * Tn }, (_, i) => +(i % Tn < lengths[Math.floor(i / Tn)]!)),
  );

  for (const causal of [false, true]) {
    it(`${causal ? 'causal' : 'bidirectional'} self-attention with a key-padding mask equals a plain-loop implementation`, async () => {
      const ps = new ParamSet();
      const attn = new SelfAttention(ps, 'a', C, nh, { causal });
      const x = T.input('x', [B, Tn, C]);
      const valid = T.input('valid', [B, Tn], 'bool');
      const xh = makeInput({ shape: [B, Tn, C], dtype: 'float32' }, 3);
      const { y, init } = await runBlock(ps, [x, valid], attn.forward(x, valid), { x: xh, valid: validHost });
      const all = rows(xh, C);
      for (let b = 0; b < B; b++) {
        const qkv = linear(all.slice(b * Tn, (b + 1) * Tn), init['a.qkv.weight']!, init['a.qkv.bias']!, 3 * C);
        const sees = (i: number, j: number) => j < lengths[b]! && (!causal || j <= i);
        const att = naiveAttention(
          qkv.map((r) => r.slice(0, C)),
          qkv.map((r) => r.slice(C, 2 * C)),
          qkv.map((r) => r.slice(2 * C)),
          nh,
          sees,
        );
        const want = linear(att, init['a.proj.weight']!, init['a.proj.bias']!, C);
        const got = rows(y, C).slice(b * Tn, (b + 1) * Tn);
        want.flat().forEach((v, i) => expect(got.flat()[i]).toBeCloseTo(v, 5));
      }
    });
  }

  it('cross-attention with a context mask, and its KV cache reused step by step, equal a plain-loop implementation', async () => {
    const ps = new ParamSet();
    const S = 4,
      Cc = 6;
    const ctxLengths = [2, 4];
    const attn = new CrossAttention(ps, 'x', C, Cc, nh);
    const x = T.input('x', [B, Tn, C]);
    const ctx = T.input('ctx', [B, S, Cc]);
    const valid = T.input('valid', [B, S], 'bool');
    const xh = makeInput({ shape: [B, Tn, C], dtype: 'float32' }, 4);
    const ch = makeInput({ shape: [B, S, Cc], dtype: 'float32' }, 5);
    const vh = T.hostTensor(
      'bool',
      [B, S],
      Array.from({ length: B * S }, (_, i) => +(i % S < ctxLengths[Math.floor(i / S)]!)),
    );
    // full sequence, and one decoding step (B, 1, C) at a time over the cached context keys/values
    const kv = attn.contextKV(ctx);
    const x1 = T.input('x1', [B, 1, C]);
    const { y, init } = await runBlock(ps, [x, ctx, valid], attn.forward(x, ctx, valid), { x: xh, ctx: ch, valid: vh });
    const step = await rt.load(T.exportOnnx([x1, ctx, valid, ...ps.inputs], { y: attn.forwardKV(x1, kv, valid) }));
    const stepRows: Mat = [];
    for (let t = 0; t < Tn; t++) {
      const xt = T.hostTensor(
        'float32',
        [B, 1, C],
        rows(xh, C)
          .filter((_, i) => i % Tn === t)
          .flat(),
      );
      const yt = rows((await rt.run(step, { x1: xt, ctx: ch, valid: vh, ...init })).y!, C);
      yt.forEach((r, b) => (stepRows[b * Tn + t] = r));
    }
    for (let b = 0; b < B; b++) {
      const q = linear(rows(xh, C).slice(b * Tn, (b + 1) * Tn), init['x.q.weight']!, init['x.q.bias']!, C);
      const kvr = linear(rows(ch, Cc).slice(b * S, (b + 1) * S), init['x.kv.weight']!, init['x.kv.bias']!, 2 * C);
      const att = naiveAttention(
        q,
        kvr.map((r) => r.slice(0, C)),
        kvr.map((r) => r.slice(C)),
        nh,
        (_i, j) => j < ctxLengths[b]!,
      );
      const want = linear(att, init['x.proj.weight']!, init['x.proj.bias']!, C).flat();
      const got = rows(y, C)
        .slice(b * Tn, (b + 1) * Tn)
        .flat();
      const cached = stepRows.slice(b * Tn, (b + 1) * Tn).flat();
      want.forEach((v, i) => {
        expect(got[i]).toBeCloseTo(v, 5);
        expect(cached[i]).toBeCloseTo(v, 5);
      });
    }
  });

  it('a query whose keys are all masked stays finite (uniform average), never NaN', async () => {
    const q = T.input('q', [1, 1, 2, 3]);
    const k = T.input('k', [1, 1, 4, 3]);
    const v = T.input('v', [1, 1, 4, 3]);
    const valid = T.input('valid', [1, 4], 'bool');
    const s = await rt.load(T.exportOnnx([q, k, v, valid], { y: attention(q, k, v, keyPaddingMask(valid)) }));
    const vh = makeInput({ shape: [1, 1, 4, 3], dtype: 'float32' }, 9);
    const out = await rt.run(s, {
      q: makeInput({ shape: [1, 1, 2, 3], dtype: 'float32' }, 7),
      k: makeInput({ shape: [1, 1, 4, 3], dtype: 'float32' }, 8),
      v: vh,
      valid: T.hostTensor('bool', [1, 4], [0, 0, 0, 0]),
    });
    const colMean = [0, 1, 2].map((d) => [0, 1, 2, 3].reduce((a, j) => a + (vh.data[j * 3 + d] as number), 0) / 4);
    Array.from(out.y!.data as Float32Array).forEach((got, i) => expect(got).toBeCloseTo(colMean[i % 3]!, 5));
    expect(MASK).toBeGreaterThan(-Infinity);
  });

  it.each([
    ['kept', false],
    ['recomputed in the backward pass', true],
  ])(
    'causal self-attention longer than CAUSAL_BLOCK (computed in query blocks; probabilities %s) equals a plain-loop implementation',
    async (_, recompute) => {
      // 2.3 blocks: a full block, a full block and a partial one; row 0 also has padded keys.
      const Tl = 2 * CAUSAL_BLOCK + 70;
      const len = [Tl - 40, Tl];
      const ps = new ParamSet();
      const attn = new SelfAttention(ps, 'a', C, nh, { recompute });
      const x = T.input('x', [B, Tl, C]);
      const valid = T.input('valid', [B, Tl], 'bool');
      const y0 = attn.forward(x, valid);
      // The long graph takes the block path: one softmax (or, recomputed, one attend) per query block
      // over its queries × the keys up to its diagonal, none over (T, T).
      const blocks: number[][] = [];
      const seen = new Set<number>();
      const walk = (t: T.Tensor) => {
        if (seen.has(t.id)) return;
        seen.add(t.id);
        if (t.op === (recompute ? 'attend' : 'softmax'))
          blocks.push(recompute ? [t.inputs[0]!.shape[2]!, t.inputs[1]!.shape[2]!] : t.shape.slice(2));
        if (t.op === (recompute ? 'softmax' : 'attend')) blocks.push([-1]);
        t.inputs.forEach(walk);
      };
      walk(y0);
      expect(blocks.sort((a, b) => a[1]! - b[1]!)).toEqual([
        [CAUSAL_BLOCK, CAUSAL_BLOCK],
        [CAUSAL_BLOCK, 2 * CAUSAL_BLOCK],
        [70, Tl],
      ]);
      const xh = makeInput({ shape: [B, Tl, C], dtype: 'float32' }, 4);
      const validHost = T.hostTensor(
        'bool',
        [B, Tl],
        Array.from({ length: B * Tl }, (_, i) => +(i % Tl < len[Math.floor(i / Tl)]!)),
      );
      const { y, init } = await runBlock(ps, [x, valid], y0, { x: xh, valid: validHost });
      const all = rows(xh, C);
      for (let b = 0; b < B; b++) {
        const qkv = linear(all.slice(b * Tl, (b + 1) * Tl), init['a.qkv.weight']!, init['a.qkv.bias']!, 3 * C);
        const att = naiveAttention(
          qkv.map((r) => r.slice(0, C)),
          qkv.map((r) => r.slice(C, 2 * C)),
          qkv.map((r) => r.slice(2 * C)),
          nh,
          (i, j) => j <= i && j < len[b]!,
        );
        const want = linear(att, init['a.proj.weight']!, init['a.proj.bias']!, C);
        const got = rows(y, C)
          .slice(b * Tl, (b + 1) * Tl)
          .flat();
        want.flat().forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
      }
    },
  );

  it('masks of the wrong shape are refused with the shapes', () => {
    const attn = new SelfAttention(new ParamSet(), 'a', C, nh, { causal: false });
    expect(() => attn.forward(T.input('x', [B, Tn, C]), T.input('m', [B, Tn + 1], 'bool'))).toThrow(
      /key-padding mask is \[2,6\], the keys are \(B 2, T 5\)/,
    );
    expect(() => keyPaddingMask(T.input('m', [B, Tn]))).toThrow(/must be \(B, Tk\) bool, got \[2,5\] float32/);
    expect(() =>
      new SelfAttention(new ParamSet(), 'a', C, nh, { causal: false }).forwardCached(T.input('x', [B, 1, C]), T.input('p', [B], 'int64'), {
        k: T.input('k', [B, nh, 4, 4]),
        v: T.input('v', [B, nh, 4, 4]),
      }),
    ).toThrow(/bidirectional/);
  });
});

describe('losses and embeddings', () => {
  /** −log softmax(row)[target], in float64. */
  const nll = (row: number[], target: number) => {
    const m = Math.max(...row);
    return -(row[target]! - m - Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)));
  };

  it('masked and weighted cross-entropy equal Σ wᵢ·nllᵢ / Σ wᵢ written out by hand', async () => {
    const N = 6,
      V = 5;
    const logits = T.input('logits', [N, V]);
    const targets = T.input('targets', [N], 'int64');
    const mask = T.input('mask', [N], 'bool');
    const weights = T.input('weights', [N]);
    const cw = T.input('cw', [V]);
    const none = T.input('none', [N], 'bool');
    const lh = makeInput({ shape: [N, V], dtype: 'float32' }, 21);
    const th = T.hostTensor('int64', [N], [0, 4, 2, 2, 1, 3]);
    const mh = T.hostTensor('bool', [N], [1, 1, 0, 1, 0, 1]);
    const wh = T.hostTensor('float32', [N], [1, 0.5, 2, 3, 1, 0.25]);
    const cwh = T.hostTensor('float32', [V], [1, 2, 0.5, 1.5, 3]);
    const outs = {
      plain: crossEntropy(logits, targets),
      masked: crossEntropy(logits, targets, { mask }),
      weighted: crossEntropy(logits, targets, { mask, weights, classWeights: cw }),
      allMasked: crossEntropy(logits, targets, { mask: none }),
    };
    const s = await rt.load(T.exportOnnx([logits, targets, mask, weights, cw, none], outs));
    const got = await rt.run(s, {
      logits: lh,
      targets: th,
      mask: mh,
      weights: wh,
      cw: cwh,
      none: T.hostTensor('bool', [N], new Array(N).fill(0)),
    });
    const L = rows(lh, V);
    const t = Array.from(T.toNumbers(th));
    const l = L.map((r, i) => nll(r, t[i]!));
    const wmean = (w: number[]) => w.reduce((a, wi, i) => a + wi * l[i]!, 0) / w.reduce((a, b) => a + b, 0);
    const m = Array.from(T.toNumbers(mh));
    expect(T.toNumbers(got.plain!)[0]).toBeCloseTo(wmean(new Array(N).fill(1)), 5);
    expect(T.toNumbers(got.masked!)[0]).toBeCloseTo(wmean(m), 5);
    expect(T.toNumbers(got.weighted!)[0]).toBeCloseTo(
      wmean(m.map((mi, i) => mi * (wh.data[i] as number) * (cwh.data[t[i]!] as number))),
      5,
    );
    expect(T.toNumbers(got.allMasked!)[0]).toBe(0); // all masked: 0, not NaN
  });

  it('sinusoidal timestep embeddings: [cos(t·fᵢ), sin(t·fᵢ)], fᵢ = 10000^(−i/half), by hand', async () => {
    const t = T.input('t', [3]);
    const s = await rt.load(T.exportOnnx([t], { e4: timestepEmbedding(t, 4), e7: timestepEmbedding(t, 7, 100) }));
    const ts = [0, 3, 250];
    const got = await rt.run(s, { t: T.hostTensor('float32', [3], ts) });
    // dim 4: half 2, f = [1, 10000^(−1/2) = 0.01]
    const want4 = ts.flatMap((v) => [Math.cos(v), Math.cos(0.01 * v), Math.sin(v), Math.sin(0.01 * v)]);
    // dim 7, max period 100: half 3, f = 100^(−i/3), then a zero column
    const f = [1, 100 ** (-1 / 3), 100 ** (-2 / 3)];
    const want7 = ts.flatMap((v) => [...f.map((fi) => Math.cos(v * fi)), ...f.map((fi) => Math.sin(v * fi)), 0]);
    Array.from(got.e4!.data as Float32Array).forEach((g, i) => expect(g).toBeCloseTo(want4[i]!, 4));
    Array.from(got.e7!.data as Float32Array).forEach((g, i) => expect(g).toBeCloseTo(want7[i]!, 4));
    expect(Array.from(got.e4!.data as Float32Array).slice(0, 4)).toEqual([1, 1, 0, 0]); // t = 0
  });

  // Gradients through the new blocks: the op table's harness (finite differences, float64 ORT).
  const cases: OpCase[] = [
    {
      name: 'attention with key-padding and causal masks',
      // Every query keeps one visible key: a fully masked row is uniform in float32 but not in the
      // float64 reference (the scores survive next to −1e9 there), so the table avoids one.
      inputs: [{ shape: [2, 2, 3, 4] }, { shape: [2, 2, 3, 4] }, { shape: [2, 2, 3, 4] }],
      build: (q, k, v) => {
        const valid = T.constant(T.hostTensor('bool', [2, 3], [1, 1, 0, 1, 0, 1]));
        const causal = T.where(T.constant(T.hostTensor('bool', [3, 3], [1, 0, 0, 1, 1, 0, 1, 1, 1])), 0, MASK);
        return attention(q!, k!, v!, T.add(keyPaddingMask(valid), causal));
      },
    },
    {
      name: 'causal attention in query blocks of 2 (T 5: blocks 2, 2, 1) with a key-padding mask',
      inputs: [{ shape: [2, 2, 5, 4] }, { shape: [2, 2, 5, 4] }, { shape: [2, 2, 5, 4] }],
      build: (q, k, v) => {
        const valid = T.constant(T.hostTensor('bool', [2, 5], [1, 1, 1, 0, 1, 1, 1, 1, 1, 1]));
        return blockCausalAttention(q!, k!, v!, keyPaddingMask(valid), 2);
      },
    },
    {
      name: 'masked, weighted, class-weighted cross-entropy',
      inputs: [
        { shape: [5, 4] },
        { shape: [5], kind: 'ids:4' },
        { shape: [5], kind: 'bool' },
        { shape: [5], kind: 'positive' },
        { shape: [4], kind: 'positive' },
      ],
      build: (l, t, m, w, cw) => crossEntropy(l!, t!, { mask: m!, weights: w!, classWeights: cw! }),
    },
    { name: 'timestepEmbedding (d/dt)', inputs: [{ shape: [3] }], build: (t) => timestepEmbedding(T.mul(t!, 3), 6) },
  ];
  for (const c of cases) it(`gradient: ${c.name}`, () => checkOp(c, rt, 2));
});

describe('conv and dropout blocks', () => {
  it('Conv1d / ConvTranspose1d: PyTorch output lengths and init bounds', () => {
    const ps = new ParamSet();
    const down = new Conv1d(ps, 'down', 4, 8, 4, { stride: 2, padding: 1 });
    const up = new ConvTranspose1d(ps, 'up', 8, 4, 4, { stride: 2, padding: 1 });
    const x = T.input('x', [2, 4, 32]);
    const h = down.forward(x);
    expect(h.shape).toEqual([2, 8, 16]); // floor((32 + 2 − 4) / 2) + 1
    expect(up.forward(h).shape).toEqual([2, 4, 32]); // (16 − 1)·2 − 2 + 4
    const init = ps.initialize(0);
    const bound = 1 / Math.sqrt(4 * 4);
    const w = Array.from(init['down.weight']!.data as Float32Array);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.8 * bound);
  });

  it('Dropout: identity at p = 0 and when not training; masks change between runs of one session', async () => {
    const x = T.input('x', [1000]);
    expect(new Dropout(0, 1).forward(x)).toBe(x);
    expect(new Dropout(0.5, 1).forward(x, false)).toBe(x);
    expect(() => new Dropout(1, 1)).toThrow(/dropout p must be in \[0, 1\)/);
    const s = await rt.load(T.exportOnnx([x], { y: new Dropout(0.25, 7).forward(x) }));
    const ones = T.hostTensor('float32', [1000], new Array(1000).fill(1));
    const a = (await rt.run(s, { x: ones })).y!.data as Float32Array;
    const b = (await rt.run(s, { x: ones })).y!.data as Float32Array;
    const kept = a.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(Math.abs(kept.length / 1000 - 0.75)).toBeLessThan(0.07); // 5 standard errors
    expect(a.some((v, i) => v !== b[i])).toBe(true);
  });
});
