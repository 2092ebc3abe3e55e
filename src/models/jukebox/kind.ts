/**
 * Jukebox's registry rows (src/models/index.ts). `vqvae`: one level of the VQ-VAE,
 * `tony train vqvae --data <music> --level bottom|middle|top --out runs/vq-bottom`.
 *
 * Data: src/models/jukebox/data.ts (a music manifest or a WAV folder; ~10 % of songs held out).
 * Batches: random crops of `segment` samples; each training batch also carries `restart_idx`, one
 * random position of the batch's encoder outputs per code (the random restarts, drawn here so a
 * run is deterministic in its seed).
 */
import { type HostTensor, hostTensor } from '../../engine/dtype.ts';
import { input } from '../../engine/tensor.ts';
import type { TrainTask } from '../../engine/trainer.ts';
import { TonyError } from '../../errors.ts';
import { readText } from '../../io.ts';
import { prng } from '../../random.ts';
import type { ModelKind, TrainSetup } from '../index.ts';
import { loadVQVAE } from './codec.ts';
import { type Music, readMusic, trainCrops, valCrops } from './data.ts';
import type { SongCodes } from './levels.ts';
import { conditionIds, isUpsampler, lyricsIds, Prior, type PriorConfig, priorConfig, readsLabels, upperOf } from './prior.ts';
import { loadPrior } from './sample.ts';
import { hopOf, LEVELS, VQVAE, VQVAE_PRESETS, type VQVAEConfig, vqvaeConfig } from './vqvae.ts';

/** The trainer's task for one VQ-VAE level. */
function vqvaeTask(cfg: Readonly<VQVAEConfig>, data: Music, setup: TrainSetup): TrainTask {
  if (data.train.length === 0 || data.val.length === 0)
    throw new TonyError('data', `vqvae needs training and held-out songs, got ${data.train.length} and ${data.val.length}`);
  const B = setup.batch;
  const L = cfg.segment;
  const N = B * (L / hopOf(cfg)); // encoder outputs per batch
  const restarts = cfg.quantize;
  return {
    trace(mode = 'train') {
      const model = new VQVAE(cfg);
      const wav = input('wav', [B, L]);
      const idx = mode === 'train' && restarts ? input('restart_idx', [cfg.codes], 'int64') : undefined;
      const { losses, metrics } = model.objective(wav, idx);
      return { ps: model.ps, buffers: model.buffers, losses, metrics, data: idx ? [wav, idx] : [wav] };
    },
    batch(split, index): Record<string, HostTensor> {
      if (split === 'val') return { wav: hostTensor('float32', [B, L], valCrops(data.val, B, L, index).rows) };
      const { rows, rng } = trainCrops(data.train, B, L, setup.seed, index);
      const wav = hostTensor('float32', [B, L], rows);
      if (!restarts) return { wav };
      return {
        wav,
        restart_idx: hostTensor(
          'int64',
          [cfg.codes],
          Array.from({ length: cfg.codes }, () => rng.int(0, N - 1)),
        ),
      };
    },
    tokensPerStep: B * L,
    config: {
      kind: 'vqvae',
      model: { ...cfg },
      batch: B,
      seed: setup.seed,
      ...(setup.preset ? { preset: setup.preset } : {}),
      data: { train: data.train.length, val: data.val.length, val_ids: data.val.map((s) => s.id).slice(0, 200) },
    },
  };
}

/** `--set preset=tiny` picks a preset; other keys override it. */
function presetConfig(overrides: Record<string, unknown>): Readonly<VQVAEConfig> {
  const { preset, ...rest } = overrides;
  if (preset !== undefined && (typeof preset !== 'string' || !(preset in VQVAE_PRESETS)))
    throw new TonyError('config', `vqvae: unknown preset ${JSON.stringify(preset)}`, `presets: ${Object.keys(VQVAE_PRESETS).join(', ')}`);
  return vqvaeConfig({ ...(preset ? VQVAE_PRESETS[preset as string] : {}), ...rest });
}

export const vqvaeKind: ModelKind<Readonly<VQVAEConfig>, Music> = {
  name: 'vqvae',
  kind: 'vqvae',
  summary: "one level of Jukebox's VQ-VAE (--level bottom|middle|top; a music manifest or a WAV folder)",
  capabilities: ['encode-audio', 'decode-audio'],
  config: presetConfig,
  data: (paths, cfg) => readMusic(paths, cfg.sampleRate),
  task: vqvaeTask,
  load: (dir, opts) => loadVQVAE(dir, opts),
};

// ---------------------------------------------------------------------------------------------
// Priors: `tony train prior --data codes.jsonl --level top|middle|bottom`

/** A codes corpus (tony jukebox encode-corpus): one JSON object per song per line. */
export async function readCodes(paths: readonly string[]): Promise<{ train: SongCodes[]; val: SongCodes[] }> {
  const songs: SongCodes[] = [];
  for (const p of paths) {
    const lines = (await readText(p)).split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let v: SongCodes;
      try {
        v = JSON.parse(line) as SongCodes;
      } catch (err) {
        throw new TonyError('data', `${p}:${i + 1}: not JSON (${(err as Error).message})`, 'make the file with tony jukebox encode-corpus');
      }
      for (const l of LEVELS)
        if (v[l] !== undefined && !Array.isArray(v[l]))
          throw new TonyError(
            'data',
            `${p}:${i + 1}: song '${v.id}': ${l} must be a list of codes`,
            'make the file with tony jukebox encode-corpus',
          );
      if (!LEVELS.some((l) => v[l]?.length))
        throw new TonyError(
          'data',
          `${p}:${i + 1}: song '${v.id}' has no codes at any level`,
          'make the file with tony jukebox encode-corpus',
        );
      for (const l of LEVELS) v[l] ??= [];
      songs.push(v);
    });
  }
  const train = songs.filter((s) => s.split !== 'val');
  const val = songs.filter((s) => s.split === 'val');
  if (train.length === 0 || val.length === 0)
    throw new TonyError('data', `the codes corpus needs training and held-out songs, got ${train.length} and ${val.length}`);
  return { train, val };
}

