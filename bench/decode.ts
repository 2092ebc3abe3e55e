/**
 * `npm run bench -- decode [--tokens 256] [--preset small] [--rounds 3] [--steps 8] [--seconds 10] [--no-torch]
 *   [--torch-passive] [--no-server]`
 *
 * Greedy decoding of one model with the same weights, a 64-token prompt and `--tokens` new tokens,
 * at batch 1 and batch 8 (the prompt in every row), in interleaved rounds:
 * - tony: `generate` (src/models/gpt/generate.ts): the prompt prefilled in a length bucket, then
 *   `--steps` tokens per graph call (default STEPS_PER_CALL; greedy inside the graph) over a
 *   read-only KV cache that the runtime extends in place;
 * - tony-1-per-call: the same with one token per call (the logits back to generate every token);
 * - tony-copying: the graphs generate ran before (issue 22): the prompt prefilled padded to the
 *   whole block, and a decode graph that returns the whole updated cache every step (the studio's
 *   page still runs these, src/studio/in-page.ts);
 * - torch-eager: bench/peers/torch_gpt.py, a growing KV cache over the filled positions only
 *   (`--torch-passive` adds it with OMP_WAIT_POLICY=PASSIVE: OpenMP threads sleep when idle), and
 *   torch-1-thread, the same on one thread: Tony decodes small batches of a small model on one
 *   (nn.ts decodeThreads), so PyTorch gets the same choice and the better of its runs counts;
 * - recompute (batch 1, once): the full padded context through the model for every token.
 * All four must produce the same greedy tokens (printed). Then where Tony's time per token goes at
 * batch 1, and completions/s of the OpenAI-compatible server under 16 clients against the library.
 */
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as T from '../src/engine/index.ts';
import { decodeMask } from '../src/engine/nn.ts';
import { loadWeights } from '../src/engine/state.ts';
import { median } from '../src/engine/trainer.ts';
import { decodeLoadOptions, generate, STEPS_PER_CALL } from '../src/models/gpt/generate.ts';
import {
  buildAppendDecodeGraph,
  buildDecodeGraph,
  buildPrefillGraph,
  buildRecomputeGraph,
  buildStepsDecodeGraph,
  GPT,
  GPT_PRESETS,
  type GPTConfig,
  gptConfig,
} from '../src/models/gpt/gpt.ts';
import { TonyTextModel } from '../src/models/gpt/model.ts';
import { serve } from '../src/serve/index.ts';
import { ByteTokenizer } from '../src/text/tokenizer.ts';
import { runTorch, torchPeer, writePeerData } from './peers/torch.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const value = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const NEW = Number(value('tokens', '256'));
const PRESET = value('preset', 'small');
const ROUNDS = Number(value('rounds', '3'));
const THREADS = Number(value('threads', '2'));
const PROMPT = 64;
const BATCHES = [1, 8];
const STEPS = Number(value('steps', String(STEPS_PER_CALL))); // generate's tokens per graph call
const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

const cfg = gptConfig({ ...GPT_PRESETS[PRESET], vocabSize: 260, blockSize: PROMPT + NEW });
const tok = new ByteTokenizer();
const rt = await T.Runtime.start({ threads: THREADS });
const init = new GPT(cfg).ps.initialize(0);
await loadWeights(rt, init);
const prompt = tok
  .encode('export function main(args: string[]): number {\n  const parsed = args.map((a) => a.trim'.padEnd(PROMPT, ' '))
  .slice(0, PROMPT);
console.log(`model gpt/${PRESET} ${JSON.stringify(cfg)}, ${rt.description}; prompt ${PROMPT} tokens, ${NEW} new tokens, greedy`);
console.log(`load (1-min average) at start: ${loadavg()[0]!.toFixed(2)}`);

/**
 * Tony's generate: ms for NEW tokens in each of `batch` rows, the process's CPU time (every thread,
 * user + system) over the same span, and row 0's tokens. `steps`: tokens per graph call.
 */
async function tonyGenerate(batch: number, steps = STEPS) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const g = await generate(rt, cfg, tok, new Array(batch).fill(prompt), {
    maxNewTokens: NEW,
    temperature: 0,
    stopTokens: [-1],
    stepsPerCall: steps,
  });
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  if (g.some((r) => r.tokens.length !== NEW)) throw new Error('a row ended early: the token counts would not compare');
  return { ms, cpuMs: (c.user + c.system) / 1000, tokens: g[0]!.tokens };
}

