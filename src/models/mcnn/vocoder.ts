/**
 * A trained MCNN as a vocoder: magnitude spectrogram → waveform, for whole utterances and as a
 * stream of chunks (what the omni model speaks through). The network is convolutional and local —
 * an output sample depends on ±contextFrames(cfg) frames — so a chunk synthesised with that much
 * context on each side (zero magnitude beyond the utterance's ends) gives the same samples whatever
 * the chunk size, to float32 rounding: streamed and whole-utterance synthesis agree everywhere.
 *
 *   const v = await loadVocoder('runs/mcnn');
 *   const { signal } = await v.vocodeAudio(await readWav('in.wav'));
 *   const s = v.stream({ chunkFrames: 16 });
 *   for (const rows of spectrogramFrames) play(await s.push(rows));
 *   play(await s.end());
 */
import { basename, resolve } from 'node:path';
import { resampleAudio } from '../../audio/resample.ts';
import { magnitude, stft } from '../../audio/stft.ts';
import { type Audio, toMono } from '../../audio/wav.ts';
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import { hostTensor } from '../../engine/dtype.ts';
import { exportOnnx } from '../../engine/onnx.ts';
import { Runtime, type Session } from '../../engine/runtime.ts';
import { loadWeights, stateKey } from '../../engine/state.ts';
import { input } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';
import type { LoadedModel, LoadOptions } from '../index.ts';
import { analysis, binsOf, contextFrames, MCNN, type MCNNConfig, mcnnConfig } from './mcnn.ts';

/** A magnitude spectrogram, (frames, bins) row-major, as src/audio's `magnitude(stft(x))`. */
export interface Magnitude {
  mag: ArrayLike<number>;
  frames: number;
  bins: number;
}

/** Default chunk of streamed synthesis: 16 frames (256 ms at 16 kHz, hop 256). */
export const STREAM_CHUNK_FRAMES = 16;

/** Frames per window of whole-utterance synthesis (2 s at 16 kHz, hop 256): one graph for all lengths. */
const SYNTH_CHUNK_FRAMES = 128;

/** The shortest window an utterance's tail runs in (frames, context excluded). */
const MIN_TAIL_FRAMES = 16;

/**
 * Graphs (one per window length: a stream's chunk size, whole-utterance windows, and their halvings
 * for tails) kept loaded.
 */
const MAX_GRAPHS = 8;

interface GraphEntry {
  ready: Promise<Session>;
  /** Graph input → runtime state key, for its weights. */
  state: Record<string, string>;
  busy: number;
  evicted: boolean;
}

export class MCNNVocoder implements LoadedModel {
  readonly kind = 'mcnn';
  readonly capabilities = ['vocode'] as const;
  /** One graph per window length in frames (shapes are static), built on first use; `busy` counts runs in flight. */
  private sessions = new Map<number, GraphEntry>();
  private derived?: Promise<void>;

  constructor(
    readonly id: string,
    readonly cfg: Readonly<MCNNConfig>,
    private readonly rt: Runtime,
  ) {}

  get provider(): string {
    return this.rt.description;
  }

  /** Frames of context each side that streamed chunks carry. */
  get context(): number {
    return contextFrames(this.cfg);
  }

  private graph(frames: number): GraphEntry {
    let g = this.sessions.get(frames);
    if (g) {
      this.sessions.delete(frames); // re-inserted below: most recently used last
    } else {
      const model = new MCNN(this.cfg);
      const mag = input('mag', [1, frames, binsOf(this.cfg)]);
      const wav = model.forward(mag, { polyphase: true });
      const weights = [model.a, model.b, ...model.polyphase.inputs];
      const onnx = exportOnnx([mag, ...weights], { wav }, { name: `mcnn_${frames}` });
      const state = Object.fromEntries(weights.map((t) => [t.name!, stateKey.param(t.name!)]));
      g = { ready: this.polyphaseReady().then(() => this.rt.load(onnx)), state, busy: 0, evicted: false };
    }
    this.sessions.set(frames, g);
    // Every utterance length is its own graph: keep the few most recent (a stream uses one), and
    // release an evicted one once no run is using it.
    for (const [n, old] of this.sessions) {
      if (this.sessions.size <= MAX_GRAPHS) break;
      this.sessions.delete(n);
      old.evicted = true;
      if (old.busy === 0) void this.releaseEntry(old);
    }
    return g;
  }

