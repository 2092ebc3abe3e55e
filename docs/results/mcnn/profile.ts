/**
 * Where an MCNN window's time goes (issue 12's speed goal): the vocoder's inference graph for one
 * window (`useful` frames + the context on each side) run straight on onnxruntime-node — no worker,
 * no stream — timed over 40 runs, then once more with ONNX Runtime's profiler on, its kernel times
 * summed per node.
 *
 *   node --import tsx docs/results/mcnn/profile.ts [model dir=models/mcnn] [threads=2] [useful frames=32,64,128,256,512]
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadCheckpoint } from '../../../src/engine/checkpoint.ts';
import { exportOnnx } from '../../../src/engine/onnx.ts';
import { input } from '../../../src/engine/tensor.ts';
import { contextFrames, MCNN, type MCNNConfig } from '../../../src/models/mcnn/mcnn.ts';

const [dir = 'models/mcnn', threadsArg = '2', usefulArg = '32,64,128,256,512'] = process.argv.slice(2);
const ck = await loadCheckpoint<{ model: MCNNConfig }>(dir);
const cfg = ck.config.model;
const bins = cfg.nFft / 2 + 1;

async function session(frames: number, profile: boolean) {
  const model = new MCNN(cfg);
  const mag = input('mag', [1, frames, bins]);
  const onnx = exportOnnx([mag, ...model.ps.inputs], { wav: model.forward(mag) }, { name: 'mcnn' });
  const s = await ort.InferenceSession.create(onnx.bytes, {
    intraOpNumThreads: Number(threadsArg),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    enableProfiling: profile,
    profileFilePrefix: join(tmpdir(), `mcnn-profile-${process.pid}`),
  });
  const x = new Float32Array(frames * bins).map((_, i) => Math.abs(Math.sin(i))); // any magnitude
  const feeds: Record<string, ort.Tensor> = { mag: new ort.Tensor('float32', x, [1, frames, bins]) };
  for (const [n, t] of Object.entries(ck.params)) feeds[n] = new ort.Tensor('float32', Float32Array.from(t.data as Float32Array), t.shape);
  return { s, feeds };
}

console.log(
  `${dir}: ${JSON.stringify({ heads: cfg.heads, channels: cfg.channels, strides: cfg.strides, kernel: cfg.kernel })}, ${threadsArg} threads`,
);
for (const useful of usefulArg.split(',').map(Number)) {
  const frames = useful + 2 * contextFrames(cfg);
  const { s, feeds } = await session(frames, false);
  for (let i = 0; i < 5; i++) await s.run(feeds);
  const N = 40;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await s.run(feeds);
  const ms = (performance.now() - t0) / N;
  const rt = (useful * cfg.hop) / cfg.sampleRate / (ms / 1000);
  console.log(
    `window ${String(useful).padStart(3)} + ${2 * contextFrames(cfg)} frames: ${ms.toFixed(2)} ms per run, ${rt.toFixed(0)}× real time`,
  );
  await s.release();
}

const { s, feeds } = await session(128 + 2 * contextFrames(cfg), true);
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
console.log('kernel time per node, window 128 (share of all kernels):');
for (const [k, us] of [...perNode].sort((a, b) => b[1] - a[1]).slice(0, 8))
  console.log(`  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
