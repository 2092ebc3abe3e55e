/**
 * A trained VQ-VAE level as an audio tokenizer: waveform ↔ code ids. This is the library API other
 * models reuse (the omni model's audio tokens): nothing in it knows about priors or the CLI.
 *
 *   const bottom = await loadVQVAE('models/jukebox/bottom', { threads: 2 });
 *   const ids = await bottom.encode(samples);   // Int32Array, ⌈samples.length / 8⌉ codes
 *   const wav = await bottom.decode(ids);       // Float32Array, ids.length · 8 samples
 *   await bottom.close();
 *
 * A signal is encoded in one pass (the convolutions see the whole of it), zero-padded at the end
 * to a multiple of the hop: `encode` gives exactly ⌈L / hop⌉ codes — sampleRate/hop per second.
 */
import { basename, resolve } from 'node:path';
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import { hostTensor } from '../../engine/dtype.ts';
import { exportOnnx } from '../../engine/onnx.ts';
import { Runtime, type Session } from '../../engine/runtime.ts';
import { loadWeights, runOnWeights } from '../../engine/state.ts';
import { input } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';
import type { LoadedModel, LoadOptions } from '../index.ts';
import { hopOf, VQVAE, type VQVAEConfig, vqvaeConfig } from './vqvae.ts';

export interface LoadedVQVAE extends LoadedModel {
  readonly cfg: Readonly<VQVAEConfig>;
  /** Samples per code. */
  readonly hop: number;
  /** Waveform at cfg.sampleRate → ⌈length / hop⌉ code ids. */
  encode(samples: Float32Array): Promise<Int32Array>;
  /** Code ids → ids.length · hop samples. */
  decode(ids: Int32Array): Promise<Float32Array>;
}

/** Graphs kept per (direction, length): a handful of distinct lengths are what callers use. */
const GRAPH_CACHE = 8;

/** Load one VQ-VAE level (a run directory or an exported model) as a tokenizer. */
export async function loadVQVAE(dir: string, opts: LoadOptions = {}): Promise<LoadedVQVAE> {
  const ck = await loadCheckpoint<{ kind?: string; model?: Record<string, unknown> }>((await latestCheckpoint(dir))?.dir ?? dir);
  if (ck.config.kind !== 'vqvae')
    throw new TonyError(
      'checkpoint',
      `${ck.dir} is not a VQ-VAE checkpoint (kind '${String(ck.config.kind)}')`,
      'pass a tony train vqvae run',
    );
  const cfg = vqvaeConfig(ck.config.model);
  if (!cfg.quantize)
    throw new TonyError(
      'checkpoint',
      `${ck.dir} was trained without quantization (an ablation): it has no codes`,
      'pass a quantized level',
    );
  const hop = hopOf(cfg);
  const runtime = await Runtime.start({ device: opts.device, threads: opts.threads });
  await loadWeights(runtime, ck.params);
  const sessions = new Map<string, { session: Session; model: VQVAE }>();
  const graph = async (key: string, build: (m: VQVAE) => Parameters<typeof exportOnnx>) => {
    let g = sessions.get(key);
    if (!g) {
      const model = new VQVAE(cfg);
      g = { session: await runtime.load(exportOnnx(...build(model))), model };
      if (sessions.size >= GRAPH_CACHE) sessions.delete(sessions.keys().next().value!);
      sessions.set(key, g);
    }
    return g;
  };
  return {
    kind: 'vqvae',
    id: opts.id ?? basename(resolve(dir)),
    capabilities: ['encode-audio', 'decode-audio'],
    provider: runtime.description,
    cfg,
    hop,
    async encode(samples) {
      const n = Math.max(1, Math.ceil(samples.length / hop));
      const g = await graph(`enc:${n}`, (m) => {
        const x = input('x', [1, n * hop]);
        const ids = m.codes(x); // traced first: it declares the codebook buffer
        return [[x, ...m.ps.inputs, ...m.buffers.inputs], { ids }, { name: 'vqvae_encode' }];
      });
      const x = new Float32Array(n * hop);
      x.set(samples.subarray(0, n * hop));
      const out = await runOnWeights(runtime, g.session, g.model, { x: hostTensor('float32', [1, n * hop], x) });
      return Int32Array.from(out.ids!.data as BigInt64Array, Number);
    },
    async decode(ids) {
      if (ids.length === 0) return new Float32Array(0);
      const bad = ids.findIndex((i) => !(i >= 0 && i < cfg.codes));
      if (bad >= 0) throw new TonyError('data', `code ${bad} is ${ids[bad]}, outside this codebook's 0 … ${cfg.codes - 1}`);
      const g = await graph(`dec:${ids.length}`, (m) => {
        const t = input('ids', [1, ids.length], 'int64');
        const wav = m.decodeCodes(t);
        return [[t, ...m.ps.inputs, ...m.buffers.inputs], { wav }, { name: 'vqvae_decode' }];
      });
      const out = await runOnWeights(runtime, g.session, g.model, { ids: hostTensor('int64', [1, ids.length], ids) });
      return out.wav!.data as Float32Array;
    },
    close: () => runtime.close(),
  };
}