  /**
   * The network runs as polyphase convolutions (MCNN.forward's `polyphase`); their weights are
   * derived from the trained ones by a graph run once, into runtime state beside them.
   */
  private polyphaseReady(): Promise<void> {
    this.derived ??= (async () => {
      const model = new MCNN(this.cfg);
      const derive = await this.rt.load(exportOnnx(model.layerWeights, model.polyphaseWeights(), { name: 'mcnn_polyphase' }));
      const trained = Object.fromEntries(model.layerWeights.map((t) => [t.name!, stateKey.param(t.name!)]));
      const derived = Object.fromEntries(Object.keys(model.polyphaseWeights()).map((n) => [n, stateKey.param(n)]));
      await this.rt.run(derive, {}, { state: trained, update: derived });
      await this.rt.release(derive);
    })();
    return this.derived;
  }

  private async releaseEntry(g: GraphEntry): Promise<void> {
    await this.rt.release(await g.ready).catch(() => {});
  }

  /** Run the network on `frames` rows of magnitude → frames × hop samples. */
  private async run(mag: Float32Array, frames: number): Promise<Float32Array> {
    const g = this.graph(frames);
    g.busy++;
    try {
      const feeds = { mag: hostTensor('float32', [1, frames, binsOf(this.cfg)], mag) };
      const out = await this.rt.run(await g.ready, feeds, { state: g.state });
      return out.wav!.data as Float32Array;
    } finally {
      if (--g.busy === 0 && g.evicted) void this.releaseEntry(g);
    }
  }

  /** Check a spectrogram's layout against the model's: bins, and a whole number of frames. */
  private check(m: Magnitude): void {
    const bins = binsOf(this.cfg);
    if (m.bins !== bins)
      throw new TonyError(
        'shape',
        `the spectrogram has ${m.bins} frequency bins; this MCNN expects ${bins} (nFft ${this.cfg.nFft})`,
        `compute it with nFft ${this.cfg.nFft}, hop ${this.cfg.hop}, window ${this.cfg.winLength} (Hann), at ${this.cfg.sampleRate} Hz`,
      );
    if (!Number.isInteger(m.frames) || m.frames < 1 || m.mag.length !== m.frames * m.bins)
      throw new TonyError('shape', `the spectrogram has ${m.mag.length} values, not frames × bins = ${m.frames} × ${m.bins}`);
    for (let i = 0; i < m.mag.length; i++) {
      const x = m.mag[i]!;
      if (!(x >= 0 && x < Infinity))
        throw new TonyError(
          'data',
          `the spectrogram holds ${x} at frame ${Math.floor(i / bins)}, bin ${i % bins}; a magnitude is finite and ≥ 0`,
          'pass |STFT| (not the log or dB spectrogram, not the complex STFT), with no NaN or infinity',
        );
    }
  }

  /**
   * A (frames, bins) array — e.g. a .npy file's — as a Magnitude, refusing any other rank and
   * naming the fix when it arrives as librosa's (bins, frames).
   */
  asMagnitude(shape: readonly number[], data: ArrayLike<number>): Magnitude {
    const bins = binsOf(this.cfg);
    if (shape.length !== 2) throw new TonyError('shape', `a spectrogram is a 2-D array (frames, ${bins}); got shape (${shape.join(', ')})`);
    if (shape[1] !== bins && shape[0] === bins)
      throw new TonyError(
        'shape',
        `the spectrogram is (${shape.join(', ')}): ${bins} bins on the first axis; this MCNN reads (frames, ${bins})`,
        "librosa's layout is (bins, frames): save its transpose, numpy.save(path, S.T)",
      );
    return { mag: data, frames: shape[0]!, bins: shape[1]! };
  }

