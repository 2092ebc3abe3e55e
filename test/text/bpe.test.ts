import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prng } from '../../src/engine/nn.ts';
import { TonyError } from '../../src/errors.ts';
import { type BpeTokenizer, SPECIAL_NAMES, trainBpe } from '../../src/text/bpe.ts';
import { loadTokenizer, StreamDecoder } from '../../src/text/tokenizers.ts';
import { randomString, withLoneSurrogates } from './strings.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const corpus = readFileSync(join(FIXTURES, 'bpe_corpus.txt'), 'utf8');
const oracle = JSON.parse(readFileSync(join(FIXTURES, 'bpe_merges.json'), 'utf8')) as {
  n_merges: number;
  merges: number[][];
  tokens_hex: string[];
};
const vocabFor = (merges: number) => 256 + merges + 4;
const tokP = trainBpe([corpus], { vocabSize: vocabFor(oracle.n_merges) });

/**
 * GPT-2's encoder, written the slow obvious way as an oracle for the heap-based one: per piece, find
 * the lowest-rank adjacent pair, merge every occurrence left to right, repeat.
 */
function naiveEncode(tok: BpeTokenizer, text: string): number[] {
  const rank = new Map(tok.merges.map(([a, b], r) => [`${a},${b}`, r]));
  const out: number[] = [];
  for (const m of text.matchAll(new RegExp(tok.pattern, 'gu'))) {
    let ids = Array.from(new TextEncoder().encode(m[0]));
    for (;;) {
      let best = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = rank.get(`${ids[i]},${ids[i + 1]}`);
        if (r !== undefined && (best < 0 || r < best)) best = r;
      }
      if (best < 0) break;
      const [a, b] = tok.merges[best]!;
      const next: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          next.push(256 + best);
          i++;
        } else next.push(ids[i]!);
      }
      ids = next;
    }
    out.push(...ids);
  }
  return out;
}

