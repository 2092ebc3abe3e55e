/**
 * `npm run bench -- engine [--sizes bench,large] [--rounds 3] [--steps 8] [--threads 2] [--no-torch]
 *   [--no-compile] [--no-tfjs] [--arena] [--spin] [--spin-us 50,200] [--mmap-threshold 131072] [--recompute] [--before <checkout>]
 *   [--device cpu|webgpu]`
 *
 * One full GPT training step (forward + backward + clipping + AdamW) of Tony against PyTorch eager
 * and torch.compile on the same weights and batches (bench/peers/torch_gpt.py; the first losses
 * are checked equal to 4 decimals), and TensorFlow.js's wasm backend as the in-JavaScript peer (its
 * own initialisation, bench size only). Every contestant runs in its own child process per round,
 * so peak RSS and start-up to the first finished step are its own; rounds are interleaved
 * (Tony, eager, compile, tfjs; repeat) and each figure is the median over rounds of each run's
 * median step after two warmup steps.
 *
 * `--before <checkout>` also runs Tony from another checkout (e.g. `git worktree add /tmp/before
 * main`, with node_modules linked) as `tony-before`, interleaved in the same rounds: an A/B of a
 * change, with every step's loss compared.
 *
 * Sizes: bench (V512 C256 L2 T128 B16, 1.7 M), large (C512 L6 T256 B8, 19 M), gpt2s (GPT-2-small
 * shape, 12 × 768, T 1024, B 1), long1k / long2k (C128 L2, T 1024 B4 / T 2048 B2).
 *
 * MFU twice: against ONNX Runtime's measured 2048³ MatMul throughput, and against the CPU's
 * theoretical FP32 peak (cores × GHz × FLOPs per cycle from /proc/cpuinfo's SIMD flags, printed).
 * Model FLOPs per step = tokens · (6·N + 12·nLayer·T·C), N the parameters minus position
 * embeddings (the PaLM / nanoGPT estimate).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../src/engine/index.ts';
import { adamwConfig } from '../src/engine/optim.ts';
import { stateKey } from '../src/engine/state.ts';
import { median, train } from '../src/engine/trainer.ts';
import { GPT, type GPTConfig, gptConfig } from '../src/models/gpt/gpt.ts';
import { gptTask } from '../src/models/gpt/lm.ts';
import { runTorch, torchPeer, writePeerData } from './peers/torch.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const value = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const STEPS = Number(value('steps', '8'));
const WARMUP = 2;
const ROUNDS = Number(value('rounds', '3'));
const DEVICE = value('device', 'cpu') as T.Device;
const THREADS = Number(value('threads', '2'));

type Size = { vocabSize: number; dModel: number; nHead: number; nLayer: number; blockSize: number; batch: number };
const SIZES: Record<string, Size> = {
  bench: { vocabSize: 512, dModel: 256, nHead: 4, nLayer: 2, blockSize: 128, batch: 16 },
  large: { vocabSize: 512, dModel: 512, nHead: 8, nLayer: 6, blockSize: 256, batch: 8 },
  gpt2s: { vocabSize: 512, dModel: 768, nHead: 12, nLayer: 12, blockSize: 1024, batch: 1 },
  long1k: { vocabSize: 512, dModel: 128, nHead: 4, nLayer: 2, blockSize: 1024, batch: 4 },
  long2k: { vocabSize: 512, dModel: 128, nHead: 4, nLayer: 2, blockSize: 2048, batch: 2 },
};

const split = (s: Size) => {
  const { batch, ...model } = s;
  return { batch, cfg: gptConfig(model) };
};

function flopsPerStep(cfg: GPTConfig, batch: number): number {
  const n = new GPT(cfg).ps.count((s) => !s.name.startsWith('wpe.'));
  return batch * cfg.blockSize * (6 * n + 12 * cfg.nLayer * cfg.blockSize * cfg.dModel);
}

/** Random-token task: the benchmark measures speed, so data content does not matter. */
function benchTask(cfg: GPTConfig, batch: number) {
  const stream = Uint16Array.from({ length: 1 << 16 }, (_, i) => (i * 2654435761) % cfg.vocabSize);
  return gptTask(cfg, { train: stream, val: stream, files: 1, bytes: stream.length }, { batch });
}

interface Run {
  ms: number[];
  losses: number[];
  startupMs: number;
  peakRssMB: number;
  /** CPU time (user + system, all threads) per timed step. */
  cpuMsPerStep?: number;
  /** Tony's children: ONNX Runtime's 2048³ MatMul GFLOP/s, measured right after the steps. */
  matmulGflops?: number;
}

