/**
 * `tony audio …`: make corpora, invert spectrograms, compare and draw audio. Flags → options →
 * the library in src/audio; nothing here computes.
 */
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, Option } from 'commander';
import { FAST_GRIFFIN_LIM_MOMENTUM, griffinLim } from '../audio/griffinlim.ts';
import { compareAudio, realTimeFactor, spectralConvergence, toDb } from '../audio/metrics.ts';
import { makeMusicCorpus } from '../audio/music.ts';
import { readNpy } from '../audio/npy.ts';
import { spectrogramPng } from '../audio/plot.ts';
import { resampleAudio } from '../audio/resample.ts';
import { makeSpeechCorpus } from '../audio/speech.ts';
import { magnitude, type StftOptions, stft } from '../audio/stft.ts';
import { readWav, toMono, type WavEncoding, writeWav } from '../audio/wav.ts';
import { TonyError } from '../errors.ts';
import { checkWritable, writeFileAtomic } from '../io.ts';
import { loadModel } from '../models/index.ts';
import type { MCNNVocoder } from '../models/mcnn/vocoder.ts';
import { integer, number, runtimeOptions } from './flags.ts';
import { progressBar } from './progress.ts';

/** The bundled MCNN (docs/results/mcnn.md), what `tony audio vocode` uses unless told otherwise. */
const BUNDLED_VOCODER = fileURLToPath(new URL('../../models/mcnn', import.meta.url));

const stftFlags = (cmd: Command) =>
  cmd
    .option('--n-fft <n>', 'FFT size (power of two)', integer('n-fft', 2), 1024)
    .option('--hop <n>', 'hop in samples (default n-fft/4)', integer('hop', 1));

const stftOf = (o: { nFft: number; hop?: number }): StftOptions => ({ nFft: o.nFft, hop: o.hop ?? o.nFft / 4 });

