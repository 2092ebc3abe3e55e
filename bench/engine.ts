/**
 * `npm run bench -- engine [--steps N] [--threads N] [--no-peer] [--no-large] [--device cpu|webgpu]`
 *
 * One full GPT training step (forward + backward + AdamW), same model and data for Tony and for
 * TensorFlow.js's wasm backend, in the same process; plus ONNX Runtime's 2048³ MatMul throughput as
 * the machine's practical peak, from which MFU = model FLOP/s ÷ peak.
 * Model FLOPs per step = tokens · (6·N + 12·nLayer·T·C) with N the parameters minus position
 * embeddings (the PaLM / nanoGPT estimate: 6N for the matmuls, the rest for attention).
 *
 * A larger config (C 512, 6 layers, 8 heads, T 256, B 8) runs in a child process so its peak
 * memory is its own.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as T from '../src/engine/index.ts';
import { adamwConfig } from '../src/engine/optim.ts';
import { median, train } from '../src/engine/trainer.ts';
import { GPT, type GPTConfig, gptConfig } from '../src/models/gpt/gpt.ts';
import { gptTask } from '../src/models/gpt/lm.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const value = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const STEPS = Number(value('steps', '10'));
const DEVICE = value('device', 'cpu') as T.Device;
const THREADS = Number(value('threads', '2'));

const BENCH = { vocabSize: 512, dModel: 256, nHead: 4, nLayer: 2, blockSize: 128, batch: 16 };
const LARGE = { vocabSize: 512, dModel: 512, nHead: 8, nLayer: 6, blockSize: 256, batch: 8 };

function flopsPerStep(cfg: GPTConfig, batch: number): number {
  const gpt = new GPT(cfg);
  const n = gpt.ps.count((s) => !s.name.startsWith('wpe.'));
  return batch * cfg.blockSize * (6 * n + 12 * cfg.nLayer * cfg.blockSize * cfg.dModel);
}

/** Random-token task: the benchmark measures speed, so data content does not matter. */
function benchTask(cfg: GPTConfig, batch: number) {
  const stream = Uint16Array.from({ length: 1 << 16 }, (_, i) => (i * 2654435761) % cfg.vocabSize);
  return gptTask(cfg, { train: stream, val: stream, files: 1, bytes: stream.length }, { batch });
}

/** Median ms per training step of Tony's full trainer path, after two warmup steps. */
async function tonyStep(rt: T.Runtime, spec: typeof BENCH, steps: number) {
  const { batch, ...model } = spec;
  const cfg = gptConfig(model);
  const res = await train(rt, benchTask(cfg, batch), { steps: steps + 2, optimizer: adamwConfig() });
  const times = res.history.map((h, i) => (i === 0 ? h.time_s : h.time_s - res.history[i - 1]!.time_s) * 1000).slice(2);
  const ms = median(times);
  return {
    ms,
    tokensPerSec: (batch * cfg.blockSize * 1000) / ms,
    flops: flopsPerStep(cfg, batch),
    params: res.params,
    losses: res.history.map((h) => h.loss),
  };
}

/**
 * ONNX Runtime 2048³ MatMul, GFLOP/s (median of 5 after a warmup). The operands live in runtime
 * state and only a scalar comes back, so the number is compute, not transfers between threads.
 */
async function matmulPeak(rt: T.Runtime): Promise<number> {
  const n = 2048;
  const a = T.input('a', [n, n]);
  const b = T.input('b', [n, n]);
  const s = await rt.load(T.exportOnnx([a, b], { c: T.sum(T.matmul(a, b)) })); // the n² sum is noise next to n³
  const data = (k: number) =>
    T.hostTensor(
      'float32',
      [n, n],
      Array.from({ length: n * n }, (_, i) => (((i + k) * 7919) % 1000) / 1000 - 0.5),
    );
  await rt.setState({ 'bench:a': data(0), 'bench:b': data(1) });
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    await rt.run(s, {}, { state: { a: 'bench:a', b: 'bench:b' } });
    times.push(performance.now() - t0);
  }
  await rt.dropState(['bench:a', 'bench:b']);
  return (2 * n ** 3) / (median(times.slice(1)) / 1000) / 1e9;
}

