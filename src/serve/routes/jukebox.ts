/**
 * Jukebox routes (PAPERS.md §5), behind the studio's Jukebox page: a clip — procedural music or an
 * uploaded WAV — encoded to codes at the three VQ-VAE levels and decoded back through each level,
 * and, where the model directory has priors, music sampled top → middle → bottom under conditions.
 *
 *   GET  /api/jukebox/models → { models: [{ name, priors }], timbres, train, defaults: { temperature, upsamplerTemperature } }
 *   POST /api/jukebox/encode { model, source?: "music:7", seconds?, wav?: base64 }
 *        → { sampleRate, samples, caption, original: { wav, spectrogram }, levels: { bottom|middle|top: { hop, codes, scDb, wav, spectrogram } } }
 *   POST /api/jukebox/sample { model, timbre?, key?, tempo?, seconds?, temperature?, upsamplerTemperature?, seed? }
 *        (temperature default TOP_TEMPERATURE, upsamplerTemperature UPSAMPLER_TEMPERATURE: models/jukebox/bundled.ts)
 *        → { sampleRate, samples, codes: { top, middle, bottom }, codebooks, wav, spectrogram }
 *
 * The models: the bundled chain (models/jukebox, listed first as BUNDLED_NAME) when the studio is given
 * it, and any folder under the runs folder holding bottom/, middle/ and top/ (tony train vqvae) and, for
 * sampling, prior-top/, prior-middle/ and prior-bottom/ (tony train prior). Sampling defaults to the
 * temperatures the bundled chain was judged at. `wav` is a 16-bit PCM WAV and `spectrogram` a PNG, base64.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { METRIC_STFT, spectralConvergence, toDb } from '../../audio/metrics.ts';
import { composeClip, renderClip, TIMBRES } from '../../audio/music.ts';
import { spectrogramPng } from '../../audio/plot.ts';
import { resample } from '../../audio/resample.ts';
import { magnitude, stft } from '../../audio/stft.ts';
import { decodeWav, encodeWav, toMono } from '../../audio/wav.ts';
import { TOP_TEMPERATURE, UPSAMPLER_TEMPERATURE } from '../../models/jukebox/bundled.ts';
import { encodeAll, type Levels, loadLevels } from '../../models/jukebox/levels.ts';
import { conditionIds } from '../../models/jukebox/prior.ts';
import { type LoadedPrior, loadPrior, sampleChain } from '../../models/jukebox/sample.ts';
import { LEVELS, type Level } from '../../models/jukebox/vqvae.ts';
import { prng } from '../../random.ts';
import { inside } from '../../studio/runs.ts';
import { badRequest } from '../core/http.ts';
import type { RouteModule } from '../core/server.ts';

const SECONDS = { min: 0.25, max: 10, default: 3 };
/** How deep under the runs folder model directories are looked for. */
const MAX_DEPTH = 3;
/** What the page says to run when the runs folder holds no model directory (docs/results/jukebox.md trains one). */
export const JUKEBOX_TRAIN_HINT = [
  'tony audio corpus --kind music --minutes 60 --sample-rate 8000 --out data/music',
  'for l in bottom middle top; do tony train vqvae --data data/music --level $l --out runs/jukebox/$l; done',
  '# then, to sample: the priors on the codes',
  'tony jukebox encode-corpus --data data/music --models runs/jukebox --out runs/jukebox-codes.jsonl',
  'for l in top middle bottom; do tony train prior --data runs/jukebox-codes.jsonl --level $l --out runs/jukebox/prior-$l; done',
].join('\n');

const PRIORS = ['top', 'middle', 'bottom'] as const;
/** The bundled chain's name in the model list (not a path: it cannot clash with a folder under the runs folder). */
export const BUNDLED_NAME = 'bundled (models/jukebox)';
const hasLevels = (dir: string) => LEVELS.every((l) => existsSync(join(dir, l)));
const hasPriors = (dir: string) => PRIORS.every((l) => existsSync(join(dir, `prior-${l}`)));

const b64wav = (x: ArrayLike<number>, sampleRate: number) =>
  Buffer.from(encodeWav({ sampleRate, channels: [Float64Array.from(x)] }, { encoding: 'pcm16' })).toString('base64');
const b64png = (x: ArrayLike<number>, sampleRate: number, title: string) =>
  Buffer.from(spectrogramPng(Float64Array.from(x), { sampleRate, title })).toString('base64');