if (value('child', '') === 'tony') {
  // Child process: Tony's full trainer path on one size; start-up counts from Node's time origin.
  const { batch, cfg: base } = split(SIZES[value('size', 'bench')]!);
  const cfg = flag('recompute-attention') ? gptConfig({ ...base, recomputeAttention: 1 }) : base;
  const rt = await T.Runtime.start({ device: DEVICE, threads: THREADS });
  let first = NaN;
  let cpu0 = process.cpuUsage();
  const res = await train(rt, benchTask(cfg, batch), {
    steps: STEPS,
    optimizer: adamwConfig(),
    onProgress: ({ done }) => {
      if (done === 1) first = performance.now();
      if (done === WARMUP) cpu0 = process.cpuUsage();
    },
  });
  // CPU time (all threads, user + system) per timed step: on a loaded machine wall time is mostly
  // the load's, CPU time mostly the work's.
  const cpu = process.cpuUsage(cpu0);
  const cpuMsPerStep = (cpu.user + cpu.system) / 1000 / (STEPS - WARMUP);
  // Peak RSS before the MatMul below (its 2048² operands are not the model's).
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  // This round's MatMul peak, right after its steps: on a loaded machine a peak measured once at the
  // start made MFU above 100 %.
  const matmulGflops = DEVICE === 'cpu' ? await matmulPeak(rt) : NaN;
  await rt.close();
  const ms = res.history.map((h, i) => (i === 0 ? h.time_s : h.time_s - res.history[i - 1]!.time_s) * 1000);
  const out: Run = { ms, losses: res.history.map((h) => h.loss), startupMs: first, peakRssMB, matmulGflops, cpuMsPerStep };
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
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

/**
 * The CPU's theoretical FP32 peak for `threads` cores: cores × clock × FLOPs per cycle per core,
 * where FLOPs per cycle = 2 FMA units × SIMD lanes × 2 (a fused multiply-add is two FLOPs), lanes
 * 16 with avx512f, 8 with avx2+fma, 4 otherwise. Two FMA units is what server Xeons and recent
 * cores have; a one-unit part has half this peak. The clock is /proc/cpuinfo's "cpu MHz" (the
 * nominal clock a VM reports; turbo would raise it).
 */
function theoreticalPeak(threads: number): { gflops: number; how: string } {
  let info = '';
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return { gflops: NaN, how: 'no /proc/cpuinfo' };
  }
  const flags = new Set((/^flags\s*:(.*)$/m.exec(info)?.[1] ?? '').trim().split(/\s+/));
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(info)?.[1] ?? NaN);
  const lanes = flags.has('avx512f') ? 16 : flags.has('avx2') && flags.has('fma') ? 8 : 4;
  const perCycle = 2 * lanes * 2;
  const gflops = (threads * mhz * perCycle) / 1000;
  const simd = lanes === 16 ? 'avx512f' : lanes === 8 ? 'avx2+fma' : 'sse';
  return {
    gflops,
    how: `${threads} cores × ${(mhz / 1000).toFixed(2)} GHz × ${perCycle} FLOP/cycle (${simd}: 2 FMA units × ${lanes} lanes × 2)`,
  };
}

const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const load = () => loadavg()[0]!.toFixed(2);

const sizes = value('sizes', 'bench,large').split(',');
for (const s of sizes) if (!SIZES[s]) throw new Error(`unknown size '${s}'; sizes: ${Object.keys(SIZES).join(', ')}`);

