/**
 * Procedural music: short clips with a key, a mode, a tempo, a chord progression, a melody over
 * it and a bass line, each part played by one of several synthesized timbres. Every clip comes
 * with metadata (key, tempo, progression, timbres, every note) and a one-line caption, written
 * as 16-bit WAV plus a JSONL manifest; deterministic by seed. This is the music the Jukebox
 * VQ-VAE rows train on (PAPERS.md §5), standing in for a licensed music corpus.
 *
 * Oscillators are band-limited by construction (additive synthesis with harmonics kept below
 * MAX_HARMONIC_FRACTION × the sample rate), so no aliasing enters the corpus.
 */
import { join } from 'node:path';
import { TonyError } from '../errors.ts';
import { MANIFEST_NAME, type ManifestEntry, writeManifest } from './manifest.ts';
import { Rng } from './random.ts';
import { type CorpusOptions, round3 } from './speech.ts';
import { writeWav } from './wav.ts';

export type Timbre = 'sine' | 'triangle' | 'square' | 'saw' | 'organ' | 'pluck' | 'bell';
export const TIMBRES: readonly Timbre[] = ['sine', 'triangle', 'square', 'saw', 'organ', 'pluck', 'bell'];

const NOTE_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];
const SCALES = { major: [0, 2, 4, 5, 7, 9, 11], minor: [0, 2, 3, 5, 7, 8, 10] } as const;
type Mode = keyof typeof SCALES;
/** Common progressions as scale degrees (0 = tonic), with their Roman-numeral names. */
const PROGRESSIONS: Record<Mode, Array<{ degrees: number[]; name: string }>> = {
  major: [
    { degrees: [0, 4, 5, 3], name: 'I-V-vi-IV' },
    { degrees: [0, 3, 4, 0], name: 'I-IV-V-I' },
    { degrees: [5, 3, 0, 4], name: 'vi-IV-I-V' },
    { degrees: [0, 5, 1, 4], name: 'I-vi-ii-V' },
  ],
  minor: [
    { degrees: [0, 5, 2, 6], name: 'i-VI-III-VII' },
    { degrees: [0, 3, 4, 0], name: 'i-iv-v-i' },
    { degrees: [0, 6, 5, 6], name: 'i-VII-VI-VII' },
  ],
};
const TEMPO_RANGE: [number, number] = [70, 150];
const BEATS_PER_BAR = 4;
/** Melody note lengths in beats, with how often each is drawn. */
const MELODY_DURATIONS = [0.5, 0.5, 1, 1, 1, 1.5, 2];
const MELODY_OCTAVE = 5; // MIDI octave of the tonic the melody wanders around (C5 = 72)
const CHORD_OCTAVE = 4;
const BASS_OCTAVE = 2;
/** Harmonics stop below this fraction of the sample rate (0.45: a margin under Nyquist). */
const MAX_HARMONIC_FRACTION = 0.45;
const MAX_HARMONICS = 24;
const PEAK = 0.89; // normalize each clip to about −1 dBFS
const TAIL_SECONDS = 0.6; // room for the last notes' release

export interface Note {
  midi: number;
  start: number;
  duration: number;
  part: 'melody' | 'chords' | 'bass';
}

export interface ClipSpec {
  key: string;
  mode: Mode;
  tempo: number;
  progression: string;
  chordStyle: 'block' | 'arpeggio';
  timbres: { melody: Timbre; chords: Timbre; bass: Timbre };
  notes: Note[];
  seconds: number;
  caption: string;
}

const midiHz = (m: number) => 440 * 2 ** ((m - 69) / 12);

