/**
 * The listening samples and pictures of docs/results/mcnn.md: for a few held-out clips (voices and
 * sentences the model never trained on), the original, Griffin-Lim at a given number of iterations,
 * and MCNN — as 16-bit WAVs and spectrogram PNGs, with each output's SC and LSD printed.
 *
 *   node --import tsx docs/results/mcnn/samples.ts <model dir> <dataset> <out dir> [clips=2] [gl iters=2,32] [prefix=speech]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FAST_GRIFFIN_LIM_MOMENTUM, griffinLim } from '../../../src/audio/griffinlim.ts';
import { compareAudio } from '../../../src/audio/metrics.ts';
import { spectrogramPng } from '../../../src/audio/plot.ts';
import { magnitude, stft } from '../../../src/audio/stft.ts';
import { writeWav } from '../../../src/audio/wav.ts';
import { readClips } from '../../../src/models/mcnn/kind.ts';
import { analysis } from '../../../src/models/mcnn/mcnn.ts';
import { loadVocoder } from '../../../src/models/mcnn/vocoder.ts';

const [modelDir, data, outDir, clipsArg = '2', itersArg = '2,32', prefix = 'speech'] = process.argv.slice(2);
if (!modelDir || !data || !outDir) throw new Error('usage: samples.ts <model dir> <dataset> <out dir> [clips] [gl iters] [prefix]');
const v = await loadVocoder(modelDir, { threads: 2 });
const cfg = v.cfg;
const { val, train } = await readClips([data], cfg);
// Held-out clips of 2–5 s (short enough to look at), in id order; every clip if none is held out.
const pool = (val.length ? val : train).filter((c) => c.samples.length >= 2 * cfg.sampleRate && c.samples.length <= 5 * cfg.sampleRate);
const clips = pool.sort((a, b) => a.id.localeCompare(b.id)).slice(0, Number(clipsArg));
await mkdir(outDir, { recursive: true });
const rate = cfg.sampleRate;
for (const [i, c] of clips.entries()) {
  const x = Float64Array.from(c.samples);
  const S = stft(x, { ...analysis(cfg), window: 'hann' });
  const mag = magnitude(S);
  const outs: Array<[string, Float64Array]> = [['original', x]];
  for (const k of itersArg.split(',').map(Number)) {
    const { signal } = griffinLim(mag, S.frames, {
      ...analysis(cfg),
      iters: k,
      momentum: FAST_GRIFFIN_LIM_MOMENTUM,
      seed: 0,
      length: x.length,
    });
    outs.push([`griffin-lim-${k}`, signal]);
  }
  const y = await v.synthesize({ mag, frames: S.frames, bins: S.bins });
  outs.push(['mcnn', Float64Array.from(y.subarray(0, x.length))]);
  for (const [name, s] of outs) {
    const file = `${prefix}${i + 1}-${name}`;
    await writeWav(join(outDir, `${file}.wav`), { sampleRate: rate, channels: [s] }, { encoding: 'pcm16' });
    const m = name === 'original' ? undefined : compareAudio(x, s);
    const title = `${name}${m ? `: SC ${m.spectralConvergenceDb.toFixed(1)} dB, LSD ${m.logSpectralDistance.toFixed(1)} dB` : ` (${c.id}, ${c.voice})`}`;
    await writeFile(join(outDir, `${file}.png`), spectrogramPng(s, { sampleRate: rate, title }));
    console.log(`${file}: ${title}`);
  }
}
await v.close();
