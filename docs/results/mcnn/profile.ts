/**
 * Where an MCNN window's time goes (issue 12's speed goal): the inference graph for one window
 * (`useful` frames + the context on each side) run straight on onnxruntime-node — no worker, no
 * stream — timed over 40 runs, then once more with ONNX Runtime's profiler on, its kernel times
 * summed per node. Both forms of the network, interleaved: `transposed` (ConvTranspose layers, as
 * trained) and `polyphase` (each layer as one convolution per output phase — what the vocoder runs).
 *
 *   node --import tsx docs/results/mcnn/profile.ts [model dir=models/mcnn] [threads=2] [useful frames=32,64,128,256,512] [rounds=2]
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadCheckpoint } from '../../../src/engine/checkpoint.ts';
import { interpret } from '../../../src/engine/interpret.ts';
import { exportOnnx } from '../../../src/engine/onnx.ts';
import { input } from '../../../src/engine/tensor.ts';
import { contextFrames, MCNN, type MCNNConfig } from '../../../src/models/mcnn/mcnn.ts';

const [dir = 'models/mcnn', threadsArg = '2', usefulArg = '32,64,128,256,512', roundsArg = '2'] = process.argv.slice(2);
const ck = await loadCheckpoint<{ model: MCNNConfig }>(dir);
const cfg = ck.config.model;
const bins = cfg.nFft / 2 + 1;

type Form = 'transposed' | 'polyphase';

// The polyphase weights, derived once from the trained ones (float64, then float32 as the vocoder holds them)
const derived: Record<string, ort.Tensor> = {};
{
  const model = new MCNN(cfg);
  const outs = model.polyphaseWeights();
  interpret(Object.values(outs), ck.params).forEach((t, i) => {
    derived[Object.keys(outs)[i]!] = new ort.Tensor('float32', Float32Array.from(t.data as Float64Array), t.shape);
  });
}

async function session(frames: number, form: Form, profile: boolean) {
  const model = new MCNN(cfg);
  const mag = input('mag', [1, frames, bins]);
  const wav = model.forward(mag, { polyphase: form === 'polyphase' });
  const weights = form === 'polyphase' ? [model.a, model.b, ...model.polyphase.inputs] : model.ps.inputs;
  const onnx = exportOnnx([mag, ...weights], { wav }, { name: 'mcnn' });
  const s = await ort.InferenceSession.create(onnx.bytes, {
    intraOpNumThreads: Number(threadsArg),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    enableProfiling: profile,
    profileFilePrefix: join(tmpdir(), `mcnn-profile-${process.pid}`),
  });
  const x = new Float32Array(frames * bins).map((_, i) => Math.abs(Math.sin(i))); // any magnitude
  const feeds: Record<string, ort.Tensor> = { mag: new ort.Tensor('float32', x, [1, frames, bins]) };
  for (const t of weights) {
    const p = ck.params[t.name!];
    feeds[t.name!] = p ? new ort.Tensor('float32', Float32Array.from(p.data as Float32Array), p.shape) : derived[t.name!]!;
  }
  return { s, feeds };
}

console.log(
  `${dir}: ${JSON.stringify({ heads: cfg.heads, channels: cfg.channels, strides: cfg.strides, kernel: cfg.kernel })}, ${threadsArg} threads`,
);
const forms: Form[] = ['transposed', 'polyphase'];
const times = new Map<string, number[]>();
for (let round = 0; round < Number(roundsArg); round++)
  for (const useful of usefulArg.split(',').map(Number))
    for (const form of forms) {
      const frames = useful + 2 * contextFrames(cfg);
      const { s, feeds } = await session(frames, form, false);
      for (let i = 0; i < 5; i++) await s.run(feeds);
      const N = 40;
      const t0 = performance.now();
      for (let i = 0; i < N; i++) await s.run(feeds);
      const key = `${form} ${useful}`;
      times.set(key, [...(times.get(key) ?? []), (performance.now() - t0) / N]);
      await s.release();
    }
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
for (const useful of usefulArg.split(',').map(Number)) {
  const line = forms.map((form) => {
    const ms = median(times.get(`${form} ${useful}`)!);
    return `${form} ${ms.toFixed(2)} ms = ${((useful * cfg.hop) / cfg.sampleRate / (ms / 1000)).toFixed(0)}× real time`;
  });
  console.log(
    `window ${String(useful).padStart(3)} + ${2 * contextFrames(cfg)} frames (median of ${roundsArg} rounds of 40 runs): ${line.join('; ')}`,
  );
}

for (const form of forms) {
  const { s, feeds } = await session(128 + 2 * contextFrames(cfg), form, true);
  for (let i = 0; i < 20; i++) await s.run(feeds);
  (s as unknown as { endProfiling(): void }).endProfiling(); // writes <prefix>_<date>.json
  const name = readdirSync(tmpdir()).find((f) => f.startsWith(`mcnn-profile-${process.pid}`) && f.endsWith('.json'));
  if (!name) throw new Error(`no profile file mcnn-profile-${process.pid}*.json in ${tmpdir()}`);
  const file = join(tmpdir(), name);
  const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args: { op_name?: string } }[];
  rmSync(file, { force: true });
  const perNode = new Map<string, number>();
  for (const e of events)
    if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) {
      const key = `${e.args.op_name} ${e.name.slice(0, -'_kernel_time'.length)}`;
      perNode.set(key, (perNode.get(key) ?? 0) + e.dur);
    }
  const total = [...perNode.values()].reduce((a, b) => a + b, 0);
  console.log(`${form}: kernel time per node, window 128 (share of all kernels; ${(total / 20 / 1000).toFixed(2)} ms per run):`);
  for (const [k, us] of [...perNode].sort((a, b) => b[1] - a[1]).slice(0, 8))
    console.log(`  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
  await s.release();
}