export function register(program: Command): void {
  const audio = program.command('audio').description('audio: corpora, spectrogram inversion, metrics, pictures');

  audio
    .command('corpus')
    .description('synthesize a speech (espeak-ng) or procedural music corpus: WAVs + manifest.jsonl')
    .addOption(new Option('--kind <kind>', 'what to make').choices(['speech', 'music']).makeOptionMandatory())
    .requiredOption('--minutes <m>', 'total audio, minutes', number('minutes', { min: 0 }))
    .requiredOption('--out <dir>', 'output directory')
    .option('--seed <n>', 'random seed (same seed → same files)', integer('seed', 0), 0)
    .option('--sample-rate <hz>', 'output rate (default 16000 speech, 22050 music)', integer('sample-rate', 8000))
    .option('--clip-seconds <s>', 'music clip length', number('clip-seconds', { min: 1 }), 8)
    .action(
      async (o: { kind: 'speech' | 'music'; minutes: number; out: string; seed: number; sampleRate?: number; clipSeconds: number }) => {
        await checkWritable(o.out);
        const bar = progressBar(`${o.kind} corpus`, 's');
        const common = { minutes: o.minutes, out: o.out, seed: o.seed, sampleRate: o.sampleRate, onProgress: bar.update };
        const t0 = performance.now();
        const entries =
          o.kind === 'speech' ? await makeSpeechCorpus(common) : await makeMusicCorpus({ ...common, clipSeconds: o.clipSeconds });
        bar.stop();
        const seconds = entries.reduce((s, e) => s + (e.seconds ?? 0), 0);
        process.stdout.write(
          `wrote ${entries.length} clips, ${(seconds / 60).toFixed(2)} min of ${o.kind} to ${o.out}/ (manifest.jsonl) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
        );
      },
    );

  stftFlags(
    audio
      .command('invert <in>')
      .description("reconstruct audio from the magnitude of in.wav's STFT (phase discarded) and report its quality")
      .addOption(
        new Option('--method <m>', 'griffin-lim (plain) or fast-griffin-lim (momentum 0.99)')
          .choices(['griffin-lim', 'fast-griffin-lim'])
          .default('griffin-lim'),
      )
      .option('--iters <n>', 'iterations', integer('iters', 0), 32)
      .option('--momentum <a>', 'override the momentum (0 = plain)', number('momentum', { min: 0 }))
      .option('--seed <n>', 'seed of the random initial phase', integer('seed', 0), 0)
      .requiredOption('--out <file>', 'output WAV'),
  ).action(
    async (
      input: string,
      o: { method: string; iters: number; momentum?: number; seed: number; out: string; nFft: number; hop?: number },
    ) => {
      await checkWritable(o.out, 'file'); // before the iterations
      const a = await readWav(input);
      const x = toMono(a);
      const so = stftOf(o);
      const S = stft(x, so);
      const mag = magnitude(S);
      const bar = progressBar('griffin-lim', 'it');
      const momentum = o.momentum ?? (o.method === 'fast-griffin-lim' ? FAST_GRIFFIN_LIM_MOMENTUM : 0);
      const t0 = performance.now();
      const { signal } = griffinLim(mag, S.frames, {
        ...so,
        iters: o.iters,
        momentum,
        seed: o.seed,
        length: x.length,
        onProgress: bar.update,
      });
      const secs = (performance.now() - t0) / 1000;
      bar.stop();
      await writeWav(o.out, { sampleRate: a.sampleRate, channels: [signal] });
      const sc = toDb(spectralConvergence(mag, magnitude(stft(signal, so))));
      const rtf = realTimeFactor(secs, x.length / a.sampleRate);
      process.stdout.write(
        `${o.method} (momentum ${momentum}), ${o.iters} iterations: spectral convergence ${sc.toFixed(2)} dB, ` +
          `${secs.toFixed(2)} s for ${(x.length / a.sampleRate).toFixed(2)} s of audio (RTF ${rtf.toFixed(3)}, ${(1 / rtf).toFixed(1)}× real time) → ${o.out}\n`,
      );
    },
  );

  stftFlags(
    audio
      .command('metrics <ref> <test>')
      .description('spectral convergence (dB), log-spectral distance (dB) and SNR (dB) of test.wav against ref.wav')
      .option('--json', 'print JSON'),
  ).action(async (ref: string, test: string, o: { json?: boolean; nFft: number; hop?: number }) => {
    const [a, b] = [await readWav(ref), await readWav(test)];
    // Compare at the reference's rate: resample the test clip if it differs.
    const bb = b.sampleRate === a.sampleRate ? b : resampleAudio(b, a.sampleRate);
    const [x, y] = [toMono(a), toMono(bb)];
    const m = compareAudio(x, y, stftOf(o));
    // The metrics compare the common length; say so when that drops part of either file.
    if (x.length !== y.length) {
      const s = (n: number) => `${n} samples (${(n / a.sampleRate).toFixed(3)} s)`;
      process.stderr.write(
        `tony: warning: the files differ in length — ${ref}: ${s(x.length)}, ${test}: ${s(y.length)}${bb !== b ? ' after resampling' : ''}; ` +
          `only the first ${s(m.samples)} are compared\n`,
      );
    }
    if (o.json) {
      process.stdout.write(
        JSON.stringify({ ...m, sampleRate: a.sampleRate, resampled: bb !== b, refSamples: x.length, testSamples: y.length }) + '\n',
      );
      return;
    }
    const note = bb !== b ? ` (test resampled ${b.sampleRate} → ${a.sampleRate} Hz)` : '';
    process.stdout.write(
      `spectral convergence  ${m.spectralConvergenceDb.toFixed(2)} dB   (lower is better)\n` +
        `log-spectral distance ${m.logSpectralDistance.toFixed(2)} dB   (lower is better)\n` +
        `SNR                   ${m.snr.toFixed(2)} dB   (higher is better; needs the reference's phase)\n` +
        `over ${m.samples} samples at ${a.sampleRate} Hz${note}\n`,
    );
  });

  const vocode = audio
    .command('vocode <in>')
    .description(
      'synthesize speech with a trained MCNN from in.wav (analysis → MCNN → WAV) or from a magnitude spectrogram in.npy (frames, bins)',
    )
    .option('--model <dir>', 'an MCNN run or model directory (tony train mcnn --out); default: the bundled models/mcnn')
    .requiredOption('--out <file>', 'output WAV')
    .option(
      '--chunk-frames <n>',
      'synthesize in streamed chunks of this many frames (default: whole utterance)',
      integer('chunk-frames', 1),
    );
  for (const o of runtimeOptions()) vocode.addOption(o);
  vocode.action(async (input: string, o: { model?: string; out: string; chunkFrames?: number; device?: string; threads?: number }) => {
    await checkWritable(o.out, 'file');
    const spectrogram = input.toLowerCase().endsWith('.npy') ? await readNpy(input) : undefined;
    const a = spectrogram ? undefined : await readWav(input);
    const m = await loadModel(o.model ?? BUNDLED_VOCODER, { device: o.device as 'cpu', threads: o.threads });
    try {
      if (!m.capabilities.includes('vocode'))
        throw new TonyError('usage', `${o.model} is a '${m.kind}' model; vocode needs an MCNN`, 'pass a run of tony train mcnn');
      const v = m as unknown as MCNNVocoder;
      const t0 = performance.now();
      if (spectrogram) {
        const m = v.asMagnitude(spectrogram.shape, spectrogram.data);
        const y = o.chunkFrames ? await v.synthesizeChunked(m, { chunkFrames: o.chunkFrames }) : await v.synthesize(m);
        const secs = (performance.now() - t0) / 1000;
        await writeWav(o.out, { sampleRate: v.cfg.sampleRate, channels: [Float64Array.from(y)] });
        const dur = y.length / v.cfg.sampleRate;
        process.stdout.write(
          `mcnn ${m.frames} frames → ${dur.toFixed(2)} s at ${v.cfg.sampleRate} Hz in ${secs.toFixed(2)} s (${(dur / secs).toFixed(1)}× real time) → ${o.out}\n`,
        );
        return;
      }
      const r = o.chunkFrames ? await v.vocodeAudio(a!, { chunkFrames: o.chunkFrames }) : await v.vocodeAudio(a!);
      const secs = (performance.now() - t0) / 1000;
      for (const n of r.notes) process.stderr.write(`tony: ${n}\n`);
      const y = Float64Array.from(r.signal);
      await writeWav(o.out, { sampleRate: r.sampleRate, channels: [y] });
      const x = toMono(a!.sampleRate === r.sampleRate ? a! : resampleAudio(a!, r.sampleRate));
      const q = compareAudio(x, y);
      const dur = y.length / r.sampleRate;
      process.stdout.write(
        `mcnn ${m.id} on ${m.provider}: ${dur.toFixed(2)} s of audio in ${secs.toFixed(2)} s (${(dur / secs).toFixed(1)}× real time); ` +
          `spectral convergence ${q.spectralConvergenceDb.toFixed(2)} dB, log-spectral distance ${q.logSpectralDistance.toFixed(2)} dB → ${o.out}\n`,
      );
    } finally {
      await m.close();
    }
  });

  audio
    .command('spectrogram <in>')
    .description('draw a spectrogram PNG with time and frequency axes and a dB colour bar')
    .requiredOption('--out <file>', 'output PNG')
    .option('--mel <bands>', 'draw a log-mel spectrogram with this many bands', integer('mel', 1))
    .option('--n-fft <n>', 'FFT size (power of two)', integer('n-fft', 2))
    .option('--hop <n>', 'hop in samples', integer('hop', 1))
    .option('--range-db <db>', 'dynamic range shown', number('range-db', { min: 1 }), 80)
    .action(async (input: string, o: { out: string; mel?: number; nFft?: number; hop?: number; rangeDb: number }) => {
      await checkWritable(o.out, 'file');
      const a = await readWav(input);
      const x = toMono(a);
      const title = `${o.mel ? 'Log-mel spectrogram' : 'Spectrogram'}, ${a.sampleRate} Hz, ${(x.length / a.sampleRate).toFixed(2)} s`;
      await writeFileAtomic(
        o.out,
        spectrogramPng(x, { sampleRate: a.sampleRate, nFft: o.nFft, hop: o.hop, nMels: o.mel, rangeDb: o.rangeDb, title }),
      );
      process.stdout.write(`${basename(input)} → ${o.out}\n`);
    });

  audio
    .command('resample <in>')
    .description('band-limited resampling (Kaiser-windowed sinc, ≥ 120 dB stop band)')
    .requiredOption('--rate <hz>', 'target sample rate', integer('rate', 1))
    .requiredOption('--out <file>', 'output WAV')
    .addOption(
      new Option('--encoding <e>', 'output encoding').choices(['pcm8', 'pcm16', 'pcm24', 'pcm32', 'float32', 'float64']).default('pcm16'),
    )
    .action(async (input: string, o: { rate: number; out: string; encoding: WavEncoding }) => {
      const a = await readWav(input);
      await writeWav(o.out, resampleAudio(a, o.rate), { encoding: o.encoding });
      process.stdout.write(`${a.sampleRate} Hz → ${o.rate} Hz, ${a.channels.length} channel(s) → ${o.out}\n`);
    });
}
