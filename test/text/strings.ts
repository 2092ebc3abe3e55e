/**
 * Seeded random strings for the tokenizer property tests: mixes of ASCII code, random bytes read as
 * latin1, emoji (astral code points, ZWJ sequences, skin tones), CRLF, NUL, long whitespace runs,
 * random code points of every plane, and the literal special-token names.
 */
import type { prng } from '../../src/engine/nn.ts';

const PARTS = [
  'def f(x):\n    return x + 1\n',
  '\r\n',
  '\0',
  '\t\t  ',
  '<|endoftext|>',
  '<|fim_prefix|>x<|fim_suffix|>y<|fim_middle|>',
  '👋🏽',
  '👨‍👩‍👧',
  '🎉',
  'Grüße, naïve café',
  '日本語',
  "it's we'll 1234567",
  '          ',
];

export function randomString(r: ReturnType<typeof prng>, maxParts = 12): string {
  const n = 1 + Math.floor(r.next() * maxParts);
  let s = '';
  for (let i = 0; i < n; i++) {
    const k = r.next();
    if (k < 0.4) s += PARTS[Math.floor(r.next() * PARTS.length)];
    else if (k < 0.6) {
      // random bytes as latin1: every char U+0000..U+00FF
      const len = Math.floor(r.next() * 12);
      for (let j = 0; j < len; j++) s += String.fromCharCode(Math.floor(r.next() * 256));
    } else if (k < 0.8) {
      // random code points from every plane (no surrogates)
      const len = Math.floor(r.next() * 6);
      for (let j = 0; j < len; j++) {
        let cp = Math.floor(r.next() * 0x110000);
        if (cp >= 0xd800 && cp <= 0xdfff) cp -= 0x800;
        s += String.fromCodePoint(cp);
      }
    } else {
      const len = Math.floor(r.next() * 10);
      for (let j = 0; j < len; j++) s += String.fromCharCode(32 + Math.floor(r.next() * 95));
    }
  }
  return s;
}

/** A string with lone surrogates, and what TextEncoder makes of it (each lone one → U+FFFD). */
export function withLoneSurrogates(r: ReturnType<typeof prng>): { s: string; wellFormed: string } {
  const base = randomString(r, 4);
  const lone = String.fromCharCode(r.next() < 0.5 ? 0xd800 + Math.floor(r.next() * 0x400) : 0xdc00 + Math.floor(r.next() * 0x400));
  const at = Math.floor(r.next() * (base.length + 1));
  // insert between whole code points only, so the inserted one stays lone
  const cps = Array.from(base);
  const k = Math.min(at, cps.length);
  const s = cps.slice(0, k).join('') + lone + cps.slice(k).join('');
  return { s, wellFormed: cps.slice(0, k).join('') + '\uFFFD' + cps.slice(k).join('') };
}
