/**
 * `npm run bench -- decode [--tokens 256] [--preset small]`
 *
 * Incremental decoding with the KV cache against recomputing the full context for every token
 * (what a cache-less generate loop does), same model, same weights, greedy, in one run. Then, if the
 * server is present, completions/s of `tony serve` under 16 concurrent clients.
 */
import * as T from '../src/engine/index.ts';
import { stateKey } from '../src/engine/optim.ts';
import { median } from '../src/engine/trainer.ts';
import { generate } from '../src/text/generate.ts';
import { GPT, GPT_PRESETS, buildRecomputeGraph, gptConfig } from '../src/text/gpt.ts';
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
await rt.setState(Object.fromEntries(Object.entries(init).map(([k, v]) => [stateKey.param(k), v])));
const prompt = tok.encode('export function main(args: string[]): number {\n  const parsed = args.map((a) => a.trim'.padEnd(PROMPT, ' ')).slice(0, PROMPT);
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
    const r = await rt.run(rs, { idx: T.hostTensor('int64', [1, cfg.blockSize], idx), last: T.hostTensor('int64', [1], [seq.length - 1]) }, { state: rg.state });
    const l = r.logits!.data as Float32Array;
    seq.push(l.indexOf(Math.max(...l)));
  }
  recomputeMs.push(performance.now() - t0);
  recomputed = seq.slice(PROMPT);
}
await rt.close();

const same = recomputed.every((t, i) => t === cachedTokens[i]);
const kv = (n * 1000) / median(cachedMs);
const full = (n * 1000) / median(recomputeMs);
console.log(`kv-cache:  ${kv.toFixed(0)} tokens/s (median of ${cachedMs.length}: ${median(cachedMs).toFixed(0)} ms for ${n} tokens)`);
console.log(`recompute: ${full.toFixed(0)} tokens/s (median of ${recomputeMs.length}: ${median(recomputeMs).toFixed(0)} ms)`);
console.log(`same greedy tokens from both paths: ${same}`);
console.log(`decode tokens/s: kv-cache=${kv.toFixed(0)} recompute=${full.toFixed(0)} ratio=${(kv / full).toFixed(1)}`);
