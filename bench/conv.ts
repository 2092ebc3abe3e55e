/**
 * `npm run bench -- conv [--rounds 5] [--reps 10] [--threads 1] [--before <checkout>] [--no-torch]`
 *
 * Forward + backward (the loss ½Σy², its input and weight gradients) of the 1-D convolutions of the Jukebox VQ-VAE's top
 * level (its training step is 87 % Conv and ConvTranspose kernels in ONNX Runtime's own profile,
 * TONY_ORT_PROFILE), one layer shape at a time: Tony against PyTorch eager (F.conv1d /
 * F.conv_transpose1d, bench/peers/torch_conv.py, its venv as bench/peers/torch.ts makes it) on the
 * same deterministic inputs; the gradients' sums of squares are checked equal between the two.
 *
 * `--before <checkout>` also runs Tony from another checkout (e.g. `git worktree add /tmp/before
 * <rev>`, node_modules linked) as `tony-before`: an A/B of a change to the engine's convolutions.
 *
 * Every contestant runs in its own child process per round; rounds are interleaved (tony,
 * tony-before, torch; repeat) so each sees the same load, and each figure is the median over rounds
 * of that round's median over `reps` runs (after two warmups). Threads: 1 by default, as the
 * Jukebox pipeline trains (one job a core).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Engine from '../src/engine/index.ts';
import { torchPeer } from './peers/torch.ts';

interface Shape {
  name: string;
  op: 'conv1d' | 'convTranspose1d';
  x: number[];
  w: number[];
  opts: { stride: number; padding: number; dilation: number; outputPadding?: number };
}
interface Result {
  s: number;
  gx2: number;
  gw2: number;
}

/** The top level's layers at its training batch (4 crops of 16,384 samples; 32 channels). */
const SHAPES: Shape[] = [
  { name: 'in  1→32 k3', op: 'conv1d', x: [4, 1, 16384], w: [32, 1, 3], opts: { stride: 1, padding: 1, dilation: 1 } },
  { name: 'down k4 s2', op: 'conv1d', x: [4, 32, 16384], w: [32, 32, 4], opts: { stride: 2, padding: 1, dilation: 1 } },
  { name: 'res k3 d3', op: 'conv1d', x: [4, 32, 8192], w: [32, 32, 3], opts: { stride: 1, padding: 3, dilation: 3 } },
  { name: 'up  k4 s2', op: 'convTranspose1d', x: [4, 32, 8192], w: [32, 32, 4], opts: { stride: 2, padding: 1, dilation: 1 } },
  { name: 'out 32→1 k3', op: 'conv1d', x: [4, 32, 16384], w: [1, 32, 3], opts: { stride: 1, padding: 1, dilation: 1 } },
];

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const rounds = Number(opt('rounds', '5'));
const reps = Number(opt('reps', '10'));
const threads = Number(opt('threads', '1'));
const here = dirname(fileURLToPath(import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The inputs both sides use: 0.5·sin(0.73·i + salt), as float32. */
const data = (n: number, salt: number) => Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin(i * 0.73 + salt));

/** Child: Tony from the checkout `root`, every shape; one JSON line. */
async function child(root: string): Promise<void> {
  const T = (await import(pathToFileURL(join(root, 'src/engine/index.ts')).href)) as typeof Engine;
  const rt = await T.Runtime.start({ device: 'cpu', threads });
  const results: Result[] = [];
  for (const c of SHAPES) {
    const x = T.input('x', c.x);
    const w = T.input('w', c.w);
    const o = c.opts;
    const y =
      c.op === 'conv1d'
        ? T.conv1d(x, w, null, { stride: o.stride, padding: o.padding, dilation: o.dilation })
        : T.convTranspose1d(x, w, null, {
            stride: o.stride,
            padding: o.padding,
            dilation: o.dilation,
            outputPadding: o.outputPadding ?? 0,
          });
    // ½Σy²: its gradient is y itself, so the forward pass is part of the graph
    const [gx, gw] = T.grad(T.mul(T.sum(T.mul(y, y)), T.scalar(0.5)), [x, w]);
    const session = await rt.load(T.exportOnnx([x, w], { gx: gx!, gw: gw! }));
    const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
    const feeds = {
      x: T.hostTensor('float32', c.x, data(size(c.x), 0)),
      w: T.hostTensor('float32', c.w, data(size(c.w), 1)),
    };
    const times: number[] = [];
    let out: Record<string, Engine.HostTensor> = {};
    for (let i = 0; i < reps + 2; i++) {
      const t0 = performance.now();
      out = await rt.run(session, feeds);
      if (i >= 2) times.push((performance.now() - t0) / 1000);
    }
    const sq = (t: Engine.HostTensor) => Array.from(t.data as Float32Array).reduce((a, v) => a + v * v, 0);
    results.push({ s: median(times), gx2: sq(out.gx!), gw2: sq(out.gw!) });
    await rt.release(session);
  }
  await rt.close();
  process.stdout.write(`${JSON.stringify({ results })}\n`);
}

function runChild(root: string): Result[] {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(here, 'conv.ts'), '--child', root, '--reps', String(reps), '--threads', String(threads)],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    },
  );
  if (r.status !== 0) throw new Error(`tony (${root}) failed: ${(r.stderr || '').trim().split('\n').slice(-4).join(' | ')}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { results: Result[] }).results;
}

function runTorchConv(python: string): Result[] {
  const r = spawnSync(python, [join(here, 'peers', 'torch_conv.py')], {
    input: JSON.stringify({ shapes: SHAPES, reps, threads }),
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: String(threads) },
  });
  if (r.status !== 0) throw new Error(`torch_conv.py failed: ${(r.stderr || '').trim().split('\n').slice(-4).join(' | ')}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { results: Result[] }).results;
}

