/**
 * `npm run bench -- pointe [--threads 2] [--rounds 3] [--sdf <run>]`: seconds per sample of Point-E's three
 * stages at Tony's CPU presets, and the base denoiser beside the same network in PyTorch
 * (bench/peers/torch_pointe.py, the bench venv of bench/peers/torch.ts), on the same weights and
 * inputs, in the same run:
 *
 *   base      one guided text → cloud sample, preset `small` (N = 256), 64 Karras Heun steps:
 *             127 evaluations of a doubled batch (conditioned + unconditioned);
 *   torch     the same 127 evaluations of the same batch through PyTorch (eager), after checking
 *             its output against Tony's (max |diff| printed) — the network's cost alone, without
 *             the sampler's host-side arithmetic that Tony's `base` time includes;
 *   upsample  64 → 64 + 192 points, preset `upsample-small`, 64 Karras steps, no guidance;
 *   mesh      the SDF model (preset `sdf-small`, or the trained run given by --sdf) on a
 *             256-point sphere, grid 128 (129³ = 2.1 M queries), marching cubes and nearest-point
 *             colours.
 *
 * Weights are the presets' initialisation (Tony's seed 0) with the zero-initialised output layers
 * replaced by small random values, so the samples are not trivial: time does not depend on what a
 * model learned (the mesh's triangle count does, a little). Rounds are interleaved (Tony, PyTorch,
 * Tony, …) and the medians printed, with the load average: this machine is shared. No peer for the
 * upsampler (the same transformer as the base model with more tokens) or the mesh stage (the
 * released Point-E code needs CUDA-free patches and its weights to run; nothing here downloads).
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostTensor } from '../src/engine/dtype.ts';
import { exportOnnx } from '../src/engine/onnx.ts';
import { Runtime } from '../src/engine/runtime.ts';
import { loadWeights, runOnWeights } from '../src/engine/state.ts';
import { buildVocabulary, captionFeeds, encodeCaption } from '../src/models/pointe/captions.ts';
import { pointeKind } from '../src/models/pointe/kind.ts';
import { loadPointESdf, PointEModel, PointESdfModel } from '../src/models/pointe/model.ts';
import { CHANNELS, condInputList, PointE, pointeInputs } from '../src/models/pointe/pointe.ts';
import { PointESdf } from '../src/models/pointe/sdf.ts';
import { PointEUpsampler, PointEUpsamplerModel } from '../src/models/pointe/upsample.ts';
import { prng } from '../src/random.ts';
import { faceCount } from '../src/shape/mesh.ts';
import { makeRng } from '../src/shape/random.ts';
import { captionOf, randomAttributes } from '../src/shape/scenes.ts';
import { torchPeer, writePeerData } from './peers/torch.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const THREADS = arg('threads', 2);
const ROUNDS = arg('rounds', 3);
const CAPTION = 'a large red torus next to a small blue cube';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Initial weights with the zero output layers made small and random (see the top of this file). */
function weights(ps: { initialize(seed: number): Record<string, import('../src/engine/dtype.ts').HostTensor> }, zeroed: string[]) {
  const w = ps.initialize(0);
  const r = prng(1);
  for (const name of zeroed)
    w[name] = hostTensor(
      'float32',
      w[name]!.shape,
      Float32Array.from({ length: w[name]!.data.length }, () => 0.02 * r.normal()),
    );
  return w;
}

console.log(`pointe bench: ${THREADS} threads, ${ROUNDS} rounds; load (1-min average) at start ${loadavg()[0]!.toFixed(2)}`);

// --- the base model and its PyTorch peer
const baseCfg = pointeKind.config({ preset: 'small' });
const rng = makeRng(7);
const vocab = buildVocabulary([CAPTION, ...Array.from({ length: 200 }, () => captionOf(randomAttributes(rng), 0))]);
const baseNet = new PointE(baseCfg, vocab.length);
const baseW = weights(baseNet.ps, ['output_proj.weight']);
const rtBase = await Runtime.start({ threads: THREADS });
await loadWeights(rtBase, baseW);
const base = new PointEModel('bench', baseCfg, vocab, rtBase);

// one doubled batch, as a guided Karras step feeds it, run through Tony for the peer's check
const N = baseCfg.points;
const r = prng(3);
const xt = Float32Array.from({ length: 2 * N * CHANNELS }, () => r.normal());
const enc = encodeCaption(CAPTION, vocab, baseCfg.maxWords);
const caps = captionFeeds([enc, enc], baseCfg.maxWords);
const feeds = {
  xt: hostTensor('float32', [2, N, CHANNELS], xt),
  t: hostTensor('float32', [2], [500, 500]),
  ids: caps.ids,
  valid: caps.valid,
  keep: hostTensor('float32', [2, 1], [1, 0]),
};
const inp = pointeInputs(baseCfg, 2, N, false);
const check = new PointE(baseCfg, vocab.length);
const graph = exportOnnx(
  [inp.diffusion.xt, inp.diffusion.t, ...condInputList(inp.cond), inp.keep, ...check.ps.inputs],
  { out: check.forward(inp.diffusion.xt, inp.diffusion.t, inp.cond, inp.keep) },
  { name: 'bench_pointe' },
);
const tonyOut = (await runOnWeights(rtBase, graph, check.ps, feeds)).out!;
const peer = torchPeer();
const peerFile = join(tmpdir(), `tony-bench-pointe-${process.pid}.safetensors`);
if ('python' in peer) {
  const params = Object.fromEntries(Object.entries(baseW).map(([k, v]) => [`param:${k}`, v]));
  await writePeerData(peerFile, {
    ...params,
    xt: feeds.xt,
    t: feeds.t,
    ids: caps.ids,
    valid: hostTensor('int64', caps.valid.shape, Array.from(caps.valid.data, Number)),
    keep: feeds.keep,
    out: tonyOut,
  });
}
const peerArgs = [
  peerFile,
  '--width',
  String(baseCfg.width),
  '--layers',
  String(baseCfg.layers),
  '--heads',
  String(baseCfg.heads),
  '--text-layers',
  String(baseCfg.textLayers),
  '--evals',
  '127',
];

