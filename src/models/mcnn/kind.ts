/**
 * MCNN's registry row (src/models/index.ts): `tony train mcnn --data <dataset> --out runs/mcnn`.
 *
 * Data: any dataset src/audio/manifest.ts reads (a `tony audio corpus` manifest, LJSpeech,
 * LibriSpeech with WAVs, a folder of WAVs), resampled to the model's rate. Held out by voice and by
 * sentence: a clip whose voice (espeak voice, or speaker folder) or whose sentence is in the
 * held-out sets goes to validation and no clip sharing either goes to training, so validation
 * measures voices and sentences the model never heard.
 */
import { dirname } from 'node:path';
import { loadEntry, readDataset } from '../../audio/manifest.ts';
import { resample } from '../../audio/resample.ts';
import { toMono } from '../../audio/wav.ts';
import { hostTensor } from '../../engine/dtype.ts';
import { input } from '../../engine/tensor.ts';
import type { TrainTask } from '../../engine/trainer.ts';
import { TonyError } from '../../errors.ts';
import { prng } from '../../random.ts';
import type { ModelKind, TrainSetup } from '../index.ts';
import { MCNN, MCNN_PRESETS, type MCNNConfig, mcnnConfig, mcnnObjective } from './mcnn.ts';
import { loadVocoder } from './vocoder.ts';

/** One clip at the model's rate, with what the split groups it by. */
export interface Clip {
  id: string;
  samples: Float32Array;
  voice: string;
  sentence: string;
}

export interface SpeechData {
  train: Clip[];
  val: Clip[];
  /** What happened on the way in (resampling), for the caller to show. */
  notes: string[];
}

/** Fractions of voices and of sentences held out (by a hash of the name: stable as data grows). */
const HELD_OUT = { voices: 1 / 6, sentences: 1 / 10 };

/** FNV-1a → [0, 1): a stable pseudo-random draw per name. */
function unit(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

/**
 * Split clips by voice and by sentence: each voice and each sentence is held out with a stable
 * pseudo-random draw (at least one of each when there are two or more). With one voice (or one
 * sentence) nothing is held out by it; if the rule leaves either side empty, the last clip in id
 * order is held out alone.
 */
export function splitClips(clips: readonly Clip[]): { train: Clip[]; val: Clip[] } {
  const held = (names: string[], what: string, fraction: number) => {
    if (names.length < 2) return new Set<string>();
    const draws = names.map((n) => [n, unit(`${what}:${n}`)] as const);
    const picked = draws.filter(([, u]) => u < fraction).map(([n]) => n);
    // at least one, so that a small dataset still measures an unseen voice and sentence
    return new Set(picked.length ? picked : [draws.reduce((a, b) => (b[1] < a[1] ? b : a))[0]]);
  };
  const voices = held([...new Set(clips.map((c) => c.voice))], 'voice', HELD_OUT.voices);
  const sentences = held([...new Set(clips.map((c) => c.sentence))], 'sentence', HELD_OUT.sentences);
  const isVal = (c: Clip) => voices.has(c.voice) || sentences.has(c.sentence);
  let train = clips.filter((c) => !isVal(c));
  let val = clips.filter(isVal);
  if (clips.length >= 2 && (train.length === 0 || val.length === 0)) {
    const sorted = [...clips].sort((a, b) => a.id.localeCompare(b.id));
    val = sorted.slice(-1);
    train = sorted.slice(0, -1);
  }
  return { train, val };
}

/** Read datasets at `paths` into clips at cfg.sampleRate, split by voice and sentence. */
export async function readClips(paths: readonly string[], cfg: Readonly<MCNNConfig>): Promise<SpeechData> {
  const clips: Clip[] = [];
  const rates = new Map<number, number>();
  for (const p of paths) {
    for (const e of await readDataset(p)) {
      const { audio, text } = await loadEntry(e);
      let x = toMono(audio);
      if (audio.sampleRate !== cfg.sampleRate) {
        rates.set(audio.sampleRate, (rates.get(audio.sampleRate) ?? 0) + 1);
        x = resample(x, audio.sampleRate, cfg.sampleRate);
      }
      const voice = typeof e.voice === 'string' ? `${e.voice}${typeof e.variant === 'string' ? `+${e.variant}` : ''}` : dirname(e.id);
      clips.push({ id: e.id, samples: Float32Array.from(x), voice, sentence: text ?? e.id });
    }
  }
  if (clips.length < 2)
    throw new TonyError(
      'data',
      `mcnn needs at least 2 clips (one to train, one to validate), got ${clips.length}`,
      'e.g. tony audio corpus --kind speech --minutes 60 --out data/speech',
    );
  const notes = [...rates].map(([r, n]) => `resampled ${n} clip(s) from ${r} Hz to ${cfg.sampleRate} Hz (the model's rate)`);
  return { ...splitClips(clips), notes };
}

/** Crops this quiet (RMS) are redrawn: a silent target has no spectral convergence to speak of. */
const SILENCE_RMS = 1e-3;
const REDRAWS = 8;

/** `length` samples of `clip` from `start`, zero-padded past its end. */
function crop(clip: Float32Array, start: number, length: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(length);
  out.set(clip.subarray(start, Math.min(clip.length, start + length)));
  return out;
}

const rms = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);

