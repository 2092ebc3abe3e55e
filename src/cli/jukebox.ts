/**
 * `tony jukebox …`: music as codes (PAPERS.md §5). Flags → options → src/models/jukebox; nothing
 * here computes. `encode` (WAV → codes at all three levels), `decode` (codes → WAV).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { resample } from '../audio/resample.ts';
import { readWav, toMono, writeWav } from '../audio/wav.ts';
import { TonyError } from '../errors.ts';
import { checkWritable, writeFileAtomic } from '../io.ts';
import { BUNDLED_JUKEBOX, TOP_TEMPERATURE, UPSAMPLER_TEMPERATURE } from '../models/jukebox/bundled.ts';
import { loadVQVAE } from '../models/jukebox/codec.ts';
import {
  conditionalNll,
  drawRequests,
  judgeReconstructions,
  measureConditioning,
  type NllArms,
  rates,
} from '../models/jukebox/conditioning.ts';
import { type Music, readMusic } from '../models/jukebox/data.ts';
import { scoreReconstruction } from '../models/jukebox/eval.ts';
import { readCodes } from '../models/jukebox/kind.ts';
import { closeLevels, encodeAll, encodeSongs, type Levels, loadLevels, parseCodes } from '../models/jukebox/levels.ts';
import { conditionIds, lyricsIds } from '../models/jukebox/prior.ts';
import { type LoadedPrior, loadPrior, sampleChain } from '../models/jukebox/sample.ts';
import { LEVELS, type Level, levelHop } from '../models/jukebox/vqvae.ts';
import { collect, count, number, positive, runtimeOptions } from './flags.ts';
import { progressBar } from './progress.ts';

const MODELS_HINT = ' (default: the bundled models/jukebox)';

interface RuntimeFlags {
  models: string;
  device?: string;
  threads?: number;
}

export function register(program: Command): void {
  const jukebox = program
    .command('jukebox')
    .description('Jukebox: music ↔ codes with the three-level VQ-VAE, and the priors that sample it');

  const encode = jukebox
    .command('encode <in>')
    .description('WAV → code ids at every level (bottom, middle, top) as JSON')
    .option('--models <dir>', 'a directory with bottom/, middle/ and top/ VQ-VAE levels' + MODELS_HINT, BUNDLED_JUKEBOX)
    .requiredOption('--out <file>', 'output codes file (.json)');
  for (const o of runtimeOptions()) encode.addOption(o);
  encode.action(async (input: string, o: RuntimeFlags & { out: string }) => {
    await checkWritable(o.out, 'file');
    const audio = await readWav(input);
    const levels = await loadLevels(o.models, { device: o.device as 'cpu', threads: o.threads });
    try {
      const sr = levels.bottom.cfg.sampleRate;
      const x = Float32Array.from(audio.sampleRate === sr ? toMono(audio) : resample(toMono(audio), audio.sampleRate, sr));
      if (audio.sampleRate !== sr)
        process.stderr.write(`tony: resampled ${input} from ${audio.sampleRate} Hz to ${sr} Hz (the models' rate)\n`);
      const t0 = performance.now();
      const codes = await encodeAll(levels, x);
      const secs = (performance.now() - t0) / 1000;
      await writeFileAtomic(o.out, JSON.stringify(codes) + '\n');
      const counts = LEVELS.map((l) => `${l} ${codes.levels[l]!.length} (hop ${levels[l].hop})`).join(', ');
      process.stdout.write(`${(x.length / sr).toFixed(2)} s at ${sr} Hz → ${counts} codes in ${secs.toFixed(2)} s → ${o.out}\n`);
    } finally {
      await closeLevels(levels);
    }
  });

  const decode = jukebox
    .command('decode <codes>')
    .description('codes (tony jukebox encode, or sample --codes) → WAV, through one level’s decoder')
    .option('--models <dir>', 'a directory with bottom/, middle/ and top/ VQ-VAE levels' + MODELS_HINT, BUNDLED_JUKEBOX)
    .option('--level <level>', 'which level’s codes to decode (bottom, middle, top)', 'bottom')
    .requiredOption('--out <file>', 'output WAV');
  for (const o of runtimeOptions()) decode.addOption(o);
  decode.action(async (source: string, o: RuntimeFlags & { out: string; level: string }) => {
    if (!LEVELS.includes(o.level as Level)) throw new TonyError('usage', `--level must be bottom, middle or top, got '${o.level}'`);
    await checkWritable(o.out, 'file');
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(source, 'utf8'));
    } catch (err) {
      throw new TonyError(
        'data',
        `cannot read ${source} as JSON: ${(err as Error).message}`,
        'pass a file written by tony jukebox encode',
        {
          cause: err,
        },
      );
    }
    const codes = parseCodes(parsed, source);
    const ids = codes.levels[o.level as Level];
    if (!ids) throw new TonyError('data', `${source} has no ${o.level} codes`, `it has: ${Object.keys(codes.levels).join(', ')}`);
    const levels = await loadLevels(o.models, { device: o.device as 'cpu', threads: o.threads });
    try {
      const level = levels[o.level as Level];
      if (level.cfg.sampleRate !== codes.sampleRate)
        throw new TonyError(
          'data',
          `${source} holds codes of ${codes.sampleRate} Hz audio; these models run at ${level.cfg.sampleRate} Hz`,
        );
      const t0 = performance.now();
      let y = await level.decode(Int32Array.from(ids));
      if (codes.samples > 0 && codes.samples < y.length) y = y.subarray(0, codes.samples); // drop the encoder's padding
      const secs = (performance.now() - t0) / 1000;
      await writeWav(o.out, { sampleRate: codes.sampleRate, channels: [Float64Array.from(y)] });
      process.stdout.write(
        `${ids.length} ${o.level} codes → ${(y.length / codes.sampleRate).toFixed(2)} s at ${codes.sampleRate} Hz in ${secs.toFixed(2)} s → ${o.out}\n`,
      );
    } finally {
      await closeLevels(levels);
    }
  });

  const corpus = jukebox
    .command('encode-corpus')
    .description('a music dataset → codes at every level, one JSON line per song (what tony train prior reads)')
    .option('--data <path>', 'a music manifest or WAV folder (repeatable)', collect, [])
    .option('--models <dir>', 'a directory with bottom/, middle/ and top/ VQ-VAE levels' + MODELS_HINT, BUNDLED_JUKEBOX)
    .option('--levels <list>', 'which levels to encode, comma-separated (a top prior needs only top)', 'bottom,middle,top')
    .requiredOption('--out <file>', 'output codes corpus (.jsonl)');
  for (const o of runtimeOptions()) corpus.addOption(o);
  corpus.action(async (o: RuntimeFlags & { data: string[]; levels: string; out: string }) => {
    if (!o.data.length)
      throw new TonyError('usage', 'encode-corpus needs --data <music>', 'e.g. --data data/music (tony audio corpus --kind music)');
    const wanted = o.levels.split(',').map((l) => l.trim());
    const bad = wanted.find((l) => !LEVELS.includes(l as Level));
    if (bad !== undefined || wanted.length === 0)
      throw new TonyError('usage', `--levels: '${bad ?? ''}' is not a level`, 'e.g. --levels top or --levels bottom,middle,top');
    await checkWritable(o.out, 'file');
    const levels: Partial<Levels> = {};
    try {
      for (const l of wanted as Level[]) levels[l] = await loadVQVAE(join(o.models, l), { device: o.device as 'cpu', threads: o.threads });
      const rates = new Set(Object.values(levels).map((l) => l.cfg.sampleRate));
      if (rates.size > 1)
        throw new TonyError('checkpoint', `${o.models}: the levels were trained at different rates (${[...rates].join(', ')} Hz)`);
      const music = await readMusic(o.data, levels[wanted[0] as Level]!.cfg.sampleRate);
      for (const n of music.notes) process.stderr.write(`tony: ${n}\n`);
      const bar = progressBar('encode', 's');
      const songs = await encodeSongs(levels, music, bar.update);
      bar.stop();
      await writeFileAtomic(o.out, songs.map((s) => JSON.stringify(s)).join('\n') + '\n');
      process.stdout.write(`${songs.length} songs (${music.val.length} held out) → ${o.out}\n`);
    } finally {
      await closeLevels(levels);
    }
  });

  const sample = jukebox
    .command('sample')
    .description('sample music: top prior (conditioned) → middle and bottom upsamplers → the bottom decoder → WAV')
    .option(
      '--models <dir>',
      'a directory with bottom/, middle/, top/ VQ-VAE levels and prior-top/, prior-middle/, prior-bottom/' + MODELS_HINT,
      BUNDLED_JUKEBOX,
    )
    .option('--top-prior <dir>', 'the top prior to use instead of <models>/prior-top (e.g. one with lyrics)')
    .option('--timbre <name>', 'melody instrument: sine, triangle, square, saw, organ, pluck, bell')
    .option('--key <key>', 'e.g. "D minor"')
    .option('--tempo <bpm>', 'beats per minute', positive('tempo'))
    .option('--lyrics <text>', 'what is sung or said (a top prior trained with lyrics)')
    .option('--seconds <s>', 'length of the sample', positive('seconds'), 8)
    .option('--temperature <t>', "the top prior's sampling temperature", number('temperature', { min: 0 }), TOP_TEMPERATURE)
    .option(
      '--upsampler-temperature <t>',
      "the upsamplers' temperature; below 1 they keep more of the notes",
      number('upsampler temperature', { min: 0 }),
      UPSAMPLER_TEMPERATURE,
    )
    .option('--level <level>', 'stop at this level and decode its codes with its own decoder (top, middle, bottom)', 'bottom')
    .option('--seed <n>', 'sampling seed', count('seed'), 1)
    .option('--no-cache', 'recompute every window for every code (no KV cache): slower, the same codes')
    .option('--codes <file>', 'also write the sampled codes (JSON, as tony jukebox encode)')
    .requiredOption('--out <file>', 'output WAV');
  for (const o of runtimeOptions()) sample.addOption(o);
  sample.action(
    async (
      o: RuntimeFlags & {
        topPrior?: string;
        timbre?: string;
        key?: string;
        tempo?: number;
        lyrics?: string;
        seconds: number;
        temperature: number;
        upsamplerTemperature: number;
        level: string;
        seed: number;
        cache: boolean;
        codes?: string;
        out: string;
      },
    ) => {
      if (!LEVELS.includes(o.level as Level)) throw new TonyError('usage', `--level must be bottom, middle or top, got '${o.level}'`);
      const stopAt = o.level as Level;
      const cond = Int32Array.from(conditionIds({ timbre: o.timbre, key: o.key, tempo: o.tempo }));
      await checkWritable(o.out, 'file');
      if (o.codes) await checkWritable(o.codes, 'file');
      const rt = { device: o.device as 'cpu', threads: o.threads };
      const decoder = await loadVQVAE(join(o.models, stopAt), rt);
      const priors: Partial<Record<Level, LoadedPrior>> = {};
      try {
        const chain = [...LEVELS].reverse().slice(0, 3 - LEVELS.indexOf(stopAt)); // top first
        for (const l of chain) priors[l] = await loadPrior(l === 'top' && o.topPrior ? o.topPrior : join(o.models, `prior-${l}`), rt);
        const lyrics = priors.top!.cfg.lyrics;
        if (o.lyrics !== undefined && lyrics === 0)
          throw new TonyError(
            'usage',
            'this top prior was trained without lyrics',
            'pass --top-prior <a prior trained with --set lyrics=…>, or drop --lyrics',
          );
        const sr = decoder.cfg.sampleRate;
        const samples = Math.round(o.seconds * sr);
        let bar: ReturnType<typeof progressBar> | undefined;
        let barLevel: Level | undefined;
        const { codes, audio } = await sampleChain({
          priors,
          decoder,
          samples,
          batch: 1,
          cond,
          ...(lyrics > 0 ? { text: Int32Array.from(lyricsIds(o.lyrics, lyrics)) } : {}),
          stopAt,
          temperature: o.temperature,
          upsamplerTemperature: o.upsamplerTemperature,
          seed: o.seed,
          cache: o.cache,
          onProgress: (level, p) => {
            if (level !== barLevel) {
              barLevel = level;
              bar = progressBar(`${level} prior`, 'codes');
            }
            bar!.update(p);
          },
          onLevel: (level, r) => {
            bar?.stop();
            const audioSeconds = (r.codes * levelHop(level)) / sr;
            process.stderr.write(
              `tony: ${level}: ${r.codes} codes in ${r.seconds.toFixed(1)} s (${(audioSeconds / r.seconds).toFixed(3)} s of audio per second)\n`,
            );
          },
        });
        await writeWav(o.out, { sampleRate: sr, channels: [Float64Array.from(audio[0]!)] });
        if (o.codes) {
          const levels = Object.fromEntries(Object.entries(codes).map(([l, rows]) => [l, Array.from(rows[0]!)]));
          await writeFileAtomic(o.codes, JSON.stringify({ sampleRate: sr, samples, levels }) + '\n');
        }
        process.stdout.write(
          `${o.seconds} s of music at ${sr} Hz (${o.timbre ?? 'any timbre'}, ${o.key ?? 'any key'}, ${o.tempo ? `${o.tempo} bpm` : 'any tempo'}${o.lyrics ? `, lyrics "${o.lyrics}"` : ''}) → ${o.out}\n`,
        );
      } finally {
        for (const p of Object.values(priors)) await p.close();
        await decoder.close();
      }
    },
  );

  const nllCmd = jukebox
    .command('nll')
    .description('does a prior use its conditions? held-out NLL with the right, no and shuffled conditions (or lyrics)')
    .requiredOption('--prior <dir>', 'a top prior or an upsampler trained with labels (tony train prior --level …)')
    .requiredOption('--codes <file>', 'the codes corpus it was trained on (encode-corpus): its held-out songs are scored')
    .option('--out <file>', 'also write the per-song NLLs as JSON');
  for (const o of runtimeOptions()) nllCmd.addOption(o);
  nllCmd.action(async (o: { prior: string; codes: string; out?: string; device?: string; threads?: number }) => {
    if (o.out) await checkWritable(o.out, 'file');
    const prior = await loadPrior(o.prior, { device: o.device as 'cpu', threads: o.threads });
    try {
      const c = await conditionalNll(prior, (await readCodes([o.codes])).val);
      process.stdout.write(nllReport(c, prior.cfg.level));
      if (o.out) await writeFileAtomic(o.out, JSON.stringify({ prior: o.prior, codes: o.codes, ...c }, null, 2) + '\n');
    } finally {
      await prior.close();
    }
  });

  const evalCmd = jukebox
    .command('eval <runs...>')
    .description('spectral convergence (dB) of VQ-VAE runs on held-out songs: the paper’s reconstruction table')
    .option('--data <path>', 'the music the runs were trained on (repeatable): its held-out songs are scored', collect, [])
    .option('--songs <n>', 'held-out songs scored (the first n by id)', count('songs'), 12)
    .option('--out <file>', 'also write the scores as JSON');
  for (const o of runtimeOptions()) evalCmd.addOption(o);
  evalCmd.action(async (runs: string[], o: { data: string[]; songs: number; out?: string; threads?: number }) => {
    if (!o.data.length) throw new TonyError('usage', 'eval needs --data <music>', 'the dataset the runs were trained on');
    if (o.out) await checkWritable(o.out, 'file');
    const rows = [];
    const byRate = new Map<number, Music>(); // runs at one rate share one reading of the data
    for (const run of runs) {
      const sr = await sampleRateOf(run);
      if (!byRate.has(sr)) byRate.set(sr, await readMusic(o.data, sr));
      const music = byRate.get(sr)!;
      const songs = [...music.val].sort((a, b) => a.id.localeCompare(b.id)).slice(0, o.songs);
      const bar = progressBar(run, 'songs');
      const r = await scoreReconstruction(run, songs, { threads: o.threads, onProgress: bar.update });
      bar.stop();
      process.stdout.write(`${run}\t${r.level}\tstep ${r.step}\tSC ${r.scDb.toFixed(2)} dB (${songs.length} held-out songs)\n`);
      rows.push({ run, ...r });
    }
    if (o.out) await writeFileAtomic(o.out, JSON.stringify(rows, null, 2) + '\n');
  });
  const condCmd = jukebox
    .command('conditioning')
    .description('measure the top prior’s conditioning: key and tempo of samples vs the request, against unconditioned samples')
    .option('--models <dir>', 'a directory with top/ and prior-top/' + MODELS_HINT, BUNDLED_JUKEBOX)
    .option('--n <n>', 'requests (each sampled with and without its conditions)', count('n'), 12)
    .option('--seconds <s>', 'length of each sample', positive('seconds'), 8)
    .option('--temperature <t>', "the top prior's sampling temperature", number('temperature', { min: 0 }), TOP_TEMPERATURE)
    .option(
      '--upsampler-temperature <t>',
      "the upsamplers' temperature; below 1 they keep more of the notes",
      number('upsampler temperature', { min: 0 }),
      UPSAMPLER_TEMPERATURE,
    )
    .option('--seed <n>', 'seed of the requests and the sampling', count('seed'), 1)
    .option('--codes <file>', 'a codes corpus (encode-corpus): also the NLL of its held-out top codes with and without their conditions')
    .option('--chain', 'sample on through the middle and bottom upsamplers (prior-middle/, prior-bottom/) and decode with bottom/')
    .option('--wavs <dir>', 'also write every sample as a WAV here')
    .option(
      '--data <path>',
      'music (repeatable): also judge top- and bottom-level reconstructions of its held-out songs (the ceiling)',
      collect,
      [],
    )
    .requiredOption('--out <file>', 'results (JSON)');
  for (const o of runtimeOptions()) condCmd.addOption(o);
  condCmd.action(
    async (
      o: RuntimeFlags & {
        n: number;
        seconds: number;
        temperature: number;
        upsamplerTemperature: number;
        seed: number;
        chain?: boolean;
        codes?: string;
        wavs?: string;
        data: string[];
        out: string;
      },
    ) => {
      await checkWritable(o.out, 'file');
      const rt = { device: o.device as 'cpu', threads: o.threads };
      const top = await loadVQVAE(join(o.models, 'top'), rt);
      try {
        const prior = await loadPrior(join(o.models, 'prior-top'), rt);
        try {
          const requests = drawRequests(o.n, o.seed);
          const bar = progressBar('sampling (top, then any upsamplers)', 'codes');
          const chain = o.chain
            ? {
                middle: await loadPrior(join(o.models, 'prior-middle'), rt),
                bottom: await loadPrior(join(o.models, 'prior-bottom'), rt),
                decoder: await loadVQVAE(join(o.models, 'bottom'), rt),
              }
            : undefined;
          let r: Awaited<ReturnType<typeof measureConditioning>>;
          try {
            r = await measureConditioning(prior, top, requests, {
              seconds: o.seconds,
              temperature: o.temperature,
              upsamplerTemperature: o.upsamplerTemperature,
              seed: o.seed,
              onProgress: bar.update,
              ...(chain ? { chain } : {}),
            });
          } finally {
            for (const m of [chain?.middle, chain?.bottom, chain?.decoder]) await m?.close();
          }
          bar.stop();
          if (o.wavs) {
            for (const [i, j] of r.judged.entries()) {
              const q = j.request;
              const name = `${j.conditioned ? 'cond' : 'uncond'}-${String(i % o.n).padStart(2, '0')}-${q.key.replace(' ', '-')}-${q.tempo}bpm-${q.timbre}.wav`;
              await writeWav(join(o.wavs, name), { sampleRate: top.cfg.sampleRate, channels: [Float64Array.from(r.audio[i]!)] });
            }
          }
          const pct = (v: number) => `${(100 * v).toFixed(0)} %`;
          const ceiling: Record<string, unknown> = {};
          if (o.data.length) {
            const music = await readMusic(o.data, top.cfg.sampleRate);
            const songs = [...music.val].sort((a, b) => a.id.localeCompare(b.id)).slice(0, o.n);
            for (const level of ['top', 'bottom'] as const) {
              const codec = level === 'top' ? top : await loadVQVAE(join(o.models, 'bottom'), rt);
              try {
                const js = await judgeReconstructions(codec, songs, o.seconds);
                const s = rates(js);
                ceiling[level] = { ...s, judged: js };
                process.stdout.write(
                  `${`${level} recon`.padEnd(13)} key ${pct(s.keyExact)} (relative ${pct(s.keyRelative)}), tempo ±8 % ${pct(s.tempoClose)} (metrical ${pct(s.tempoMetrical)}) of ${s.n} held-out songs\n`,
                );
              } finally {
                if (codec !== top) await codec.close();
              }
            }
          }
          if (o.codes) {
            const c = await conditionalNll(prior, (await readCodes([o.codes])).val);
            ceiling.nll = c;
            process.stdout.write(nllReport(c, prior.cfg.level));
          }
          const { audio: _audio, ...rest } = r;
          await writeFileAtomic(
            o.out,
            JSON.stringify(
              {
                models: o.models,
                seconds: o.seconds,
                temperature: o.temperature,
                upsamplerTemperature: o.upsamplerTemperature,
                seed: o.seed,
                ...rest,
                ceiling,
              },
              null,
              2,
            ) + '\n',
          );
          for (const arm of ['conditioned', 'unconditioned'] as const) {
            const s = r.summary[arm];
            process.stdout.write(
              `${arm.padEnd(13)} key ${pct(s.keyExact)} (relative ${pct(s.keyRelative)}), tempo ±8 % ${pct(s.tempoClose)} (metrical ${pct(s.tempoMetrical)}) of ${o.n}\n`,
            );
          }
          const audioSeconds = 2 * o.n * o.seconds;
          process.stdout.write(`sampled and decoded ${audioSeconds} s of audio in ${r.sampleSeconds.toFixed(1)} s → ${o.out}\n`);
        } finally {
          await prior.close();
        }
      } finally {
        await top.close();
      }
    },
  );
}

/** The three arms of conditionalNll, and the paired per-song differences against the right conditions. */
function nllReport(c: NllArms, level: Level): string {
  /** "+mean (sd …; right lower in k of n)" of per-song NLLs `v` minus the right conditions'. */
  const paired = (v: readonly number[]) => {
    const d = v.map((x, i) => x - c.perSong[i]!.conditioned);
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, d.length - 1));
    return `${mean >= 0 ? '+' : ''}${mean.toFixed(4)} (sd ${sd.toFixed(4)} over songs; right lower in ${d.filter((x) => x > 0).length} of ${d.length})`;
  };
  const lines = [
    `held-out ${level} codes (${c.n} songs, ${c.windows} windows): right ${c.conditioned.toFixed(4)}, none ${c.unconditioned.toFixed(4)}, shuffled ${c.shuffled.toFixed(4)} nats/code`,
    `  unconditioned − right ${paired(c.perSong.map((s) => s.unconditioned))}`,
    `  shuffled − right ${paired(c.perSong.map((s) => s.shuffled))}`,
    ...Object.entries(c.oneShuffled ?? {}).map(([name, v]) => `  only the ${name} shuffled − right ${paired(v)}`),
  ];
  return lines.join('\n') + '\n';
}

/** The sample rate a VQ-VAE run was trained at (its config.json). */
async function sampleRateOf(run: string): Promise<number> {
  try {
    const c = JSON.parse(await readFile(join(run, 'config.json'), 'utf8')) as { model?: { sampleRate?: number } };
    if (typeof c.model?.sampleRate === 'number') return c.model.sampleRate;
  } catch {
    /* reported below */
  }
  throw new TonyError('checkpoint', `${run} has no readable config.json with a sample rate`, 'pass a tony train vqvae run directory');
}
