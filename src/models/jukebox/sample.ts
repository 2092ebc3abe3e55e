/**
 * A trained prior (prior.ts) loaded for sampling, and ancestral, windowed sampling:
 *
 *   top codes    ~ p(top | timbre, key, tempo)          windows of T, sliding by T/2
 *   middle codes ~ p(middle | top)                      the upsampler, window by window
 *   bottom codes ~ p(bottom | middle)
 *   audio        = the bottom VQ-VAE's decoder (bottom codes)
 *
 * Windowed sampling: the first window samples all T positions; each later window starts T/2
 * further on, takes its first half from what was already sampled and samples the second half. A
 * position is sampled by running the window (every position recomputed — no KV cache) and drawing
 * from the softmax of its logits at `temperature`. Rows of a batch are independent samples.
 */
import { basename, resolve } from 'node:path';
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import { type HostTensor, hostTensor } from '../../engine/dtype.ts';
import { exportOnnx } from '../../engine/onnx.ts';
import { Runtime, type Session } from '../../engine/runtime.ts';
import { loadWeights, runOnWeights } from '../../engine/state.ts';
import { input } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';
import type { Progress } from '../../progress.ts';
import { prng } from '../../random.ts';
import type { LoadedModel, LoadOptions } from '../index.ts';
import { isUpsampler, Prior, type PriorConfig, priorConfig } from './prior.ts';

export interface LoadedPrior extends LoadedModel {
  readonly cfg: Readonly<PriorConfig>;
  /** Logits (B, T, K) of B windows; `cond` (B·3) for the top prior, `upper` (B·T/ratio) for upsamplers. */
  logits(ids: Int32Array, batch: number, ctx: { cond?: Int32Array; upper?: Int32Array }): Promise<Float32Array>;
}

export async function loadPrior(dir: string, opts: LoadOptions = {}): Promise<LoadedPrior> {
  const ck = await loadCheckpoint<{ kind?: string; model?: Record<string, unknown> }>((await latestCheckpoint(dir))?.dir ?? dir);
  if (ck.config.kind !== 'jukebox-prior')
    throw new TonyError('checkpoint', `${ck.dir} is not a Jukebox prior (kind '${String(ck.config.kind)}')`, 'pass a tony train prior run');
  const cfg = priorConfig(ck.config.model);
  const runtime = await Runtime.start({ device: opts.device, threads: opts.threads });
  await loadWeights(runtime, ck.params);
  const graphs = new Map<number, { session: Session; prior: Prior }>();
  const T = cfg.context;
  return {
    kind: 'jukebox-prior',
    id: opts.id ?? basename(resolve(dir)),
    capabilities: ['sample-codes'],
    provider: runtime.description,
    cfg,
    async logits(ids, B, ctx) {
      let g = graphs.get(B);
      if (!g) {
        const prior = new Prior(cfg);
        const idsT = input('ids', [B, T], 'int64');
        const extra = isUpsampler(cfg) ? input('upper', [B, T / cfg.ratio], 'int64') : input('cond', [B, 3], 'int64');
        const logits = prior.forward(idsT, isUpsampler(cfg) ? { upper: extra } : { cond: extra });
        g = { session: await runtime.load(exportOnnx([idsT, extra, ...prior.ps.inputs], { logits }, { name: 'prior_window' })), prior };
        graphs.set(B, g);
      }
      const feeds: Record<string, HostTensor> = isUpsampler(cfg)
        ? { ids: hostTensor('int64', [B, T], ids), upper: hostTensor('int64', [B, T / cfg.ratio], ctx.upper!) }
        : { ids: hostTensor('int64', [B, T], ids), cond: hostTensor('int64', [B, 3], ctx.cond!) };
      return (await runOnWeights(runtime, g.session, g.prior.ps, feeds)).logits!.data as Float32Array;
    },
    close: () => runtime.close(),
  };
}

