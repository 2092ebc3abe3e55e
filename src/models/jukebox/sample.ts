/**
 * A trained prior (prior.ts) loaded for sampling, and ancestral, windowed sampling:
 *
 *   top codes    ~ p(top | timbre, key, tempo[, lyrics])  windows of T, sliding by T/2
 *   middle codes ~ p(middle | top)                        the upsampler, window by window
 *   bottom codes ~ p(bottom | middle)
 *   audio        = the bottom VQ-VAE's decoder (bottom codes)
 *
 * Windowed sampling: the first window samples all T positions; each later window starts T/2
 * further on, takes its first half from what was already sampled and samples the second half.
 * With a KV cache (the default for a loaded prior): each window's already-sampled half is prefilled
 * once (its logits and every layer's keys and values, kept in the runtime), then each position runs
 * alone against the cache and writes its key and value into it. Without (`cache: false`, or a stand-in prior that only has `logits`): the whole window
 * is recomputed for every position. Both draw from the softmax of the position's logits at
 * `temperature` with the same uniforms, so they sample the same codes. Rows of a batch are
 * independent samples.
 */
import { basename, resolve } from 'node:path';
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import { type HostTensor, hostTensor } from '../../engine/dtype.ts';
import { decodeMask, decodeThreads, type KVCache } from '../../engine/nn.ts';
import { exportOnnx } from '../../engine/onnx.ts';
import { Runtime, type Session } from '../../engine/runtime.ts';
import { loadWeights, runOnWeights, weightState } from '../../engine/state.ts';
import { input, type Tensor } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';
import type { Progress } from '../../progress.ts';
import { prng } from '../../random.ts';
import type { LoadedModel, LoadOptions } from '../index.ts';
import type { LoadedVQVAE } from './codec.ts';
import { isUpsampler, lyricsIds, Prior, type PriorConfig, priorConfig, readsLabels } from './prior.ts';
import { LEVELS, type Level, levelHop } from './vqvae.ts';

/** A window's conditioning on the host: `cond` (B·3) (top; upsamplers with labels), with lyrics `text` (B·lyrics) (top), `upper` (B·T/ratio) (upsamplers). */
interface PriorInputs {
  cond?: Int32Array;
  text?: Int32Array;
  upper?: Int32Array;
}

/** Cached decoding of B rows: prefill a window, then one position at a time. */
interface CachedDecoder {
  /**
   * Logits (B, K) at position `from` (≤ T/2) of the window `ids` (B·T), whose codes before `from` are
   * sampled (the rest are placeholders, never read); the cache gets positions ≤ from.
   */
  prefill(ids: Int32Array, ctx: PriorInputs, from: number): Promise<Float32Array>;
  /** Logits (B, K) at window position `pos` (≥ 1) given `prev` (B), the codes at pos − 1; writes pos into the cache. */
  step(prev: Int32Array, pos: number): Promise<Float32Array>;
  /** Free the cache held in the runtime. */
  release(): Promise<void>;
}

export interface LoadedPrior extends LoadedModel {
  readonly cfg: Readonly<PriorConfig>;
  /** Logits (B, T, K) of B windows. */
  logits(ids: Int32Array, batch: number, ctx: PriorInputs): Promise<Float32Array>;
  /** A cached decoder for `batch` rows (absent on stand-ins: sampling then recomputes windows). */
  decoder?(batch: number): Promise<CachedDecoder>;
}