  /**
   * Whole-utterance synthesis: frames × hop samples, with zero magnitude (silence) before the first
   * frame and after the last. It runs in windows of SYNTH_CHUNK_FRAMES frames plus the context on
   * each side, so utterances of every length share one graph (a graph per length would cost a graph
   * build — hundreds of milliseconds — for each new length); the result is the same function of the
   * input as one window over the whole utterance padded with silence.
   */
  async synthesize(m: Magnitude): Promise<Float32Array> {
    return this.synthesizeChunked(m, { chunkFrames: SYNTH_CHUNK_FRAMES });
  }

  /** A streaming synthesiser: push magnitude rows as they come, get the samples that are final. */
  stream(opts: { chunkFrames?: number } = {}): VocoderStream {
    return new VocoderStream(this, opts.chunkFrames ?? STREAM_CHUNK_FRAMES, (mag, frames) => this.run(mag, frames));
  }

  /** The same samples as `synthesize`, made chunk by chunk through `stream` (any chunk size). */
  async synthesizeChunked(m: Magnitude, opts: { chunkFrames?: number } = {}): Promise<Float32Array> {
    this.check(m);
    const s = this.stream(opts);
    const parts: Float32Array[] = [];
    const rows = Float32Array.from(m.mag);
    const step = s.chunkFrames;
    for (let t = 0; t < m.frames; t += step) parts.push(await s.push(rows.subarray(t * m.bins, Math.min(m.frames, t + step) * m.bins)));
    parts.push(await s.end());
    return concat(parts);
  }

  /**
   * Analysis → MCNN → waveform: the magnitude of `audio`'s STFT (mono; resampled to the model's
   * rate when it differs, noted in `notes`) inverted, trimmed to the input's length; with
   * `chunkFrames`, through the streaming path.
   */
  async vocodeAudio(
    audio: Audio,
    opts: { chunkFrames?: number } = {},
  ): Promise<{ signal: Float32Array; sampleRate: number; notes: string[] }> {
    const notes: string[] = [];
    let a = audio;
    if (a.sampleRate !== this.cfg.sampleRate) {
      notes.push(`resampled ${a.sampleRate} Hz → ${this.cfg.sampleRate} Hz, the rate this MCNN was trained at`);
      a = resampleAudio(a, this.cfg.sampleRate);
    }
    if (a.channels.length > 1) notes.push(`mixed ${a.channels.length} channels down to mono`);
    const x = toMono(a);
    if (x.length === 0) throw new TonyError('data', 'the audio has no samples', 'pass a WAV file with audio in it');
    const S = stft(x, { ...analysis(this.cfg), window: 'hann' });
    const m = { mag: magnitude(S), frames: S.frames, bins: S.bins };
    const y = opts.chunkFrames ? await this.synthesizeChunked(m, opts) : await this.synthesize(m);
    return { signal: y.subarray(0, x.length), sampleRate: this.cfg.sampleRate, notes };
  }

  close(): Promise<void> {
    return this.rt.close();
  }
}

/**
 * Chunked synthesis. Each time a whole chunk of frames has arrived (or the stream ends), the network
 * runs once on a window of chunkFrames + 2·context frames and returns every sample that is final:
 * those of frames that already have `context` frames after them (all of them at the end). The first
 * samples come out after the first chunk — chunkFrames − context frames of them, when the chunk is
 * longer than the context — and then a chunk's worth per chunk. Frames before the first and after the
 * last are zero magnitude, as in whole-utterance synthesis.
 */
export class VocoderStream {
  private rows: Float32Array[] = [];
  /** Frames whose samples have been returned. */
  private emitted = 0;
  /** Index (in frames) of rows[0]. */
  private base = 0;
  /** Frames received when the network last ran (in whole chunks). */
  private ranAt = 0;
  private ended = false;

