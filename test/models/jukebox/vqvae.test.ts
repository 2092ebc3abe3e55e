/**
 * Jukebox's VQ-VAE level (src/models/jukebox/vqvae.ts), against independent oracles:
 *  - token rates: the codec gives exactly ⌈L/8⌉, ⌈L/32⌉, ⌈L/128⌉ codes — sr/8, sr/32, sr/128 a second;
 *  - the EMA codebook update with initialisation and random restarts, computed by hand in float64
 *    (the rule of the paper and its official code) against the graph in the reference interpreter;
 *  - the multi-resolution spectral loss against src/audio's STFT (an FFT, not the graph's DFT kernels);
 *  - the gradient of the unquantised objective against central finite differences;
 *  - the STFT settings scaled to 8 kHz, computed by hand from the paper's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { magnitude, stft } from '../../../src/audio/stft.ts';
import { grad } from '../../../src/engine/autodiff.ts';
import { saveCheckpoint } from '../../../src/engine/checkpoint.ts';
import { type HostTensor, hostTensor, toNumbers } from '../../../src/engine/dtype.ts';
import { interpret } from '../../../src/engine/interpret.ts';
import { exportOnnx } from '../../../src/engine/onnx.ts';
import { Runtime } from '../../../src/engine/runtime.ts';
import { BufferSet } from '../../../src/engine/state.ts';
import { objective } from '../../../src/engine/step.ts';
import { input } from '../../../src/engine/tensor.ts';
import { TonyError } from '../../../src/errors.ts';
import { loadVQVAE } from '../../../src/models/jukebox/codec.ts';
import { LEVELS, quantize, spectralLoss, spectralResolutions, VQVAE, vqvaeConfig } from '../../../src/models/jukebox/vqvae.ts';
import { prng } from '../../../src/random.ts';

const TINY = { width: 4, depth: 1, codes: 8, codeWidth: 3, segment: 512 };

let dir: string;
let rt: Runtime;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-vqvae-'));
  rt = await Runtime.start({ threads: 1 });
});
afterAll(async () => {
  await rt.close();
  await rm(dir, { recursive: true, force: true });
});

describe('config', () => {
  it('scales the paper STFT settings to the sample rate (by hand: ×8000/44100, n_fft to a power of two)', () => {
    // window 1200·0.18141 = 217.7, hop 240·0.18141 = 43.5, n_fft ≥ max(218, 2048·0.18141 = 371.5) → 512; and so on
    expect(spectralResolutions(8000)).toEqual([
      { nFft: 512, hop: 44, winLength: 218 },
      { nFft: 256, hop: 22, winLength: 109 },
      { nFft: 128, hop: 9, winLength: 44 },
    ]);
    // at the paper's rate, the paper's own numbers (n_fft as given)
    expect(spectralResolutions(44100)).toEqual([
      { nFft: 2048, hop: 240, winLength: 1200 },
      { nFft: 1024, hop: 120, winLength: 600 },
      { nFft: 512, hop: 50, winLength: 240 },
    ]);
  });

  it('rejects a bad level and a segment that is not a multiple of the hop, naming them', () => {
    expect(() => vqvaeConfig({ level: 'upper' })).toThrow(/level must be bottom, middle or top, got "upper"/);
    expect(() => vqvaeConfig({ level: 'top', segment: 1000 })).toThrow(/segment 1000 is not a multiple of the top hop 128/);
    expect(() => vqvaeConfig({ decay: 1 })).toThrow(TonyError);
    expect(() => vqvaeConfig({ segment: 256 })).toThrow(
      /segment 256 is too short for the spectral loss's widest STFT \(n_fft 512 at 8000 Hz\)/,
    );
    expect(() => vqvaeConfig({ codez: 3 })).toThrow(/unknown vqvae config key 'codez'/);
  });
});

describe('token rates', () => {
  it('encodes exactly sr/8, sr/32 and sr/128 codes a second, and decodes hop samples a code', async () => {
    const sr = 8000;
    const r = prng(3);
    const twoSeconds = Float32Array.from({ length: 2 * sr }, (_, i) => 0.5 * Math.sin(0.07 * i) + 0.05 * r.normal());
    for (const level of LEVELS) {
      const cfg = vqvaeConfig({ ...TINY, level, sampleRate: sr });
      const m = new VQVAE(cfg);
      m.objective(input('wav', [1, cfg.segment]), input('restart_idx', [cfg.codes], 'int64')); // declares every weight and buffer
      const d = join(dir, `rate-${level}`);
      await saveCheckpoint(d, {
        config: { kind: 'vqvae', model: { ...cfg } },
        state: { step: 0 },
        params: { ...m.ps.initialize(1), ...m.buffers.initialize(1) },
      });
      const codec = await loadVQVAE(d, { threads: 1 });
      try {
        const hop = { bottom: 8, middle: 32, top: 128 }[level];
        const ids = await codec.encode(twoSeconds);
        expect(ids.length, level).toBe((2 * sr) / hop); // 2000, 500, 125
        expect(ids.every((i) => i >= 0 && i < cfg.codes)).toBe(true);
        // a length that is not a multiple of the hop is padded: ⌈L / hop⌉ codes
        expect((await codec.encode(twoSeconds.subarray(0, 1001))).length).toBe(Math.ceil(1001 / hop));
        expect((await codec.decode(ids)).length).toBe(2 * sr);
        await expect(codec.decode(Int32Array.from([0, cfg.codes]))).rejects.toThrow(/code 1 is 8, outside this codebook's 0 … 7/);
      } finally {
        await codec.close();
      }
    }
  });
});

describe('EMA codebook with initialisation from encoder outputs and random restarts', () => {
  // Constants exact in float32 (the engine bakes number constants as float32 even in float64 graphs).
  const cfg = vqvaeConfig({ ...TINY, codes: 4, codeWidth: 2, decay: 0.75, threshold: 1 });
  const [B, D, Tn, K] = [2, 2, 3, 4];
  const N = B * Tn;
  const r = prng(11);
  const z = Float64Array.from({ length: B * D * Tn }, () => r.normal()); // (B, D, T)
  const zf = (n: number, d: number) => z[Math.floor(n / Tn) * D * Tn + d * Tn + (n % Tn)]!; // row n = b·T + t
  const restart = [5, 0, 3, 3];

  function trace(restarts: boolean) {
    const c = vqvaeConfig({ ...cfg, restarts });
    const buffers = new BufferSet();
    const zt = input('z', [B, D, Tn]);
    const idx = input('restart_idx', [K], 'int64');
    const q = quantize(c, buffers, zt, idx);
    const names = ['vq.codebook', 'vq.usage', 'vq.sums', 'vq.inited'];
    return { outs: [q.ids, ...names.map((n) => buffers.updates.get(n)!)], q };
  }

  /** The paper's rule, by hand. */
  function oracle(state: { codebook: number[]; usage: number[]; sums: number[]; inited: number }, restarts: boolean) {
    const rand = (k: number, d: number) => zf(restart[k]!, d);
    const e = (k: number, d: number) => (state.inited ? state.codebook[k * D + d]! : rand(k, d));
    const u0 = (k: number) => (state.inited ? state.usage[k]! : 1);
    const s0 = (k: number, d: number) => (state.inited ? state.sums[k * D + d]! : rand(k, d));
    const ids = Array.from({ length: N }, (_, n) => {
      const dist = Array.from({ length: K }, (_, k) => (zf(n, 0) - e(k, 0)) ** 2 + (zf(n, 1) - e(k, 1)) ** 2);
      return dist.indexOf(Math.min(...dist));
    });
    const codebook: number[] = [];
    const sums: number[] = [];
    const usage: number[] = [];
    for (let k = 0; k < K; k++) {
      const members = ids.flatMap((id, n) => (id === k ? [n] : []));
      const u1 = 0.75 * u0(k) + 0.25 * members.length;
      const live = !restarts || u1 >= 1;
      usage.push(live ? u1 : 1);
      for (let d = 0; d < D; d++) {
        const s1 = 0.75 * s0(k, d) + 0.25 * members.reduce((a, n) => a + zf(n, d), 0);
        sums.push(live ? s1 : rand(k, d));
        codebook.push(live ? s1 / Math.max(u1, 1e-6) : rand(k, d));
      }
    }
    return { ids, codebook, usage, sums };
  }

  const feeds = (s: { codebook: number[]; usage: number[]; sums: number[]; inited: number }): Record<string, HostTensor> => ({
    z: hostTensor('float64', [B, D, Tn], z),
    restart_idx: hostTensor('int64', [K], restart),
    'vq.codebook': hostTensor('float64', [K, D], s.codebook),
    'vq.usage': hostTensor('float64', [K], s.usage),
    'vq.sums': hostTensor('float64', [K, D], s.sums),
    'vq.inited': hostTensor('float64', [1], [s.inited]),
  });
  const close = (got: HostTensor, want: number[]) => {
    const g = toNumbers(got);
    expect(g.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(Math.abs(g[i]! - want[i]!), `[${i}] ${g[i]} vs ${want[i]}`).toBeLessThan(1e-12);
  };

  it('first step: the codebook starts at encoder outputs of the batch', () => {
    const s = { codebook: Array(K * D).fill(9), usage: Array(K).fill(0), sums: Array(K * D).fill(0), inited: 0 };
    const want = oracle(s, true);
    const [ids, codebook, usage, sums, inited] = interpret(trace(true).outs, feeds(s));
    expect(Array.from(toNumbers(ids!))).toEqual(want.ids);
    close(codebook!, want.codebook);
    close(usage!, want.usage);
    close(sums!, want.sums);
    close(inited!, [1]);
    // the 9s of the stale codebook are gone: every code is an encoder output or a mean of them
    expect(Math.max(...toNumbers(codebook!).map(Math.abs))).toBeLessThan(9);
  });

  it('later steps: EMA statistics, and codes whose usage falls below 1.0 restart at the chosen encoder outputs', () => {
    // codes 0 and 1 well used, 2 and 3 fading: 0.75·0.5 + 0.25·n < 1 unless n ≥ 3
    const s = { codebook: [1, 0, -1, 0, 0, 1, 0, -1], usage: [4, 4, 0.5, 0.5], sums: [4, 0, -4, 0, 0, 0.5, 0, -0.5], inited: 1 };
    for (const restarts of [true, false]) {
      const want = oracle(s, restarts);
      const [ids, codebook, usage, sums] = interpret(trace(restarts).outs, feeds(s));
      expect(Array.from(toNumbers(ids!))).toEqual(want.ids);
      close(codebook!, want.codebook);
      close(usage!, want.usage);
      close(sums!, want.sums);
    }
    // the case exercises a restart: some code is below threshold after the update
    const w = oracle(s, true);
    expect(w.usage.filter((u) => u === 1).length).toBeGreaterThan(0);
  });

  it('logs the batch perplexity exp(H) and the codes used', () => {
    const s = { codebook: [1, 0, -1, 0, 0, 1, 0, -1], usage: [4, 4, 4, 4], sums: [4, 0, -4, 0, 0, 4, 0, -4], inited: 1 };
    const { q } = trace(true);
    const [perp, used] = interpret([q.metrics.perplexity!, q.metrics.used!], feeds(s));
    const ids = oracle(s, true).ids;
    const p = Array.from({ length: K }, (_, k) => ids.filter((i) => i === k).length / N).filter((v) => v > 0);
    expect(toNumbers(perp!)[0]).toBeCloseTo(Math.exp(-p.reduce((h, v) => h + v * Math.log(v), 0)), 8);
    expect(toNumbers(used!)[0]).toBe(p.length);
  });
});