export function priorTask(cfg: Readonly<PriorConfig>, data: { train: SongCodes[]; val: SongCodes[] }, setup: TrainSetup): TrainTask {
  const B = setup.batch;
  const T = cfg.context;
  const level = cfg.level;
  const up = isUpsampler(cfg);
  const labels = readsLabels(cfg);
  const r = cfg.ratio;
  for (const s of [...data.train, ...data.val]) {
    for (const l of up ? [level, upperOf(level)] : [level])
      if (s[l].length === 0)
        throw new TonyError('data', `song '${s.id}' has no ${l} codes`, `encode them: tony jukebox encode-corpus --levels ${l},…`);
    if (s[level].length < T)
      throw new TonyError(
        'data',
        `song '${s.id}' has ${s[level].length} ${level} codes, fewer than the context ${T}`,
        'lower --set context',
      );
    if (s[level].some((c) => c >= cfg.codes))
      throw new TonyError('data', `song '${s.id}' has ${level} codes ≥ codes=${cfg.codes}`, `--set codes=<the VQ-VAE's codebook size>`);
  }
  if (cfg.lyrics > 0 && !data.train.some((s) => s.lyrics))
    throw new TonyError(
      'data',
      'this prior reads lyrics (lyrics > 0) but no training song has any',
      'encode a speech corpus (tony audio corpus --kind speech), or --set lyrics=0',
    );
  /** Window [s, s + T) of a song: ids, the upper codes, condition ids (each dropped to "none" when `drop()`), and lyrics ids. */
  const window = (song: SongCodes, s: number, drop: () => boolean) => ({
    ids: song[level].slice(s, s + T),
    text: cfg.lyrics > 0 ? lyricsIds(drop() ? undefined : song.lyrics, cfg.lyrics) : [],
    upper: up ? song[upperOf(level)].slice(s / r, (s + T) / r) : [],
    cond: labels
      ? conditionIds({
          ...(song.timbre && !drop() ? { timbre: song.timbre } : {}),
          ...(song.key && !drop() ? { key: song.key } : {}),
          ...(song.tempo && !drop() ? { tempo: song.tempo } : {}),
        })
      : [],
  });
  const feeds = (ws: Array<ReturnType<typeof window>>): Record<string, HostTensor> => ({
    ids: hostTensor(
      'int64',
      [B, T],
      ws.flatMap((w) => w.ids),
    ),
    ...(up
      ? {
          upper: hostTensor(
            'int64',
            [B, T / r],
            ws.flatMap((w) => w.upper),
          ),
        }
      : {}),
    ...(labels
      ? {
          cond: hostTensor(
            'int64',
            [B, 3],
            ws.flatMap((w) => w.cond),
          ),
        }
      : {}),
    ...(cfg.lyrics > 0
      ? {
          text: hostTensor(
            'int64',
            [B, cfg.lyrics],
            ws.flatMap((w) => w.text),
          ),
        }
      : {}),
  });
  return {
    trace() {
      const prior = new Prior(cfg);
      const ids = input('ids', [B, T], 'int64');
      const upper = up ? input('upper', [B, T / r], 'int64') : undefined;
      const cond = labels ? input('cond', [B, 3], 'int64') : undefined;
      const text = cfg.lyrics > 0 ? input('text', [B, cfg.lyrics], 'int64') : undefined;
      const loss = prior.loss(ids, { ...(upper ? { upper } : {}), ...(cond ? { cond } : {}), ...(text ? { text } : {}) });
      return { ps: prior.ps, loss, data: [ids, upper, cond, text].filter((t) => t !== undefined) };
    },
    // Training: song, offset (a multiple of the ratio, so the upper codes line up) and dropped
    // conditions drawn by (seed, step). Validation: held-out songs from their middles, all conditions.
    batch(split, index) {
      if (split === 'val') {
        return feeds(
          Array.from({ length: B }, (_, j) => {
            const song = data.val[(index * B + j) % data.val.length]!;
            const s = Math.floor((song[level].length - T) / 2 / r) * r;
            return window(song, s, () => false);
          }),
        );
      }
      const g = prng(Math.imul(setup.seed + 1, 0x9e3779b1) ^ index);
      return feeds(
        Array.from({ length: B }, () => {
          const song = data.train[g.int(0, data.train.length - 1)]!;
          const s = g.int(0, Math.floor((song[level].length - T) / r)) * r;
          return window(song, s, () => g.next() < cfg.condDrop);
        }),
      );
    },
    tokensPerStep: B * T,
    config: {
      kind: 'jukebox-prior',
      model: { ...cfg },
      batch: B,
      seed: setup.seed,
      data: { train: data.train.length, val: data.val.length, val_ids: data.val.map((s) => s.id).slice(0, 200) },
    },
  };
}

export const priorKind: ModelKind<Readonly<PriorConfig>, { train: SongCodes[]; val: SongCodes[] }> = {
  name: 'prior',
  kind: 'jukebox-prior',
  summary: 'a Jukebox prior (--level top|middle|bottom; a codes corpus from tony jukebox encode-corpus)',
  capabilities: ['sample-codes'],
  config: (overrides) => priorConfig(overrides),
  data: (paths) => readCodes(paths),
  task: priorTask,
  load: (dir, opts) => loadPrior(dir, opts),
};
