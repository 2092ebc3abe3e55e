/**
 * recomputeAttention 0 against 1 (GPTConfig): peak RSS, wall and CPU time per training step (the
 * steps after the first), and the losses, of Tony's runtime running the whole step in place, in
 * fresh processes alternating between the two, for one GPT shape on random tokens. Peak RSS hardly
 * moves with the load; the times do (the load is printed).
 *
 *   node --import tsx docs/results/engine/recompute-ab.ts [C,L,heads,T,B = 768,12,12,1024,1] [rounds = 2] [steps = 3]
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as T from '../../../src/engine/index.ts';
import { adamwConfig, buildTrainStep } from '../../../src/engine/optim.ts';
import { stateKey } from '../../../src/engine/state.ts';
import { GPT, gptConfig } from '../../../src/models/gpt/gpt.ts';

const shape = process.argv[2] ?? '768,12,12,1024,1';
const [C = 768, L = 12, H = 12, Tn = 1024, B = 1] = shape.split(',').map(Number);
const STEPS = Number(process.argv[4] ?? 3);
const child = process.argv[5];

if (child !== undefined) {
  const cfg = gptConfig({ vocabSize: 512, blockSize: Tn, nLayer: L, nHead: H, dModel: C, recomputeAttention: Number(child) });
  const gpt = new GPT(cfg);
  const idx = T.input('idx', [B, Tn], 'int64');
  const targets = T.input('targets', [B, Tn], 'int64');
  const opt = adamwConfig();
  const g = buildTrainStep(gpt.ps, gpt.loss(idx, targets), [idx, targets], opt);
  const rt = await T.Runtime.start({ threads: 2 });
  const init = gpt.ps.initialize(0);
  const state: Record<string, T.HostTensor> = {};
  for (const s of gpt.ps.specs) {
    state[stateKey.param(s.name)] = init[s.name]!;
    state[stateKey.m(s.name)] = T.hostTensor('float32', s.shape);
    state[stateKey.v(s.name)] = T.hostTensor('float32', s.shape);
  }
  await rt.setState(state);
  const session = await rt.load(g.model);
  const ids = (seed: number) =>
    T.hostTensor(
      'int64',
      [B, Tn],
      Array.from({ length: B * Tn }, (_, i) => (i * 7919 + seed * 104729) % 512),
    );
  const losses: number[] = [];
  const ms: number[] = [];
  const cpu: number[] = [];
  for (let t = 1; t <= STEPS; t++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await rt.run(
      session,
      { idx: ids(t), targets: ids(t + 1000), step: T.hostTensor('float32', [], [t]), lr: T.hostTensor('float32', [], [opt.lr]) },
      { state: g.state, update: g.update, inPlace: g.inPlace!, fetch: ['loss'] },
    );
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    losses.push((r.loss!.data as Float32Array)[0]!);
  }
  await rt.close();
  console.log(JSON.stringify({ rss: process.resourceUsage().maxRSS / 1024, losses, ms: ms.slice(1), cpu: cpu.slice(1) }));
} else {
  const rounds = Number(process.argv[3] ?? 2);
  const me = fileURLToPath(import.meta.url);
  const res: Record<string, { rss: number[]; ms: number[]; cpu: number[]; losses: number[] }> = {};
  const loads = [loadavg()[0]!.toFixed(1)];
  for (let r = 0; r < rounds; r++) {
    for (const m of r % 2 ? ['1', '0'] : ['0', '1']) {
      const out = JSON.parse(
        execFileSync(process.execPath, ['--import', 'tsx', me, shape, '1', String(STEPS), m], { encoding: 'utf8' })
          .trim()
          .split('\n')
          .at(-1)!,
      );
      const v = (res[m] ??= { rss: [], ms: [], cpu: [], losses: out.losses });
      v.rss.push(out.rss);
      v.ms.push(...out.ms);
      v.cpu.push(...out.cpu);
    }
    loads.push(loadavg()[0]!.toFixed(1));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `GPT C${C} L${L} h${H} T${Tn} B${B}, ${rounds} rounds × ${STEPS} steps (first untimed); load before each round and after: ${loads.join(', ')}`,
  );
  for (const m of ['0', '1']) {
    const v = res[m]!;
    console.log(
      `  recomputeAttention ${m}: peak RSS ${v.rss.map((x) => x.toFixed(0)).join(', ')} MB; ms/step ${median(v.ms).toFixed(0)} (${v.ms.map((x) => x.toFixed(0)).join(' ')}); CPU ms/step ${median(v.cpu).toFixed(0)}; losses ${v.losses.map((x) => x.toFixed(6)).join(' ')}`,
    );
  }
  console.log(
    `  1 / 0: peak RSS ${(median(res['1']!.rss) / median(res['0']!.rss)).toFixed(3)}, ms/step ${(median(res['1']!.ms) / median(res['0']!.ms)).toFixed(3)}, CPU ${(median(res['1']!.cpu) / median(res['0']!.cpu)).toFixed(3)}`,
  );
}
