/**
 * Shap-E's registry row (src/models/index.ts):
 *
 *   tony shapes generate --count 2000 --points 2048 --out data/shapes
 *   tony train shape-e --stage encoder --data data/shapes --out runs/shape-e-encoder
 *   tony train shape-e --stage diffusion --data data/shapes --set encoder=runs/shape-e-encoder --out runs/shape-e
 *
 * The diffusion stage's data reader encodes every cloud with the named encoder run first (task.ts).
 */
import { resolve } from 'node:path';
import { TonyError } from '../../errors.ts';
import type { ModelKind } from '../index.ts';
import { loadShapeE } from './model.ts';
import { SHAPEE_PRESETS, type ShapeEConfig, shapeEConfig } from './shape-e.ts';
import { diffusionTask, encoderTask, fieldViews, type LatentData, readShapeE, type ShapeEData, vocabularyOf } from './task.ts';

/** The diffusion stage's data: the shapes read as the encoder's, each cloud encoded once by the encoder run `encoder` names. */
async function readLatents(paths: readonly string[], cfg: Readonly<ShapeEConfig>): Promise<LatentData> {
  if (!cfg.encoder)
    throw new TonyError('usage', 'the diffusion stage needs an encoder run', '--set encoder=<run of tony train shape-e --stage encoder>');
  const shapes = await readShapeE(paths, cfg);
  const m = await loadShapeE(resolve(cfg.encoder), { threads: 1 });
  try {
    if (m.cfg.points !== cfg.points || m.latentSize !== cfg.metaLayers * cfg.hidden * cfg.latentWidth)
      throw new TonyError(
        'config',
        `shape-e: the encoder reads ${m.cfg.points} points and makes ${m.latentSize}-number latents; this config says ${cfg.points} and ${cfg.metaLayers * cfg.hidden * cfg.latentWidth}`,
        'use the same preset and --set keys as the encoder run',
      );
    const encodeAll = async (xs: ShapeEData['train']) => {
      const out = [];
      for (const x of xs) {
        const xyz = new Float32Array(x.cloud.length / 2);
        const rgb = new Float32Array(x.cloud.length / 2);
        for (let i = 0; i < xyz.length / 3; i++)
          for (let k = 0; k < 3; k++) {
            xyz[3 * i + k] = x.cloud[6 * i + k]!;
            rgb[3 * i + k] = (x.cloud[6 * i + 3 + k]! + 1) / 2;
          }
        const views = m.cfg.inputViews > 0 ? fieldViews(m.cfg, x.field) : undefined;
        out.push({ id: x.id, caption: x.caption, scene: x.scene, latent: await m.encode({ xyz, rgb }, views) });
      }
      return out;
    };
    const train = await encodeAll(shapes.train);
    const val = await encodeAll(shapes.val);
    const vocab = vocabularyOf([...train, ...val]);
    return { train, val, vocab, notes: [...shapes.notes, `encoded by ${cfg.encoder}; ${vocab.length} caption words`] };
  } finally {
    await m.close();
  }
}

export const shapeEKind: ModelKind<Readonly<ShapeEConfig>, ShapeEData | LatentData> = {
  name: 'shape-e',
  kind: 'shape-e',
  summary:
    'Shap-E: --stage encoder (cloud → latent implicit function: SDF, density, colour) or --stage diffusion (caption → latent); data: a `tony shapes generate` folder',
  capabilities: ['generate-shape'],
  config: (overrides) => {
    const { preset, ...rest } = overrides;
    if (preset !== undefined && (typeof preset !== 'string' || !(preset in SHAPEE_PRESETS)))
      throw new TonyError(
        'config',
        `shape-e: unknown preset ${JSON.stringify(preset)}`,
        `presets: ${Object.keys(SHAPEE_PRESETS).join(', ')}`,
      );
    const cfg = shapeEConfig({ ...(preset ? SHAPEE_PRESETS[preset as string] : {}), ...rest });
    // the encoder's and init's paths are stored absolute, so the run can be read from anywhere
    return Object.freeze({ ...cfg, encoder: cfg.encoder && resolve(cfg.encoder), init: cfg.init && resolve(cfg.init) });
  },
  data: (paths, cfg) => (cfg.stage === 'encoder' ? readShapeE(paths, cfg) : readLatents(paths, cfg)),
  task: (cfg, data, setup) =>
    cfg.stage === 'encoder' ? encoderTask(cfg, data as ShapeEData, setup) : diffusionTask(cfg, data as LatentData, setup),
  load: (dir, opts) => loadShapeE(dir, opts),
};
