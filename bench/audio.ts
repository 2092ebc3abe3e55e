/**
 * `npm run bench -- audio`: STFT frames/s and Griffin-Lim ×real-time, Tony vs numpy/scipy, in the
 * same run on the same signals. The peer is python3 with numpy + scipy (librosa-style numpy STFT,
 * scipy.signal.stft, and the same fast Griffin-Lim written in numpy); it is skipped, with a note,
 * where python3/numpy/scipy are absent. Tony and the peer alternate, run by run, so both see the
 * same load on a shared machine; each figure is the median of RUNS runs, and the ratios are the
 * medians of the per-run ratios.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAST_GRIFFIN_LIM_MOMENTUM, griffinLim } from '../src/audio/griffinlim.ts';
import { Rng } from '../src/audio/random.ts';
import { magnitude, type StftOptions, stft } from '../src/audio/stft.ts';

const RUNS = 5;
const SR = 16000;
const STFT_SECONDS = 60;
const GL_SECONDS = 10;
const GL_ITERS = 32;
const OPTS: StftOptions = { nFft: 1024, hop: 256 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The signals: seeded noise plus a few tones (both sides get the exact same samples). */
function signal(seconds: number): Float64Array {
  const rng = new Rng(7);
  return Float64Array.from(
    { length: seconds * SR },
    (_, i) => 0.1 * rng.uniform(-1, 1) + 0.3 * Math.sin(i * 0.05) + 0.2 * Math.sin(i * 0.31 + Math.sin(i * 0.0007)),
  );
}

function timeIt(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

// ---- Tony ---------------------------------------------------------------------------------------
const xs = signal(STFT_SECONDS);
const xg = signal(GL_SECONDS);
const frames = stft(xs, OPTS).frames;
const Sg = stft(xg, OPTS);
const mg = magnitude(Sg);
let tonySc = 0;
const tonyStftOnce = () => timeIt(() => stft(xs, OPTS));
const tonyGlOnce = () =>
  timeIt(() => {
    const r = griffinLim(mg, Sg.frames, { ...OPTS, iters: GL_ITERS, momentum: FAST_GRIFFIN_LIM_MOMENTUM, seed: 0, length: xg.length });
    tonySc = r.convergence.at(-1)!;
  });

// ---- numpy / scipy (one python3 process per run; its timings exclude start-up) ------------------
const PY = join(dirname(fileURLToPath(import.meta.url)), 'peers', 'numpy_audio.py');
const hex = (x: Float64Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');
const pyInput =
  JSON.stringify({
    mode: 'audio',
    nFft: OPTS.nFft,
    hop: OPTS.hop,
    iters: GL_ITERS,
    alpha: FAST_GRIFFIN_LIM_MOMENTUM,
    xs: hex(xs),
    xg: hex(xg),
  }) + '\n';
type PeerRun = { numpy: string; scipy: string; npStft: number; spStft: number; gl: number; glSc: number };
let peerMissing: string | undefined;
function peerOnce(): PeerRun | undefined {
  if (peerMissing) return undefined;
  const py = spawnSync('python3', [PY], { input: pyInput, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (py.status === 0) return JSON.parse(py.stdout.trim().split('\n').at(-1)!);
  peerMissing = (py.error?.message ?? py.stderr).trim().split('\n').at(-1);
  return undefined;
}

// ---- alternate runs -------------------------------------------------------------------------------
tonyStftOnce(); // warm up the JIT
const tony = { stft: [] as number[], gl: [] as number[] };
const peerRuns: PeerRun[] = [];
for (let r = 0; r < RUNS; r++) {
  tony.stft.push(tonyStftOnce());
  tony.gl.push(tonyGlOnce());
  const p = peerOnce();
  if (p) peerRuns.push(p);
}
const tonyStft = median(tony.stft),
  tonyGl = median(tony.gl);
const peer =
  peerRuns.length === RUNS
    ? {
        ...peerRuns[0]!,
        npStft: median(peerRuns.map((p) => p.npStft)),
        spStft: median(peerRuns.map((p) => p.spStft)),
        gl: median(peerRuns.map((p) => p.gl)),
      }
    : undefined;
if (!peer) process.stdout.write(`peer skipped: python3 with numpy + scipy not available (${peerMissing})\n`);
/** Median over runs of peer time / Tony time (> 1: Tony faster). */
const ratio = (key: 'npStft' | 'spStft' | 'gl', mine: number[]) => median(peerRuns.map((p, i) => p[key] / mine[i]!)).toFixed(2);

// ---- report -----------------------------------------------------------------------------------
const fps = (s: number) => frames / s;
const xrt = (s: number) => GL_SECONDS / s;
const db = (sc: number) => (20 * Math.log10(sc)).toFixed(2);
process.stdout.write(
  `audio benchmark — medians of ${RUNS} runs, ${SR} Hz, n_fft ${OPTS.nFft}, hop ${OPTS.hop}, Hann; machine shared with other jobs\n` +
    `node ${process.version}${peer ? `, numpy ${peer.numpy}, scipy ${peer.scipy}` : ''}\n` +
    `STFT (${STFT_SECONDS} s, ${frames} frames):\n` +
    `  tony (fft.js)          ${fps(tonyStft).toFixed(0).padStart(8)} frames/s\n` +
    (peer
      ? `  numpy (librosa-style) ${fps(peer.npStft).toFixed(0).padStart(8)} frames/s\n` +
        `  scipy.signal.stft     ${fps(peer.spStft).toFixed(0).padStart(8)} frames/s\n`
      : '') +
    `fast Griffin-Lim (${GL_SECONDS} s, ${GL_ITERS} iterations, momentum ${FAST_GRIFFIN_LIM_MOMENTUM}):\n` +
    `  tony                  ${xrt(tonyGl).toFixed(2).padStart(8)} × real time   (SC ${db(tonySc)} dB)\n` +
    (peer ? `  numpy                 ${xrt(peer.gl).toFixed(2).padStart(8)} × real time   (SC ${db(peer.glSc)} dB)\n` : ''),
);
process.stdout.write(
  peer
    ? `ratios (peer time / tony time, median of per-run ratios; > 1 = tony faster): STFT vs numpy ${ratio('npStft', tony.stft)}×, STFT vs scipy ${ratio('spStft', tony.stft)}×, fast Griffin-Lim vs numpy ${ratio('gl', tony.gl)}×\n`
    : `ratios: peer skipped (no python3 + numpy + scipy)\n`,
);