if (args[0] === '--child') {
  await child(args[1]!);
} else {
  const before = args.includes('--before') ? resolve(opt('before', '')) : undefined;
  if (before && !existsSync(join(before, 'src/engine/index.ts'))) {
    process.stderr.write(
      `bench conv: --before ${before} is not a Tony checkout (no src/engine/index.ts); make one with git worktree add <dir> <rev>\n`,
    );
    process.exit(2);
  }
  const peer = args.includes('--no-torch') ? { skip: '--no-torch' } : torchPeer();
  const contestants: Array<[string, () => Result[]]> = [['tony', () => runChild(resolve(here, '..'))]];
  if (before) contestants.push(['tony-before', () => runChild(before)]);
  if ('python' in peer) contestants.push([`torch ${peer.version}`, () => runTorchConv(peer.python)]);
  else process.stdout.write(`PyTorch peer skipped: ${peer.skip}\n`);
  process.stdout.write(
    `conv1d forward + backward (dx, dw), the Jukebox top level's layers; ${threads} thread(s), ${rounds} interleaved rounds × ${reps} runs; load ${loadavg()[0]!.toFixed(2)}\n`,
  );
  const all = contestants.map(() => [] as Result[][]);
  for (let round = 0; round < rounds; round++) contestants.forEach(([, run], i) => all[i]!.push(run()));
  process.stdout.write(`load after ${loadavg()[0]!.toFixed(2)}\n`);
  const ms = (i: number, k: number) => 1000 * median(all[i]!.map((r) => r[k]!.s));
  const names = contestants.map(([n]) => n);
  process.stdout.write(`${'layer'.padEnd(14)}${'x → y'.padEnd(34)}${names.map((n) => `${n} ms`.padStart(20)).join('')}\n`);
  SHAPES.forEach((c, k) => {
    const io = `${c.x.join('×')} ${c.op === 'conv1d' ? 'conv' : 'convT'} ${c.w.join('×')}`;
    process.stdout.write(`${c.name.padEnd(14)}${io.padEnd(34)}${names.map((_, i) => ms(i, k).toFixed(1).padStart(20)).join('')}\n`);
  });
  // The same gradients on both sides (sums of squares, relative 1e-3: float32 sums in different orders).
  for (let i = 1; i < contestants.length; i++) {
    SHAPES.forEach((c, k) => {
      const [a, b] = [all[0]![0]![k]!, all[i]![0]![k]!];
      for (const key of ['gx2', 'gw2'] as const) {
        if (Math.abs(a[key] - b[key]) > 1e-3 * Math.abs(b[key])) {
          throw new Error(`${c.name}: ${key} differs, tony ${a[key]} vs ${names[i]} ${b[key]}`);
        }
      }
    });
  }
  const total = (i: number) => SHAPES.reduce((s, _, k) => s + ms(i, k), 0);
  process.stdout.write(`gradients equal across contestants (sums of squares within 1e-3)\n`);
  process.stdout.write(
    `${names.map((n, i) => `${n} ${total(i).toFixed(1)} ms`).join(', ')} in all; ${names
      .slice(1)
      .map((n, i) => `${n} / tony = ${(total(i + 1) / total(0)).toFixed(2)}×`)
      .join(', ')}\n`,
  );
}