export interface SampleOptions {
  /** Codes per row to sample. */
  length: number;
  /** Rows sampled side by side. */
  batch: number;
  /** Condition ids per row, (batch · 3): the top prior. */
  cond?: Int32Array;
  /** The level above's codes per row, each ≥ length / ratio long: upsamplers. */
  upper?: Int32Array[];
  temperature?: number;
  seed?: number;
  onProgress?: (p: Progress) => void;
}

/** Draw from softmax(logits / temperature) with uniform u. */
function draw(logits: Float32Array, offset: number, K: number, temperature: number, u: number): number {
  let max = -Infinity;
  for (let k = 0; k < K; k++) max = Math.max(max, logits[offset + k]!);
  if (temperature === 0) {
    for (let k = 0; k < K; k++) if (logits[offset + k] === max) return k;
  }
  let sum = 0;
  const p = new Float64Array(K);
  for (let k = 0; k < K; k++) sum += p[k] = Math.exp((logits[offset + k]! - max) / temperature);
  let acc = 0;
  for (let k = 0; k < K; k++) {
    acc += p[k]! / sum;
    if (u < acc) return k;
  }
  return K - 1;
}

/** Windowed ancestral sampling of `length` codes per row (see the top of this file). */
export async function sampleCodes(prior: LoadedPrior, o: SampleOptions): Promise<Int32Array[]> {
  const cfg = prior.cfg;
  const { batch: B, length: n } = o;
  const T = cfg.context;
  const temperature = o.temperature ?? 1;
  if (!(temperature >= 0)) throw new TonyError('usage', `temperature must be ≥ 0, got ${temperature}`);
  if (!Number.isInteger(n) || n < 1) throw new TonyError('usage', `length must be a positive integer, got ${n}`);
  if (isUpsampler(cfg)) {
    if (!o.upper || o.upper.length !== B) throw new TonyError('usage', `the ${cfg.level} upsampler needs ${B} rows of upper codes`);
    const short = o.upper.findIndex((u) => u.length * cfg.ratio < n);
    if (short >= 0)
      throw new TonyError('usage', `row ${short} has ${o.upper[short]!.length} upper codes; ${n} codes need ${Math.ceil(n / cfg.ratio)}`);
  } else if (!o.cond || o.cond.length !== 3 * B) throw new TonyError('usage', `the top prior needs condition ids for ${B} rows`);
  const r = prng(o.seed ?? 0);
  // Pad every row to whole windows; the padding is sampled and then cut.
  const half = T / 2;
  const total = n <= T ? T : T + Math.ceil((n - T) / half) * half;
  const rows = Array.from({ length: B }, () => new Int32Array(total));
  const upperRows = o.upper?.map((u) => {
    const padded = new Int32Array(total / cfg.ratio);
    padded.set(u.subarray(0, Math.min(u.length, padded.length)));
    return padded;
  });
  let done = 0;
  const t0 = performance.now();
  for (let s = 0; s + T <= total; s += half) {
    const from = s === 0 ? 0 : half; // positions of this window still to sample
    const upper = upperRows && Int32Array.from(upperRows.flatMap((u) => Array.from(u.subarray(s / cfg.ratio, (s + T) / cfg.ratio))));
    for (let i = from; i < T; i++) {
      const ids = Int32Array.from(rows.flatMap((row) => Array.from(row.subarray(s, s + T))));
      const logits = await prior.logits(ids, B, upper ? { upper } : { cond: o.cond! });
      for (let b = 0; b < B; b++) rows[b]![s + i] = draw(logits, (b * T + i) * cfg.codes, cfg.codes, temperature, r.next());
      done++;
      const secs = (performance.now() - t0) / 1000;
      o.onProgress?.({ done: Math.min(done, n), total: n, info: { 'codes/s': ((done * B) / secs).toFixed(1) } });
    }
  }
  return rows.map((row) => row.slice(0, n));
}