/** One run of the peer: its JSON line, or throws with its stderr's tail. */
function runPeer(python: string): { torch: string; max_abs_diff: number; seconds: number } {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'peers', 'torch_pointe.py');
  const res = spawnSync(python, [script, ...peerArgs, '--threads', String(THREADS)], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: String(THREADS) },
  });
  if (res.status !== 0) throw new Error(`torch_pointe.py failed: ${(res.stderr || '').trim().split('\n').slice(-4).join(' | ')}`);
  return JSON.parse(res.stdout.trim().split('\n').pop()!);
}

// --- the upsampler and the SDF model
const upCfg = pointeKind.config({ preset: 'upsample-small' });
const rtUp = await Runtime.start({ threads: THREADS });
await loadWeights(rtUp, weights(new PointEUpsampler(upCfg).ps, ['output_proj.weight']));
const up = new PointEUpsamplerModel('bench', upCfg, rtUp);
const sdfCfg = pointeKind.config({ preset: 'sdf-small' });
// a trained SDF model when given (--sdf <run>): random weights draw a noisy surface of far more
// triangles than a real one, which makes marching cubes and colouring slower than they are
const sdfDir = process.argv.indexOf('--sdf') > 0 ? process.argv[process.argv.indexOf('--sdf') + 1]! : undefined;
let sdf: PointESdfModel;
if (sdfDir) sdf = await loadPointESdf(sdfDir, { threads: THREADS });
else {
  const rtSdf = await Runtime.start({ threads: THREADS });
  await loadWeights(rtSdf, weights(new PointESdf(sdfCfg).ps, []));
  sdf = new PointESdfModel('bench', sdfCfg, rtSdf);
}
// a 256-point sphere of radius 0.3 with colours, as the base model would hand over
const cloudRng = prng(5);
const sphere = { xyz: new Float32Array(3 * 256), rgb: new Float32Array(3 * 256).fill(0.5) };
for (let i = 0; i < 256; i++) {
  const v = [cloudRng.normal(), cloudRng.normal(), cloudRng.normal()];
  const l = Math.hypot(...v);
  for (let k = 0; k < 3; k++) sphere.xyz[3 * i + k] = (0.3 * v[k]!) / l;
}

const times: Record<string, number[]> = { base: [], torch: [], upsample: [], mesh: [] };
let diff = Number.NaN;
let torchVersion = '';
let faces = 0;
// warm-up: graph export and session creation are not what a sample costs
await base.sample({ caption: CAPTION, guidance: 3, steps: 2 });
await up.upsample({ xyz: sphere.xyz.slice(0, 3 * 64), rgb: sphere.rgb.slice(0, 3 * 64) }, { steps: 2 });
await sdf.mesh(sphere, { grid: 16 });
for (let round = 0; round < ROUNDS; round++) {
  times.base!.push((await base.sample({ caption: CAPTION, guidance: 3, seed: round })).seconds);
  if ('python' in peer) {
    const res = runPeer(peer.python);
    times.torch!.push(res.seconds);
    diff = res.max_abs_diff;
    torchVersion = res.torch;
  }
  times.upsample!.push(
    (await up.upsample({ xyz: sphere.xyz.slice(0, 3 * 64), rgb: sphere.rgb.slice(0, 3 * 64) }, { seed: round })).seconds,
  );
  const m = await sdf.mesh(sphere, { grid: 128 });
  times.mesh!.push(m.seconds);
  faces = faceCount(m.mesh);
  console.log(
    `round ${round + 1}: base ${times.base!.at(-1)!.toFixed(2)} s, torch ${times.torch!.at(-1)?.toFixed(2) ?? '-'} s, ` +
      `upsample ${times.upsample!.at(-1)!.toFixed(2)} s, mesh ${times.mesh!.at(-1)!.toFixed(2)} s (${faces} faces); load ${loadavg()[0]!.toFixed(2)}`,
  );
}
await base.close();
await up.close();
await sdf.close();
rmSync(peerFile, { force: true });

console.log(`\nmedians over ${ROUNDS} rounds, ${THREADS} threads (load at end ${loadavg()[0]!.toFixed(2)}):`);
console.log(`  base, guided, N = ${N}, 64 Karras steps (127 evaluations of batch 2): ${median(times.base!).toFixed(2)} s per sample`);
if ('python' in peer) {
  console.log(
    `  PyTorch ${torchVersion} eager, the same 127 evaluations: ${median(times.torch!).toFixed(2)} s (output vs Tony's: max |diff| ${diff.toExponential(1)})`,
  );
} else console.log(`  PyTorch peer skipped: ${peer.skip}`);
console.log(
  `  upsampler, ${upCfg.lowResPoints} → +${upCfg.points} points, 64 Karras steps: ${median(times.upsample!).toFixed(2)} s per sample`,
);
console.log(
  `  mesh, SDF model (${sdfDir ?? 'random weights'}) at grid 128 + marching cubes + colours: ${median(times.mesh!).toFixed(2)} s per mesh (${faces} faces)`,
);
console.log(
  'python' in peer
    ? `ratio: PyTorch's 127 evaluations / Tony's whole base sample = ${(median(times.torch!) / median(times.base!)).toFixed(2)} (> 1: Tony faster)`
    : 'ratio: none (no peer)',
);
