/**
 * Music for the Jukebox rows: any dataset src/audio/manifest.ts reads (a `tony audio corpus --kind
 * music` manifest, a folder of WAVs), mono, resampled to the model's rate, split into training and
 * held-out songs. A song keeps the corpus's metadata when there is some — key, tempo and the
 * melody's timbre — which is what the priors condition on (the paper's genre and artist).
 */
import { loadEntry, readDataset } from '../../audio/manifest.ts';
import { resample } from '../../audio/resample.ts';
import { toMono } from '../../audio/wav.ts';
import { TonyError } from '../../errors.ts';
import { prng } from '../../random.ts';

export interface Song {
  id: string;
  samples: Float32Array;
  /** e.g. "D minor", when the dataset says. */
  key?: string;
  /** Beats per minute, when the dataset says. */
  tempo?: number;
  /** The melody's instrument, when the dataset says. */
  timbre?: string;
  /**
   * The transcript of a speech clip (the lyrics the top prior can read). Only entries without a
   * key have lyrics: the music corpus's `text` is a caption of its own metadata (key, tempo,
   * timbres), which would hand the prior its conditions as text.
   */
  lyrics?: string;
}

export interface Music {
  train: Song[];
  val: Song[];
  /** What happened on the way in (resampling), for the caller to show. */
  notes: string[];
}

/** Fraction of songs held out (by a hash of the id: stable as the corpus grows). */
const HELD_OUT = 0.1;

/** FNV-1a → [0, 1): a stable pseudo-random draw per id. */
function unit(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

/** Read songs at `paths` at `sampleRate`; about 10 % are held out by id (at least one). */
export async function readMusic(paths: readonly string[], sampleRate: number): Promise<Music> {
  const songs: Song[] = [];
  const rates = new Map<number, number>();
  for (const p of paths) {
    for (const e of await readDataset(p)) {
      const { audio } = await loadEntry(e);
      let x = toMono(audio);
      if (audio.sampleRate !== sampleRate) {
        rates.set(audio.sampleRate, (rates.get(audio.sampleRate) ?? 0) + 1);
        x = resample(x, audio.sampleRate, sampleRate);
      }
      const timbres = e.timbres as { melody?: unknown } | undefined;
      songs.push({
        id: e.id,
        samples: Float32Array.from(x),
        ...(typeof e.key === 'string' ? { key: e.key } : {}),
        ...(typeof e.tempo === 'number' ? { tempo: e.tempo } : {}),
        ...(typeof timbres?.melody === 'string' ? { timbre: timbres.melody } : {}),
        ...(typeof e.text === 'string' && e.key === undefined ? { lyrics: e.text } : {}),
      });
    }
  }
  if (songs.length < 2)
    throw new TonyError(
      'data',
      `jukebox needs at least 2 songs (one to train, one to hold out), got ${songs.length}`,
      'e.g. tony audio corpus --kind music --minutes 60 --sample-rate 8000 --out data/music',
    );
  let val = songs.filter((s) => unit(s.id) < HELD_OUT);
  if (val.length === 0) val = [songs.reduce((a, b) => (unit(b.id) < unit(a.id) ? b : a))];
  const held = new Set(val);
  const notes = [...rates].map(([r, n]) => `resampled ${n} song(s) from ${r} Hz to ${sampleRate} Hz (the model's rate)`);
  return { train: songs.filter((s) => !held.has(s)), val, notes };
}

/** `length` samples of `x` from `start`, zero-padded past its end. */
export function crop(x: Float32Array, start: number, length: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(length);
  out.set(x.subarray(start, Math.min(x.length, start + length)));
  return out;
}

/** Crops quieter than this (RMS) are redrawn: the tails of songs are silence. */
const SILENCE_RMS = 1e-3;
const REDRAWS = 8;
const rms = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);

/**
 * `B` training crops of `L` samples, rows of one (B·L) array: song and offset drawn by (seed,
 * index), quiet crops redrawn. Returns the songs drawn too (their conditioning).
 */
export function trainCrops(songs: readonly Song[], B: number, L: number, seed: number, index: number) {
  const r = prng(Math.imul(seed + 1, 0x9e3779b1) ^ index);
  const rows = new Float32Array(B * L);
  const picked: Song[] = [];
  for (let j = 0; j < B; j++) {
    let s = songs[0]!;
    let x: Float32Array<ArrayBuffer> = new Float32Array(L);
    for (let k = 0; k < REDRAWS; k++) {
      s = songs[r.int(0, songs.length - 1)]!;
      x = crop(s.samples, r.int(0, Math.max(0, s.samples.length - L)), L);
      if (rms(x) > SILENCE_RMS) break;
    }
    rows.set(x, j * L);
    picked.push(s);
  }
  return { rows, songs: picked, rng: r };
}

/** Held-out crops: song (index·B + j) mod n, each from its middle, so every evaluation sees the same. */
export function valCrops(songs: readonly Song[], B: number, L: number, index: number) {
  const rows = new Float32Array(B * L);
  const picked: Song[] = [];
  for (let j = 0; j < B; j++) {
    const s = songs[(index * B + j) % songs.length]!;
    rows.set(crop(s.samples, Math.max(0, Math.floor((s.samples.length - L) / 2)), L), j * L);
    picked.push(s);
  }
  return { rows, songs: picked };
}
