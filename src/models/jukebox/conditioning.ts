/**
 * Does the conditioning work? (Beyond the paper, which measures no such thing.) Ask the top prior
 * for n (key, tempo, timbre) requests, decode each sample with the top level's own decoder (or,
 * with `chain`, sample on through both upsamplers and decode with the bottom level), and
 * estimate its key and tempo (src/audio/estimate.ts); do the same with every condition "none" —
 * the unconditioned baseline, scored against the same requests. Upsamplers trained with labels
 * get the same conditions (or "none") as the top prior; the chain costs far more to sample here
 * but decodes through the level that reconstructs best (see `judgeReconstructions`, the ceiling).
 *
 * Agreement: the key exactly (tonic and mode), the key up to its relative major/minor (same
 * notes), the tempo within 8 %, and within 8 % of a metrical level (½, ⅔, 1, 3⁄2, 2×).
 */
import { estimateKey, estimateTempo, keyName, parseKey } from '../../audio/estimate.ts';
import { TIMBRES } from '../../audio/music.ts';
import { TonyError } from '../../errors.ts';
import type { Progress } from '../../progress.ts';
import { prng } from '../../random.ts';
import type { LoadedVQVAE } from './codec.ts';
import type { Song } from './data.ts';
import type { SongCodes } from './levels.ts';
import { conditionIds, isUpsampler, lyricsIds, readsLabels, upperOf } from './prior.ts';
import { type LoadedPrior, sampleChain } from './sample.ts';
import type { Level } from './vqvae.ts';

export interface Request {
  key: string;
  tempo: number;
  timbre: string;
}

export interface Judged {
  request: Request;
  conditioned: boolean;
  key: string;
  bpm: number;
  keyExact: boolean;
  keyRelative: boolean;
  tempoClose: boolean;
  tempoMetrical: boolean;
}

/** Tempo agreement tolerance: 8 % (the tempo tables' buckets are 5 bpm, ±4 % at 120 bpm). */
const TEMPO_TOLERANCE = 0.08;
const METRICAL = [0.5, 2 / 3, 1, 1.5, 2];

/** n requests: keys, tempos in the corpus's 70–150 bpm, timbres — deterministic in seed. */
export function drawRequests(n: number, seed: number): Request[] {
  const r = prng(seed);
  const tonics = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];
  return Array.from({ length: n }, () => ({
    key: `${r.pick(tonics)} ${r.next() < 0.5 ? 'major' : 'minor'}`,
    tempo: r.int(70, 150),
    timbre: r.pick(TIMBRES),
  }));
}

/** Judge one audio sample against a request. */
export function judge(x: Float32Array, sampleRate: number, request: Request, conditioned: boolean): Judged {
  const k = estimateKey(x, sampleRate);
  const want = parseKey(request.key);
  const rel = want.mode === 'major' ? { tonic: (want.tonic + 9) % 12, mode: 'minor' } : { tonic: (want.tonic + 3) % 12, mode: 'major' };
  const keyExact = k.tonic === want.tonic && k.mode === want.mode;
  const { bpm } = estimateTempo(x, sampleRate);
  const ratio = bpm / request.tempo;
  return {
    request,
    conditioned,
    key: keyName(k),
    bpm,
    keyExact,
    keyRelative: keyExact || (k.tonic === rel.tonic && k.mode === rel.mode),
    tempoClose: Math.abs(ratio - 1) <= TEMPO_TOLERANCE,
    tempoMetrical: METRICAL.some((m) => Math.abs(ratio / m - 1) <= TEMPO_TOLERANCE),
  };
}

export interface ConditioningResult {
  judged: Judged[];
  /** Rates per arm. */
  summary: Record<'conditioned' | 'unconditioned', { keyExact: number; keyRelative: number; tempoClose: number; tempoMetrical: number }>;
  /** Audio of each sample (conditioned first), for listening. */
  audio: Float32Array[];
  /** Seconds of compute for the codes of all samples and their decoding. */
  sampleSeconds: number;
}