export async function loadPrior(dir: string, opts: LoadOptions = {}): Promise<LoadedPrior> {
  const ck = await loadCheckpoint<{ kind?: string; model?: Record<string, unknown> }>((await latestCheckpoint(dir))?.dir ?? dir);
  if (ck.config.kind !== 'jukebox-prior')
    throw new TonyError('checkpoint', `${ck.dir} is not a Jukebox prior (kind '${String(ck.config.kind)}')`, 'pass a tony train prior run');
  // Upsamplers saved before `labels` existed read no metadata; their configs lack the key.
  const cfg = priorConfig({ labels: ck.config.model?.level === 'top' || ck.config.model?.level === undefined, ...ck.config.model });
  const runtime = await Runtime.start({ device: opts.device, threads: opts.threads });
  await loadWeights(runtime, ck.params);
  const T = cfg.context;
  const up = isUpsampler(cfg);
  const labels = readsLabels(cfg);
  /** The window's conditioning as graph inputs, and as host feeds. */
  const ctxInputs = (B: number) => ({
    ...(up ? { upper: input('upper', [B, T / cfg.ratio], 'int64') } : {}),
    ...(labels ? { cond: input('cond', [B, 3], 'int64') } : {}),
    ...(cfg.lyrics > 0 ? { text: input('text', [B, cfg.lyrics], 'int64') } : {}),
  });
  const ctxFeeds = (B: number, ctx: PriorInputs): Record<string, HostTensor> => {
    const need = (name: 'cond' | 'upper' | 'text', n: number) => {
      const v = ctx[name];
      if (!v || v.length !== B * n)
        throw new TonyError('usage', `the ${cfg.level} prior needs ${name} ids (${B} × ${n}), got ${v?.length ?? 'none'}`);
      return hostTensor('int64', [B, n], v);
    };
    return {
      ...(up ? { upper: need('upper', T / cfg.ratio) } : {}),
      ...(labels ? { cond: need('cond', 3) } : {}),
      ...(cfg.lyrics > 0 ? { text: need('text', cfg.lyrics) } : {}),
    };
  };
  const windows = new Map<number, { session: Session; prior: Prior }>();
  const decoders = new Map<number, { prefill: Session; step: Session; prior: Prior; stateNames: string[]; cacheNames: string[] }>();
  let uid = 0;
  // A window's prefill runs only the positions up to the first one still to sample (T/2 after the
  // first window), not the whole window: half the work, since the rest are placeholders.
  const P = Math.min(T, T / 2 + 1);
  /** Prefill and step graphs for B rows; the cache and the step's other inputs live in the runtime (`stateNames`). */
  const decoderGraphs = async (B: number) => {
    let g = decoders.get(B);
    if (g) return g;
    const prior = new Prior(cfg);
    const ids = input('ids', [B, P], 'int64');
    const ctx = ctxInputs(B);
    const pre = prior.prefill(ids, ctx);
    const names = (kv: KVCache[], tag: string) =>
      Object.fromEntries(
        kv.flatMap((c, j) => [
          [`${tag}k${j}`, c.k],
          [`${tag}v${j}`, c.v],
        ]),
      );
    const preOut: Record<string, Tensor> = {
      logits: pre.logits,
      ...names(pre.kv, 'cache.'),
      ...(pre.extra ? { extra: pre.extra } : {}),
      ...(pre.lyrics ? { ...names(pre.lyrics.kv, 'lyrics.'), 'lyrics.mask': pre.lyrics.mask } : {}),
    };
    const prefill = await runtime.load(exportOnnx([ids, ...Object.values(ctx), ...prior.ps.inputs], preOut, { name: 'prior_prefill' }));
    // The step graph reads everything the prefill left in the runtime, by the same names.
    const like = (name: string) => input(name, preOut[name]!.shape, preOut[name]!.dtype);
    const kvIn = (tag: string, n: number) => Array.from({ length: n }, (_, j) => ({ k: like(`${tag}k${j}`), v: like(`${tag}v${j}`) }));
    // The caches the step reads are the window's T positions long (the prefill filled its first P).
    const full = (name: string) => {
      const [b, h, , d] = preOut[name]!.shape as [number, number, number, number];
      return input(name, [b, h, T, d], 'float32');
    };
    const cache = Array.from({ length: cfg.nLayer }, (_, j) => ({ k: full(`cache.k${j}`), v: full(`cache.v${j}`) }));
    const prev = input('prev', [B], 'int64');
    const pos = input('position', [B], 'int64'); // not 'pos': the positional table's name
    const hidden = input('hidden', [B, 1, 1, T], 'float32');
    const extra = pre.extra ? like('extra') : undefined;
    const lyrics = pre.lyrics ? { kv: kvIn('lyrics.', cfg.nLayer), mask: like('lyrics.mask') } : undefined;
    const st = prior.step(prev, pos, hidden, cache, { ...(extra ? { extra } : {}), ...(lyrics ? { lyrics } : {}) });
    const stateIns = [
      ...cache.flatMap((c) => [c.k, c.v]),
      ...(extra ? [extra] : []),
      ...(lyrics ? [...lyrics.kv.flatMap((c) => [c.k, c.v]), lyrics.mask] : []),
    ];
    // As the GPT's decode graphs (docs/results/engine.md, issue 22): the weights baked in, since a step
    // multiplies each weight by B rows only and re-laying a fed weight every call is a large share of
    // it, and one thread while its products are small.
    const step = await runtime.load(
      exportOnnx(
        [prev, pos, hidden, ...stateIns, ...prior.ps.inputs],
        { logits: st.logits, ...names(st.kv, 'new.') },
        { name: 'prior_step' },
      ),
      { bake: weightState(prior.ps), threads: decodeThreads(B, cfg.dModel, runtime.threads), arena: true },
    );
    const cacheNames = Object.keys(names(pre.kv, 'cache.'));
    g = { prefill, step, prior, stateNames: Object.keys(preOut).filter((n) => n !== 'logits'), cacheNames };
    decoders.set(B, g);
    return g;
  };
  return {
    kind: 'jukebox-prior',
    id: opts.id ?? basename(resolve(dir)),
    capabilities: ['sample-codes'],
    provider: runtime.description,
    cfg,
    async logits(ids, B, ctx) {
      let g = windows.get(B);
      if (!g) {
        const prior = new Prior(cfg);
        const idsT = input('ids', [B, T], 'int64');
        const c = ctxInputs(B);
        const logits = prior.forward(idsT, c);
        g = {
          session: await runtime.load(exportOnnx([idsT, ...Object.values(c), ...prior.ps.inputs], { logits }, { name: 'prior_window' })),
          prior,
        };
        windows.set(B, g);
      }
      const feeds = { ids: hostTensor('int64', [B, T], ids), ...ctxFeeds(B, ctx) };
      return (await runOnWeights(runtime, g.session, g.prior.ps, feeds)).logits!.data as Float32Array;
    },
    async decoder(B) {
      const g = await decoderGraphs(B);
      // State keys of this decoder alone: two samplings of one prior at once keep separate caches.
      const id = uid++;
      const state = Object.fromEntries(g.stateNames.map((n) => [n, `jukebox-prior.${id}.${n}`]));
      // The step's new keys and values go into the cache in place, at each row's position.
      const written = (p: number) =>
        Object.fromEntries(
          Array.from({ length: cfg.nLayer }, (_, j) =>
            (['k', 'v'] as const).map((kv) => [
              `new.${kv}${j}`,
              { key: state[`cache.${kv}${j}`]!, at: new Array<number>(B).fill(p), length: T },
            ]),
          ).flat(),
        );
      return {
        release: () => runtime.dropState(Object.values(state)),
        async prefill(ids, ctx, from) {
          if (!(Number.isInteger(from) && from >= 0 && from < P))
            throw new TonyError('usage', `prefill: position ${from} is past ${P - 1}`);
          const head = Int32Array.from({ length: B * P }, (_, i) => ids[Math.floor(i / P) * T + (i % P)]!);
          const feeds = { ids: hostTensor('int64', [B, P], head), ...ctxFeeds(B, ctx) };
          // The caches are written into the window-long state (zeros past P, masked until written);
          // the conditioner's and the lyrics' context replace theirs.
          const write = Object.fromEntries(g.cacheNames.map((n) => [n, { key: state[n]!, at: new Array<number>(B).fill(0), length: T }]));
          const update = Object.fromEntries(g.stateNames.filter((n) => !(n in write)).map((n) => [n, state[n]!]));
          const logits = (await runOnWeights(runtime, g.prefill, g.prior.ps, feeds, { write, update, fetch: ['logits'] })).logits!
            .data as Float32Array;
          return Float32Array.from(
            { length: B * cfg.codes },
            (_, i) => logits[(Math.floor(i / cfg.codes) * P + from) * cfg.codes + (i % cfg.codes)]!,
          );
        },
        async step(prev, p) {
          const at = new Array<number>(B).fill(p);
          const feeds = { prev: hostTensor('int64', [B], prev), position: hostTensor('int64', [B], at), hidden: decodeMask(at, T) };
          const out = await runOnWeights(runtime, g.step, g.prior.ps, feeds, { state, write: written(p), fetch: ['logits'] });
          return out.logits!.data as Float32Array;
        },
      };
    },
    close: () => runtime.close(),
  };
}

