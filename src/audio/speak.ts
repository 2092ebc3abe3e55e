/**
 * One utterance from espeak-ng, in memory: the building block of corpora whose texts are chosen by
 * the caller (the omni model's spoken questions and preset-voice answers). Deterministic: the same
 * text and settings give the same samples. espeak-ng missing → the install hint of speech.ts.
 *
 *   const x = await speak('what is two plus three', { voice: 'en-us', variant: 'm3' });  // 16 kHz mono
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TonyError } from '../errors.ts';
import { resample } from './resample.ts';
import { espeakVersion } from './speech.ts';
import { decodeWav, toMono } from './wav.ts';

const run = promisify(execFile);

export interface SpeakOptions {
  /** espeak-ng voice, e.g. 'en-us'. */
  voice: string;
  /** Voice variant, e.g. 'm3' (espeak-ng's `voice+variant`); none: the voice's default. */
  variant?: string;
  /** Words per minute (espeak-ng's default 175). */
  rate?: number;
  /** Pitch 0–99 (default 50). */
  pitch?: number;
  /** Output rate (default 16000). */
  sampleRate?: number;
}

let checked: Promise<string> | undefined;

/** Synthesize `text` with espeak-ng (written to stdout as WAV: no temporary files). */
export async function speak(text: string, o: SpeakOptions): Promise<Float32Array> {
  if (text.trim() === '') throw new TonyError('data', 'speak: the text is empty', 'pass some words to say');
  checked ??= espeakVersion();
  await checked;
  const v = o.variant ? `${o.voice}+${o.variant}` : o.voice;
  const { stdout } = await run('espeak-ng', ['-v', v, '-s', String(o.rate ?? 175), '-p', String(o.pitch ?? 50), '--stdout', text], {
    encoding: 'buffer',
    maxBuffer: 64 << 20,
  });
  const { audio } = decodeWav(fixStreamedSizes(new Uint8Array(stdout)), `espeak-ng -v ${v}`);
  return Float32Array.from(resample(toMono(audio), audio.sampleRate, o.sampleRate ?? 16000));
}

/**
 * espeak-ng writes its WAV to a pipe before it knows the length, so the RIFF and data chunk sizes
 * are placeholders (0x7ffffff0); set them from the bytes actually received.
 */
function fixStreamedSizes(b: Uint8Array): Uint8Array {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const tag = (at: number) => String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
  if (b.length < 12 || tag(0) !== 'RIFF')
    throw new TonyError('data', 'espeak-ng did not write a WAV file', 'check `espeak-ng --stdout hello | head -c 4`');
  view.setUint32(4, b.length - 8, true);
  let at = 12;
  while (at + 8 <= b.length) {
    if (tag(at) === 'data') {
      view.setUint32(at + 4, b.length - at - 8, true);
      return b;
    }
    at += 8 + view.getUint32(at + 4, true);
  }
  throw new TonyError('data', 'espeak-ng wrote a WAV file without a data chunk');
}
