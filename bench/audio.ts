/**
 * `npm run bench -- audio`: STFT frames/s and Griffin-Lim ×real-time, Tony vs numpy/scipy, in the
 * same run on the same signals. The peer is python3 with numpy + scipy (librosa-style numpy STFT,
 * scipy.signal.stft, and the same fast Griffin-Lim written in numpy); it is skipped, with a note,
 * where python3/numpy/scipy are absent. Tony and the peer alternate, run by run, so both see the
 * same load on a shared machine; each figure is the median of RUNS runs, and the ratios are the
 * medians of the per-run ratios.
 */
import { spawnSync } from 'node:child_process';
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
const PY = String.raw`
import json, sys, time
import numpy as np, scipy.signal
from numpy.lib.stride_tricks import as_strided
args = json.loads(sys.stdin.readline())
n_fft, hop, iters = args['nFft'], args['hop'], args['iters']
def sig(n):
    return np.frombuffer(bytes.fromhex(args[n]), dtype='<f8')
xs, xg = sig('xs'), sig('xg')
w = scipy.signal.get_window('hann', n_fft, fftbins=True)
def stft(x):  # librosa.stft (center, zero padding), (frames, bins)
    xp = np.pad(x, n_fft // 2)
    nf = 1 + (len(xp) - n_fft) // hop
    fr = as_strided(xp, shape=(nf, n_fft), strides=(xp.strides[0] * hop, xp.strides[0]))
    return np.fft.rfft(fr * w, axis=1)
def istft(S, length):  # librosa.istft: windowed overlap-add / sum of squared windows
    fr = np.fft.irfft(S, n=n_fft, axis=1) * w
    n = n_fft + hop * (len(S) - 1)
    y = np.zeros(n); wss = np.zeros(n)
    for t in range(len(S)):
        y[t * hop:t * hop + n_fft] += fr[t]; wss[t * hop:t * hop + n_fft] += w * w
    nz = wss > np.finfo(float).tiny
    y[nz] /= wss[nz]
    return y[n_fft // 2:n_fft // 2 + length]
def gl(mag, length, alpha):
    rng = np.random.default_rng(0)
    c = np.exp(2j * np.pi * rng.random(mag.shape)); tprev = c.copy()
    for _ in range(iters):
        c = mag * np.exp(1j * np.angle(c))
        t = stft(istft(c, length))
        c = t + alpha * (t - tprev); tprev = t
    sc = np.linalg.norm(mag - np.abs(t)) / np.linalg.norm(mag)
    return istft(mag * np.exp(1j * np.angle(c)), length), sc
def timed(f):
    t0 = time.perf_counter(); r = f(); return time.perf_counter() - t0, r
stft(xs)  # warm up
np_stft = timed(lambda: stft(xs))[0]
sp_stft = timed(lambda: scipy.signal.stft(xs, window=w, nperseg=n_fft, noverlap=n_fft - hop, boundary='zeros', padded=False))[0]
mag = np.abs(stft(xg))
gl_t, (_, gl_sc) = timed(lambda: gl(mag, len(xg), args['alpha']))
print(json.dumps(dict(numpy=np.__version__, scipy=scipy.__version__, npStft=np_stft, spStft=sp_stft, gl=gl_t, glSc=float(gl_sc))))
`;
const hex = (x: Float64Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');
const pyInput =
  JSON.stringify({ nFft: OPTS.nFft, hop: OPTS.hop, iters: GL_ITERS, alpha: FAST_GRIFFIN_LIM_MOMENTUM, xs: hex(xs), xg: hex(xg) }) + '\n';
type PeerRun = { numpy: string; scipy: string; npStft: number; spStft: number; gl: number; glSc: number };
let peerMissing: string | undefined;
function peerOnce(): PeerRun | undefined {
  if (peerMissing) return undefined;
  const py = spawnSync('python3', ['-c', PY], { input: pyInput, encoding: 'utf8', maxBuffer: 1 << 26 });
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
