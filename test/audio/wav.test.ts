import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Audio, decodeWav, encodeWav, readWav, toMono, type WavEncoding, writeWav } from '../../src/audio/wav.ts';
import { TonyError } from '../../src/errors.ts';
import { FIXTURE_DIR, fx } from './fixtures.ts';

const wavPath = (f: string) => join(FIXTURE_DIR, 'wav', f);

/** The payload of a file's 'data' chunk, found by walking the chunks. */
function dataChunk(b: Uint8Array): Uint8Array {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let pos = 12; pos + 8 <= b.length; ) {
    const size = v.getUint32(pos + 4, true);
    if (String.fromCharCode(...b.subarray(pos, pos + 4)) === 'data') return b.subarray(pos + 8, pos + 8 + size);
    pos += 8 + size + (size & 1);
  }
  throw new Error('no data chunk');
}

describe('WAV reading against files written by scipy.io.wavfile and struct', () => {
  for (const w of fx.wav) {
    it(w.file, () => {
      const bytes = readFileSync(wavPath(w.file));
      const { audio, info } = decodeWav(bytes, w.file);
      expect(info.encoding).toBe(w.encoding);
      expect(audio.sampleRate).toBe(w.sampleRate);
      expect(audio.channels.length).toBe(w.channels);
      // Exact: every encoding's values are representable in float64.
      const bits = Number(w.encoding.replace(/\D/g, ''));
      const want = (k: number) => (w.encoding === 'pcm8' ? (k - 128) / 128 : w.encoding.startsWith('pcm') ? k / 2 ** (bits - 1) : k);
      for (let c = 0; c < w.channels; c++) expect([...audio.channels[c]!]).toEqual(w.stored[c].map(want));
      // Re-encoding gives the same sample bytes.
      const again = encodeWav(audio, { encoding: info.encoding, extensible: info.extensible });
      expect(Buffer.from(dataChunk(again)).equals(Buffer.from(dataChunk(bytes)))).toBe(true);
      expect(decodeWav(again).audio.channels).toEqual(audio.channels);
    });
  }
});

describe('WAV round trips', () => {
  const encodings: WavEncoding[] = ['pcm8', 'pcm16', 'pcm24', 'pcm32', 'float32', 'float64'];
  const bits: Record<WavEncoding, number> = { pcm8: 8, pcm16: 16, pcm24: 24, pcm32: 32, float32: 32, float64: 64 };

  /** Values exactly on each encoding's grid, including both extremes. */
  function gridAudio(enc: WavEncoding, nch: number, rate: number): Audio {
    const n = 101;
    const scale = 2 ** (bits[enc] - 1);
    const channels = Array.from({ length: nch }, (_, c) =>
      Float64Array.from({ length: n }, (_, i) => {
        if (i === 0) return -1;
        if (i === 1) return enc.startsWith('pcm') ? (scale - 1) / scale : Math.fround(0.999);
        const v = Math.sin(i * 0.7 + c) * 0.9;
        if (enc === 'float32') return Math.fround(v);
        return enc === 'float64' ? v : Math.round(v * scale) / scale;
      }),
    );
    return { sampleRate: rate, channels };
  }

  for (const enc of encodings) {
    for (const [nch, rate, extensible] of [
      [1, 16000, false],
      [2, 44100, false],
      [6, 96000, true],
      [1, 7, true],
    ] as const) {
      it(`${enc}, ${nch} ch, ${rate} Hz${extensible ? ', EXTENSIBLE' : ''}: exact`, () => {
        const a = gridAudio(enc, nch, rate);
        const bytes = encodeWav(a, { encoding: enc, extensible });
        const { audio, info } = decodeWav(bytes);
        expect(info).toEqual({ encoding: enc, extensible });
        expect(audio.sampleRate).toBe(rate);
        expect(audio.channels).toEqual(a.channels);
        expect(Buffer.from(encodeWav(audio, { encoding: enc, extensible })).equals(Buffer.from(bytes))).toBe(true);
      });
    }
  }

  it('quantizes and clips to the integer range', () => {
    const a: Audio = { sampleRate: 8000, channels: [Float64Array.from([2, -2, 0.5 + 1e-9, 0.3 / 32768, 0.7 / 32768])] };
    const b = decodeWav(encodeWav(a, { encoding: 'pcm16' })).audio.channels[0]!;
    expect([...b]).toEqual([32767 / 32768, -1, 0.5, 0, 1 / 32768]);
  });

  it('reads and writes files atomically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tony-wav-'));
    const a: Audio = { sampleRate: 22050, channels: [Float64Array.from([0, 0.25, -0.5])] };
    await writeWav(join(dir, 'a.wav'), a, { encoding: 'pcm24' });
    expect((await readWav(join(dir, 'a.wav'))).channels).toEqual(a.channels);
    expect([...toMono({ sampleRate: 1, channels: [Float64Array.from([1, 0]), Float64Array.from([0, 1])] })]).toEqual([0.5, 0.5]);
  });
});

describe('WAV errors', () => {
  const good = encodeWav({ sampleRate: 16000, channels: [Float64Array.from([0.1, 0.2, 0.3, 0.4])] });
  const expectData = (bytes: Uint8Array, re: RegExp) => {
    try {
      decodeWav(bytes, 'x.wav');
    } catch (e) {
      expect(e).toBeInstanceOf(TonyError);
      expect((e as TonyError).kind).toBe('data');
      expect((e as TonyError).message).toMatch(re);
      expect((e as TonyError).hint).toBeTruthy();
      return;
    }
    throw new Error('no error');
  };

  it('not RIFF/WAVE', () => expectData(new TextEncoder().encode('fLaC and more bytes'), /not a RIFF\/WAVE/));
  it('too short', () => expectData(good.subarray(0, 6), /only 6 bytes/));
  it('truncated data', () => expectData(good.subarray(0, good.length - 3), /truncated.*8 bytes but only 5/));
  it('no data chunk', () => expectData(good.subarray(0, 36), /no 'data' chunk/));
  it('unsupported encoding (A-law)', () => {
    const b = good.slice();
    new DataView(b.buffer).setUint16(20, 6, true);
    expectData(b, /unsupported encoding: format tag 0x6/);
  });
  it('unsupported bit depth', () => {
    const b = good.slice();
    new DataView(b.buffer).setUint16(34, 12, true);
    expectData(b, /12-bit PCM/);
  });
  it('inconsistent block align', () => {
    const b = good.slice();
    new DataView(b.buffer).setUint16(32, 4, true);
    expectData(b, /block align 4/);
  });
  it('bad fmt size', () => {
    const b = good.slice();
    new DataView(b.buffer).setUint32(16, 8, true);
    expectData(b, /'fmt ' chunk has size 8/);
  });
});
