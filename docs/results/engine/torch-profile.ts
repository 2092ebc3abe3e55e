/**
 * PyTorch's training step op by op (torch.profiler, self CPU time per op), for the same GPT, initial
 * weights and batches as Tony's (bench/peers/torch_gpt.py with `--profile`): the peer's side of
 * `profile-kernels.ts`, which does the same for ONNX Runtime's kernels in Tony's step. Prints the
 * ops by self CPU time per step, their calls per step and share, and the load.
 *
 *   node --import tsx docs/results/engine/torch-profile.ts [C,L,heads,T,B = 256,2,4,128,16] [profiled steps = 3]
 */
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTorch, torchPeer, writePeerData } from '../../../bench/peers/torch.ts';
import { hostTensor } from '../../../src/engine/dtype.ts';
import { stateKey } from '../../../src/engine/state.ts';
import { GPT, gptConfig } from '../../../src/models/gpt/gpt.ts';

const [C = 256, L = 2, H = 4, Tn = 128, B = 16] = (process.argv[2] ?? '256,2,4,128,16').split(',').map(Number);
const PROFILED = Number(process.argv[3] ?? 3);
const STEPS = 4;
const cfg = gptConfig({ vocabSize: 512, blockSize: Tn, nLayer: L, nHead: H, dModel: C, dropout: 0 });
const peer = torchPeer();
if ('skip' in peer) throw new Error(`no PyTorch peer: ${peer.skip}`);
const tensors: Record<string, ReturnType<typeof hostTensor>> = {};
for (const [k, v] of Object.entries(new GPT(cfg).ps.initialize(0))) tensors[stateKey.param(k)] = v;
const ids = (s: number) =>
  hostTensor(
    'int64',
    [B, Tn],
    Array.from({ length: B * Tn }, (_, i) => (i * 2654435761 + s * 7919) % 512),
  );
for (let s = 0; s < STEPS; s++) {
  tensors[`idx:${s}`] = ids(s);
  tensors[`targets:${s}`] = ids(s + 100);
}
const path = join(tmpdir(), `tony-torch-profile-${process.pid}.safetensors`);
await writePeerData(path, tensors);
const load0 = loadavg()[0]!.toFixed(1);
const r = runTorch<{ profile: [string, number, number][]; cpuMsPerStep: number; torch: string }>(
  peer.python,
  ['train', '--data', path, '--cfg', JSON.stringify(cfg), '--steps', String(STEPS), '--profile', String(PROFILED)],
  2,
);
const total = r.profile.reduce((a, [, , ms]) => a + ms, 0);
console.log(
  `PyTorch ${r.torch} eager, GPT C${C} L${L} h${H} T${Tn} B${B}, 2 threads; ${PROFILED} profiled steps; load ${load0} → ${loadavg()[0]!.toFixed(1)}`,
);
console.log(
  `self CPU time per step, summed over ops: ${total.toFixed(1)} ms (the profiler's own cost included; CPU time per step without it: ${r.cpuMsPerStep.toFixed(1)} ms)`,
);
for (const [name, calls, ms] of r.profile.slice(0, 30))
  console.log(
    `  ${((100 * ms) / total).toFixed(1).padStart(5)} %  ${ms.toFixed(2).padStart(8)} ms  ×${calls.toFixed(0).padStart(4)}  ${name}`,
  );
