/**
 * speak(): one espeak-ng utterance read from its stdout, whose WAV header carries placeholder sizes.
 * Oracle: the same utterance written by espeak-ng to a file (`-w`, real sizes) and read by decodeWav —
 * the samples must be identical — and espeak-ng's words-per-minute rate for the duration.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resample } from '../../src/audio/resample.ts';
import { speak } from '../../src/audio/speak.ts';
import { decodeWav, toMono } from '../../src/audio/wav.ts';
import { TonyError } from '../../src/errors.ts';
import { ESPEAK_NG, requires } from '../system.ts';

describe('speak (espeak-ng, in memory)', () => {
  it('gives the samples espeak-ng writes to a file, resampled to 16 kHz', async (ctx) => {
    requires(ctx, ESPEAK_NG);
    const text = 'what is two plus three';
    const x = await speak(text, { voice: 'en-gb', variant: 'f2', rate: 150, pitch: 40 });
    const dir = mkdtempSync(join(tmpdir(), 'tony-speak-'));
    try {
      execFileSync('espeak-ng', ['-v', 'en-gb+f2', '-s', '150', '-p', '40', '-w', join(dir, 'a.wav'), text]);
      const { audio } = decodeWav(new Uint8Array(readFileSync(join(dir, 'a.wav'))));
      const ref = Float32Array.from(resample(toMono(audio), audio.sampleRate, 16000));
      expect(x.length).toBe(ref.length);
      expect(Array.from(x)).toEqual(Array.from(ref));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Five words at 150 words a minute: about 2 s, with espeak-ng's pauses.
    expect(x.length / 16000).toBeGreaterThan(1);
    expect(x.length / 16000).toBeLessThan(4);
  });

  it('refuses empty text with a TonyError', async () => {
    await expect(speak('  ', { voice: 'en-us' })).rejects.toThrow(TonyError);
  });
});
