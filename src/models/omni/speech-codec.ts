/**
 * The speech tokenizer as data, a training task and a codec: waveforms → log-magnitude frames →
 * codes (31.25 per second) → frames → the MCNN vocoder. The network is speech-vq.ts.
 *
 *   const tok = await loadSpeechTokenizer('models/omni/speech');
 *   const ids = await tok.encode(pcm16k);            // Int32Array, ⌈frames / 2⌉ codes
 *   const frames = await tok.decode(ids);            // (2·ids.length, bins) log magnitudes
 */
import { basename, resolve } from 'node:path';
import { loadEntry, readDataset } from '../../audio/manifest.ts';
import { resample } from '../../audio/resample.ts';
import { magnitude, stft } from '../../audio/stft.ts';
import { toMono } from '../../audio/wav.ts';
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import { type HostTensor, hostTensor } from '../../engine/dtype.ts';
import { exportOnnx } from '../../engine/onnx.ts';
import * as T from '../../engine/ops/index.ts';
import { Runtime, type Session } from '../../engine/runtime.ts';
import { loadWeights, runOnWeights } from '../../engine/state.ts';
import { input } from '../../engine/tensor.ts';
import type { TrainTask } from '../../engine/trainer.ts';
import { TonyError } from '../../errors.ts';
import { prng } from '../../random.ts';
import type { LoadedModel, LoadOptions, TrainSetup } from '../index.ts';
import {
  decoderContextCodes,
  FRAMES_PER_CODE,
  LOG_EPS,
  SPEECH_BINS,
  SPEECH_STFT,
  SpeechVQ,
  type SpeechVQConfig,
  speechVQConfig,
} from './speech-vq.ts';

/** ln(|STFT x| + ε) of a 16 kHz waveform: (frames, bins) row-major, MCNN's analysis. */
export function logMagnitude(x: ArrayLike<number>): { frames: number; data: Float32Array } {
  const S = stft(x, { nFft: SPEECH_STFT.nFft, hop: SPEECH_STFT.hop, winLength: SPEECH_STFT.winLength, window: 'hann', center: true });
  const m = magnitude(S);
  const data = new Float32Array(m.length);
  for (let i = 0; i < m.length; i++) data[i] = Math.log(m[i]! + LOG_EPS);
  return { frames: S.frames, data };
}

/** Log magnitudes back to the linear magnitudes MCNN takes (ε removed, floored at 0). */
export function toMagnitude(logMag: Float32Array): Float32Array {
  const out = new Float32Array(logMag.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.exp(logMag[i]!) - LOG_EPS);
  return out;
}

/** FNV-1a → [0, 1): a stable draw per string. */
export function unitHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

export interface SpeechClip {
  id: string;
  /** espeak voice+variant, e.g. "en-gb+f2". */
  voice: string;
  frames: number;
  /** (frames, bins) log magnitudes. */
  logMag: Float32Array;
}

/** Voices (voice+variant) held out of the tokenizer's training: ~15 % by hash, never a preset. */
export const isHeldOutVoice = (voice: string) => unitHash(voice) < 0.15;

/** Read speech clips (a manifest or WAV folder) as log-magnitude frames; held out by voice. */
export async function readSpeechFrames(paths: readonly string[], cfg: Readonly<SpeechVQConfig>) {
  const clips: SpeechClip[] = [];
  for (const p of paths) {
    for (const e of await readDataset(p)) {
      if (clips.length >= cfg.clips) break;
      const { audio } = await loadEntry(e);
      let x = toMono(audio);
      if (audio.sampleRate !== SPEECH_STFT.sampleRate) x = resample(x, audio.sampleRate, SPEECH_STFT.sampleRate);
      const { frames, data } = logMagnitude(x);
      if (frames < cfg.segment) continue;
      const voice = typeof e.voice === 'string' ? `${e.voice}${typeof e.variant === 'string' ? `+${e.variant}` : ''}` : e.id;
      clips.push({ id: e.id, voice, frames, logMag: data });
    }
  }
  const train = clips.filter((c) => !isHeldOutVoice(c.voice));
  const val = clips.filter((c) => isHeldOutVoice(c.voice));
  if (train.length === 0 || val.length === 0)
    throw new TonyError(
      'data',
      `omni-speech needs clips of training and held-out voices (at least ${cfg.segment} frames each), got ${train.length} and ${val.length}`,
      'pass a speech corpus with several voices: tony audio corpus --kind speech',
    );
  return { train, val };
}