/** The trainer's task: batches of crops of segmentFrames × hop samples; the objective of mcnn.ts. */
export function mcnnTask(cfg: Readonly<MCNNConfig>, data: SpeechData, setup: TrainSetup): TrainTask {
  if (data.train.length === 0 || data.val.length === 0)
    throw new TonyError('data', `mcnn needs training and validation clips, got ${data.train.length} and ${data.val.length}`);
  const L = cfg.segmentFrames * cfg.hop;
  const B = setup.batch;
  return {
    trace() {
      const model = new MCNN(cfg);
      const wav = input('wav', [B, L]); // (B, frames · hop)
      const { losses } = mcnnObjective(model, wav);
      return { ps: model.ps, losses, data: [wav] };
    },
    // Training: clip and offset drawn by (seed, step), quiet crops redrawn. Validation: held-out
    // clips in order, each from its middle, so every evaluation sees the same crops.
    batch(split, index) {
      const rows = new Float32Array(B * L);
      if (split === 'val') {
        for (let j = 0; j < B; j++) {
          const c = data.val[(index * B + j) % data.val.length]!.samples;
          rows.set(crop(c, Math.max(0, Math.floor((c.length - L) / 2)), L), j * L);
        }
        return { wav: hostTensor('float32', [B, L], rows) };
      }
      const r = prng(Math.imul(setup.seed + 1, 0x9e3779b1) ^ index);
      for (let j = 0; j < B; j++) {
        let x: Float32Array<ArrayBuffer> = new Float32Array(L);
        for (let k = 0; k < REDRAWS; k++) {
          const c = data.train[r.int(0, data.train.length - 1)]!.samples;
          x = crop(c, r.int(0, Math.max(0, c.length - L)), L);
          if (rms(x) > SILENCE_RMS) break;
        }
        rows.set(x, j * L);
      }
      return { wav: hostTensor('float32', [B, L], rows) };
    },
    tokensPerStep: B * L,
    config: {
      kind: 'mcnn',
      model: { ...cfg },
      batch: B,
      seed: setup.seed,
      ...(setup.preset ? { preset: setup.preset } : {}),
      data: { train: data.train.length, val: data.val.length, val_ids: data.val.map((c) => c.id).slice(0, 200) },
    },
  };
}

export const mcnnKind: ModelKind<Readonly<MCNNConfig>, SpeechData> = {
  name: 'mcnn',
  kind: 'mcnn',
  summary: 'MCNN, fast spectrogram inversion (a speech manifest, LJSpeech/LibriSpeech or a WAV folder)',
  capabilities: ['vocode'],
  // `--set preset=tiny` picks a preset; other keys override it
  config: (overrides) => {
    const { preset, ...rest } = overrides;
    if (preset !== undefined && (typeof preset !== 'string' || !(preset in MCNN_PRESETS)))
      throw new TonyError('config', `mcnn: unknown preset ${JSON.stringify(preset)}`, `presets: ${Object.keys(MCNN_PRESETS).join(', ')}`);
    return mcnnConfig({ ...(preset ? MCNN_PRESETS[preset as string] : {}), ...rest });
  },
  data: (paths, cfg) => readClips(paths, cfg),
  task: mcnnTask,
  load: (dir, opts) => loadVocoder(dir, opts),
};