/** The graphs generate ran before: a whole-block prefill, and the full cache out of every step. */
const copying = new Map<
  number,
  { pre: ReturnType<typeof buildPrefillGraph>; dec: ReturnType<typeof buildDecodeGraph>; ps: T.Session; ds: T.Session }
>();
async function tonyCopying(batch: number) {
  let g = copying.get(batch);
  if (!g) {
    const pre = buildPrefillGraph(cfg, 1);
    const dec = buildDecodeGraph(cfg, batch);
    g = { pre, dec, ps: await rt.load(pre.model), ds: await rt.load(dec.model) };
    copying.set(batch, g);
  }
  const t0 = performance.now();
  const padded = [...prompt, ...new Array<number>(cfg.blockSize - PROMPT).fill(tok.special.eot)];
  const first = await rt.run(
    g.ps,
    { idx: T.hostTensor('int64', [1, cfg.blockSize], padded), last: T.hostTensor('int64', [1], [PROMPT - 1]) },
    { state: g.pre.state, update: g.pre.update, fetch: ['logits'] },
  );
  if (batch > 1) {
    // The rows' caches from the one prefilled prompt (generate's former broadcast graph, done in state).
    const st = await rt.getState(Object.values(g.pre.update));
    const rows: Record<string, T.HostTensor> = {};
    for (const [k, t] of Object.entries(st)) {
      const d = t.data as Float32Array;
      const out = new Float32Array(d.length * batch);
      for (let b = 0; b < batch; b++) out.set(d, b * d.length);
      rows[k] = T.hostTensor('float32', [batch, ...t.shape.slice(1)], out);
    }
    await rt.setState(rows);
  }
  const argmax = (l: Float32Array) => {
    let best = 0;
    for (let i = 1; i < l.length; i++) if (l[i]! > l[best]!) best = i;
    return best;
  };
  const tokens = [argmax(first.logits!.data as Float32Array)];
  const pos = new Array<number>(batch).fill(PROMPT);
  while (tokens.length < NEW) {
    const r = await rt.run(
      g.ds,
      { idx: T.hostTensor('int64', [batch, 1], new Array(batch).fill(tokens.at(-1)!)), pos: T.hostTensor('int64', [batch], pos) },
      { state: g.dec.state, update: g.dec.update, fetch: ['logits'] },
    );
    tokens.push(argmax((r.logits!.data as Float32Array).subarray(0, cfg.vocabSize)));
    for (let b = 0; b < batch; b++) pos[b]!++;
  }
  return { ms: performance.now() - t0, tokens };
}

// The PyTorch peer reads the same weights and prompt.
const torch = flag('no-torch') ? { skip: '--no-torch' } : torchPeer();
const dataPath = join(tmpdir(), `tony-bench-decode-${process.pid}.safetensors`);
if ('skip' in torch) console.log(`PyTorch peer skipped: ${torch.skip}`);
else {
  const tensors: Record<string, T.HostTensor> = { prompt: T.hostTensor('int64', [PROMPT], prompt) };
  for (const [k, v] of Object.entries(init)) tensors[`param:${k}`] = v;
  await writePeerData(dataPath, tensors);
  console.log(`PyTorch ${torch.version} (CPU build, ${THREADS} threads, eager, torch.inference_mode)`);
}

type Timed = { ms: number; cpuMs?: number; tokens: number[] };
const runs: Record<string, Timed[]> = {};
const add = (name: string, r: Timed) => (runs[name] ??= []).push(r);
const loads: string[] = [];
/**
 * Each contestant's second run of a round counts, as the PyTorch peer's second repeat does: the
 * first loads the graphs (start-up is not what this measures) and warms the allocators and caches
 * that the other contestants' runs in between have taken over.
 */
