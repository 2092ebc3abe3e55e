/**
 * Audio routes: procedural music clips (src/audio/music.ts) with their spectrograms, and the same
 * clip's magnitude inverted back to sound by Griffin-Lim (always) or a vocoder from the registry
 * (capability 'vocode', e.g. MCNN) when the server loaded one.
 *
 *   GET  /api/audio/music?seed=7&seconds=4        → { caption, sampleRate, wav, spectrogram }
 *   POST /api/audio/invert {seed, seconds, method, iters}
 *                                                 → { method, iters, scDb, elapsedS, wav, spectrogram }
 *
 * `wav` is a 16-bit PCM WAV file and `spectrogram` a PNG, both base64: one JSON answer carries the
 * sound, its picture and its numbers. Parameters out of range are 400s naming the parameter.
 */
import { FAST_GRIFFIN_LIM_MOMENTUM, griffinLim } from '../../audio/griffinlim.ts';
import { METRIC_STFT, spectralConvergence, toDb } from '../../audio/metrics.ts';
import { composeClip, renderClip } from '../../audio/music.ts';
import { spectrogramPng } from '../../audio/plot.ts';
import { magnitude, stft } from '../../audio/stft.ts';
import { type Audio, encodeWav } from '../../audio/wav.ts';
import { prng } from '../../random.ts';
import { badRequest } from '../core/http.ts';
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

/** The clip a seed names: the same notes and timbres every time. */
function clip(seed: number, seconds: number): { caption: string; x: Float64Array } {
  const rng = prng(seed);
  const spec = composeClip(rng, seconds);
  return { caption: spec.caption, x: renderClip(spec, SAMPLE_RATE, rng) };
}

const wavBase64 = (x: ArrayLike<number>) =>
  Buffer.from(encodeWav({ sampleRate: SAMPLE_RATE, channels: [Float64Array.from(x)] }, { encoding: 'pcm16' })).toString('base64');
const pngBase64 = (x: ArrayLike<number>, title: string) =>
  Buffer.from(spectrogramPng(Float64Array.from(x), { sampleRate: SAMPLE_RATE, title })).toString('base64');

export function audioRoutes(opts: { vocoder?: Vocoder } = {}): RouteModule {
  return {
    routes: [
      {
        method: 'GET',
        path: '/api/audio/music',
        public: true,
        async handle(ctx) {
          const q = new URL(ctx.req.url ?? '/', 'http://x').searchParams;
          const seed = intParam(q.get('seed'), 'seed', 0, 2 ** 31 - 1, 0);
          const { caption, x } = clip(seed, secondsParam(q.get('seconds')));
          ctx.send(200, { caption, sampleRate: SAMPLE_RATE, wav: wavBase64(x), spectrogram: pngBase64(x, caption) });
        },
      },
      {
        method: 'POST',
        path: '/api/audio/invert',
        public: true,
        async handle(ctx) {
          const body = await ctx.json();
          if (typeof body !== 'object' || body === null || Array.isArray(body))
            throw badRequest('Send a JSON object: {"seed": 7, "seconds": 4, "method": "griffin-lim", "iters": 32}.');
          const b = body as Record<string, unknown>;
          const seed = intParam(b.seed, 'seed', 0, 2 ** 31 - 1, 0);
          const seconds = secondsParam(b.seconds);
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
          const { x } = clip(seed, seconds);
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
              iters,
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
