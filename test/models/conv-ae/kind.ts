/**
 * The conv autoencoder's registry row (see src/models/index.ts): exported as `kinds`, the shape
 * TONY_MODEL_KINDS modules have. Data is a JSON file `{ "train": number[][], "val": number[][] }`
 * of equal-length signals.
 */
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { latestCheckpoint, loadCheckpoint } from '../../../src/engine/checkpoint.ts';
import { hostTensor } from '../../../src/engine/dtype.ts';
import { exportOnnx } from '../../../src/engine/onnx.ts';
import { Runtime } from '../../../src/engine/runtime.ts';
import { loadWeights, runOnWeights } from '../../../src/engine/state.ts';
import { input } from '../../../src/engine/tensor.ts';
import { TonyError } from '../../../src/errors.ts';
import type { LoadedModel, LoadOptions, ModelKind } from '../../../src/models/index.ts';
import { prng } from '../../../src/random.ts';
import { type AEConfig, aeConfig, ConvAutoencoder } from './autoencoder.ts';

export interface Signals {
  train: number[][];
  val: number[][];
}

/** A loaded autoencoder: reconstructs signals of the trained length. */
export interface LoadedAutoencoder extends LoadedModel {
  readonly cfg: Readonly<AEConfig>;
  reconstruct(signals: readonly (readonly number[])[]): Promise<Float32Array[]>;
}

const asBatch = (rows: readonly (readonly number[])[], length: number) => hostTensor('float32', [rows.length, 1, length], rows.flat());

export const convAeKind: ModelKind<Readonly<AEConfig>, Signals> = {
  name: 'conv-ae',
  kind: 'conv-ae',
  summary: 'a tiny 1-D conv autoencoder (test fixture)',
  capabilities: ['reconstruct'],
  config: (overrides) => aeConfig(overrides),

  async data(paths, cfg) {
    if (paths.length !== 1) throw new TonyError('usage', `conv-ae reads one JSON file of signals, got ${paths.length} --data paths`);
    const d = JSON.parse(await readFile(paths[0]!, 'utf8')) as Signals;
    for (const split of ['train', 'val'] as const) {
      const bad = d[split]?.findIndex((s) => s.length !== cfg.length);
      if (!Array.isArray(d[split]) || d[split].length === 0 || bad !== -1) {
        throw new TonyError(
          'data',
          `${paths[0]}: '${split}' must be a non-empty list of signals of length ${cfg.length}${bad !== undefined && bad >= 0 ? ` (signal ${bad} is not)` : ''}`,
        );
      }
    }
    return d;
  },

  task(cfg, data, setup) {
    return {
      trace() {
        const ae = new ConvAutoencoder(cfg);
        const x = input('x', [setup.batch, 1, cfg.length]);
        return { ps: ae.ps, loss: ae.loss(x), data: [x] };
      },
      // Training: `batch` signals drawn by (seed, step). Validation: the val split in order,
      // wrapping around, so `k` batches of a split of k·batch signals cover it exactly once.
      batch(split, index) {
        if (split === 'val')
          return {
            x: asBatch(
              Array.from({ length: setup.batch }, (_, j) => data.val[(index * setup.batch + j) % data.val.length]!),
              cfg.length,
            ),
          };
        const r = prng(Math.imul(setup.seed + 1, 0x9e3779b1) ^ index);
        return {
          x: asBatch(
            Array.from({ length: setup.batch }, () => data.train[r.int(0, data.train.length - 1)]!),
            cfg.length,
          ),
        };
      },
      tokensPerStep: setup.batch,
      config: { kind: 'conv-ae', model: { ...cfg }, batch: setup.batch, seed: setup.seed },
    };
  },

  async load(dir: string, opts: LoadOptions = {}): Promise<LoadedAutoencoder> {
    const ck = await loadCheckpoint<{ kind?: string; model?: Record<string, unknown> }>((await latestCheckpoint(dir))?.dir ?? dir);
    if (ck.config.kind !== 'conv-ae')
      throw new TonyError('checkpoint', `${ck.dir} is not a conv-ae checkpoint (kind '${String(ck.config.kind)}')`);
    const cfg = aeConfig(ck.config.model);
    const runtime = await Runtime.start({ device: opts.device, threads: opts.threads });
    await loadWeights(runtime, ck.params);
    return {
      kind: 'conv-ae',
      id: opts.id ?? basename(resolve(dir)),
      capabilities: ['reconstruct'],
      provider: runtime.description,
      cfg,
      async reconstruct(signals) {
        const ae = new ConvAutoencoder(cfg);
        const x = input('x', [signals.length, 1, cfg.length]);
        const model = exportOnnx([x, ...ae.ps.inputs], { y: ae.forward(x) }, { name: 'conv_ae_forward' });
        const y = (await runOnWeights(runtime, model, ae.ps, { x: asBatch(signals, cfg.length) })).y!.data as Float32Array;
        return signals.map((_, i) => y.slice(i * cfg.length, (i + 1) * cfg.length));
      },
      close: () => runtime.close(),
    };
  },
};

export const kinds = [convAeKind];