async function warm<R>(run: () => Promise<R>): Promise<R> {
  await run();
  return run();
}
for (let round = 0; round < ROUNDS; round++) {
  loads.push(loadavg()[0]!.toFixed(2));
  for (const b of BATCHES) add(`tony b${b}`, await warm(() => tonyGenerate(b)));
  if (STEPS > 1) for (const b of BATCHES) add(`tony-1-per-call b${b}`, await warm(() => tonyGenerate(b, 1)));
  for (const b of BATCHES) add(`tony-copying b${b}`, await warm(() => tonyCopying(b)));
  if (!('skip' in torch)) {
    for (const b of BATCHES) {
      const r = runTorch<{ ms: number[]; cpu_ms: number[]; tokens: number[] }>(
        torch.python,
        ['decode', '--data', dataPath, '--cfg', JSON.stringify(cfg), '--batch', String(b), '--new', String(NEW), '--repeats', '2'],
        THREADS,
      );
      add(`torch-eager b${b}`, { ms: r.ms.at(-1)!, cpuMs: r.cpu_ms.at(-1)!, tokens: r.tokens }); // the second repeat: warm
      if (flag('torch-passive')) {
        // PyTorch with its OpenMP threads sleeping when idle, as Tony's ONNX Runtime pool does
        // since issue 22: on a shared machine spin-waiting threads slow it several-fold.
        const p = runTorch<{ ms: number[]; cpu_ms: number[]; tokens: number[] }>(
          torch.python,
          ['decode', '--data', dataPath, '--cfg', JSON.stringify(cfg), '--batch', String(b), '--new', String(NEW), '--repeats', '2'],
          THREADS,
          { OMP_WAIT_POLICY: 'PASSIVE' },
        );
        add(`torch-passive b${b}`, { ms: p.ms.at(-1)!, cpuMs: p.cpu_ms.at(-1)!, tokens: p.tokens });
      }
      const one = runTorch<{ ms: number[]; cpu_ms: number[]; tokens: number[] }>(
        torch.python,
        ['decode', '--data', dataPath, '--cfg', JSON.stringify(cfg), '--batch', String(b), '--new', String(NEW), '--repeats', '2'],
        1,
      );
      add(`torch-1-thread b${b}`, { ms: one.ms.at(-1)!, cpuMs: one.cpu_ms.at(-1)!, tokens: one.tokens });
    }
  }
}
loads.push(loadavg()[0]!.toFixed(2));

// Recompute: the full (padded) context through the model for every new token, batch 1, once.
const rg = buildRecomputeGraph(cfg, 1);
const rs = await rt.load(rg.model);
const seq = [...prompt];
const r0 = performance.now();
while (seq.length < PROMPT + NEW) {
  const idx = [...seq, ...new Array<number>(cfg.blockSize - seq.length).fill(tok.special.eot)];
  const r = await rt.run(
    rs,
    { idx: T.hostTensor('int64', [1, cfg.blockSize], idx), last: T.hostTensor('int64', [1], [seq.length - 1]) },
    { state: rg.state },
  );
  const l = r.logits!.data as Float32Array;
  seq.push(l.indexOf(Math.max(...l)));
}
add('recompute b1', { ms: performance.now() - r0, tokens: seq.slice(PROMPT) });

const rate = (name: string) => {
  const b = Number(name.split(' b')[1]);
  return (b * NEW * 1000) / median(runs[name]!.map((r) => r.ms));
};
const want = runs['recompute b1']![0]!.tokens;
console.log(
  `\ntokens/s (all rows), median of rounds (range); wall ms per token step; CPU ms (all threads) per step; greedy tokens equal to recompute (tony: ${STEPS} tokens per graph call):`,
);
for (const name of Object.keys(runs)) {
  const ms = median(runs[name]!.map((r) => r.ms));
  const cpu = runs[name]!.every((r) => r.cpuMs !== undefined) ? median(runs[name]!.map((r) => r.cpuMs!)) / NEW : Number.NaN;
  const b = Number(name.split(' b')[1]);
  const rates = runs[name]!.map((r) => (b * NEW * 1000) / r.ms);
  const range = `${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}`;
  const same = runs[name]!.every((r) => r.tokens.every((t, i) => t === want[i]));
  console.log(
    `${name.padEnd(22)} ${fmt(rate(name)).padStart(6)} tokens/s (${range.padStart(11)})  ${fmt(ms / NEW, 3)} ms/step  CPU ${fmt(cpu, 3)} ms/step  same tokens: ${same}`,
  );
}
console.log(`load (1-min average) before each round and after: ${loads.join(', ')}`);