/** Compose one clip (notes and settings only) of about `seconds`. */
export function composeClip(rng: Rng, seconds: number): ClipSpec {
  const root = rng.int(0, 11);
  const mode: Mode = rng.next() < 0.6 ? 'major' : 'minor';
  const scale = SCALES[mode];
  const prog = rng.pick(PROGRESSIONS[mode]);
  const tempo = rng.int(...TEMPO_RANGE);
  const beat = 60 / tempo;
  const bars = Math.max(1, Math.round(seconds / (BEATS_PER_BAR * beat)));
  const chordStyle = rng.next() < 0.5 ? 'block' : 'arpeggio';
  const timbres = {
    melody: rng.pick(TIMBRES),
    chords: rng.pick<Timbre>(['organ', 'saw', 'triangle', 'sine', 'square']),
    bass: rng.pick<Timbre>(['sine', 'triangle', 'pluck', 'saw']),
  };
  /** MIDI note of scale degree d (any integer) above the tonic at `octave`. */
  const degreeMidi = (d: number, octave: number) => 12 * (octave + 1) + root + scale[((d % 7) + 7) % 7]! + 12 * Math.floor(d / 7);
  const notes: Note[] = [];
  let degree = 0; // melody position in scale degrees relative to the tonic
  for (let bar = 0; bar < bars; bar++) {
    const chord = prog.degrees[bar % prog.degrees.length]!;
    const t0 = bar * BEATS_PER_BAR * beat;
    const triad = [chord, chord + 2, chord + 4];
    if (chordStyle === 'block') {
      for (const d of triad) notes.push({ midi: degreeMidi(d, CHORD_OCTAVE), start: t0, duration: BEATS_PER_BAR * beat, part: 'chords' });
    } else {
      for (let i = 0; i < 2 * BEATS_PER_BAR; i++) {
        notes.push({ midi: degreeMidi(triad[i % 3]!, CHORD_OCTAVE), start: t0 + (i * beat) / 2, duration: beat / 2, part: 'chords' });
      }
    }
    for (const b of [0, 2]) notes.push({ midi: degreeMidi(chord, BASS_OCTAVE), start: t0 + b * beat, duration: 2 * beat, part: 'bass' });
    // Melody: a bounded random walk; on the bar's first beat it lands on a chord tone.
    for (let pos = 0; pos < BEATS_PER_BAR; ) {
      const dur = Math.min(rng.pick(MELODY_DURATIONS), BEATS_PER_BAR - pos);
      if (pos === 0) {
        const tone = rng.pick(triad);
        degree = tone + 7 * Math.round((degree - tone) / 7);
      } else {
        degree += rng.pick([-2, -1, -1, 1, 1, 2, 0, 3, -3]);
      }
      degree = Math.max(-3, Math.min(9, degree));
      if (rng.next() > 0.1)
        notes.push({ midi: degreeMidi(degree, MELODY_OCTAVE), start: t0 + pos * beat, duration: dur * beat, part: 'melody' });
      pos += dur;
    }
  }
  const key = `${NOTE_NAMES[root]} ${mode}`;
  return {
    key,
    mode,
    tempo,
    progression: prog.name,
    chordStyle,
    timbres,
    notes,
    seconds: bars * BEATS_PER_BAR * beat + TAIL_SECONDS,
    caption: `${key}, ${tempo} bpm, ${prog.name}: ${timbres.melody} melody over ${chordStyle} ${timbres.chords} chords and ${timbres.bass} bass`,
  };
}

/** Harmonic amplitudes (index k−1 for harmonic k) of the additive timbres. */
function harmonics(t: Timbre, count: number): Float64Array {
  const a = new Float64Array(count);
  for (let k = 1; k <= count; k++) {
    switch (t) {
      case 'sine':
        a[k - 1] = k === 1 ? 1 : 0;
        break;
      case 'saw':
        a[k - 1] = 1 / k;
        break;
      case 'square':
        a[k - 1] = k % 2 ? 1 / k : 0;
        break;
      case 'triangle':
        a[k - 1] = k % 2 ? (((k - 1) / 2) % 2 ? -1 : 1) / (k * k) : 0;
        break;
      case 'organ':
        a[k - 1] = ({ 1: 1, 2: 0.5, 3: 0.35, 4: 0.25, 6: 0.15, 8: 0.1 } as Record<number, number>)[k] ?? 0;
        break;
      default:
        a[k - 1] = 0;
    }
  }
  return a;
}

/** Attack–decay–sustain–release gain at time t of a note held for `hold` seconds. */
function adsr(t: number, hold: number): number {
  const A = 0.01,
    D = 0.12,
    S = 0.7,
    R = 0.08;
  if (t < A) return t / A;
  const sustained = t < A + D ? 1 - ((1 - S) * (t - A)) / D : S;
  if (t < hold) return sustained;
  return Math.max(0, S * (1 - (t - hold) / R));
}

/** Render one note into `mix` (adds). */
function renderNote(mix: Float64Array, sr: number, note: Note, timbre: Timbre, gain: number, rng: Rng): void {
  const f = midiHz(note.midi);
  const start = Math.round(note.start * sr);
  const release = timbre === 'pluck' || timbre === 'bell' ? 1.2 : 0.08;
  const n = Math.min(mix.length - start, Math.ceil((note.duration + release) * sr));
  if (timbre === 'pluck') return pluck(mix, start, n, sr, f, gain, rng);
  if (timbre === 'bell') return bell(mix, start, n, sr, f, gain);
  const count = Math.max(1, Math.min(MAX_HARMONICS, Math.floor((MAX_HARMONIC_FRACTION * sr) / f)));
  const amp = harmonics(timbre, count);
  const w = (2 * Math.PI * f) / sr;
  for (let i = 0; i < n; i++) {
    const theta = w * i;
    // sin(kθ) for k = 1 … count by the Chebyshev recurrence sin((k+1)θ) = 2cosθ·sin(kθ) − sin((k−1)θ).
    const c2 = 2 * Math.cos(theta);
    let prev = 0,
      cur = Math.sin(theta),
      s = 0;
    for (let k = 0; k < count; k++) {
      s += amp[k]! * cur;
      const next = c2 * cur - prev;
      prev = cur;
      cur = next;
    }
    mix[start + i]! += gain * adsr(i / sr, note.duration) * s;
  }
}