export interface SampleOptions {
  /** Codes per row to sample. */
  length: number;
  /** Rows sampled side by side. */
  batch: number;
  /** Condition ids per row, (batch · 3): the top prior, and upsamplers with labels. */
  cond?: Int32Array;
  /** Lyrics ids per row, (batch · lyrics), from `lyricsIds`: a top prior with lyrics (default: none). */
  text?: Int32Array;
  /** The level above's codes per row, each ≥ length / ratio long: upsamplers. */
  upper?: Int32Array[];
  temperature?: number;
  seed?: number;
  /** Use the KV cache when the prior has one (default true); false recomputes every window. */
  cache?: boolean;
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
  const K = cfg.codes;
  const temperature = o.temperature ?? 1;
  if (!(temperature >= 0)) throw new TonyError('usage', `temperature must be ≥ 0, got ${temperature}`);
  if (!Number.isInteger(n) || n < 1) throw new TonyError('usage', `length must be a positive integer, got ${n}`);
  if (isUpsampler(cfg)) {
    if (!o.upper || o.upper.length !== B) throw new TonyError('usage', `the ${cfg.level} upsampler needs ${B} rows of upper codes`);
    const short = o.upper.findIndex((u) => u.length * cfg.ratio < n);
    if (short >= 0)
      throw new TonyError('usage', `row ${short} has ${o.upper[short]!.length} upper codes; ${n} codes need ${Math.ceil(n / cfg.ratio)}`);
  }
  if (readsLabels(cfg) && (!o.cond || o.cond.length !== 3 * B))
    throw new TonyError('usage', `the ${cfg.level} prior needs condition ids for ${B} rows (${3 * B}), got ${o.cond?.length ?? 'none'}`);
  const noLyrics = () => Int32Array.from(Array.from({ length: B }, () => lyricsIds(undefined, cfg.lyrics)).flat());
  const text = cfg.lyrics > 0 ? (o.text ?? noLyrics()) : undefined;
  if (text && text.length !== B * cfg.lyrics) throw new TonyError('usage', `lyrics ids must be ${B} × ${cfg.lyrics}, got ${text.length}`);
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
  const dec = o.cache !== false && prior.decoder ? await prior.decoder(B) : undefined;
  let done = 0;
  const t0 = performance.now();
  /** Sample position i of the window at s for every row, from logits whose row b starts at offset(b). */
  const take = (logits: Float32Array, s: number, i: number, offset: (b: number) => number) => {
    for (let b = 0; b < B; b++) rows[b]![s + i] = draw(logits, offset(b), K, temperature, r.next());
    done++;
    const secs = (performance.now() - t0) / 1000;
    o.onProgress?.({ done: Math.min(done, n), total: n, info: { 'codes/s': ((done * B) / secs).toFixed(1) } });
  };
  try {
    for (let s = 0; s + T <= total; s += half) {
      const from = s === 0 ? 0 : half; // positions of this window still to sample
      const window = () => Int32Array.from(rows.flatMap((row) => Array.from(row.subarray(s, s + T))));
      const ctx: PriorInputs = {
        ...(upperRows
          ? { upper: Int32Array.from(upperRows.flatMap((u) => Array.from(u.subarray(s / cfg.ratio, (s + T) / cfg.ratio)))) }
          : {}),
        ...(readsLabels(cfg) ? { cond: o.cond! } : {}),
        ...(text ? { text } : {}),
      };
      if (dec) {
        // Positions ≥ from are not sampled yet (zeros): causal attention never reads them for the logits at from.
        take(await dec.prefill(window(), ctx, from), s, from, (b) => b * K);
        for (let i = from + 1; i < T; i++) {
          const prev = Int32Array.from(rows, (row) => row[s + i - 1]!);
          take(await dec.step(prev, i), s, i, (b) => b * K);
        }
      } else {
        for (let i = from; i < T; i++) take(await prior.logits(window(), B, ctx), s, i, (b) => (b * T + i) * K);
      }
    }
  } finally {
    await dec?.release();
  }
  return rows.map((row) => row.slice(0, n));
}