// Where the time per token goes at batch 1 (tony's decode graph, run by hand as generate runs it).
{
  const { description } = rt;
  await tonyGenerate(1); // the cache in state at batch 1
  // The graphs as generate loads them (parameters baked in, its thread count and arena).
  const dec = buildAppendDecodeGraph(cfg, 1);
  const ds = await rt.load(dec.model, decodeLoadOptions(cfg, dec, 1, rt.threads));
  const one = T.input('x', [1]);
  const echo = await rt.load(T.exportOnnx([one], { y: T.add(one, 1) }));
  const wall: number[] = [];
  const ort: number[] = [];
  const trip: number[] = [];
  for (let i = 0; i < 200; i++) {
    const pos = PROMPT + (i % NEW);
    const write: Record<string, { key: string; at: number[]; length: number }> = {};
    for (const [o, key] of Object.entries(dec.writeKeys)) write[o] = { key, at: [pos], length: cfg.blockSize };
    let t0 = performance.now();
    await rt.run(
      ds,
      { idx: T.hostTensor('int64', [1, 1], [65]), pos: T.hostTensor('int64', [1], [pos]), hidden: decodeMask([pos], cfg.blockSize) },
      { state: dec.state, write, fetch: ['logits'] },
    );
    wall.push(performance.now() - t0);
    ort.push(rt.lastOrtMs);
    t0 = performance.now();
    await rt.run(echo, { x: T.hostTensor('float32', [1], [0]) });
    trip.push(performance.now() - t0 - rt.lastOrtMs);
  }
  const step1 = median((runs['tony-1-per-call b1'] ?? runs['tony b1'])!.map((r) => r.ms)) / NEW;
  const [w, o, t] = [median(wall.slice(20)), median(ort.slice(20)), median(trip.slice(20))];
  // The same decode step over a 64-position cache (the graph's cache length is symbolic): what
  // attending over the whole context's slots costs against the filled ones.
  const sOrt: number[] = [];
  const shortState = Object.fromEntries(Object.entries(dec.state).map(([k, v]) => [k, v.startsWith('kv:') ? `short:${v}` : v]));
  for (let i = 0; i < 100; i++) {
    const write: Record<string, { key: string; at: number[]; length: number }> = {};
    for (const [o2, key] of Object.entries(dec.writeKeys)) write[o2] = { key: `short:${key}`, at: [PROMPT - 1], length: PROMPT };
    // Zero caches to read (a write allocates them after the run; the run needs them first).
    if (i === 0)
      await rt.setState(
        Object.fromEntries(
          Object.values(shortState)
            .filter((v) => v.startsWith('short:'))
            .map((v) => [v, T.hostTensor('float32', [1, cfg.nHead, PROMPT, cfg.dModel / cfg.nHead])]),
        ),
      );
    await rt.run(
      ds,
      { idx: T.hostTensor('int64', [1, 1], [65]), pos: T.hostTensor('int64', [1], [PROMPT - 1]), hidden: decodeMask([PROMPT - 1], PROMPT) },
      { state: shortState, write, fetch: ['logits'] },
    );
    sOrt.push(rt.lastOrtMs);
  }
  const so = median(sOrt.slice(10));
  // generate's STEPS-token call at batch 1: wall and ONNX Runtime time per token.
  const kd = buildStepsDecodeGraph(cfg, 1, STEPS, false);
  const ks = await rt.load(kd.model, decodeLoadOptions(cfg, kd, 1, rt.threads));
  const kWall: number[] = [];
  const kOrt: number[] = [];
  for (let i = 0; i < 60; i++) {
    const pos = PROMPT + ((i * STEPS) % (NEW - STEPS));
    const write: Record<string, { key: string; at: number[]; length: number }> = {};
    for (const [o2, key] of Object.entries(kd.writeKeys)) write[o2] = { key, at: [pos], length: cfg.blockSize };
    const t0 = performance.now();
    await rt.run(
      ks,
      { idx: T.hostTensor('int64', [1, 1], [65]), pos: T.hostTensor('int64', [1], [pos]), hidden: decodeMask([pos], cfg.blockSize) },
      { state: kd.state, write, fetch: ['tokens'] },
    );
    kWall.push((performance.now() - t0) / STEPS);
    kOrt.push(rt.lastOrtMs / STEPS);
  }
  console.log(`\nwhere a batch-1 token goes (${description}), ms, median of 180 steps:`);
  console.log(`  whole step in generate, one token per call (sampling, streaming, stop checks included) ${fmt(step1, 3)}`);
  console.log(`  one decode call, wall                                              ${fmt(w, 3)}`);
  console.log(`    ONNX Runtime session.run                                         ${fmt(o, 3)}`);
  console.log(
    `      of which attending over ${cfg.blockSize - PROMPT} more cache slots (vs a ${PROMPT}-slot cache)       ${fmt(o - so, 3)}`,
  );
  console.log(`    messaging, feeds, fetch copies and the cache write (rest of the call) ${fmt(w - o, 3)}`);
  console.log(`      of which a bare worker round trip (1-element graph, ORT time removed) ${fmt(t, 3)}`);
  console.log(`  generate's own JS per token (step − call)                          ${fmt(step1 - w, 3)}`);
  console.log(`  with ${STEPS} tokens per call (generate's default), per token: the call, wall ${fmt(median(kWall.slice(10)), 3)}`);
  console.log(`    ONNX Runtime session.run                                         ${fmt(median(kOrt.slice(10)), 3)}`);
}

