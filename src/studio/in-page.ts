/**
 * What a browser needs to run a GPT with onnxruntime-web: the very prefill and decode graphs the
 * server runs (src/models/gpt/gpt.ts, batch 1), the checkpoint's weights as one float32 blob, its
 * tokenizer and config. One graph, server or browser — the page feeds the weights and the KV cache
 * as inputs where the server's runtime holds them as state.
 */
import { latestCheckpoint, loadCheckpoint } from '../engine/checkpoint.ts';
import { TonyError } from '../errors.ts';
import { buildDecodeGraph, buildPrefillGraph, type GPTConfig, gptConfig } from '../models/gpt/gpt.ts';

interface InPageManifest {
  config: GPTConfig;
  tokenizer: Record<string, unknown>;
  /** Weights in graph-input order: name, shape, and where its floats start in weights.bin. */
  weights: Array<{ name: string; shape: readonly number[]; offset: number }>;
  /** The decode graph's cache outputs → the inputs they feed next step. */
  cache: Array<{ output: string; input: string }>;
}

export interface InPageGpt {
  manifest: InPageManifest;
  prefill: Uint8Array;
  decode: Uint8Array;
  weights: Buffer;
}

/** A GPT checkpoint or run directory, made ready for the page (graphs built once per process). */
export async function inPageGpt(dir: string): Promise<InPageGpt> {
  const entry = await latestCheckpoint(dir);
  const ck = await loadCheckpoint<{ kind?: string; model?: Record<string, unknown>; tokenizer?: Record<string, unknown> }>(
    entry?.dir ?? dir,
  );
  if (ck.config.kind !== 'gpt' || !ck.config.model || !ck.config.tokenizer || ck.config.tokenizer.kind !== 'tony-bpe')
    throw new TonyError('checkpoint', `${ck.dir} is not a Tony GPT with a BPE tokenizer`, 'the page runs models trained by tony train lm');
  const cfg = gptConfig(ck.config.model);
  const prefill = buildPrefillGraph(cfg, 1);
  const decode = buildDecodeGraph(cfg, 1);
  const weightInputs = prefill.model.inputs.filter((i) => i.name in prefill.state);
  let offset = 0;
  const weights: InPageManifest['weights'] = [];
  const parts: Float32Array[] = [];
  for (const i of weightInputs) {
    const t = ck.params[i.name];
    if (!t) throw new TonyError('checkpoint', `${ck.dir} has no weight '${i.name}'`);
    const f = Float32Array.from(t.data as ArrayLike<number>); // float16 checkpoints widen here, as loading does
    weights.push({ name: i.name, shape: t.shape, offset });
    parts.push(f);
    offset += f.length;
  }
  const blob = Buffer.alloc(offset * 4);
  let at = 0;
  for (const f of parts) {
    Buffer.from(f.buffer, f.byteOffset, f.byteLength).copy(blob, at);
    at += f.byteLength;
  }
  const cache = Object.keys(decode.update).map((output) => ({ output, input: output.replace(/^new\./, '') }));
  return {
    manifest: { config: cfg, tokenizer: ck.config.tokenizer, weights, cache },
    prefill: prefill.model.bytes,
    decode: decode.model.bytes,
    weights: blob,
  };
}