/** Sample `requests` with and without conditions and judge every sample. */
export async function measureConditioning(
  prior: LoadedPrior,
  top: LoadedVQVAE,
  requests: readonly Request[],
  o: {
    seconds: number;
    temperature?: number;
    /** The upsamplers' temperature (chain only; default: temperature). */
    upsamplerTemperature?: number;
    seed?: number;
    onProgress?: (p: Progress) => void;
    /** Sample on through the upsamplers and decode with the bottom level instead of the top one. */
    chain?: { middle: LoadedPrior; bottom: LoadedPrior; decoder: LoadedVQVAE };
  },
): Promise<ConditioningResult> {
  const sr = top.cfg.sampleRate;
  const cond = Int32Array.from([
    ...requests.flatMap((q) => conditionIds(q)),
    ...requests.flatMap(() => [0, 0, 0]), // the baseline: every condition "none"
  ]);
  const t0 = performance.now();
  const { audio } = await sampleChain({
    priors: { top: prior, ...(o.chain ? { middle: o.chain.middle, bottom: o.chain.bottom } : {}) },
    decoder: o.chain ? o.chain.decoder : top,
    stopAt: o.chain ? 'bottom' : 'top',
    samples: Math.round(o.seconds * sr),
    batch: 2 * requests.length,
    cond,
    temperature: o.temperature ?? 1,
    ...(o.upsamplerTemperature !== undefined ? { upsamplerTemperature: o.upsamplerTemperature } : {}),
    seed: o.seed ?? 0,
    ...(o.onProgress ? { onProgress: (_level: Level, p: Progress) => o.onProgress!(p) } : {}),
  });
  const sampleSeconds = (performance.now() - t0) / 1000;
  const judged = audio.map((x, i) => judge(x, sr, requests[i % requests.length]!, i < requests.length));
  const rate = (arm: boolean, f: keyof Pick<Judged, 'keyExact' | 'keyRelative' | 'tempoClose' | 'tempoMetrical'>) => {
    const js = judged.filter((j) => j.conditioned === arm);
    return js.filter((j) => j[f]).length / js.length;
  };
  const arm = (a: boolean) => ({
    keyExact: rate(a, 'keyExact'),
    keyRelative: rate(a, 'keyRelative'),
    tempoClose: rate(a, 'tempoClose'),
    tempoMetrical: rate(a, 'tempoMetrical'),
  });
  return { judged, summary: { conditioned: arm(true), unconditioned: arm(false) }, audio, sampleSeconds };
}

/**
 * The measurement's ceiling: held-out songs through one VQ-VAE level (encode → decode), judged
 * against their own metadata. If the estimators cannot read key and tempo from a level's
 * reconstructions of real music, they cannot read them from that level's samples either.
 */
export async function judgeReconstructions(level: LoadedVQVAE, songs: readonly Song[], seconds: number): Promise<Judged[]> {
  const out: Judged[] = [];
  for (const s of songs) {
    if (!s.key || !s.tempo) continue;
    const x = s.samples.subarray(0, Math.round(seconds * level.cfg.sampleRate));
    const y = (await level.decode(await level.encode(x))).slice(0, x.length);
    out.push(judge(y, level.cfg.sampleRate, { key: s.key, tempo: s.tempo, timbre: s.timbre ?? '' }, true));
  }
  return out;
}

/** Agreement rates of judged samples. */
export function rates(js: readonly Judged[]) {
  const r = (f: (j: Judged) => boolean) => (js.length ? js.filter(f).length / js.length : Number.NaN);
  return {
    n: js.length,
    keyExact: r((j) => j.keyExact),
    keyRelative: r((j) => j.keyRelative),
    tempoClose: r((j) => j.tempoClose),
    tempoMetrical: r((j) => j.tempoMetrical),
  };
}

/** Mean NLL (nats per code) of held-out codes of the prior's level under one way of conditioning them. */
export interface NllArms {
  /** Songs, and windows over all of them. */
  n: number;
  windows: number;
  /** Each song with its own conditions (or lyrics). */
  conditioned: number;
  /** Every condition "none" (no lyrics). */
  unconditioned: number;
  /** Each song with another held-out song's conditions (or lyrics): song i takes song i + ⌊n/2⌋'s. */
  shuffled: number;
  /** Per song, for paired comparisons. */
  perSong: Array<{ id: string; conditioned: number; unconditioned: number; shuffled: number }>;
  /**
   * Without lyrics: the same with only one condition taken from the other song (the rest the
   * song's own) — which of timbre, key and tempo the prior reads. Per song, like `perSong`.
   */
  oneShuffled?: Record<'timbre' | 'key' | 'tempo', number[]>;
}

