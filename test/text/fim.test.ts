import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prng } from '../../src/engine/nn.ts';
import { TonyError } from '../../src/errors.ts';
import { trainBpe } from '../../src/text/bpe.ts';
import { fimContext, fimDocument, fimPrompt, splitText, splitTokens } from '../../src/text/fim.ts';
import { randomString } from './strings.ts';

const corpus = readFileSync(join(import.meta.dirname, 'fixtures', 'bpe_corpus.txt'), 'utf8');
const tok = await trainBpe([corpus], { vocabSize: 600 });
const { fimPrefix: PRE, fimSuffix: SUF, fimMiddle: MID, eot: EOT } = tok.special;
const docs = corpus.split(/(?<=\. )/).filter((d) => d.length > 0);

/** Undo one FIM'd document (ids ending in EOT): its parts, and which layout it used. */
function parse(ids: number[]): { format: 'psm' | 'spm' | 'plain'; text: string } {
  expect(ids.at(-1)).toBe(EOT);
  const body = ids.slice(0, -1);
  if (body[0] !== PRE) {
    expect(body.some((id) => id === PRE || id === SUF || id === MID || id === EOT)).toBe(false);
    return { format: 'plain', text: tok.decode(body) };
  }
  const s = body.indexOf(SUF);
  const m = body.indexOf(MID);
  expect(s).toBeGreaterThan(0);
  expect(m).toBeGreaterThan(s);
  expect([body.lastIndexOf(PRE), body.lastIndexOf(SUF), body.lastIndexOf(MID)]).toEqual([0, s, m]);
  if (s === 1) {
    // SPM: PRE SUF suffix MID prefix middle. (PSM with an empty prefix is the same layout, by the
    // paper's design, and decodes the same way.)
    return { format: 'spm', text: tok.decode(body.slice(m + 1)) + tok.decode(body.slice(2, m)) };
  }
  // PSM: PRE prefix SUF suffix MID middle
  return { format: 'psm', text: tok.decode(body.slice(1, s)) + tok.decode(body.slice(m + 1)) + tok.decode(body.slice(s + 1, m)) };
}