export function jukeboxRoutes(opts: { runsDir?: string; bundled?: string } = {}): RouteModule {
  const loaded = new Map<string, Promise<Levels>>();
  const priors = new Map<string, Promise<LoadedPrior>>();

  /** Model directories under the runs folder, as '/'-separated names relative to it. */
  const models = async (): Promise<Array<{ name: string; priors: boolean }>> => {
    const bundled = opts.bundled && hasLevels(opts.bundled) ? [{ name: BUNDLED_NAME, priors: hasPriors(opts.bundled) }] : [];
    if (!opts.runsDir) return bundled;
    const root = opts.runsDir;
    const out: Array<{ name: string; priors: boolean }> = [];
    const go = async (dir: string, depth: number): Promise<void> => {
      if (hasLevels(dir)) {
        out.push({ name: relative(root, dir).split(sep).join('/') || '.', priors: hasPriors(dir) });
        return; // its levels are not model directories of their own
      }
      if (depth >= MAX_DEPTH) return;
      // A linked folder counts (train-priors.sh links levels into a model directory); MAX_DEPTH bounds loops.
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries)
        if (e.isDirectory() && !/^(ckpt-\d+|\..*|node_modules)$/.test(e.name)) await go(join(dir, e.name), depth + 1);
    };
    await go(root, 0);
    return [...bundled, ...out.sort((a, b) => a.name.localeCompare(b.name))];
  };
  const modelDir = async (b: Record<string, unknown>): Promise<{ name: string; dir: string; priors: boolean }> => {
    const name = b.model;
    const found = typeof name === 'string' ? (await models()).find((m) => m.name === name) : undefined;
    if (found && found.name === BUNDLED_NAME && opts.bundled) return { ...found, dir: opts.bundled };
    if (!found || !opts.runsDir)
      throw badRequest(
        `'model' must name a Jukebox model directory under the runs folder (one holding bottom/, middle/ and top/) or the bundled one, got ${JSON.stringify(name)}; GET /api/jukebox/models lists them.`,
        'model',
      );
    return { ...found, dir: inside(opts.runsDir, found.name) };
  };
  const levelsOf = (name: string, dir: string) => {
    let p = loaded.get(name);
    if (!p) {
      p = loadLevels(dir, { threads: 1 });
      loaded.set(name, p);
      p.catch(() => loaded.delete(name)); // retried on the next request
    }
    return p;
  };
  const priorOf = (name: string, dir: string, level: Level) => {
    const key = `${name}\0${level}`;
    let p = priors.get(key);
    if (!p) {
      p = loadPrior(join(dir, `prior-${level}`), { threads: 1 });
      priors.set(key, p);
      p.catch(() => priors.delete(key));
    }
    return p;
  };
  const body = async (ctx: { json(): Promise<unknown> }) => {
    const v = await ctx.json();
    return (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
  };
  const seconds = (b: Record<string, unknown>) => {
    const v = b.seconds ?? SECONDS.default;
    if (typeof v !== 'number' || !(v >= SECONDS.min && v <= SECONDS.max))
      throw badRequest(`'seconds' must be a number from ${SECONDS.min} to ${SECONDS.max}, got ${JSON.stringify(b.seconds)}.`, 'seconds');
    return v;
  };
  /** The clip to encode at `rate`: procedural music by seed, or an uploaded WAV resampled to the models' rate. */
  const clip = (b: Record<string, unknown>, rate: number): { caption: string; x: Float64Array } => {
    if ((b.source === undefined) === (b.wav === undefined))
      throw badRequest('Send exactly one of "source" (e.g. "music:7") or "wav" (a WAV file, base64).', 'source');
    if (b.wav !== undefined) {
      if (typeof b.wav !== 'string' || b.wav.length === 0) throw badRequest("'wav' must be a WAV file as a base64 string.", 'wav');
      const { audio } = decodeWav(Buffer.from(b.wav, 'base64'), 'the uploaded WAV');
      const mono = toMono(audio);
      const x = audio.sampleRate === rate ? mono : resample(mono, audio.sampleRate, rate);
      const cut = x.subarray(0, SECONDS.max * rate);
      if (cut.length === 0) throw badRequest('the uploaded WAV holds no samples.', 'wav');
      return { caption: `uploaded WAV (${audio.sampleRate} Hz${audio.sampleRate === rate ? '' : `, resampled to ${rate} Hz`})`, x: cut };
    }
    const m = typeof b.source === 'string' ? /^music:(\d{1,9})$/.exec(b.source) : null;
    if (!m) throw badRequest(`'source' must be "music:<seed>", got ${JSON.stringify(b.source)}.`, 'source');
    const rng = prng(Number(m[1]));
    const s = seconds(b);
    const spec = composeClip(rng, s);
    // The composer finishes its last bar; the page asked for `s` seconds.
    return { caption: spec.caption, x: renderClip(spec, rate, rng).subarray(0, Math.round(s * rate)) };
  };

  return {
    routes: [
      {
        method: 'GET',
        path: '/api/jukebox/models',
        public: true,
        async handle(ctx) {
          ctx.send(200, {
            runsDir: opts.runsDir ?? null,
            models: await models(),
            timbres: TIMBRES,
            train: JUKEBOX_TRAIN_HINT,
            defaults: { temperature: TOP_TEMPERATURE, upsamplerTemperature: UPSAMPLER_TEMPERATURE },
          });
        },
      },
      {
        method: 'POST',
        path: '/api/jukebox/encode',
        public: true,
        async handle(ctx) {
          const b = await body(ctx);
          const m = await modelDir(b);
          const levels = await levelsOf(m.name, m.dir);
          const sr = levels.bottom.cfg.sampleRate;
          const { caption, x } = clip(b, sr);
          await ctx.withSlot(async () => {
            const codes = await encodeAll(levels, Float32Array.from(x));
            const mag = magnitude(stft(x, METRIC_STFT));
            const out: Record<string, unknown> = {};
            for (const l of LEVELS) {
              const ids = codes.levels[l]!;
              const y = (await levels[l].decode(Int32Array.from(ids))).subarray(0, x.length); // drop the encoder's padding
              out[l] = {
                hop: levels[l].hop,
                codebook: levels[l].cfg.codes,
                codes: ids,
                scDb: toDb(spectralConvergence(mag, magnitude(stft(Float64Array.from(y), METRIC_STFT)))),
                wav: b64wav(y, sr),
                spectrogram: b64png(y, sr, `${l} (hop ${levels[l].hop})`),
              };
            }
            ctx.send(200, {
              sampleRate: sr,
              samples: x.length,
              caption,
              original: { wav: b64wav(x, sr), spectrogram: b64png(x, sr, 'original') },
              levels: out,
            });
          });
        },
      },
      {
        method: 'POST',
        path: '/api/jukebox/sample',
        public: true,
        async handle(ctx) {
          const b = await body(ctx);
          const m = await modelDir(b);
          if (!m.priors)
            throw badRequest(
              `'${m.name}' has no priors (prior-top/, prior-middle/, prior-bottom/): train them with tony train prior (docs/results/jukebox.md).`,
              'model',
            );
          const str = (k: string) => {
            if (b[k] !== undefined && (typeof b[k] !== 'string' || b[k] === '')) throw badRequest(`'${k}' must be a non-empty string.`, k);
            return b[k] as string | undefined;
          };
          if (b.tempo !== undefined && (typeof b.tempo !== 'number' || !(b.tempo > 0 && b.tempo <= 400)))
            throw badRequest(`'tempo' must be beats per minute from 1 to 400, got ${JSON.stringify(b.tempo)}.`, 'tempo');
          const temperature = b.temperature ?? TOP_TEMPERATURE;
          if (typeof temperature !== 'number' || !(temperature >= 0 && temperature <= 5))
            throw badRequest(`'temperature' must be a number from 0 to 5, got ${JSON.stringify(b.temperature)}.`, 'temperature');
          // The upsamplers' own temperature, as `tony jukebox sample --upsampler-temperature`.
          const upsamplerTemperature = b.upsamplerTemperature ?? UPSAMPLER_TEMPERATURE;
          if (typeof upsamplerTemperature !== 'number' || !(upsamplerTemperature >= 0 && upsamplerTemperature <= 5))
            throw badRequest(
              `'upsamplerTemperature' must be a number from 0 to 5, got ${JSON.stringify(b.upsamplerTemperature)}.`,
              'upsamplerTemperature',
            );
          const seed = b.seed ?? 1;
          if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0)
            throw badRequest(`'seed' must be a whole number, got ${JSON.stringify(b.seed)}.`, 'seed');
          const cond = Int32Array.from(conditionIds({ timbre: str('timbre'), key: str('key'), tempo: b.tempo as number | undefined }));
          const levels = await levelsOf(m.name, m.dir);
          const sr = levels.bottom.cfg.sampleRate;
          const samples = Math.round(seconds(b) * sr);
          await ctx.withSlot(async () => {
            // The loop `tony jukebox sample` runs: the top prior under the conditions, then each upsampler.
            const priors: Partial<Record<Level, LoadedPrior>> = {};
            for (const level of PRIORS) priors[level] = await priorOf(m.name, m.dir, level);
            const r = await sampleChain({
              priors,
              decoder: levels.bottom,
              samples,
              batch: 1,
              cond,
              temperature,
              upsamplerTemperature,
              seed,
            });
            const codes = Object.fromEntries(Object.entries(r.codes).map(([l, rows]) => [l, Array.from(rows[0]!)]));
            const y = r.audio[0]!;
            const codebooks = Object.fromEntries(LEVELS.map((l) => [l, levels[l].cfg.codes]));
            ctx.send(200, { sampleRate: sr, samples, codes, codebooks, wav: b64wav(y, sr), spectrogram: b64png(y, sr, 'sample') });
          });
        },
      },
    ],
  };
}