const rt = await T.Runtime.start({ device: DEVICE, threads: THREADS });
console.log(
  `machine: ${cpus()[0]?.model ?? '?'}, ${availableParallelism()} cores, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`Tony on ${rt.description}; ${ROUNDS} interleaved rounds, ${STEPS} steps each (first ${WARMUP} not timed)`);
await rt.close();
const theory = theoreticalPeak(THREADS);
console.log(`theoretical FP32 peak ${fmt(theory.gflops)} GFLOP/s = ${theory.how}`);

const torch = flag('no-torch') ? { skip: '--no-torch' } : torchPeer();
if ('skip' in torch) console.log(`PyTorch peer skipped: ${torch.skip}`);
else console.log(`PyTorch ${torch.version} (CPU build, ${THREADS} threads) from ${torch.python}`);

const summary: string[] = [];
for (const sizeName of sizes) {
  const { batch, cfg } = split(SIZES[sizeName]!);
  const flops = flopsPerStep(cfg, batch);
  const params = new GPT(cfg).ps.count();
  const tokens = batch * cfg.blockSize;
  console.log(
    `\n== ${sizeName}: GPT V${cfg.vocabSize} C${cfg.dModel} L${cfg.nLayer} h${cfg.nHead} T${cfg.blockSize} B${batch} ` +
      `(${params.toLocaleString()} params, ${(flops / 1e9).toFixed(1)} GFLOP/step)`,
  );

  // The peer's inputs: Tony's initial parameters (seed 0, what `train` starts from) and its batches.
  const dataPath = join(tmpdir(), `tony-bench-engine-${sizeName}-${process.pid}.safetensors`);
  if (!('skip' in torch)) {
    const init = new GPT(cfg).ps.initialize(0);
    const task = benchTask(cfg, batch);
    const tensors: Record<string, T.HostTensor> = {};
    for (const [k, v] of Object.entries(init)) tensors[stateKey.param(k)] = v;
    for (let i = 0; i < STEPS; i++) {
      const b = task.batch('train', i);
      tensors[`idx:${i}`] = b.idx!;
      tensors[`targets:${i}`] = b.targets!;
    }
    await writePeerData(dataPath, tensors);
  }

  const runs: Record<string, Run[]> = {};
  const loads: string[] = [];
  const record = (name: string, r: Run) => (runs[name] ??= []).push(r);
  for (let round = 0; round < ROUNDS; round++) {
    loads.push(load());
    // Tony's contestants: name, environment, extra child arguments.
    // --arena also runs Tony with ONNX Runtime's memory arena and pattern on (as before issue 22);
    // --spin with its thread pool spinning (ONNX Runtime's default, off in Tony since issue 22);
    // --spin-us N,… spinning for at most N µs before a pool thread sleeps (TONY_ORT_SPIN_US);
    // --mmap-threshold N,… with glibc serving every allocation of N bytes or more with its own
    // mapping, returned on free (MALLOC_MMAP_THRESHOLD_; by default its threshold rises to the
    // largest block freed, up to 32 MB, and blocks below it come from heaps that keep freed pages);
    // --recompute with GPTConfig.recomputeAttention (attention probabilities recomputed in the backward pass).
    const list = (name: string) => {
      const items = value(name, '').split(',').filter(Boolean);
      const bad = items.find((n) => !/^\d+$/.test(n));
      if (bad !== undefined) {
        console.error(`bench engine: --${name} takes whole numbers separated by commas (e.g. 50,200), got '${bad}'`);
        process.exit(2);
      }
      return items;
    };
    const tonys: [string, Record<string, string>, string[]][] = [
      ['tony', {}, []],
      ...(flag('arena') ? [['tony-arena', { TONY_ORT_ARENA: '1' }, []] as [string, Record<string, string>, string[]]] : []),
      ...(flag('spin') ? [['tony-spin', { TONY_ORT_SPIN: '1' }, []] as [string, Record<string, string>, string[]]] : []),
      ...list('spin-us').map((us) => [`tony-spin${us}us`, { TONY_ORT_SPIN_US: us }, []] as [string, Record<string, string>, string[]]),
      ...list('mmap-threshold').map(
        (n) => [`tony-mmap${n}`, { MALLOC_MMAP_THRESHOLD_: n }, []] as [string, Record<string, string>, string[]],
      ),
      ...(flag('recompute') ? [['tony-recompute', {}, ['--recompute-attention']] as [string, Record<string, string>, string[]]] : []),
    ];
    for (const [name, env, extra] of tonys) {
      const childArgs = [
        '--child',
        'tony',
        '--size',
        sizeName,
        '--steps',
        String(STEPS),
        '--device',
        DEVICE,
        '--threads',
        String(THREADS),
        ...extra,
      ];
      const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...childArgs], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        // The settings under test, and none of them inherited from the caller's environment.
        env: { ...process.env, TONY_ORT_ARENA: '', TONY_ORT_SPIN: '', TONY_ORT_SPIN_US: '', MALLOC_MMAP_THRESHOLD_: undefined, ...env },
      });
      record(name, JSON.parse(out.trim().split('\n').pop()!));
    }
    const before = value('before', '');
    if (before) {
      const childArgs = ['--child', 'tony', '--size', sizeName, '--steps', String(STEPS), '--device', DEVICE, '--threads', String(THREADS)];
      const out = execFileSync(process.execPath, [...process.execArgv, join(before, 'bench', 'engine.ts'), ...childArgs], {
        encoding: 'utf8',
        cwd: before,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      record('tony-before', JSON.parse(out.trim().split('\n').pop()!));
    }
    if (!('skip' in torch)) {
      const common = ['train', '--data', dataPath, '--cfg', JSON.stringify(cfg), '--steps', String(STEPS)];
      record('torch-eager', runTorch<Run>(torch.python, [...common, '--compile', '0'], THREADS));
      if (!flag('no-compile')) record('torch-compile', runTorch<Run>(torch.python, [...common, '--compile', '1'], THREADS));
    }
    if (sizeName === 'bench' && !flag('no-tfjs')) {
      // tfjs at its reasonable best (matmul gradients rewritten for the wasm backend; tfjs-gpt.ts),
      // with its own initialisation: a speed peer, not a same-weights one. In-process: its RSS is not its own.
      const { tfjsTrainStep } = await import('./peers/tfjs-gpt.ts');
      const r = await tfjsTrainStep(
        { vocab: cfg.vocabSize, dModel: cfg.dModel, nHead: cfg.nHead, nLayer: cfg.nLayer, seq: cfg.blockSize, batch },
        { backend: 'wasm', threads: THREADS, steps: 3, warmup: 1, matmulGrads: 'nn' },
      );
      record('tfjs-wasm', { ms: [NaN, ...r.msPerStep], losses: r.losses, startupMs: NaN, peakRssMB: NaN });
    }
  }
  loads.push(load());

  const stat = (name: string) => {
    const rs = runs[name]!;
    const warm = name === 'tfjs-wasm' ? 1 : WARMUP;
    const ms = median(rs.map((r) => median(r.ms.slice(warm))));
    return {
      ms,
      tps: (tokens * 1000) / ms,
      rss: median(rs.map((r) => r.peakRssMB)),
      startup: median(rs.map((r) => r.startupMs)),
      cpu: median(rs.map((r) => r.cpuMsPerStep ?? NaN)),
      loss0: rs[0]!.losses[0]!,
      spread: `${fmt(Math.min(...rs.map((r) => median(r.ms.slice(warm)))))}–${fmt(Math.max(...rs.map((r) => median(r.ms.slice(warm)))))}`,
    };
  };
  const tony = stat('tony');
  // MFU per round (that round's model FLOP/s over the MatMul peak measured right after), then the median.
  const mfu = median(runs.tony!.map((r) => (100 * (flops / (median(r.ms.slice(WARMUP)) / 1000) / 1e9)) / (r.matmulGflops ?? NaN)));
  console.log(
    `ONNX Runtime 2048³ MatMul after each of Tony's rounds: ${runs.tony!.map((r) => fmt(r.matmulGflops ?? NaN)).join(', ')} GFLOP/s`,
  );
  for (const name of Object.keys(runs)) {
    const s = stat(name);
    const gf = flops / (s.ms / 1000) / 1e9;
    console.log(
      `${name.padEnd(13)} ${fmt(s.ms, 1).padStart(8)} ms/step (rounds ${s.spread}), CPU ${fmt(s.cpu).padStart(5)} ms/step  ${fmt(s.tps).padStart(6)} tokens/s  ` +
        `peak RSS ${fmt(s.rss).padStart(5)} MB  first step at ${fmt(s.startup / 1000, 2)} s  first loss ${s.loss0.toFixed(4)}` +
        (name === 'tony'
          ? `  MFU ${fmt(mfu, 1)}% of the MatMul peak (median of rounds), ${fmt((100 * gf) / theory.gflops, 1)}% of the FP32 peak`
          : `  → Tony ${fmt(tony.tps / s.tps, 2)}×`),
    );
  }
  console.log(`load (1-min average) before each round and after: ${loads.join(', ')}`);
  let part = `${sizeName}: tony=${fmt(tony.tps)} tok/s ${fmt(tony.rss)} MB`;
  if (runs['tony-before']) {
    // Same weights and batches: every step's loss should agree to float32 rounding.
    const a = runs.tony![0]!.losses;
    const b = runs['tony-before']![0]!.losses;
    const d = Math.max(...a.map((l, i) => Math.abs(l - b[i]!)));
    console.log(`losses, Tony against tony-before over ${a.length} steps: largest difference ${d.toExponential(2)}`);
  }
  const spins = Object.keys(runs).filter((n) => /^tony-(spin\d+us|mmap\d+)$/.test(n));
  for (const peer of [
    'tony-before',
    'tony-arena',
    'tony-spin',
    'tony-no-spin',
    ...spins,
    'tony-recompute',
    'torch-eager',
    'torch-compile',
    'tfjs-wasm',
  ]) {
    if (!runs[peer]) continue;
    const s = stat(peer);
    part += `, ${peer} ${fmt(tony.tps / s.tps, 2)}×`;
    if (peer !== 'tfjs-wasm') part += ` (mem ${fmt(s.rss / tony.rss, 2)}×)`;
    if (peer === 'torch-eager') {
      const same = Math.abs(s.loss0 - tony.loss0) < 5e-5;
      console.log(
        `first losses equal to 4 decimals (Tony ${tony.loss0.toFixed(4)}, PyTorch ${s.loss0.toFixed(4)}): ${same ? 'yes' : 'NO'}`,
      );
      if (!same) part += ' [losses differ]';
    }
  }
  summary.push(part);
}
console.log(`engine, Tony's tokens/s over each peer's (and peer's peak RSS over Tony's): ${summary.join('; ')}`);
