/**
 * The three VQ-VAE levels together: a directory with `bottom/`, `middle/` and `top/` (each a run or
 * an exported model), audio → codes at every level, and the codes file `tony jukebox encode`
 * writes and `decode` reads:
 *
 *   { "sampleRate": 8000, "samples": 16000, "levels": { "bottom": [...2000 ids], "middle": [...500], "top": [...125] } }
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TonyError } from '../../errors.ts';
import type { LoadOptions } from '../index.ts';
import { type LoadedVQVAE, loadVQVAE } from './codec.ts';
import type { Music } from './data.ts';
import { LEVELS, type Level } from './vqvae.ts';

export type Levels = Record<Level, LoadedVQVAE>;

export interface CodesFile {
  sampleRate: number;
  /** Samples of the audio that was encoded (before padding to the hop). */
  samples: number;
  levels: Partial<Record<Level, number[]>>;
}

/** Load `dir/bottom`, `dir/middle`, `dir/top`; all must share one sample rate. */
export async function loadLevels(dir: string, opts: LoadOptions = {}): Promise<Levels> {
  const missing = LEVELS.filter((l) => !existsSync(join(dir, l)));
  if (missing.length)
    throw new TonyError(
      'usage',
      `${dir} has no ${missing.join(', ')} level (a Jukebox model directory holds bottom/, middle/ and top/)`,
      'train each with tony train vqvae --level <level> --out <dir>/<level>',
    );
  const out: Partial<Levels> = {};
  try {
    for (const l of LEVELS) {
      out[l] = await loadVQVAE(join(dir, l), opts);
      if (out[l].cfg.level !== l) throw new TonyError('checkpoint', `${join(dir, l)} holds a ${out[l].cfg.level} level, not ${l}`);
    }
    const rates = new Set(LEVELS.map((l) => out[l]!.cfg.sampleRate));
    if (rates.size > 1)
      throw new TonyError('checkpoint', `${dir}: the levels were trained at different rates (${[...rates].join(', ')} Hz)`);
  } catch (err) {
    await closeLevels(out);
    throw err;
  }
  return out as Levels;
}

export async function closeLevels(levels: Partial<Levels>): Promise<void> {
  for (const l of LEVELS) await levels[l]?.close();
}

/** Codes of `samples` (at the levels' rate) at every level. */
export async function encodeAll(levels: Levels, samples: Float32Array): Promise<CodesFile> {
  const out: CodesFile = { sampleRate: levels.bottom.cfg.sampleRate, samples: samples.length, levels: {} };
  for (const l of LEVELS) out.levels[l] = Array.from(await levels[l].encode(samples));
  return out;
}

/** Validate a parsed codes file (from `source`, named in errors). */
export function parseCodes(value: unknown, source: string): CodesFile {
  const v = value as Partial<CodesFile> | null;
  if (!v || typeof v !== 'object' || !Number.isInteger(v.sampleRate) || typeof v.levels !== 'object' || v.levels === null)
    throw new TonyError('data', `${source} is not a Jukebox codes file`, 'make one with tony jukebox encode in.wav --out codes.json');
  for (const [l, ids] of Object.entries(v.levels)) {
    if (!LEVELS.includes(l as Level)) throw new TonyError('data', `${source}: unknown level '${l}'`, 'levels are bottom, middle, top');
    if (!Array.isArray(ids) || ids.some((i) => !Number.isInteger(i)))
      throw new TonyError('data', `${source}: levels.${l} must be a list of integer code ids`);
  }
  return { sampleRate: v.sampleRate!, samples: Number(v.samples ?? 0), levels: v.levels };
}

/** One song's codes at every level (empty where a level was not encoded), with its conditions and its split: a line of a codes corpus. */
export interface SongCodes {
  id: string;
  split: 'train' | 'val';
  timbre?: string;
  key?: string;
  tempo?: number;
  /** What is sung or said (the speech corpus's transcript): the top prior's lyrics. */
  lyrics?: string;
  top: number[];
  middle: number[];
  bottom: number[];
}

/**
 * Encode songs at all three levels (what the priors train on): the songs' own split is kept, so
 * the VQ-VAE's held-out songs stay held out from the priors too.
 */
export async function encodeSongs(
  levels: Partial<Levels>,
  music: Music,
  onProgress?: (p: { done: number; total: number; info?: Record<string, string> }) => void,
): Promise<SongCodes[]> {
  // Only the levels given are encoded (a top prior needs only top codes); the others stay empty.
  const present = LEVELS.filter((l) => levels[l]);
  if (present.length === 0) throw new TonyError('usage', 'encodeSongs needs at least one VQ-VAE level');
  const sr = levels[present[0]!]!.cfg.sampleRate;
  const all = [...music.train.map((s) => ({ s, split: 'train' as const })), ...music.val.map((s) => ({ s, split: 'val' as const }))];
  const total = all.reduce((n, { s }) => n + s.samples.length, 0) / sr;
  const out: SongCodes[] = [];
  let done = 0;
  for (const { s, split } of all) {
    const c: Partial<Record<Level, number[]>> = {};
    for (const l of present) c[l] = Array.from(await levels[l]!.encode(s.samples));
    const { timbre, key, tempo, lyrics } = s;
    out.push({
      id: s.id,
      split,
      ...(timbre ? { timbre } : {}),
      ...(key ? { key } : {}),
      ...(tempo ? { tempo } : {}),
      ...(lyrics ? { lyrics } : {}),
      top: c.top ?? [],
      middle: c.middle ?? [],
      bottom: c.bottom ?? [],
    });
    done += s.samples.length / sr;
    onProgress?.({ done: Math.round(done), total: Math.round(total), info: { songs: String(out.length) } });
  }
  return out;
}
