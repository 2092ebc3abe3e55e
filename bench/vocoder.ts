/**
 * `npm run bench -- vocoder [model dir] [speech dataset]`: spectrogram inversion of held-out speech,
 * MCNN against Griffin-Lim, speed and quality in one run (issue 12, PAPERS.md §6).
 *
 *  - MCNN (default models/mcnn) on 2 threads, whole utterances;
 *  - Tony's fast Griffin-Lim (momentum 0.99) at the fewest iterations whose whole wall time (fixed
 *    part included) is at least MCNN's in the faster of Tony's and numpy's Griffin-Lim ("equal time"),
 *    and at 32 iterations (librosa's default);
 *  - the same Griffin-Lim in numpy (bench/peers/numpy_audio.py) at both iteration counts: what a
 *    Python user would run instead.
 * Clips: the held-out split (voices and sentences tony train mcnn never trains on) of the dataset
 * given, or of a small espeak-ng corpus made here with seed 1 (needs espeak-ng). Tony and the peer
 * alternate round by round; times are medians of ROUNDS rounds; quality is the mean over clips of
 * SC and LSD in dB (src/models/mcnn/eval.ts), which does not vary between rounds.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAST_GRIFFIN_LIM_MOMENTUM } from '../src/audio/griffinlim.ts';
import { makeSpeechCorpus } from '../src/audio/speech.ts';
import { type InversionScore, scoreGriffinLim, scoreMcnn } from '../src/models/mcnn/eval.ts';
import { readClips } from '../src/models/mcnn/kind.ts';
import { loadVocoder } from '../src/models/mcnn/vocoder.ts';

const ROUNDS = 3;
const CLIPS = 12;
const [modelDir = 'models/mcnn', dataArg] = process.argv.slice(2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const v = await loadVocoder(modelDir, { threads: 2 });
let tmp: string | undefined;
let data = dataArg;
if (!data) {
  tmp = await mkdtemp(join(tmpdir(), 'tony-vocoder-bench-'));
  await makeSpeechCorpus({ minutes: 8, out: tmp, seed: 1 });
  data = tmp;
}
const clips = (await readClips([data], v.cfg)).val.sort((a, b) => a.id.localeCompare(b.id)).slice(0, CLIPS);
if (tmp) await rm(tmp, { recursive: true, force: true });
const seconds = clips.reduce((s, c) => s + c.samples.length, 0) / v.cfg.sampleRate;

// numpy peer
const PEER = join(dirname(fileURLToPath(import.meta.url)), 'peers', 'numpy_audio.py');
const hex = (x: Float32Array) => Buffer.from(Float64Array.from(x).buffer).toString('hex');
const signals = clips.map((c) => hex(c.samples));
let peerMissing: string | undefined;
function peerOnce(iters: number[]): { numpy: string; seconds: Record<string, number> } | undefined {
  if (peerMissing) return undefined;
  const input = `${JSON.stringify({ mode: 'gl', nFft: v.cfg.nFft, hop: v.cfg.hop, alpha: FAST_GRIFFIN_LIM_MOMENTUM, iters, signals })}\n`;
  const py = spawnSync('python3', [PEER], { input, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (py.status === 0) return JSON.parse(py.stdout.trim().split('\n').at(-1)!);
  peerMissing = (py.error?.message ?? py.stderr).trim().split('\n').at(-1);
  return undefined;
}

// Equal time: Griffin-Lim's cost is a fixed part (the first inverse STFT, framing) plus a linear one
// per iteration. Time 1 and 4 iterations in Tony and in numpy, fit base + k·perIter for each, and give
// Griffin-Lim the fewest iterations whose whole time, in the faster of the two, is at least MCNN's
// (0 iterations — random phase, one inverse STFT — when even that is slower than MCNN).
await scoreMcnn(v, clips.slice(0, 1)); // build the graph once, outside the timing
const mcnnWall = (await scoreMcnn(v, clips)).wallSeconds;
const gl1 = (await scoreGriffinLim(v.cfg, clips, 1)).wallSeconds;
const gl4 = (await scoreGriffinLim(v.cfg, clips, 4)).wallSeconds;
const cal = peerOnce([1, 4]);
const fits = [{ perIter: (gl4 - gl1) / 3, at1: gl1 }];
if (cal) fits.push({ perIter: (cal.seconds['4']! - cal.seconds['1']!) / 3, at1: cal.seconds['1']! });
const glTime = (k: number) => Math.min(...fits.map((f) => f.at1 + (k - 1) * Math.max(1e-9, f.perIter)));
let equalIters = 0;
while (glTime(equalIters) < mcnnWall) equalIters++;
const iters = [...new Set([equalIters, 32])].sort((a, b) => a - b);

const mcnn: InversionScore[] = [];
const gl = new Map<number, InversionScore[]>(iters.map((k) => [k, []]));
const peer = new Map<number, number[]>(iters.map((k) => [k, []]));
let numpyVersion = '';
const load0 = loadavg()[0]!;
for (let r = 0; r < ROUNDS; r++) {
  // One untimed clip first: ONNX Runtime's pool threads sleep while the other methods run (they no
  // longer spin), and the first windows after a long idle pay for waking them — 25 % slower after
  // 30 ms idle in a measurement here; the peers' warm-up is their earlier rounds.
  await scoreMcnn(v, clips.slice(0, 1));
  mcnn.push(await scoreMcnn(v, clips));
  for (const k of iters) gl.get(k)!.push(await scoreGriffinLim(v.cfg, clips, k));
  const p = peerOnce(iters);
  if (p) {
    numpyVersion = p.numpy;
    for (const k of iters) peer.get(k)!.push(p.seconds[String(k)]!);
  }
}
await v.close();

const xrt = (wall: number) => seconds / wall;
const line = (name: string, wall: number, s?: InversionScore) =>
  `  ${name.padEnd(28)} ${xrt(wall).toFixed(1).padStart(9)} ×   ${s ? `${s.scDb.toFixed(2).padStart(7)} ${s.lsd.toFixed(2).padStart(7)}` : '      —       —'}\n`;
const mcnnMed = median(mcnn.map((s) => s.wallSeconds));
let out =
  `vocoder benchmark — ${clips.length} held-out speech clips (${seconds.toFixed(1)} s, ${v.cfg.sampleRate} Hz) from ${dataArg ?? 'an espeak-ng corpus, seed 1'}; ` +
  `model ${modelDir}; medians of ${ROUNDS} interleaved rounds; load average ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end\n` +
  `node ${process.version}, onnxruntime 2 threads${numpyVersion ? `, numpy ${numpyVersion}` : ''}\n` +
  `  ${'method'.padEnd(28)} ${'speed'.padStart(11)}   ${'SC dB'.padStart(7)} ${'LSD dB'.padStart(7)}\n` +
  line('mcnn', mcnnMed, mcnn[0]);
for (const k of iters) {
  const tag = k === equalIters ? ' (≥ mcnn time)' : '';
  out += line(`tony fast griffin-lim ${k}${tag}`, median(gl.get(k)!.map((s) => s.wallSeconds)), gl.get(k)![0]);
  if (peer.get(k)!.length) out += line(`numpy fast griffin-lim ${k}`, median(peer.get(k)!), gl.get(k)![0]);
}
if (peerMissing) out += `peer skipped: python3 with numpy + scipy not available (${peerMissing})\n`;
const gl32 = median(gl.get(32)!.map((s) => s.wallSeconds));
const np32 = peer.get(32)!.length ? median(peer.get(32)!) : undefined;
const eq = gl.get(equalIters)![0]!;
out +=
  `ratios: mcnn ${xrt(mcnnMed).toFixed(0)}× real time (goal 300×); mcnn vs tony griffin-lim 32 ${(gl32 / mcnnMed).toFixed(1)}× faster` +
  (np32 ? `, vs numpy griffin-lim 32 ${(np32 / mcnnMed).toFixed(1)}× faster` : '') +
  `; at equal time (${equalIters} iterations) SC mcnn − griffin-lim ${(mcnn[0]!.scDb - eq.scDb).toFixed(2)} dB, LSD ${(mcnn[0]!.lsd - eq.lsd).toFixed(2)} dB (negative = mcnn better)\n`;
process.stdout.write(out);
