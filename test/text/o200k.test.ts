import { readFileSync } from 'node:fs';
import { Tiktoken } from 'js-tiktoken/lite';
import o200kRanks from 'js-tiktoken/ranks/o200k_base';
import { describe, expect, it } from 'vitest';
import { prng } from '../../src/engine/nn.ts';
import { O200K_EOT, o200kBase } from '../../src/text/o200k.ts';
import { loadTokenizer, StreamDecoder } from '../../src/text/tokenizers.ts';
import { randomString, withLoneSurrogates } from './strings.ts';

const tok = o200kBase();

describe('o200k_base', () => {
  it('encodes known strings to the ids an independent implementation lists', () => {
    // Expected ids from gpt-tokenizer's own tests (niieani/gpt-tokenizer, src/GptEncoding.test.ts,
    // `results.o200k_base`), a separate JavaScript implementation of the same encoding.
    expect(tok.encode('hello 👋 world 🌍')).toEqual([24912, 61138, 233, 2375, 130321, 235]);
    expect(tok.encode('hello, I am a text, and I have commas. a,b,c')).toEqual([
      24912, 11, 357, 939, 261, 2201, 11, 326, 357, 679, 179663, 13, 261, 17568, 22261,
    ]);
    expect(tok.encode(' ')).toEqual([220]);
    expect(tok.encode('\t')).toEqual([197]);
  });

  it('has a byte string for every ordinary id and agrees with js-tiktoken decode', () => {
    const ref = new Tiktoken(o200kRanks);
    let missing = 0;
    for (let id = 0; id < 199_998; id++) if (tok.decodeBytes([id]).length === 0) missing++;
    expect(missing).toBe(0);
    const r = prng(21);
    for (let i = 0; i < 100; i++) {
      const ids = tok.encode(randomString(r));
      expect(tok.decode(ids)).toBe(ref.decode(ids));
    }
  });

  it('encodes exactly as js-tiktoken does on the whole text (the piece cache changes nothing)', () => {
    const ref = new Tiktoken(o200kRanks);
    const r = prng(23);
    for (let i = 0; i < 300; i++) {
      const s = randomString(r, 30);
      expect(tok.encode(s)).toEqual(ref.encode(s, [], []));
    }
    const code = readFileSync(new URL('../../src/text/fim.ts', import.meta.url), 'utf8');
    expect(tok.encode(code)).toEqual(ref.encode(code, [], []));
  });

  it('round-trips strings; lone surrogates become U+FFFD', () => {
    const r = prng(22);
    for (let i = 0; i < 300; i++) {
      const s = randomString(r);
      expect(tok.decode(tok.encode(s))).toBe(s);
    }
    for (let i = 0; i < 50; i++) {
      const { s, wellFormed } = withLoneSurrogates(r);
      expect(tok.decode(tok.encode(s))).toBe(wellFormed);
    }
  });

  it('keeps special ids out of reach of plain text; FIM ids follow o200k', () => {
    expect(tok.special).toEqual({ eot: O200K_EOT, fimPrefix: 200019, fimMiddle: 200020, fimSuffix: 200021 });
    const literal = '<|endoftext|><|fim_prefix|><|fim_middle|><|fim_suffix|><|endofprompt|>';
    const ids = tok.encode(literal);
    for (const id of ids) expect(id).toBeLessThan(199998);
    expect(tok.decode(ids)).toBe(literal);
    expect(tok.decode([tok.special.eot, tok.special.fimPrefix, tok.special.fimSuffix, tok.special.fimMiddle])).toBe(
      '<|endoftext|><|fim_prefix|><|fim_suffix|><|fim_middle|>',
    );
    expect(() => tok.decodeBytes([200_010])).toThrow(/not an o200k_base token/);
  });

  it('reloads from JSON and streams without splitting characters', () => {
    expect(loadTokenizer(JSON.parse(JSON.stringify(tok.toJSON())))).toBe(tok);
    const s = '日本語 👨‍👩‍👧 Grüße';
    const sd = new StreamDecoder(tok);
    let out = '';
    for (const id of tok.encode(s)) out += sd.push([id]);
    expect(out + sd.flush()).toBe(s);
  });
});
