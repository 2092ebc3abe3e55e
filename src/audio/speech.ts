/**
 * A speech corpus any machine can make: sentences from a small seeded grammar, spoken by
 * espeak-ng (formant synthesis, deterministic) across accents, voice variants, speaking rates
 * and pitches, resampled to the target rate and written as 16-bit WAV plus a JSONL manifest with
 * transcripts. The same seed gives the same files, byte for byte.
 *
 * espeak-ng is a Debian package (`apt-get install espeak-ng`); `.ci/run` installs it. When it is
 * missing, the error says how to install it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TonyError } from '../errors.ts';
import { MANIFEST_NAME, type ManifestEntry, writeManifest } from './manifest.ts';
import { Rng } from './random.ts';
import { resample } from './resample.ts';
import { decodeWav, toMono, writeWav } from './wav.ts';

const run = promisify(execFile);

/** English accents espeak-ng ships. */
export const SPEECH_VOICES = ['en-us', 'en-gb', 'en-gb-scotland', 'en-gb-x-rp', 'en-029', 'en-gb-x-gbclan'] as const;
/** Voice variants (espeak-ng's `+variant`): male, female and Klatt-synthesizer voices. */
export const SPEECH_VARIANTS = ['m1', 'm3', 'm5', 'm7', 'f1', 'f2', 'f3', 'f4', 'klatt', 'klatt3'] as const;
/** Words per minute (espeak-ng's default is 175). */
const RATE_RANGE: [number, number] = [130, 210];
/** espeak-ng pitch, 0–99 (default 50). */
const PITCH_RANGE: [number, number] = [25, 75];

// A small grammar: enough variety in phonemes and prosody for vocoder training, and every
// sentence is grammatical so the transcripts read naturally.
const ADJECTIVES = [
  'quiet',
  'bright',
  'small',
  'heavy',
  'green',
  'ancient',
  'curious',
  'gentle',
  'rapid',
  'frozen',
  'golden',
  'hollow',
  'narrow',
  'patient',
  'silver',
  'tired',
  'wooden',
  'yellow',
];
const NOUNS = [
  'river',
  'teacher',
  'lamp',
  'garden',
  'engine',
  'violin',
  'mountain',
  'sailor',
  'window',
  'market',
  'pilot',
  'letter',
  'forest',
  'kitchen',
  'bridge',
  'doctor',
  'island',
  'clock',
  'painter',
  'harbour',
];
/** [past, base] forms. */
const VERBS: Array<[string, string]> = [
  ['carried', 'carry'],
  ['painted', 'paint'],
  ['followed', 'follow'],
  ['repaired', 'repair'],
  ['watched', 'watch'],
  ['measured', 'measure'],
  ['crossed', 'cross'],
  ['opened', 'open'],
  ['noticed', 'notice'],
  ['described', 'describe'],
  ['visited', 'visit'],
  ['borrowed', 'borrow'],
  ['finished', 'finish'],
  ['gathered', 'gather'],
];
const ADVERBS = ['slowly', 'carefully', 'quickly', 'quietly', 'suddenly', 'happily', 'almost', 'nearly'];
const PLACES = [
  'near the station',
  'after the storm',
  'before dinner',
  'in the old town',
  'across the valley',
  'under the bridge',
  'on Tuesday morning',
  'at the end of the street',
];
const QUESTIONS = ['Did', 'Why did', 'When did', 'How often did'];
const NUMBERS = ['two', 'three', 'seven', 'eleven', 'twenty', 'forty-one', 'a hundred', 'six thousand'];

/** One sentence from the grammar (capitalized, punctuated). */
export function makeSentence(rng: Rng): string {
  const np = () => `the ${rng.next() < 0.6 ? rng.pick(ADJECTIVES) + ' ' : ''}${rng.pick(NOUNS)}`;
  const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);
  switch (rng.int(0, 3)) {
    case 0:
      return `${cap(np())} ${rng.pick(ADVERBS)} ${rng.pick(VERBS)[0]} ${np()} ${rng.pick(PLACES)}.`;
    case 1: {
      const q = rng.pick(QUESTIONS);
      return `${q} ${np()} ${rng.pick(VERBS)[1]} ${np()}?`;
    }
    case 2:
      return `${cap(rng.pick(NUMBERS))} ${rng.pick(ADJECTIVES)} ${rng.pick(NOUNS)}s ${rng.pick(VERBS)[0]} ${np()}, and ${np()} ${rng.pick(VERBS)[0]} them ${rng.pick(PLACES)}.`;
    default:
      return `${cap(rng.pick(PLACES))}, ${np()} ${rng.pick(VERBS)[0]} ${np()}.`;
  }
}