if (flag('large-only')) {
  // Child process: the larger config alone, then peak RSS.
  const rt = await T.Runtime.start({ device: DEVICE, threads: THREADS });
  const r = await tonyStep(rt, LARGE, Math.max(3, Math.floor(STEPS / 2)));
  await rt.close();
  process.stdout.write(JSON.stringify({ ...r, peakRssMB: process.resourceUsage().maxRSS / 1024 }) + '\n');
  process.exit(0);
}

const rt = await T.Runtime.start({ device: DEVICE, threads: THREADS });
console.log(`machine: ${cpus()[0]?.model ?? '?'}, ${availableParallelism()} cores; Tony on ${rt.description}`);
const peak = DEVICE === 'cpu' ? await matmulPeak(rt) : NaN;
if (DEVICE === 'cpu') console.log(`ONNX Runtime 2048³ MatMul: ${peak.toFixed(0)} GFLOP/s (${THREADS} threads)`);

const tony = await tonyStep(rt, BENCH, STEPS);
await rt.close();
const gflops = tony.flops / (tony.ms / 1000) / 1e9;
const mfu = (100 * gflops) / peak;
console.log(
  `tony      GPT V512 C256 L2 h4 T128 B16 (${tony.params.toLocaleString()} params, ${(tony.flops / 1e9).toFixed(1)} GFLOP/step): ` +
    `${tony.ms.toFixed(1)} ms/step, ${tony.tokensPerSec.toFixed(0)} tokens/s, ${gflops.toFixed(0)} GFLOP/s` +
    (Number.isFinite(mfu) ? `, MFU ${mfu.toFixed(1)}% of the MatMul peak` : ''),
);

// Two TensorFlow.js peers: as shipped (its own gradients — what a user writing tfjs gets), and
// tuned (matmul gradients rewritten to avoid the wasm backend's slow transposed products).
let tfjsTokens = NaN;
let tunedTokens = NaN;
if (!flag('no-peer')) {
  const { tfjsTrainStep } = await import('./peers/tfjs-gpt.ts');
  const cfg = {
    vocab: BENCH.vocabSize,
    dModel: BENCH.dModel,
    nHead: BENCH.nHead,
    nLayer: BENCH.nLayer,
    seq: BENCH.blockSize,
    batch: BENCH.batch,
  };
  for (const mode of ['tfjs', 'nn'] as const) {
    const r = await tfjsTrainStep(cfg, { backend: 'wasm', threads: THREADS, steps: 3, warmup: 1, matmulGrads: mode });
    const ms = median(r.msPerStep);
    const tokens = (BENCH.batch * BENCH.blockSize * 1000) / ms;
    if (mode === 'tfjs') tfjsTokens = tokens;
    else tunedTokens = tokens;
    console.log(
      `tfjs-wasm${mode === 'nn' ? '-tuned' : '      '} same model (${r.params.toLocaleString()} params, ${r.backend}): ${ms.toFixed(0)} ms/step, ${tokens.toFixed(0)} tokens/s` +
        ` → Tony ${(tony.tokensPerSec / tokens).toFixed(1)}×`,
    );
  }
}

if (!flag('no-large')) {
  const out = execFileSync(
    process.execPath,
    [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      '--large-only',
      '--steps',
      String(STEPS),
      '--device',
      DEVICE,
      '--threads',
      String(THREADS),
    ],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const large = JSON.parse(out.trim().split('\n').pop()!);
  const lg = large.flops / (large.ms / 1000) / 1e9;
  console.log(
    `tony      GPT V512 C512 L6 h8 T256 B8 (${large.params.toLocaleString()} params): ${large.ms.toFixed(0)} ms/step, ` +
      `${large.tokensPerSec.toFixed(0)} tokens/s, ${lg.toFixed(0)} GFLOP/s` +
      (Number.isFinite(peak) ? ` (MFU ${((100 * lg) / peak).toFixed(1)}%)` : '') +
      `, peak RSS ${large.peakRssMB.toFixed(0)} MB`,
  );
}

const ratio = tony.tokensPerSec / tfjsTokens;
const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
console.log(
  `engine tokens/s: tony=${fmt(tony.tokensPerSec)} tfjs-wasm=${fmt(tfjsTokens)} ratio=${fmt(ratio, 1)} mfu=${fmt(mfu, 1)}%` +
    ` (tfjs-wasm-tuned=${fmt(tunedTokens)} ratio=${fmt(tony.tokensPerSec / tunedTokens, 1)})`,
);