  constructor(
    private readonly v: MCNNVocoder,
    readonly chunkFrames: number,
    private readonly run: (mag: Float32Array, frames: number) => Promise<Float32Array>,
  ) {
    if (!Number.isInteger(chunkFrames) || chunkFrames < 1)
      throw new TonyError('config', `chunkFrames must be a positive integer, got ${chunkFrames}`);
  }

  private get received(): number {
    return this.base + this.rows.length;
  }

  /** Add magnitude rows (a multiple of bins values); returns the samples that became final. */
  async push(mag: ArrayLike<number>): Promise<Float32Array> {
    if (this.ended) throw new TonyError('usage', 'push after end() on a vocoder stream');
    const bins = binsOf(this.v.cfg);
    if (mag.length % bins !== 0)
      throw new TonyError(
        'shape',
        `pushed ${mag.length} values, not a whole number of ${bins}-bin frames`,
        `this MCNN expects ${bins} bins per frame (nFft ${this.v.cfg.nFft})`,
      );
    // Rows are bulk copies (slice) of one Float32Array: a copy per value cost ~20 % of synthesis.
    const all = mag instanceof Float32Array ? mag : Float32Array.from(mag);
    for (let i = 0; i < all.length; i += bins) this.rows.push(all.slice(i, i + bins));
    return this.drain();
  }

  /** The stream is over: the remaining samples. */
  async end(): Promise<Float32Array> {
    this.ended = true;
    return this.drain();
  }

  private async drain(): Promise<Float32Array> {
    const c = this.chunkFrames;
    const ctx = this.v.context;
    const bins = binsOf(this.v.cfg);
    const hop = this.v.cfg.hop;
    const out: Float32Array[] = [];
    // One run per whole chunk received; once ended, runs until every frame is out.
    while (this.ended ? this.emitted < this.received : this.received >= this.ranAt + c) {
      if (!this.ended) this.ranAt += c;
      const final = this.ended ? this.received : this.received - ctx; // frames with their right context
      const n = Math.min(c, final - this.emitted);
      if (n <= 0) continue; // a chunk arrived, but no frame has its right context yet
      // One graph size for every run of a chunk; the last runs of an ended stream take the smallest
      // halving of the chunk that holds their frames (a short tail does not pay for a whole chunk).
      let m = c;
      while (this.ended && m % 2 === 0 && m / 2 >= Math.max(n, MIN_TAIL_FRAMES)) m /= 2;
      const span = m + 2 * ctx;
      const window = new Float32Array(span * bins); // zeros outside what has arrived
      for (let j = 0; j < span; j++) {
        const t = this.emitted - ctx + j;
        const row = t >= this.base && t < this.received ? this.rows[t - this.base] : undefined;
        if (row) window.set(row, j * bins);
      }
      const y = await this.run(window, span);
      out.push(y.slice(ctx * hop, (ctx + n) * hop));
      this.emitted += n;
      // rows more than `context` frames behind are never read again
      const drop = Math.max(0, this.emitted - ctx - this.base);
      this.rows.splice(0, drop);
      this.base += drop;
    }
    return concat(out);
  }
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Load an MCNN checkpoint (a run directory's latest, or an exported model). */
export async function loadVocoder(dir: string, opts: LoadOptions = {}): Promise<MCNNVocoder> {
  const ck = await loadCheckpoint<{ kind?: string; model?: Record<string, unknown> }>((await latestCheckpoint(dir))?.dir ?? dir);
  if (ck.config.kind !== 'mcnn')
    throw new TonyError(
      'checkpoint',
      `${ck.dir} is not an MCNN checkpoint (kind '${String(ck.config.kind)}')`,
      'pass a run of tony train mcnn',
    );
  const cfg = mcnnConfig(ck.config.model);
  const rt = await Runtime.start({ device: opts.device, threads: opts.threads });
  await loadWeights(rt, ck.params);
  return new MCNNVocoder(opts.id ?? basename(resolve(dir)), cfg, rt);
}
