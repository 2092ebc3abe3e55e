/**
 * The first held-out song (by id), 8 s, through one VQ-VAE level: its spectrogram (and WAV) to look at.
 *
 *   npx tsx docs/results/jukebox/recon-png.ts <music dir> <level run> <out.png> [out.wav]
 */
import { writeFile } from 'node:fs/promises';
import { spectrogramPng } from '../../../src/audio/plot.ts';
import { writeWav } from '../../../src/audio/wav.ts';
import { loadVQVAE } from '../../../src/models/jukebox/codec.ts';
import { readMusic } from '../../../src/models/jukebox/data.ts';

const [data, dir, png, wav] = process.argv.slice(2);
const level = await loadVQVAE(dir!, { threads: 1 });
const sr = level.cfg.sampleRate;
const music = await readMusic([data!], sr);
const song = [...music.val].sort((a, b) => a.id.localeCompare(b.id))[0]!;
const x = song.samples.subarray(0, 8 * sr);
const y = (await level.decode(await level.encode(x))).slice(0, x.length);
await writeFile(png!, spectrogramPng(Float64Array.from(y), { sampleRate: sr, nFft: 1024, title: `${song.id} through ${dir}` }));
if (wav) await writeWav(wav, { sampleRate: sr, channels: [Float64Array.from(y)] });
await level.close();
