/**
 * Audio routes: clips — procedural music (src/audio/music.ts) or the utterances of a corpus folder
 * (src/audio/manifest.ts: Tony's manifest.jsonl, LJSpeech, LibriSpeech, WAV files) — with their
 * spectrograms, and a clip's magnitude inverted back to sound by Griffin-Lim (always) or a vocoder
 * from the registry (capability 'vocode', e.g. MCNN) when the server loaded one.
 *
 *   GET  /api/audio/corpus                          → { data: [{ id, text, seconds }] } (the first 500)
 *   GET  /api/audio/clip?source=music:7&seconds=4   → { caption, sampleRate, wav, spectrogram }
 *   GET  /api/audio/clip?source=corpus:<id>
 *   POST /api/audio/invert {source, seconds, method, iters}
 *                                                   → { method, iters, scDb, elapsedS, wav, spectrogram }
 *
 * `wav` is a 16-bit PCM WAV file and `spectrogram` a PNG, both base64: one JSON answer carries the
 * sound, its picture and its numbers. Clips are mono at 16 kHz, at most 10 s. Parameters out of
 * range are 400s naming the parameter.
 */
import { FAST_GRIFFIN_LIM_MOMENTUM, griffinLim } from '../../audio/griffinlim.ts';
import { loadEntry, type ManifestEntry, readDataset } from '../../audio/manifest.ts';
import { METRIC_STFT, spectralConvergence, toDb } from '../../audio/metrics.ts';
import { composeClip, renderClip } from '../../audio/music.ts';
import { spectrogramPng } from '../../audio/plot.ts';
import { resampleAudio } from '../../audio/resample.ts';
import { magnitude, stft } from '../../audio/stft.ts';
import { type Audio, encodeWav, toMono } from '../../audio/wav.ts';
import { prng } from '../../random.ts';
import { badRequest, HttpError } from '../core/http.ts';
import type { RouteModule } from '../core/server.ts';

/** The rate clips are made at: MCNN's (16 kHz speech), so a vocoder needs no resampling. */
const SAMPLE_RATE = 16000;
const SECONDS = { min: 0.5, max: 10, default: 4 };
const ITERS = { min: 0, max: 200, default: 32 };
const METHODS = ['griffin-lim', 'fast-griffin-lim', 'vocoder'] as const;
type Method = (typeof METHODS)[number];

/** A loaded model with capability 'vocode' (src/models/mcnn/vocoder.ts's `vocodeAudio`). */
export interface Vocoder {
  readonly id: string;
  vocodeAudio(audio: Audio): Promise<{ signal: Float32Array; sampleRate: number; notes: string[] }>;
}

function intParam(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined || v === null || v === '') return dflt;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    throw badRequest(`'${name}' must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}.`, name);
  return n;
}

function secondsParam(v: unknown): number {
  if (v === undefined || v === null || v === '') return SECONDS.default;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < SECONDS.min || n > SECONDS.max)
    throw badRequest(`'seconds' must be a number from ${SECONDS.min} to ${SECONDS.max}, got ${JSON.stringify(v)}.`, 'seconds');
  return n;
}

/** The music clip a seed names: the same notes and timbres every time. */
function music(seed: number, seconds: number): { caption: string; x: Float64Array } {
  const rng = prng(seed);
  const spec = composeClip(rng, seconds);
  return { caption: spec.caption, x: renderClip(spec, SAMPLE_RATE, rng) };
}

/** Corpus entries listed at most (a page lists them; the rest are reachable by id). */
const LIST_MAX = 500;

const wavBase64 = (x: ArrayLike<number>) =>
  Buffer.from(encodeWav({ sampleRate: SAMPLE_RATE, channels: [Float64Array.from(x)] }, { encoding: 'pcm16' })).toString('base64');
const pngBase64 = (x: ArrayLike<number>, title: string) =>
  Buffer.from(spectrogramPng(Float64Array.from(x), { sampleRate: SAMPLE_RATE, title })).toString('base64');

