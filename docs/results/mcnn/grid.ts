/**
 * MCNN's frame-rate grid (docs/results/mcnn.md): the network is the same function at every frame,
 * so a stationary magnitude — a steady tone — comes out with period hop, i.e. only at multiples of
 * sampleRate/hop (62.5 Hz at 16 kHz, hop 256). This measures it: steady tones on and off that grid,
 * and the same tones with a 5 Hz vibrato (not stationary), each 2 s, SC and LSD of MCNN's output.
 *
 *   node --import tsx docs/results/mcnn/grid.ts <model dir>
 */
import { compareAudio } from '../../../src/audio/metrics.ts';
import { magnitude, stft } from '../../../src/audio/stft.ts';
import { analysis } from '../../../src/models/mcnn/mcnn.ts';
import { loadVocoder } from '../../../src/models/mcnn/vocoder.ts';

const [modelDir = 'models/mcnn'] = process.argv.slice(2);
const v = await loadVocoder(modelDir, { threads: 2 });
const sr = v.cfg.sampleRate;
const grid = sr / v.cfg.hop;
const n = 2 * sr;
/** Three harmonics of f0 (a crude voiced sound), optionally with ±3 % vibrato at 5 Hz. */
const tone = (f0: number, vibrato: boolean) => {
  let ph = 0;
  return Float64Array.from({ length: n }, (_, i) => {
    const f = f0 * (vibrato ? 1 + 0.03 * Math.sin((2 * Math.PI * 5 * i) / sr) : 1);
    ph += (2 * Math.PI * f) / sr;
    return 0.3 * Math.sin(ph) + 0.15 * Math.sin(2 * ph) + 0.08 * Math.sin(3 * ph);
  });
};
console.log(`grid: multiples of ${grid} Hz (sample rate ${sr} / hop ${v.cfg.hop})`);
console.log('f0 (Hz)  on grid  steady SC/LSD (dB)  vibrato SC/LSD (dB)');
for (const f0 of [125, 187.5, 250, 110, 150, 220]) {
  const row: string[] = [];
  for (const vib of [false, true]) {
    const x = tone(f0, vib);
    const S = stft(x, { ...analysis(v.cfg), window: 'hann' });
    const y = await v.synthesize({ mag: magnitude(S), frames: S.frames, bins: S.bins });
    const m = compareAudio(x, Float64Array.from(y.subarray(0, n)));
    row.push(`${m.spectralConvergenceDb.toFixed(1).padStart(6)} / ${m.logSpectralDistance.toFixed(1).padStart(5)}`);
  }
  console.log(
    `${String(f0).padStart(7)}  ${(f0 % grid === 0 ? 'yes' : 'no').padStart(7)}  ${row[0]!.padStart(18)}  ${row[1]!.padStart(19)}`,
  );
}
await v.close();