export interface ChainOptions {
  /** The priors, top first: `top` always, `middle` and `bottom` down to `stopAt`. */
  priors: Partial<Record<Level, LoadedPrior>>;
  /** The VQ-VAE level whose decoder turns the last codes into audio: `stopAt`'s. */
  decoder: LoadedVQVAE;
  /** Audio samples per row (at the decoder's rate). */
  samples: number;
  batch: number;
  /** Condition ids per row (batch · 3), from `conditionIds`. */
  cond: Int32Array;
  /** Lyrics ids per row (batch · lyrics), when the top prior reads lyrics. */
  text?: Int32Array;
  /** The last level sampled (default bottom); its decoder makes the audio. */
  stopAt?: Level;
  temperature?: number;
  /**
   * The upsamplers' temperature when it differs from the top prior's (default: `temperature`).
   * Small upsamplers sampled at 1 turn even a song's true upper codes into broadband noise
   * (docs/results/jukebox.md, session 4: strong-chroma frames 1 % at 1, 30 % at 0.4).
   */
  upsamplerTemperature?: number;
  seed?: number;
  cache?: boolean;
  /** Progress of each level's sampling, and when a level is done, its compute. */
  onProgress?: (level: Level, p: Progress) => void;
  onLevel?: (level: Level, r: { codes: number; seconds: number }) => void;
}

