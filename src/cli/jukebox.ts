/**
 * `tony jukebox …`: music as codes (PAPERS.md §5). Flags → options → src/models/jukebox; nothing
 * here computes. `encode` (WAV → codes at all three levels), `decode` (codes → WAV).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { resample } from '../audio/resample.ts';
import { readWav, toMono, writeWav } from '../audio/wav.ts';
import { TonyError } from '../errors.ts';
import { checkWritable, writeFileAtomic } from '../io.ts';
import { closeLevels, encodeAll, loadLevels, parseCodes } from '../models/jukebox/levels.ts';
import { LEVELS, type Level } from '../models/jukebox/vqvae.ts';
import { runtimeOptions } from './flags.ts';

/** The bundled levels (docs/results/jukebox.md). */
const BUNDLED = fileURLToPath(new URL('../../models/jukebox', import.meta.url));

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
    .option('--models <dir>', 'a directory with bottom/, middle/ and top/ VQ-VAE levels', BUNDLED)
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
    .option('--models <dir>', 'a directory with bottom/, middle/ and top/ VQ-VAE levels', BUNDLED)
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
}
