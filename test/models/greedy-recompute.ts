/**
 * The decoding tests' oracle: greedy decoding by recomputing the whole (padded) context for every
 * token, no cache, with the parameters the runtime holds.
 */
import * as T from '../../src/engine/index.ts';
import { buildRecomputeGraph, type GPTConfig } from '../../src/models/gpt/gpt.ts';

/** The next `n` greedy tokens after `prompt` (default: up to the end of the context). */
export async function greedyRecompute(
  rt: T.Runtime,
  cfg: Readonly<GPTConfig>,
  prompt: readonly number[],
  n = cfg.blockSize - prompt.length,
): Promise<number[]> {
  const g = buildRecomputeGraph(cfg, 1);
  const s = await rt.load(g.model);
  const seq = [...prompt];
  for (let i = 0; i < n; i++) {
    const idx = [...seq, ...new Array<number>(cfg.blockSize - seq.length).fill(0)];
    const r = await rt.run(
      s,
      { idx: T.hostTensor('int64', [1, cfg.blockSize], idx), last: T.hostTensor('int64', [1], [seq.length - 1]) },
      { state: g.state },
    );
    const l = r.logits!.data as Float32Array;
    seq.push(l.indexOf(Math.max(...l)));
  }
  await rt.release(s);
  return seq.slice(prompt.length);
}
