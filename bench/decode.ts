/**
 * `npm run bench -- decode [--tokens 256] [--preset small] [--seconds 10]`
 *
 * Incremental decoding with the KV cache against recomputing the full context for every token
 * (what a cache-less generate loop does), same model, same weights, greedy, in one run. Then
 * completions/s of the OpenAI-compatible server under 16 concurrent clients, against calling the
 * model directly.
 */
import * as T from '../src/engine/index.ts';
import { loadWeights } from '../src/engine/state.ts';
import { median } from '../src/engine/trainer.ts';
import { generate } from '../src/models/gpt/generate.ts';
import { buildRecomputeGraph, GPT, GPT_PRESETS, gptConfig } from '../src/models/gpt/gpt.ts';
import { TonyTextModel } from '../src/models/gpt/model.ts';
import { serve } from '../src/serve/index.ts';
import { ByteTokenizer } from '../src/text/tokenizer.ts';

const args = process.argv.slice(2);
const value = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const NEW = Number(value('tokens', '256'));
const PRESET = value('preset', 'small');
const PROMPT = 64;

const cfg = gptConfig({ ...GPT_PRESETS[PRESET], vocabSize: 260, blockSize: PROMPT + NEW });
const tok = new ByteTokenizer();
const rt = await T.Runtime.start();
const init = new GPT(cfg).ps.initialize(0);
await loadWeights(rt, init);
const prompt = tok
  .encode('export function main(args: string[]): number {\n  const parsed = args.map((a) => a.trim'.padEnd(PROMPT, ' '))
  .slice(0, PROMPT);
console.log(`model gpt/${PRESET} ${JSON.stringify(cfg)}, ${rt.description}; prompt ${PROMPT} tokens, ${NEW} new tokens, greedy`);

// KV cache: prefill once, then one decoding step per token.
const cachedMs: number[] = [];
let cachedTokens: number[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const [g] = await generate(rt, cfg, tok, [prompt], { maxNewTokens: NEW, temperature: 0, stopTokens: [-1] });
  cachedMs.push(performance.now() - t0);
  cachedTokens = g!.tokens;
}
const n = cachedTokens.length;

// Recompute: the full (padded) context through the model for every new token.
const rg = buildRecomputeGraph(cfg, 1);
const rs = await rt.load(rg.model);
const recomputeMs: number[] = [];
let recomputed: number[] = [];
for (let i = 0; i < 2; i++) {
  const seq = [...prompt];
  const t0 = performance.now();
  while (seq.length < PROMPT + n) {
    const idx = [...seq, ...new Array<number>(cfg.blockSize - seq.length).fill(tok.special.eot)];
    const r = await rt.run(
      rs,
      { idx: T.hostTensor('int64', [1, cfg.blockSize], idx), last: T.hostTensor('int64', [1], [seq.length - 1]) },
      { state: rg.state },
    );
    const l = r.logits!.data as Float32Array;
    seq.push(l.indexOf(Math.max(...l)));
  }
  recomputeMs.push(performance.now() - t0);
  recomputed = seq.slice(PROMPT);
}
const same = recomputed.every((t, i) => t === cachedTokens[i]);
const kv = (n * 1000) / median(cachedMs);
const full = (n * 1000) / median(recomputeMs);
console.log(`kv-cache:  ${kv.toFixed(0)} tokens/s (median of ${cachedMs.length}: ${median(cachedMs).toFixed(0)} ms for ${n} tokens)`);
console.log(`recompute: ${full.toFixed(0)} tokens/s (median of ${recomputeMs.length}: ${median(recomputeMs).toFixed(0)} ms)`);
console.log(`same greedy tokens from both paths: ${same}`);

// The server: 16 concurrent clients sending 32-token completions for a fixed time, against the
// same completions called directly on the library (what the HTTP layer and queue cost).
const model = new TonyTextModel('bench', cfg, tok, rt);
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
await rt.close();
console.log(
  `server, 16 concurrent clients: ${servedRate.toFixed(1)} completions/s (${served} ok, ${failed} refused); library direct: ${directRate.toFixed(1)} completions/s`,
);
console.log(
  `decode tokens/s: kv-cache=${kv.toFixed(0)} recompute=${full.toFixed(0)} ratio=${(kv / full).toFixed(1)}; ` +
    `server completions/s (16 clients)=${servedRate.toFixed(1)} vs direct=${directRate.toFixed(1)} ratio=${(servedRate / directRate).toFixed(2)}`,
);
