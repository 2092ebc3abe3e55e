/**
 * nn blocks against independent plain-loop implementations written here: attention (causal and
 * cross) with the same weights, and the conv/dropout blocks' contracts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';
import { CausalSelfAttention, Conv1d, ConvTranspose1d, CrossAttention, Dropout, ParamSet } from '../../src/engine/nn.ts';
import { makeInput } from './harness.ts';

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

/** Textbook multi-head attention for one sequence: q (Tq, C), k/v (Tk, C). */
function naiveAttention(q: Mat, k: Mat, v: Mat, nHead: number, causal: boolean): Mat {
  const C = q[0]!.length;
  const hs = C / nHead;
  const out: Mat = q.map(() => new Array<number>(C).fill(0));
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < q.length; i++) {
      const scores = k.map((kr, j) => {
        if (causal && j > i) return -Infinity;
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
  for (const s of ps.specs) if (s.name.endsWith('.bias')) init[s.name] = makeInput({ shape: [...s.shape], dtype: 'float32' }, s.name.length);
  const s = await rt.load(T.exportOnnx([...ins, ...ps.inputs], { y }));
  return { y: (await rt.run(s, { ...feeds, ...init })).y!, init };
}

describe('attention blocks', () => {
  const B = 2, Tn = 5, C = 8, nh = 2;

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
      const att = naiveAttention(qkv.map((r) => r.slice(0, C)), qkv.map((r) => r.slice(C, 2 * C)), qkv.map((r) => r.slice(2 * C)), nh, true);
      const want = linear(att, init['a.proj.weight']!, init['a.proj.bias']!, C);
      const got = rows(y, C).slice(b * Tn, (b + 1) * Tn);
      want.flat().forEach((v, i) => expect(got.flat()[i]).toBeCloseTo(v, 5));
    }
  });

  it('cross-attention (queries from x, keys/values from a context) equals a plain-loop implementation', async () => {
    const ps = new ParamSet();
    const S = 3, Cc = 6;
    const attn = new CrossAttention(ps, 'x', C, Cc, nh);
    const x = T.input('x', [B, Tn, C]);
    const ctx = T.input('ctx', [B, S, Cc]);
    const xh = makeInput({ shape: [B, Tn, C], dtype: 'float32' }, 4);
    const ch = makeInput({ shape: [B, S, Cc], dtype: 'float32' }, 5);
    const { y, init } = await runBlock(ps, [x, ctx], attn.forward(x, ctx), { x: xh, ctx: ch });
    for (let b = 0; b < B; b++) {
      const q = linear(rows(xh, C).slice(b * Tn, (b + 1) * Tn), init['x.q.weight']!, init['x.q.bias']!, C);
      const kv = linear(rows(ch, Cc).slice(b * S, (b + 1) * S), init['x.kv.weight']!, init['x.kv.bias']!, 2 * C);
      const att = naiveAttention(q, kv.map((r) => r.slice(0, C)), kv.map((r) => r.slice(C)), nh, false);
      const want = linear(att, init['x.proj.weight']!, init['x.proj.bias']!, C);
      const got = rows(y, C).slice(b * Tn, (b + 1) * Tn);
      want.flat().forEach((v, i) => expect(got.flat()[i]).toBeCloseTo(v, 5));
    }
  });
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