type SpeechData = Awaited<ReturnType<typeof readSpeechFrames>>;

/** The trainer's task: random crops of `segment` frames, restarts drawn on the host (as Jukebox). */
export function speechVQTask(cfg: Readonly<SpeechVQConfig>, data: SpeechData, setup: TrainSetup): TrainTask {
  const B = setup.batch;
  const F = cfg.segment;
  const N = (B * F) / FRAMES_PER_CODE; // encoder outputs per batch
  const crop = (c: SpeechClip, s: number, out: Float32Array, j: number) =>
    out.set(c.logMag.subarray(s * SPEECH_BINS, (s + F) * SPEECH_BINS), j * F * SPEECH_BINS);
  return {
    trace(mode = 'train') {
      const model = new SpeechVQ(cfg);
      const frames = input('frames', [B, F, SPEECH_BINS]);
      const idx = mode === 'train' ? input('restart_idx', [cfg.codes], 'int64') : undefined;
      const { losses, metrics } = model.objective(T.transpose(frames, [0, 2, 1]), idx); // (B, bins, F)
      return { ps: model.ps, buffers: model.buffers, losses, metrics, data: idx ? [frames, idx] : [frames] };
    },
    batch(split, index): Record<string, HostTensor> {
      const rows = new Float32Array(B * F * SPEECH_BINS);
      if (split === 'val') {
        for (let j = 0; j < B; j++) {
          const c = data.val[(index * B + j) % data.val.length]!;
          crop(c, Math.floor((c.frames - F) / 2), rows, j);
        }
        return { frames: hostTensor('float32', [B, F, SPEECH_BINS], rows) };
      }
      const g = prng(Math.imul(setup.seed + 1, 0x9e3779b1) ^ index);
      for (let j = 0; j < B; j++) {
        const c = data.train[g.int(0, data.train.length - 1)]!;
        crop(c, g.int(0, c.frames - F), rows, j);
      }
      return {
        frames: hostTensor('float32', [B, F, SPEECH_BINS], rows),
        restart_idx: hostTensor(
          'int64',
          [cfg.codes],
          Array.from({ length: cfg.codes }, () => g.int(0, N - 1)),
        ),
      };
    },
    tokensPerStep: B * F,
    config: {
      kind: 'omni-speech',
      model: { ...cfg },
      batch: B,
      seed: setup.seed,
      data: { train: data.train.length, val: data.val.length, val_voices: [...new Set(data.val.map((c) => c.voice))] },
    },
  };
}

export interface SpeechTokenizer extends LoadedModel {
  readonly cfg: Readonly<SpeechVQConfig>;
  /** 16 kHz waveform → ⌈frames / 2⌉ code ids (31.25 per second). */
  encode(pcm: Float32Array): Promise<Int32Array>;
  /** Code ids → (2·ids.length, bins) log magnitudes: one window, zero code vectors `context` codes each side. */
  decode(ids: Int32Array): Promise<Float32Array>;
  /**
   * Frames of codes [from, to) of `ids`, decoded from a window with `decoderContextCodes` codes of
   * context each side (zero vectors beyond the ends, as whole-utterance decoding pads): the same
   * frames `decode(ids)` gives there, so a stream can decode as codes arrive.
   */
  decodeRange(ids: Int32Array, from: number, to: number): Promise<Float32Array>;
  /** Codes of context each side `decodeRange` needs. */
  readonly context: number;
}

/** Graphs kept per (direction, length). */
const GRAPH_CACHE = 8;

