/**
 * Jukebox's registry rows (src/models/index.ts). `vqvae`: one level of the VQ-VAE,
 * `tony train vqvae --data <music> --set level=bottom|middle|top --out runs/vq-bottom`.
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
import type { ModelKind, TrainSetup } from '../index.ts';
import { loadVQVAE } from './codec.ts';
import { type Music, readMusic, trainCrops, valCrops } from './data.ts';
import { hopOf, VQVAE, VQVAE_PRESETS, type VQVAEConfig, vqvaeConfig } from './vqvae.ts';

/** The trainer's task for one VQ-VAE level. */
export function vqvaeTask(cfg: Readonly<VQVAEConfig>, data: Music, setup: TrainSetup): TrainTask {
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
  summary: "one level of Jukebox's VQ-VAE (--set level=bottom|middle|top; a music manifest or a WAV folder)",
  capabilities: ['encode-audio', 'decode-audio'],
  config: presetConfig,
  data: (paths, cfg) => readMusic(paths, cfg.sampleRate),
  task: vqvaeTask,
  load: (dir, opts) => loadVQVAE(dir, opts),
};