describe('losses', () => {
  it('the spectral loss is what src/audio STFT gives: Σ_r mean‖|S x| − |S x̂|‖ / mean‖|S x|‖', () => {
    const sr = 8000;
    const [Bn, L] = [2, 600];
    const r = prng(5);
    const x = Float64Array.from({ length: Bn * L }, (_, i) => Math.sin(0.05 * i) + 0.3 * r.normal());
    const y = Float64Array.from(x, (v) => 0.8 * v + 0.1 * r.normal());
    const xt = input('x', [Bn, L]);
    const yt = input('y', [Bn, L]);
    const got = toNumbers(
      interpret([spectralLoss(xt, yt, sr)], { x: hostTensor('float64', [Bn, L], x), y: hostTensor('float64', [Bn, L], y) })[0]!,
    )[0]!;
    let want = 0;
    for (const res of spectralResolutions(sr)) {
      let num = 0;
      let den = 0;
      for (let b = 0; b < Bn; b++) {
        const o = { ...res, center: true, padMode: 'reflect' as const };
        const mx = magnitude(stft(x.subarray(b * L, (b + 1) * L), o));
        const my = magnitude(stft(y.subarray(b * L, (b + 1) * L), o));
        num += Math.sqrt(mx.reduce((a, v, i) => a + (v - my[i]!) ** 2, 0)) / Bn;
        den += Math.sqrt(mx.reduce((a, v) => a + v * v, 0)) / Bn;
      }
      want += num / den;
    }
    expect(Math.abs(got - want) / want).toBeLessThan(1e-6);
  });

  it('the unquantised objective has the gradient finite differences give (float64, ONNX Runtime)', async () => {
    const cfg = vqvaeConfig({ ...TINY, level: 'bottom', quantize: false, segment: 512 });
    const model = new VQVAE(cfg);
    const x = input('wav', [1, 512]);
    const obj = objective({ ps: model.ps, losses: model.objective(x).losses, data: [x] });
    const params = model.ps.inputs.filter((p) => /enc\.0\.down\.weight|enc\.out\.weight|dec\.0\.up\.weight|dec\.out\.bias/.test(p.name!));
    expect(params.length).toBe(4);
    const grads = grad(obj.loss, params);
    const ins = [x, ...model.ps.inputs];
    const withGrads = await rt.load(
      exportOnnx(ins, { loss: obj.loss, ...Object.fromEntries(grads.map((g, k) => [`g${k}`, g])) }, { float64: true }),
    );
    const lossOnly = await rt.load(exportOnnx(ins, { loss: obj.loss }, { float64: true }));
    const r = prng(2);
    const feeds: Record<string, HostTensor> = {
      wav: hostTensor(
        'float64',
        [1, 512],
        Float64Array.from({ length: 512 }, (_, i) => Math.sin(0.3 * i) + 0.2 * r.normal()),
      ),
    };
    for (const [k, t] of Object.entries(model.ps.initialize(4)))
      feeds[k] = hostTensor('float64', t.shape, Float64Array.from(t.data as Float32Array));
    const out = await rt.run(withGrads, feeds);
    const lossAt = async (f: Record<string, HostTensor>) => toNumbers((await rt.run(lossOnly, f)).loss!)[0]!;
    const h = 1e-6;
    for (const [k, p] of params.entries()) {
      for (const i of [0, Math.floor(p.size / 2), p.size - 1]) {
        const bump = (dv: number) => {
          const data = Float64Array.from(feeds[p.name!]!.data as Float64Array);
          data[i]! += dv;
          return { ...feeds, [p.name!]: hostTensor('float64', p.shape, data) };
        };
        const fd = ((await lossAt(bump(h))) - (await lossAt(bump(-h)))) / (2 * h);
        const g = toNumbers(out[`g${k}`]!)[i]!;
        expect(Math.abs(g - fd), `${p.name}[${i}]: autodiff ${g}, finite differences ${fd}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(fd)));
      }
    }
  });
});