/** Karplus–Strong plucked string with a fractional (linearly interpolated) delay for exact pitch. */
function pluck(mix: Float64Array, start: number, n: number, sr: number, f: number, gain: number, rng: Rng): void {
  const delay = sr / f - 0.5; // the two-point average adds half a sample of delay
  const decay = 0.996;
  const y = new Float64Array(n);
  const burst = Math.ceil(delay) + 1;
  for (let i = 0; i < Math.min(burst, n); i++) y[i] = rng.uniform(-1, 1);
  const at = (t: number) => {
    const i = Math.floor(t),
      fr = t - i;
    return i < 0 ? 0 : (1 - fr) * y[i]! + fr * (y[i + 1] ?? 0);
  };
  for (let i = burst; i < n; i++) y[i] = decay * 0.5 * (at(i - delay) + at(i - delay - 1));
  for (let i = 0; i < n; i++) mix[start + i]! += 0.6 * gain * y[i]!;
}

/** Chowning-style FM bell: inharmonic modulator ratio, index and amplitude decaying together. */
function bell(mix: Float64Array, start: number, n: number, sr: number, f: number, gain: number): void {
  const ratio = 1.4,
    index0 = 2.5,
    tau = 0.6;
  for (let i = 0; i < n; i++) {
    const t = i / sr;
    const env = Math.exp(-t / tau) * Math.min(1, t / 0.003);
    mix[start + i]! += gain * env * Math.sin(2 * Math.PI * f * t + index0 * env * Math.sin(2 * Math.PI * ratio * f * t));
  }
}

const PART_GAIN = { melody: 0.5, chords: 0.18, bass: 0.4 } as const;

/** Synthesize a composed clip at `sampleRate`, normalized to PEAK. */
export function renderClip(spec: ClipSpec, sampleRate: number, rng: Rng): Float64Array {
  if (sampleRate < 8000) throw new TonyError('config', `music sample rate ${sampleRate} is too low`, 'use ≥ 8000 Hz');
  const mix = new Float64Array(Math.ceil(spec.seconds * sampleRate));
  for (const note of spec.notes) renderNote(mix, sampleRate, note, spec.timbres[note.part], PART_GAIN[note.part], rng);
  let peak = 0;
  for (const v of mix) peak = Math.max(peak, Math.abs(v));
  if (peak > 0) for (let i = 0; i < mix.length; i++) mix[i]! *= PEAK / peak;
  return mix;
}

export interface MusicCorpusOptions extends CorpusOptions {
  /** Length of each clip in seconds (rounded to whole bars; default 8). */
  clipSeconds?: number;
}

/**
 * Make a procedural music corpus. Returns the manifest entries (also in `out/manifest.jsonl`).
 *
 *   await makeMusicCorpus({ minutes: 5, out: 'data/music', seed: 1, sampleRate: 22050 });
 */
export async function makeMusicCorpus(o: MusicCorpusOptions): Promise<ManifestEntry[]> {
  if (!(o.minutes > 0)) throw new TonyError('usage', `--minutes ${o.minutes} must be positive`);
  const sampleRate = o.sampleRate ?? 22050;
  const clipSeconds = o.clipSeconds ?? 8;
  const rng = new Rng(o.seed ?? 0);
  const target = o.minutes * 60;
  const entries: ManifestEntry[] = [];
  let total = 0;
  while (total < target) {
    const spec = composeClip(rng, Math.min(clipSeconds, Math.max(1, target - total)));
    const x = renderClip(spec, sampleRate, rng);
    const id = `music-${String(entries.length).padStart(6, '0')}`;
    await writeWav(join(o.out, 'wavs', `${id}.wav`), { sampleRate, channels: [x] });
    const seconds = x.length / sampleRate;
    total += seconds;
    const { caption, notes, seconds: _s, ...meta } = spec;
    entries.push({
      id,
      audio: join('wavs', `${id}.wav`),
      text: caption,
      seconds: round3(seconds),
      sampleRate,
      ...meta,
      notes: notes.map((n) => ({ ...n, start: round3(n.start), duration: round3(n.duration) })),
    });
    o.onProgress?.({
      done: Math.min(Math.round(total), Math.ceil(target)),
      total: Math.ceil(target),
      info: { clips: String(entries.length) },
    });
  }
  await writeManifest(join(o.out, MANIFEST_NAME), entries);
  return entries;
}
