/**
 * Audio datasets as manifests: one entry per clip with its audio path and (for speech) its
 * transcript. Tony writes JSONL (`manifest.jsonl`, one JSON object per line); it also reads the
 * layouts people already have:
 *
 * - LJSpeech: `metadata.csv` with `id|transcription|normalized transcription`, audio in `wavs/<id>.wav`;
 * - LibriSpeech: `<speaker>-<chapter>.trans.txt` files with `<id> <TRANSCRIPT>` lines, audio beside
 *   them as `<id>.wav` (LibriSpeech ships FLAC, which Tony does not decode: convert first);
 * - a plain directory of WAV files (searched recursively), each with an optional transcript in a
 *   `.txt` or `.lab` file of the same name.
 *
 * Audio paths in entries are absolute once read, so entries can be passed around freely.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { dataError } from '../errors.ts';
import { readText, writeFileAtomic } from '../io.ts';
import { type Audio, readWav } from './wav.ts';

export interface ManifestEntry {
  /** Unique within the manifest. */
  id: string;
  /** Path of the WAV file (absolute after reading; relative to the manifest when written). */
  audio: string;
  /** Transcript (speech) or caption (music). */
  text?: string;
  /** Duration in seconds, when known. */
  seconds?: number;
  /** Anything else (voice, rate, key, tempo, notes …). */
  [key: string]: unknown;
}

export const MANIFEST_NAME = 'manifest.jsonl';

/** Write entries as JSONL beside their audio (audio paths made relative to the manifest). */
export async function writeManifest(path: string, entries: ManifestEntry[]): Promise<void> {
  const dir = dirname(resolve(path));
  const lines = entries.map((e) => JSON.stringify({ ...e, audio: isAbsolute(e.audio) ? relative(dir, e.audio) : e.audio }));
  await writeFileAtomic(path, lines.join('\n') + '\n');
}

/**
 * Read a dataset: a Tony `manifest.jsonl`, an LJSpeech `metadata.csv`, a LibriSpeech
 * `*.trans.txt`, or a directory holding any of those (or just WAV files).
 *
 *   const entries = await readDataset('LJSpeech-1.1');
 */
export async function readDataset(source: string): Promise<ManifestEntry[]> {
  if (!existsSync(source))
    throw dataError(`dataset '${source}' does not exist`, 'pass a directory, manifest.jsonl, metadata.csv or *.trans.txt');
  if (statSync(source).isDirectory()) {
    if (existsSync(join(source, MANIFEST_NAME))) return readJsonl(join(source, MANIFEST_NAME));
    if (existsSync(join(source, 'metadata.csv'))) return readLjspeech(join(source, 'metadata.csv'));
    const files = walk(source);
    const trans = files.filter((f) => f.endsWith('.trans.txt'));
    if (trans.length > 0) return (await Promise.all(trans.sort().map(readLibrispeech))).flat();
    return readWavDir(source, files);
  }
  if (source.endsWith('.jsonl')) return readJsonl(source);
  if (basename(source) === 'metadata.csv') return readLjspeech(source);
  if (source.endsWith('.trans.txt')) return readLibrispeech(source);
  throw dataError(
    `cannot tell the dataset format of '${source}'`,
    'pass a directory, manifest.jsonl, metadata.csv (LJSpeech) or *.trans.txt (LibriSpeech)',
  );
}

async function readJsonl(path: string): Promise<ManifestEntry[]> {
  const dir = dirname(resolve(path));
  const entries: ManifestEntry[] = [];
  for (const [i, line] of (await readText(path)).split('\n').entries()) {
    if (line.trim() === '') continue;
    let e: ManifestEntry;
    try {
      e = JSON.parse(line);
    } catch (err) {
      throw dataError(`${path}:${i + 1}: not valid JSON (${(err as Error).message})`, 'each line must be one JSON object');
    }
    if (typeof e?.id !== 'string' || typeof e?.audio !== 'string') {
      throw dataError(`${path}:${i + 1}: entry needs string fields 'id' and 'audio'`, `got ${line.slice(0, 80)}`);
    }
    entries.push({ ...e, audio: resolve(dir, e.audio) });
  }
  return entries;
}

async function readLjspeech(path: string): Promise<ManifestEntry[]> {
  const dir = dirname(resolve(path));
  const entries: ManifestEntry[] = [];
  for (const [i, line] of (await readText(path)).split('\n').entries()) {
    if (line.trim() === '') continue;
    const cols = line.split('|');
    if (cols.length < 2)
      throw dataError(
        `${path}:${i + 1}: expected 'id|transcription[|normalized]', got '${line.slice(0, 80)}'`,
        'LJSpeech metadata.csv is pipe-separated',
      );
    const id = cols[0]!;
    entries.push({ id, audio: join(dir, 'wavs', `${id}.wav`), text: (cols[2] ?? cols[1])!.trim() });
  }
  return entries;
}

async function readLibrispeech(path: string): Promise<ManifestEntry[]> {
  const dir = dirname(resolve(path));
  const entries: ManifestEntry[] = [];
  for (const [i, line] of (await readText(path)).split('\n').entries()) {
    if (line.trim() === '') continue;
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) throw dataError(`${path}:${i + 1}: expected '<id> <TRANSCRIPT>', got '${line.slice(0, 80)}'`);
    const id = m[1]!;
    const wav = join(dir, `${id}.wav`);
    entries.push({ id, audio: existsSync(wav) ? wav : join(dir, `${id}.flac`), text: m[2]! });
  }
  return entries;
}

function readWavDir(root: string, files: string[]): ManifestEntry[] {
  const wavs = files.filter((f) => extname(f).toLowerCase() === '.wav').sort();
  if (wavs.length === 0) throw dataError(`no .wav files under '${root}'`, 'convert audio to WAV first, e.g. `ffmpeg -i in.flac out.wav`');
  return wavs.map((audio) => {
    const stem = audio.slice(0, -extname(audio).length);
    const txt = [`${stem}.txt`, `${stem}.lab`].find((p) => existsSync(p));
    const e: ManifestEntry = { id: relative(root, stem), audio };
    if (txt) e.textFile = txt;
    return e;
  });
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

/** Load an entry's audio (and, for WAV directories, its transcript file). */
export async function loadEntry(entry: ManifestEntry): Promise<{ audio: Audio; text?: string }> {
  if (extname(entry.audio).toLowerCase() === '.flac') {
    throw dataError(
      `'${entry.audio}' is FLAC, which Tony does not decode`,
      'convert once: `for f in **/*.flac; do ffmpeg -i "$f" "${f%.flac}.wav"; done`',
    );
  }
  const audio = await readWav(entry.audio);
  const text = typeof entry.textFile === 'string' ? (await readText(entry.textFile)).trim() : entry.text;
  return text === undefined ? { audio } : { audio, text };
}