let serverLine = '';
if (!flag('no-server')) {
  // The server: 16 concurrent clients sending 32-token completions for a fixed time, against the
  // same completions called directly on the library (what the HTTP layer and queue cost).
  const model = new TonyTextModel('bench', cfg as GPTConfig, tok, rt);
  const req = { prompt: 'def main(argv):\n    ', maxTokens: 32, temperature: 0.8, topP: 0.95, n: 1, stop: [] as string[] };
  const SECONDS = Number(value('seconds', '10'));
  let direct = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < (SECONDS * 1000) / 2) {
    await model.complete({ ...req, seed: direct });
    direct++;
  }
  const directRate = direct / ((performance.now() - t0) / 1000);
  const server = await serve(model, { port: 0, maxQueue: 64 });
  let served = 0;
  let failed = 0;
  const t1 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async (_, c) => {
      for (let i = 0; performance.now() - t1 < SECONDS * 1000; i++) {
        const res = await fetch(`${server.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'bench', prompt: req.prompt, max_tokens: 32, temperature: 0.8, seed: c * 1000 + i }),
        });
        await res.json();
        if (res.ok) served++;
        else failed++;
      }
    }),
  );
  const servedRate = served / ((performance.now() - t1) / 1000);
  await server.close();
  console.log(
    `\nserver, 16 concurrent clients: ${servedRate.toFixed(1)} completions/s (${served} ok, ${failed} refused); library direct: ${directRate.toFixed(1)} completions/s`,
  );
  serverLine = `; server/direct completions/s ${fmt(servedRate / directRate, 2)}`;
}
await rt.close();

const parts = BATCHES.map((b) => {
  const t = rate(`tony b${b}`);
  let s = `b${b}: tony=${fmt(t)}`;
  if (runs[`torch-eager b${b}`]) s += ` torch-eager=${fmt(rate(`torch-eager b${b}`))} (${fmt(t / rate(`torch-eager b${b}`), 2)}×)`;
  if (runs[`torch-passive b${b}`]) s += ` torch-passive=${fmt(rate(`torch-passive b${b}`))} (${fmt(t / rate(`torch-passive b${b}`), 2)}×)`;
  if (runs[`torch-1-thread b${b}`])
    s += ` torch-1-thread=${fmt(rate(`torch-1-thread b${b}`))} (${fmt(t / rate(`torch-1-thread b${b}`), 2)}×)`;
  const best = Math.max(
    ...['torch-eager', 'torch-passive', 'torch-1-thread'].filter((p) => runs[`${p} b${b}`]).map((p) => rate(`${p} b${b}`)),
  );
  if (Number.isFinite(best)) s += ` best PyTorch ${fmt(best)} (${fmt(t / best, 2)}×)`;
  if (runs[`tony-1-per-call b${b}`])
    s += ` 1-per-call=${fmt(rate(`tony-1-per-call b${b}`))} (${fmt(t / rate(`tony-1-per-call b${b}`), 2)}×)`;
  s += ` before=${fmt(rate(`tony-copying b${b}`))} (${fmt(t / rate(`tony-copying b${b}`), 2)}×)`;
  return s;
});
console.log(`decode tokens/s, Tony over each peer: ${parts.join('; ')}; recompute b1=${fmt(rate('recompute b1'))}${serverLine}`);