/**
 * How much a prior uses its conditions: mean NLL (nats per code) of held-out songs' codes of its
 * level — every whole window of T codes (windows start every T codes; an upsampler also reads the
 * upper codes over the same time, the same in every arm) — given their true
 * conditions, given "none", and given another song's. For a prior with lyrics the lyrics are what
 * varies (the metadata stays each song's own); otherwise timbre, key and tempo. A prior that
 * ignores its conditions scores the same three times; one that uses them scores the right ones
 * lowest, and the shuffled ones worst when a wrong condition misleads it.
 */
export async function conditionalNll(prior: LoadedPrior, songs: readonly SongCodes[]): Promise<NllArms> {
  const T = prior.cfg.context;
  const K = prior.cfg.codes;
  const S = prior.cfg.lyrics;
  const level = prior.cfg.level;
  const up = isUpsampler(prior.cfg);
  if (!readsLabels(prior.cfg))
    throw new TonyError('usage', `this ${level} upsampler reads no conditions (labels=false): there is nothing to measure`);
  const usable = songs.filter((s) => s[level].length >= T && (!up || s[upperOf(level)].length * prior.cfg.ratio >= T));
  if (usable.length === 0)
    throw new TonyError('data', `no held-out song has ${T} ${level} codes${up ? ` and the ${upperOf(level)} codes above them` : ''}`);
  if (S > 0 && usable.some((s) => !s.lyrics)) throw new TonyError('data', 'this prior reads lyrics: every held-out song needs them');
  const own = (s: SongCodes) => conditionIds({ timbre: s.timbre, key: s.key, tempo: s.tempo });
  /** Mean NLL of one song's windows with condition ids `cond` and lyrics `text`. */
  const nll = async (song: SongCodes, cond: number[], text: string | undefined) => {
    const upper = song[upperOf(level)];
    const W = Math.floor(Math.min(song[level].length, up ? upper.length * prior.cfg.ratio : Infinity) / T);
    const ids = Int32Array.from(song[level].slice(0, W * T));
    const ctx = {
      cond: Int32Array.from(Array.from({ length: W }, () => cond).flat()),
      ...(up ? { upper: Int32Array.from(upper.slice(0, (W * T) / prior.cfg.ratio)) } : {}),
      ...(S > 0 ? { text: Int32Array.from(Array.from({ length: W }, () => lyricsIds(text, S)).flat()) } : {}),
    };
    const logits = await prior.logits(ids, W, ctx);
    let total = 0;
    for (let r = 0; r < W * T; r++) {
      let max = -Infinity;
      for (let k = 0; k < K; k++) max = Math.max(max, logits[r * K + k]!);
      let z = 0;
      for (let k = 0; k < K; k++) z += Math.exp(logits[r * K + k]! - max);
      total += max + Math.log(z) - logits[r * K + ids[r]!]!;
    }
    return { total, codes: W * T };
  };
  const n = usable.length;
  const sums = { conditioned: 0, unconditioned: 0, shuffled: 0, codes: 0 };
  const perSong: NllArms['perSong'] = [];
  const oneShuffled: Required<NllArms>['oneShuffled'] = { timbre: [], key: [], tempo: [] };
  for (const [i, s] of usable.entries()) {
    const other = usable[(i + Math.floor(n / 2)) % n]!;
    const arms =
      S > 0
        ? { conditioned: [own(s), s.lyrics], unconditioned: [own(s), undefined], shuffled: [own(s), other.lyrics] }
        : { conditioned: [own(s), undefined], unconditioned: [conditionIds({}), undefined], shuffled: [own(other), undefined] };
    const row = { id: s.id, conditioned: 0, unconditioned: 0, shuffled: 0 };
    for (const arm of ['conditioned', 'unconditioned', 'shuffled'] as const) {
      const [cond, text] = arms[arm] as [number[], string | undefined];
      const r = await nll(s, cond, text);
      sums[arm] += r.total;
      row[arm] = r.total / r.codes;
      if (arm === 'conditioned') sums.codes += r.codes;
    }
    perSong.push(row);
    if (S === 0) {
      const mine = own(s);
      const theirs = own(other);
      for (const [c, name] of (['timbre', 'key', 'tempo'] as const).entries()) {
        const mixed = mine.map((v, j) => (j === c ? theirs[j]! : v));
        const r = await nll(s, mixed, undefined);
        oneShuffled[name].push(r.total / r.codes);
      }
    }
  }
  return {
    n,
    windows: sums.codes / T,
    conditioned: sums.conditioned / sums.codes,
    unconditioned: sums.unconditioned / sums.codes,
    shuffled: sums.shuffled / sums.codes,
    perSong,
    ...(S === 0 ? { oneShuffled } : {}),
  };
}