/** Load a trained speech tokenizer (`tony train omni-speech` run, or models/omni/speech). */
export async function loadSpeechTokenizer(dir: string, opts: LoadOptions = {}): Promise<SpeechTokenizer> {
  const ck = await loadCheckpoint<{ kind?: string; model?: Record<string, unknown> }>((await latestCheckpoint(dir))?.dir ?? dir);
  if (ck.config.kind !== 'omni-speech')
    throw new TonyError(
      'checkpoint',
      `${ck.dir} is not a speech tokenizer (kind '${String(ck.config.kind)}')`,
      'pass a tony train omni-speech run',
    );
  const cfg = speechVQConfig(ck.config.model);
  const runtime = await Runtime.start({ device: opts.device, threads: opts.threads });
  await loadWeights(runtime, ck.params);
  const codebook = ck.params['vq.codebook'];
  if (!codebook) throw new TonyError('checkpoint', `${ck.dir} has no vq.codebook`, 'pass a tony train omni-speech run');
  const book = Float32Array.from(codebook.data as Float32Array);
  const sessions = new Map<string, { session: Session; model: SpeechVQ }>();
  const graph = async (key: string, build: (m: SpeechVQ) => Parameters<typeof exportOnnx>) => {
    let g = sessions.get(key);
    if (!g) {
      const model = new SpeechVQ(cfg);
      g = { session: await runtime.load(exportOnnx(...build(model))), model };
      if (sessions.size >= GRAPH_CACHE) sessions.delete(sessions.keys().next().value!);
      sessions.set(key, g);
    }
    return g;
  };
  const D = cfg.codeWidth;
  const context = decoderContextCodes(cfg);
  /** Code vectors (1, D, n) of ids[a, a + n), zero outside the utterance. */
  const vectors = (ids: Int32Array, a: number, n: number) => {
    const z = new Float32Array(D * n);
    for (let t = 0; t < n; t++) {
      const i = a + t;
      if (i < 0 || i >= ids.length) continue;
      const id = ids[i]!;
      if (!(id >= 0 && id < cfg.codes)) throw new TonyError('data', `speech code ${i} is ${id}, outside 0 … ${cfg.codes - 1}`);
      for (let d = 0; d < D; d++) z[d * n + t] = book[id * D + d]!;
    }
    return z;
  };
  const decodeWindow = async (z: Float32Array, n: number) => {
    const g = await graph(`dec:${n}`, (m) => {
      const zq = input('zq', [1, D, n]);
      const frames = T.transpose(m.decode(zq), [0, 2, 1]); // (1, 2n, bins)
      return [[zq, ...m.ps.inputs], { frames }, { name: 'omni_speech_decode' }];
    });
    const out = await runOnWeights(runtime, g.session, g.model, { zq: hostTensor('float32', [1, D, n], z) });
    return out.frames!.data as Float32Array;
  };
  const decodeRange = async (ids: Int32Array, from: number, to: number) => {
    if (!(from >= 0 && to <= ids.length && from < to))
      throw new TonyError('usage', `decodeRange: bad range [${from}, ${to}) of ${ids.length} codes`);
    const n = to - from + 2 * context;
    const y = await decodeWindow(vectors(ids, from - context, n), n);
    return y.slice(context * FRAMES_PER_CODE * SPEECH_BINS, (context + to - from) * FRAMES_PER_CODE * SPEECH_BINS);
  };
  return {
    kind: 'omni-speech',
    id: opts.id ?? basename(resolve(dir)),
    capabilities: ['encode-audio'],
    provider: runtime.description,
    cfg,
    context,
    async encode(pcm) {
      const { frames, data } = logMagnitude(pcm);
      const F = Math.ceil(frames / FRAMES_PER_CODE) * FRAMES_PER_CODE;
      const x = new Float32Array(F * SPEECH_BINS).fill(Math.log(LOG_EPS)); // silence pads the end
      x.set(data);
      const g = await graph(`enc:${F}`, (m) => {
        const f = input('frames', [1, F, SPEECH_BINS]);
        const ids = m.codes(T.transpose(f, [0, 2, 1]));
        return [[f, ...m.ps.inputs, ...m.buffers.inputs], { ids }, { name: 'omni_speech_encode' }];
      });
      const out = await runOnWeights(runtime, g.session, g.model, { frames: hostTensor('float32', [1, F, SPEECH_BINS], x) });
      return Int32Array.from(out.ids!.data as BigInt64Array, Number);
    },
    async decode(ids) {
      if (ids.length === 0) return new Float32Array(0);
      return decodeRange(ids, 0, ids.length);
    },
    decodeRange,
    close: () => runtime.close(),
  };
}