describe('FIM split', () => {
  it('character-level parts reassemble the document exactly and never cut a surrogate pair', () => {
    const r = prng(31);
    for (let i = 0; i < 500; i++) {
      const s = randomString(r);
      const { prefix, middle, suffix } = splitText(s, r);
      expect(prefix + middle + suffix).toBe(s);
      for (const part of [prefix, middle, suffix])
        expect(part).toBe(part.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\uFFFD'));
    }
  });

  it('draws the two cut points uniformly: P(prefix ≥ i chars) = ((n+1−i)/(n+1))²', () => {
    const r = prng(32);
    const n = 4;
    const trials = 20_000;
    const atLeast = new Array<number>(n + 2).fill(0);
    for (let t = 0; t < trials; t++) {
      const k = splitText('a😀cd', r).prefix.length; // code points: a, 😀, c, d
      const cps = Array.from('a😀cd'.slice(0, k)).length;
      for (let i = 0; i <= cps; i++) atLeast[i]!++;
    }
    for (let i = 0; i <= n; i++) {
      const p = ((n + 1 - i) / (n + 1)) ** 2;
      expect(Math.abs(atLeast[i]! / trials - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / trials) + 1e-9);
    }
  });

  it('line-level spans cut only at line starts', () => {
    const r = prng(33);
    const text = 'def f(x):\n    y = x + 1\n    return y\n\nprint(f(2))';
    for (let i = 0; i < 300; i++) {
      const { prefix, middle, suffix } = splitText(text, r, 'line');
      expect(prefix + middle + suffix).toBe(text);
      for (const cut of [prefix.length, prefix.length + middle.length])
        expect(cut === 0 || cut === text.length || text[cut - 1] === '\n').toBe(true);
    }
  });

  it('token-level spans are slices of the document tokenization', () => {
    const r = prng(34);
    const ids = tok.encode(corpus.slice(0, 400));
    for (let i = 0; i < 100; i++) {
      const { prefix, middle, suffix } = splitTokens(ids, r);
      expect([...prefix, ...middle, ...suffix]).toEqual(ids);
    }
  });
});

describe('document-level FIM', () => {
  it('lays out PSM and SPM as the paper does, and the parts give back the document', () => {
    let psmEmptyPrefix = 0;
    for (const mode of ['psm', 'spm'] as const) {
      const r = prng(35);
      for (const d of docs.slice(0, 100)) {
        const got = parse(fimDocument(tok, d, r, { rate: 1, mode }));
        expect(got.text).toBe(d);
        if (mode === 'spm') expect(got.format).toBe('spm');
        else if (got.format === 'spm') psmEmptyPrefix++;
      }
    }
    expect(psmEmptyPrefix).toBeLessThan(15); // P(empty prefix) = 1 − (n/(n+1))² ≈ 2/(n+1) for n ≈ 60 chars
  });

  it('token- and line-level spans keep the layouts and the text', () => {
    const r = prng(36);
    for (const span of ['token', 'line'] as const) {
      for (const d of docs.slice(0, 50)) expect(parse(fimDocument(tok, d, r, { rate: 1, mode: 'psm', span })).text).toBe(d);
    }
  });

  it('applies FIM at the given rate, split evenly between PSM and SPM when joint', () => {
    // Long documents: PSM with an empty prefix (which parses as SPM) has probability ≈ 2/401.
    const long = Array.from({ length: 200 }, (_, i) => corpus.slice(i * 50, i * 50 + 400));
    const r = prng(37);
    const count = { psm: 0, spm: 0, plain: 0 };
    const N = 4000;
    for (let i = 0; i < N; i++) count[parse(fimDocument(tok, long[i % long.length]!, r)).format]++;
    const fim = count.psm + count.spm;
    // binomial standard deviations: 0.5·0.5/N → 0.0079 for the rate, ~0.011 for the PSM share
    expect(Math.abs(fim / N - 0.5)).toBeLessThan(0.035);
    expect(Math.abs(count.psm / fim - 0.5)).toBeLessThan(0.05);
    const r2 = prng(38);
    const rate9 = Array.from(
      { length: N },
      (_, i) => parse(fimDocument(tok, docs[i % docs.length]!, r2, { rate: 0.9, mode: 'spm' })).format,
    );
    expect(rate9.includes('psm')).toBe(false);
    expect(Math.abs(rate9.filter((f) => f === 'spm').length / N - 0.9)).toBeLessThan(0.02);
    expect(parse(fimDocument(tok, docs[0]!, r2, { rate: 0 })).format).toBe('plain');
  });

  it('is deterministic by seed and rejects bad options', () => {
    const a = docs.slice(0, 50).map((d, i) => fimDocument(tok, d, prng(i)));
    const b = docs.slice(0, 50).map((d, i) => fimDocument(tok, d, prng(i)));
    expect(a).toEqual(b);
    expect(() => fimDocument(tok, 'x', prng(0), { rate: 1.5 })).toThrow(TonyError);
    expect(() => fimDocument(tok, 'x', prng(0), { mode: 'mps' as 'psm' })).toThrow(TonyError);
  });
});

describe('context-level FIM', () => {
  const ctxDocs = docs.slice(0, 6);
  const packed = ctxDocs.flatMap((d) => [...tok.encode(d), EOT]);

  it('keeps the context length; rate 0 is the identity', () => {
    const r = prng(41);
    for (const L of [17, 64, packed.length]) {
      const ctx = packed.slice(0, L);
      expect(fimContext(tok, ctx, r, { rate: 0 })).toEqual(ctx);
      expect(fimContext(tok, ctx, r, { rate: 1 })).toHaveLength(L);
    }
  });

  it('transforms each EOT-separated document of the context; the truncated tail is the prefix of the full result', () => {
    const r = prng(42);
    const whole = fimContext(tok, packed, r, { rate: 1, mode: 'joint' });
    // Room for the sentinels: a context with spare EOT padding at its end keeps every document whole.
    const roomy = [...packed, ...new Array<number>(16 * ctxDocs.length).fill(EOT)];
    const full = fimContext(tok, roomy, prng(42), { rate: 1, mode: 'joint' });
    expect(whole).toEqual(full.slice(0, packed.length));
    const pieces: number[][] = [];
    let cur: number[] = [];
    for (const id of full) {
      cur.push(id);
      if (id === EOT) {
        pieces.push(cur);
        cur = [];
      }
    }
    const parsed = pieces.slice(0, ctxDocs.length).map(parse);
    expect(parsed.map((p) => p.text)).toEqual(ctxDocs);
    expect(parsed.every((p) => p.format !== 'plain')).toBe(true);
  });

  it('pads with EOT when re-encoding shortens the context', () => {
    // Raw byte ids are not how the tokenizer would encode the text: re-encoding merges them.
    const bytes = Array.from(new TextEncoder().encode(ctxDocs.join('')));
    const out = fimContext(tok, bytes, prng(43), { rate: 1, mode: 'psm', windowEnd: 'cut' });
    expect(out).toHaveLength(bytes.length);
    const firstEot = out.indexOf(EOT);
    expect(firstEot).toBeGreaterThan(0);
    expect(out.slice(firstEot).every((id) => id === EOT)).toBe(true);
    expect(parse(out.slice(0, firstEot + 1)).text).toBe(ctxDocs.join(''));
  });
});

describe('context-level FIM, the fragment the window cuts', () => {
  // One long document fills the window with no <EOT>: the cut-off case of most training windows.
  const ids = tok.encode(docs.join('')).slice(0, 200);

  it("'eot' (the default) shortens it first, so the middle ends in <EOT> inside the window", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const out = fimContext(tok, ids, prng(seed), { rate: 1, mode: 'psm' });
      expect(out).toHaveLength(ids.length);
      const end = out.indexOf(EOT);
      expect(end).toBeGreaterThan(0);
      expect(out.slice(end).every((id) => id === EOT)).toBe(true); // then padding only
      // The three parts reassemble the first L − 3 − 1 − 4 tokens' text: the shortened fragment.
      expect(parse(out.slice(0, end + 1)).text).toBe(tok.decode(ids.slice(0, ids.length - 8)));
    }
  });

  it("'cut' keeps the old behaviour: the transformed fragment is cut, with no <EOT> after the middle", () => {
    const out = fimContext(tok, ids, prng(1), { rate: 1, mode: 'psm', windowEnd: 'cut' });
    expect(out).toHaveLength(ids.length);
    expect(out.includes(EOT)).toBe(false);
  });
});

describe('fimPrompt', () => {
  it('ends at <MID> in PSM and with the prefix in SPM', () => {
    const p = tok.encode('def add(a, b):\n');
    const s = tok.encode('\nprint(add(1, 2))\n');
    expect(fimPrompt(tok, 'def add(a, b):\n', '\nprint(add(1, 2))\n')).toEqual([PRE, ...p, SUF, ...s, MID]);
    expect(fimPrompt(tok, 'def add(a, b):\n', '\nprint(add(1, 2))\n', 'spm', { leadingEot: true })).toEqual([
      EOT,
      PRE,
      SUF,
      ...s,
      MID,
      ...p,
    ]);
  });
});