export interface ChainResult {
  /** Codes per level sampled, one row per sample. */
  codes: Partial<Record<Level, Int32Array[]>>;
  /** Audio per row, `samples` long. */
  audio: Float32Array[];
}

/**
 * Ancestral sampling, the one loop the CLI, the server and the conditioning measurement share:
 * the top prior under the conditions, then each upsampler on the codes above (and the same
 * conditions, when it reads them), down to `stopAt`,
 * then that level's decoder. Every level samples ⌈samples / hop⌉ codes per row.
 */
export async function sampleChain(o: ChainOptions): Promise<ChainResult> {
  const stopAt = o.stopAt ?? 'bottom';
  if (o.decoder.cfg.level !== stopAt)
    throw new TonyError(
      'usage',
      `the decoder is the ${o.decoder.cfg.level} level; sampling stops at ${stopAt}, whose decoder makes the audio`,
    );
  const order = [...LEVELS].reverse(); // top, middle, bottom
  const codes: Partial<Record<Level, Int32Array[]>> = {};
  let upper: Int32Array[] | undefined;
  for (const level of order.slice(0, order.indexOf(stopAt) + 1)) {
    const prior = o.priors[level];
    if (!prior) throw new TonyError('usage', `sampling down to ${stopAt} needs the ${level} prior (prior-${level}/)`);
    if (prior.cfg.level !== level) throw new TonyError('checkpoint', `the ${level} prior given is a ${prior.cfg.level} prior`);
    const t0 = performance.now();
    const length = Math.ceil(o.samples / levelHop(level));
    const temperature = level !== 'top' && o.upsamplerTemperature !== undefined ? o.upsamplerTemperature : o.temperature;
    const rows = await sampleCodes(prior, {
      length,
      batch: o.batch,
      cond: o.cond, // upsamplers without labels ignore it
      ...(upper ? { upper } : o.text ? { text: o.text } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.cache !== undefined ? { cache: o.cache } : {}),
      onProgress: (p) => o.onProgress?.(level, p),
    });
    o.onLevel?.(level, { codes: length, seconds: (performance.now() - t0) / 1000 });
    codes[level] = rows;
    upper = rows;
  }
  const audio: Float32Array[] = [];
  for (const row of upper!) audio.push((await o.decoder.decode(row)).slice(0, o.samples));
  return { codes, audio };
}