export interface CorpusOptions {
  /** Total audio to make, in minutes (stops at the first clip past it). */
  minutes: number;
  /** Output directory: WAVs in `wavs/`, manifest in `manifest.jsonl`. */
  out: string;
  /** Default 0. */
  seed?: number;
  /** Output sample rate (default 16000 for speech). */
  sampleRate?: number;
  onProgress?: (p: { done: number; total: number; info?: Record<string, string> }) => void;
}

/** Settings for one utterance, all drawn from the seed. */
interface Utterance {
  text: string;
  voice: string;
  variant: string;
  rate: number;
  pitch: number;
}

function drawUtterance(rng: Rng): Utterance {
  const sentences = rng.int(1, 2);
  const text = Array.from({ length: sentences }, () => makeSentence(rng)).join(' ');
  return {
    text,
    voice: rng.pick(SPEECH_VOICES),
    variant: rng.pick(SPEECH_VARIANTS),
    rate: rng.int(...RATE_RANGE),
    pitch: rng.int(...PITCH_RANGE),
  };
}

/** espeak-ng's version line, or a `usage` error saying how to install it. */
export async function espeakVersion(): Promise<string> {
  try {
    const { stdout } = await run('espeak-ng', ['--version']);
    return stdout.trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TonyError(
        'usage',
        'espeak-ng is not installed (the speech corpus is synthesized with it)',
        'install it: `sudo apt-get install espeak-ng` (Debian/Ubuntu), `brew install espeak-ng` (macOS), `dnf install espeak-ng` (Fedora)',
      );
    }
    throw err;
  }
}

/**
 * Synthesize a speech corpus. Returns the manifest entries (also written to `out/manifest.jsonl`).
 *
 *   await makeSpeechCorpus({ minutes: 10, out: 'data/speech', seed: 1 });
 */
export async function makeSpeechCorpus(o: CorpusOptions): Promise<ManifestEntry[]> {
  if (!(o.minutes > 0)) throw new TonyError('usage', `--minutes ${o.minutes} must be positive`);
  await espeakVersion();
  const sampleRate = o.sampleRate ?? 16000;
  const rng = new Rng(o.seed ?? 0);
  const target = o.minutes * 60;
  const tmp = await mkdtemp(join(tmpdir(), 'tony-espeak-'));
  const entries: ManifestEntry[] = [];
  let total = 0;
  try {
    while (total < target) {
      const u = drawUtterance(rng);
      const tmpWav = join(tmp, 'u.wav');
      await run('espeak-ng', ['-v', `${u.voice}+${u.variant}`, '-s', String(u.rate), '-p', String(u.pitch), '-w', tmpWav, u.text]);
      const { audio } = decodeWav(await readFile(tmpWav), 'espeak-ng output');
      const x = resample(toMono(audio), audio.sampleRate, sampleRate);
      const id = `speech-${String(entries.length).padStart(6, '0')}`;
      const path = join(o.out, 'wavs', `${id}.wav`);
      await writeWav(path, { sampleRate, channels: [x] });
      const seconds = x.length / sampleRate;
      total += seconds;
      entries.push({
        id,
        audio: join('wavs', `${id}.wav`),
        text: u.text,
        seconds: round3(seconds),
        sampleRate,
        voice: u.voice,
        variant: u.variant,
        rate: u.rate,
        pitch: u.pitch,
      });
      o.onProgress?.({
        done: Math.min(Math.round(total), Math.ceil(target)),
        total: Math.ceil(target),
        info: { clips: String(entries.length) },
      });
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  await writeManifest(join(o.out, MANIFEST_NAME), entries);
  return entries;
}

export const round3 = (x: number) => Math.round(x * 1000) / 1000;
