/**
 * Regression oracle for the open training step: the `tony train gpt` and `tony train lm` paths
 * reproduce the losses recorded on the code before it (fixtures/make_golden_losses.ts) bit for bit,
 * and the fused step graph is byte-identical — the second check holds on any machine, the first
 * where ONNX Runtime dispatches to the same CPU kernels as the recording machine.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Runtime } from '../../src/engine/runtime.ts';
import { cpuIsa, type GoldenRun, goldenGpt, goldenLm, writeGoldenCorpus } from './fixtures/golden-runs.ts';

const fixture = JSON.parse(await readFile(new URL('./fixtures/golden_losses.json', import.meta.url), 'utf8')) as {
  isa: string;
  gpt: GoldenRun;
  lm: GoldenRun;
};

let rt: Runtime;
let dir: string;
beforeAll(async () => {
  rt = await Runtime.start({ threads: 1 });
  dir = await mkdtemp(join(tmpdir(), 'tony-golden-'));
  await writeGoldenCorpus(join(dir, 'corpus'));
});
afterAll(async () => {
  await rt.close();
  await rm(dir, { recursive: true, force: true });
});

async function check(got: GoldenRun, want: GoldenRun) {
  expect(got.graph_sha256).toBe(want.graph_sha256);
  expect(got.graph_nodes).toBe(want.graph_nodes);
  expect(got.lrs).toEqual(want.lrs); // the schedule runs in the graph on plain scalars: exact everywhere
  if ((await cpuIsa()) === fixture.isa) {
    expect(got.losses).toEqual(want.losses);
    expect(got.grad_norms).toEqual(want.grad_norms);
    expect(got.val_loss).toBe(want.val_loss);
  } else {
    // Same graph bytes, other matmul kernels: float32 rounding may differ in the last bits.
    console.warn(`golden losses were recorded on ${fixture.isa}; this CPU differs, so they are compared to 1e-5`);
    got.losses.forEach((l, i) => expect(Math.abs(l - want.losses[i]!)).toBeLessThan(1e-5 * want.losses[i]!));
  }
}

it('tony train gpt: the first 10 losses equal those of the code before the open step, bit for bit', async () => {
  await check(await goldenGpt(rt, join(dir, 'corpus')), fixture.gpt);
});

it('tony train lm (BPE shards, context FIM): the first 10 losses equal the recorded ones, bit for bit', async () => {
  await check(await goldenLm(rt, join(dir, 'corpus'), dir), fixture.lm);
});
