/**
 * The paper's reconstruction measure for a VQ-VAE level: spectral convergence ‖|S| − |Ŝ|‖_F / ‖|S|‖_F
 * in dB (lower is better) of whole held-out songs through encoder → codebook → decoder (or without
 * the codebook, for the "no quantization" ablation). The STFT is src/audio's (an FFT, not the
 * training graph's), at the largest of the paper's three settings scaled to the sample rate.
 */
import { spectralConvergence, toDb } from '../../audio/metrics.ts';
import { magnitude, stft } from '../../audio/stft.ts';
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import { hostTensor } from '../../engine/dtype.ts';
import { exportOnnx } from '../../engine/onnx.ts';
import { Runtime } from '../../engine/runtime.ts';
import { loadWeights, runOnWeights } from '../../engine/state.ts';
import { input } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';
import type { Progress } from '../../progress.ts';
import type { Song } from './data.ts';
import { hopOf, quantize, spectralResolutions, VQVAE, vqvaeConfig } from './vqvae.ts';

export interface ReconstructionScore {
  /** Mean over songs of SC in dB. */
  scDb: number;
  /** Per song. */
  songs: Array<{ id: string; scDb: number }>;
  step: number;
  level: string;
}

/** Score a VQ-VAE run (or model directory) on `songs`: SC (dB) of each reconstruction. */
export async function scoreReconstruction(
  dir: string,
  songs: readonly Song[],
  opts: { threads?: number; onProgress?: (p: Progress) => void } = {},
): Promise<ReconstructionScore> {
  if (songs.length === 0) throw new TonyError('data', 'no held-out songs to score', 'pass a dataset with more than one song');
  const ck = await loadCheckpoint<{ kind?: string; model?: Record<string, unknown> }, { step?: number }>(
    (await latestCheckpoint(dir))?.dir ?? dir,
  );
  if (ck.config.kind !== 'vqvae') throw new TonyError('checkpoint', `${ck.dir} is not a VQ-VAE checkpoint`);
  const cfg = vqvaeConfig(ck.config.model);
  const hop = hopOf(cfg);
  const stftOpts = { ...spectralResolutions(cfg.sampleRate)[0]!, center: true };
  const rt = await Runtime.start({ threads: opts.threads });
  try {
    await loadWeights(rt, ck.params);
    const out: ReconstructionScore['songs'] = [];
    for (const [i, song] of songs.entries()) {
      const L = Math.ceil(song.samples.length / hop) * hop;
      const m = new VQVAE(cfg);
      const x = input('x', [1, L]);
      const z = m.encode(x);
      const xhat = m.decoder.forward(cfg.quantize ? quantize(cfg, m.buffers, z).zq : z); // (1, 1, L)
      const graph = exportOnnx([x, ...m.ps.inputs, ...m.buffers.inputs], { xhat }, { name: 'vqvae_reconstruct' });
      const padded = new Float32Array(L);
      padded.set(song.samples);
      const y = (await runOnWeights(rt, graph, { ps: m.ps, buffers: m.buffers }, { x: hostTensor('float32', [1, L], padded) })).xhat!
        .data as Float32Array;
      const ref = magnitude(stft(song.samples, stftOpts));
      const est = magnitude(stft(y.subarray(0, song.samples.length), stftOpts));
      out.push({ id: song.id, scDb: toDb(spectralConvergence(ref, est)) });
      opts.onProgress?.({ done: i + 1, total: songs.length });
    }
    return { scDb: out.reduce((a, s) => a + s.scDb, 0) / out.length, songs: out, step: Number(ck.state.step ?? 0), level: cfg.level };
  } finally {
    await rt.close();
  }
}
