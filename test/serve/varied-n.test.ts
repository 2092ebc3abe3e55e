/**
 * Issue 21, item 8: a server whose clients vary `n` must not load a new graph per batch size. A
 * tiny GPT is served in-process and asked with n = 1..16 twice; loaded sessions, threads and
 * resident memory must stop growing.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { saveCheckpoint } from '../../src/engine/checkpoint.ts';
import { MAX_LIVE_GRAPHS } from '../../src/models/gpt/generate.ts';
import { GPT, gptConfig } from '../../src/models/gpt/gpt.ts';
import { loadCompletionModel, type TonyTextModel } from '../../src/models/gpt/model.ts';
import { serve } from '../../src/serve/index.ts';

let dir: string;
let model: TonyTextModel;
let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-varied-n-'));
  const cfg = gptConfig({ vocabSize: 260, blockSize: 64, nLayer: 2, nHead: 2, dModel: 32 });
  await saveCheckpoint(dir, {
    config: { kind: 'gpt', model: { ...cfg }, tokenizer: { kind: 'bytes' } },
    state: { step: 0 },
    params: new GPT(cfg).ps.initialize(5),
  });
  // Two threads: every ONNX Runtime session then starts one pool thread of its own.
  model = await loadCompletionModel(dir, { threads: 2 });
  server = await serve(model, { port: 0 });
});
afterAll(async () => {
  await server?.close();
  await model?.close();
  await rm(dir, { recursive: true, force: true });
});

const proc = () => {
  const s = readFileSync('/proc/self/status', 'utf8');
  const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)![1]);
  return { rssMB: field('VmRSS') / 1024, threads: field('Threads') };
};

async function complete(n: number): Promise<void> {
  const res = await fetch(`${server.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: model.id, prompt: 'def f(x):', max_tokens: 3, temperature: 1, n, seed: n }),
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { choices: unknown[] }).choices).toHaveLength(n);
}

it('sessions, threads and memory plateau while clients vary n from 1 to 16', async () => {
  await complete(1);
  const start = proc();
  let sessions = 0;
  const after: Array<ReturnType<typeof proc>> = [];
  for (let round = 0; round < 2; round++) {
    for (let n = 1; n <= 16; n++) {
      await complete(n);
      sessions = Math.max(sessions, model.runtime.liveSessions);
    }
    after.push(proc());
  }
  // Before the fix: a prefill and a decode session for every n (32), each with its own thread.
  expect(sessions).toBeLessThanOrEqual(3 * MAX_LIVE_GRAPHS); // prefill, broadcast, decode per shape at most
  expect(after[1]!.threads - start.threads).toBeLessThanOrEqual(3 * MAX_LIVE_GRAPHS);
  // The second round adds nothing lasting: a generous bound that still catches per-n growth.
  expect(after[1]!.threads).toBeLessThanOrEqual(after[0]!.threads);
  expect(after[1]!.rssMB - start.rssMB).toBeLessThan(300);
}, 120_000);
