/**
 * Peak RSS of a training step with the parameters and moments updated in place (Runtime.run's
 * inPlace, optim.ts inPlaceUpdates) against double-buffered (a second buffer per parameter and
 * moment), in fresh processes, alternating: Tony's runtime (worker thread, sessions as it makes
 * them), one GPT size, `steps` steps on random tokens. Also the losses, which must agree. Peak RSS
 * hardly moves with the load, so this runs on a busy machine.
 *
 *   node --import tsx docs/results/engine/inplace-memory.ts [C,L,heads,T,B = 512,6,8,256,8] [rounds = 2] [steps = 3]
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as T from '../../../src/engine/index.ts';
import { adamwConfig, buildTrainStep } from '../../../src/engine/optim.ts';
import { stateKey } from '../../../src/engine/state.ts';
import { GPT, gptConfig } from '../../../src/models/gpt/gpt.ts';

const shape = process.argv[2] ?? '512,6,8,256,8';
const [C = 512, L = 6, H = 8, Tn = 256, B = 8] = shape.split(',').map(Number);
const mode = process.argv[5];

if (mode) {
  const STEPS = Number(process.argv[4] ?? 3);
  const cfg = gptConfig({ vocabSize: 512, blockSize: Tn, nLayer: L, nHead: H, dModel: C, dropout: 0 });
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
  for (let t = 1; t <= STEPS; t++) {
    const r = await rt.run(
      session,
      { idx: ids(t), targets: ids(t + 1000), step: T.hostTensor('float32', [], [t]), lr: T.hostTensor('float32', [], [opt.lr]) },
      { state: g.state, update: g.update, ...(mode === 'inplace' ? { inPlace: g.inPlace! } : {}), fetch: ['loss'] },
    );
    losses.push((r.loss!.data as Float32Array)[0]!);
  }
  await rt.close();
  console.log(
    JSON.stringify({
      rss: process.resourceUsage().maxRSS / 1024,
      losses,
      inPlace: g.inPlace!.length,
      update: Object.keys(g.update).length,
    }),
  );
} else {
  const rounds = Number(process.argv[3] ?? 2);
  const me = fileURLToPath(import.meta.url);
  const res: Record<string, { rss: number[]; losses: number[] }> = {};
  console.log(`GPT C${C} L${L} h${H} T${Tn} B${B}; load ${loadavg()[0]!.toFixed(1)}`);
  for (let r = 0; r < rounds; r++)
    for (const m of r % 2 ? ['inplace', 'double'] : ['double', 'inplace']) {
      const out = JSON.parse(
        execFileSync(process.execPath, ['--import', 'tsx', me, shape, '1', process.argv[4] ?? '3', m], { encoding: 'utf8' })
          .trim()
          .split('\n')
          .at(-1)!,
      );
      (res[m] ??= { rss: [], losses: out.losses }).rss.push(out.rss);
      if (r === 0) console.log(`  ${m}: ${out.inPlace} of ${out.update} state outputs in place`);
    }
  for (const [m, v] of Object.entries(res))
    console.log(
      `  ${m.padEnd(8)} peak RSS ${v.rss.map((x) => x.toFixed(0)).join(', ')} MB; losses ${v.losses.map((x) => x.toFixed(6)).join(' ')}`,
    );
  console.log(`load after: ${loadavg()[0]!.toFixed(1)}`);
}