export function audioRoutes(opts: { vocoder?: Vocoder; corpusDir?: string } = {}): RouteModule {
  let corpus: Promise<ManifestEntry[]> | undefined;
  const entries = () => {
    if (!opts.corpusDir)
      throw new HttpError(
        404,
        'This studio has no audio corpus: start it with --audio <dir> (e.g. tony audio corpus --out <dir>).',
        'invalid_request_error',
        null,
        'no_corpus',
      );
    corpus ??= readDataset(opts.corpusDir).catch((err: unknown) => {
      corpus = undefined;
      throw err;
    });
    return corpus;
  };
  /** `music:<seed>` or `corpus:<id>` → a mono 16 kHz clip of at most SECONDS.max. */
  const clip = async (source: unknown, secondsRaw: unknown): Promise<{ caption: string; x: Float64Array }> => {
    const src = String(source ?? 'music:0');
    const m = /^(music|corpus):(.+)$/.exec(src);
    if (!m) throw badRequest(`'source' must be music:<seed> or corpus:<id>, got ${JSON.stringify(source)}.`, 'source');
    if (m[1] === 'music') return music(intParam(m[2], 'source seed', 0, 2 ** 31 - 1, 0), secondsParam(secondsRaw));
    const entry = (await entries()).find((e) => e.id === m[2]);
    if (!entry) throw badRequest(`No corpus entry '${m[2]}'; GET /api/audio/corpus lists them.`, 'source');
    const { audio, text } = await loadEntry(entry);
    const a: Audio = audio.sampleRate === SAMPLE_RATE ? audio : resampleAudio(audio, SAMPLE_RATE);
    const x = toMono(a).subarray(0, SECONDS.max * SAMPLE_RATE);
    return { caption: text ?? entry.id, x: Float64Array.from(x) };
  };
  return {
    routes: [
      {
        method: 'GET',
        path: '/api/audio/corpus',
        public: true,
        async handle(ctx) {
          const list = (await entries()).slice(0, LIST_MAX);
          ctx.send(200, { data: list.map((e) => ({ id: e.id, text: e.text ?? '', seconds: e.seconds })) });
        },
      },
      {
        method: 'GET',
        path: '/api/audio/clip',
        public: true,
        async handle(ctx) {
          const q = new URL(ctx.req.url ?? '/', 'http://x').searchParams;
          const { caption, x } = await clip(q.get('source'), q.get('seconds'));
          ctx.send(200, {
            caption,
            sampleRate: SAMPLE_RATE,
            wav: wavBase64(x),
            spectrogram: pngBase64(x, caption.length > 48 ? `${caption.slice(0, 47)}…` : caption),
          });
        },
      },
      {
        method: 'POST',
        path: '/api/audio/invert',
        public: true,
        async handle(ctx) {
          const body = await ctx.json();
          if (typeof body !== 'object' || body === null || Array.isArray(body))
            throw badRequest('Send a JSON object: {"source": "music:7", "seconds": 4, "method": "griffin-lim", "iters": 32}.');
          const b = body as Record<string, unknown>;
          const iters = intParam(b.iters, 'iters', ITERS.min, ITERS.max, ITERS.default);
          const method = (b.method ?? 'griffin-lim') as Method;
          if (!METHODS.includes(method))
            throw badRequest(`'method' must be one of ${METHODS.join(', ')}, got ${JSON.stringify(b.method)}.`, 'method');
          const vocoder = opts.vocoder;
          if (method === 'vocoder' && !vocoder)
            throw badRequest(
              "This server has no vocoder: start it with --vocoder <dir> (a model with capability 'vocode', e.g. tony train mcnn).",
              'method',
            );
          const { x } = await clip(b.source, b.seconds);
          const S = stft(x, METRIC_STFT);
          const mag = magnitude(S);
          // Model and DSP work take the admission slot, as completions do: one heavy job at a time.
          await ctx.withSlot(async () => {
            const t0 = performance.now();
            const y =
              method === 'vocoder'
                ? (await vocoder!.vocodeAudio({ sampleRate: SAMPLE_RATE, channels: [x] })).signal
                : griffinLim(mag, S.frames, {
                    ...METRIC_STFT,
                    iters,
                    momentum: method === 'fast-griffin-lim' ? FAST_GRIFFIN_LIM_MOMENTUM : 0,
                    length: x.length,
                  }).signal;
            const elapsedS = (performance.now() - t0) / 1000;
            const scDb = toDb(spectralConvergence(mag, magnitude(stft(y, METRIC_STFT))));
            const title = method === 'vocoder' ? `${vocoder!.id} (vocoder)` : `${method}, ${iters} iterations`;
            ctx.send(200, {
              method,
              iters: method === 'vocoder' ? undefined : iters,
              vocoder: method === 'vocoder' ? vocoder!.id : undefined,
              scDb,
              elapsedS,
              wav: wavBase64(y),
              spectrogram: pngBase64(y, title),
            });
          });
        },
      },
    ],
  };
}