describe('BPE training', () => {
  it('learns exactly the merges of the naive Python trainer (bpe_fixture.py), same tie-break', async () => {
    const tok = await tokP;
    expect(tok.merges.map(([a, b]) => [a, b])).toEqual(oracle.merges);
    const hex = tok.merges.map((_, r) => Buffer.from(tok.bytesOf(256 + r)).toString('hex'));
    expect(hex).toEqual(oracle.tokens_hex);
  });

  it('is deterministic and reads strings, bytes and async iterables alike', async () => {
    const a = (await tokP).toJSON();
    const b = (await trainBpe([new TextEncoder().encode(corpus)], { vocabSize: vocabFor(oracle.n_merges) })).toJSON();
    async function* docs() {
      yield corpus;
    }
    const c = (await trainBpe(docs(), { vocabSize: vocabFor(oracle.n_merges) })).toJSON();
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  it('stops at the target vocabulary and puts the specials last', async () => {
    const tok = await trainBpe([corpus], { vocabSize: vocabFor(100), specials: [...Object.values(SPECIAL_NAMES), '<|pad|>'] });
    expect(tok.vocabSize).toBe(256 + 99 + 5);
    expect(tok.merges.map(([a, b]) => [a, b])).toEqual(oracle.merges.slice(0, 99));
    expect(tok.special.eot).toBe(256 + 99);
    expect(tok.specialId('<|pad|>')).toBe(256 + 99 + 4);
  });

  it('trains on a 200 kB single piece in seconds (merges cost their occurrences, not the piece length)', async () => {
    const r = prng(18);
    const s = Array.from({ length: 200_000 }, () => String.fromCharCode(97 + Math.floor(r.next() * 26))).join('');
    const t = performance.now();
    const tok = await trainBpe([s], { vocabSize: 1024 });
    expect(performance.now() - t).toBeLessThan(5000);
    expect(tok.merges).toHaveLength(1024 - 260);
    expect(tok.decode(tok.encode(s))).toBe(s);
  });

  it('rejects a vocabulary smaller than bytes + specials', async () => {
    await expect(trainBpe([corpus], { vocabSize: 100 })).rejects.toThrow(TonyError);
    await expect(trainBpe([corpus], { vocabSize: 512, specials: ['<|endoftext|>'] })).rejects.toThrow(/lack <\|fim_prefix\|>/);
    await expect(trainBpe([corpus], { vocabSize: 512, pattern: '(' })).rejects.toThrow(/does not compile/);
  });
});

describe('BPE encoding', () => {
  it('matches the naive GPT-2 encoder on the corpus and random strings', async () => {
    const tok = await tokP;
    expect(tok.encode(corpus)).toEqual(naiveEncode(tok, corpus));
    const r = prng(11);
    for (let i = 0; i < 300; i++) {
      const s = randomString(r);
      expect(tok.encode(s)).toEqual(naiveEncode(tok, s));
    }
  });

  it('round-trips well-formed strings exactly (emoji, CRLF, NUL, latin1 bytes, every plane)', async () => {
    const tok = await tokP;
    const r = prng(12);
    for (let i = 0; i < 1000; i++) {
      const s = randomString(r);
      expect(tok.decode(tok.encode(s))).toBe(s);
    }
  });

  it('encodes lone surrogates as U+FFFD, as TextEncoder does', async () => {
    const tok = await tokP;
    const r = prng(13);
    for (let i = 0; i < 200; i++) {
      const { s, wellFormed } = withLoneSurrogates(r);
      expect(tok.decode(tok.encode(s))).toBe(wellFormed);
    }
  });

  it('round-trips every byte string exactly through encodeBytes/decodeBytes (invalid UTF-8 too)', async () => {
    const tok = await tokP;
    const r = prng(14);
    for (let i = 0; i < 1000; i++) {
      const n = Math.floor(r.next() * 64);
      const bytes = new Uint8Array(n);
      // half the strings are mostly valid UTF-8 with corruption, half uniform random bytes
      if (i % 2) bytes.set(new TextEncoder().encode(randomString(r)).subarray(0, n));
      for (let j = 0; j < n; j++) if (i % 2 === 0 || r.next() < 0.1) bytes[j] = Math.floor(r.next() * 256);
      expect(Array.from(tok.decodeBytes(tok.encodeBytes(bytes)))).toEqual(Array.from(bytes));
    }
    // valid UTF-8 bytes encode exactly as the string does
    const s = randomString(r, 40);
    expect(tok.encodeBytes(new TextEncoder().encode(s))).toEqual(tok.encode(s));
  });

  it('never produces a special id, even from the special tokens written as text', async () => {
    const tok = await tokP;
    const specials = new Set(Object.values(tok.special));
    const literal = '<|endoftext|><|fim_prefix|><|fim_middle|><|fim_suffix|>';
    const ids = tok.encode(literal);
    expect(ids.some((id) => specials.has(id))).toBe(false);
    expect(tok.decode(ids)).toBe(literal);
    const r = prng(15);
    for (let i = 0; i < 500; i++) {
      for (const id of tok.encode(randomString(r))) expect(id).toBeLessThan(256 + tok.merges.length);
    }
    expect(tok.decode([tok.special.eot])).toBe('<|endoftext|>');
  });

  it('encodes a 200k-character whitespace run quickly (heap merge, not quadratic)', async () => {
    const tok = await tokP;
    const s = ' '.repeat(200_000) + 'x';
    const t = performance.now();
    const ids = tok.encode(s);
    expect(performance.now() - t).toBeLessThan(5000);
    expect(tok.decode(ids)).toBe(s);
  });
});

describe('BPE JSON', () => {
  it('save → load gives a tokenizer that encodes identically', async () => {
    const tok = await tokP;
    const back = loadTokenizer(JSON.parse(JSON.stringify(tok.toJSON())));
    expect(back.vocabSize).toBe(tok.vocabSize);
    expect(back.special).toEqual(tok.special);
    const r = prng(16);
    for (let i = 0; i < 200; i++) {
      const s = randomString(r);
      expect(back.encode(s)).toEqual(tok.encode(s));
    }
  });

  it('rejects corrupt JSON with a TonyError', async () => {
    const json = (await tokP).toJSON();
    expect(() => loadTokenizer({ ...json, merges: [[300, 1]] })).toThrow(/only join ids made before/);
    expect(() => loadTokenizer({ ...json, version: 99 })).toThrow(TonyError);
    expect(() => loadTokenizer({ ...json, specials: ['<|endoftext|>'] })).toThrow(/lack <\|fim_prefix\|>/);
    expect(() => loadTokenizer({ kind: 'sentencepiece' })).toThrow(/unknown kind/);
    expect(() => loadTokenizer([1, 2])).toThrow(TonyError);
  });
});

describe('StreamDecoder', () => {
  it('streams text that concatenates to decode() and never splits a character', async () => {
    const tok = await tokP;
    const r = prng(17);
    for (let i = 0; i < 200; i++) {
      const s = randomString(r);
      const ids = tok.encode(s);
      const sd = new StreamDecoder(tok);
      let out = '';
      for (let at = 0; at < ids.length; ) {
        const k = 1 + Math.floor(r.next() * 3);
        const piece = sd.push(ids.slice(at, at + k));
        expect(piece).not.toContain('\uFFFD'); // s is well-formed: a U+FFFD would mean a split character
        out += piece;
        at += k;
      }
      out += sd.flush();
      expect(out).toBe(s);
    }
  });

  it('flushes an unfinished character as U+FFFD', async () => {
    const tok = await tokP;
    const sd = new StreamDecoder(tok);
    expect(sd.push([0xf0, 0x9f])).toBe('');
    expect(sd.flush()).toBe('\uFFFD');
  });
});
