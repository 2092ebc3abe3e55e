/**
 * The TensorFlow.js peer of the engine benchmark: the same GPT as Tony's (nanoGPT's architecture,
 * https://github.com/karpathy/nanoGPT model.py), trained with TensorFlow.js's own autodiff and Adam,
 * so `npm run bench -- engine` can time one full training step of both in the same process. By
 * default the gradients of the 2-D matrix products are rewritten to dodge the wasm backend's slow
 * transposed matMul (5–7× faster steps here; see `Matmuls`): the peer is tfjs at its reasonable best.
 *
 * Model: token embedding [V, C] + learned position embedding [T, C]; nLayer pre-LayerNorm blocks
 * (LayerNorm → causal multi-head self-attention → residual; LayerNorm → MLP with exact erf GELU →
 * residual); final LayerNorm; logits = x · Wteᵀ (tied); loss = mean cross-entropy over B·T positions.
 * Step: forward + backward + global-norm clipping at 1.0 + AdamW (decoupled weight decay on 2-D
 * weights, embeddings included, as nanoGPT's `configure_optimizers` does).
 *
 * Backends in Node 20, without network:
 * - 'wasm': XNNPACK compiled to WebAssembly; the .wasm binaries are read from the installed package's
 *   dist/ folder. SIMD is used when Node supports it (it does). Multithreading is not: the backend
 *   reports WASM_HAS_MULTITHREAD_SUPPORT = false under Node (tfjs issue #3830), and forcing the flag
 *   fails because the threaded build starts its pthread workers from `blob:` URLs, which Node's
 *   `worker_threads` refuses (ERR_WORKER_PATH). So `threads` is passed to `setThreadsCount` but the
 *   backend runs on 1 thread; the returned `backend` string says what it actually used.
 * - 'cpu': TensorFlow.js's pure-JavaScript kernels (single-threaded; `threads` is ignored).
 *
 * Example:
 *   const r = await tfjsTrainStep({ vocab: 512, dModel: 256, nHead: 4, nLayer: 2, seq: 128, batch: 16 },
 *     { backend: 'wasm', threads: 2, steps: 3, warmup: 1 });
 *   // r.backend === 'wasm simd=true threads=1 (requested 2)', r.msPerStep.length === 3
 */

import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { configError, TonyError } from '../../src/errors.ts';

export interface GptBenchConfig {
  vocab: number; // V: vocabulary size
  dModel: number; // C: embedding width
  nHead: number; // nh: attention heads (hs = C / nh)
  nLayer: number; // transformer blocks
  seq: number; // T: sequence length (= position-embedding rows)
  batch: number; // B: sequences per step
}

export interface TfjsTrainOptions {
  backend: 'wasm' | 'cpu';
  /** Threads requested from the wasm backend (default: 2, this machine's cores). Ignored by 'cpu'. */
  threads?: number;
  /** Timed steps. */
  steps: number;
  /** Untimed steps run first (their losses are still reported). */
  warmup: number;
  /** Seed for the initial weights and the random tokens (default 0). */
  seed?: number;
  /**
   * Training data: 'random' (default) is one fixed batch of uniform random token ids; 'pattern' is
   * the cyclic sequence 0, 1, …, V−1, 0, 1, … (each row starting one token later), whose next token
   * is a function of the current one, so a working model's loss visibly falls within a few steps.
   */
  data?: 'random' | 'pattern';
  /**
   * Gradients of the 2-D matrix products: 'nn' (default) rewrites them to avoid the wasm backend's
   * slow transposed matMul; 'tfjs' keeps TensorFlow.js's own (see `Matmuls` below).
   */
  matmulGrads?: 'nn' | 'tfjs';
}

export interface TfjsTrainResult {
  /** What actually ran, e.g. 'wasm simd=true threads=1 (requested 2)' or 'cpu threads=1'. */
  backend: string;
  /** Wall-clock ms of each timed step (forward + backward + update, until the loss is on the host). */
  msPerStep: number[];
  /** Loss of every step, warmup steps first (warmup + steps entries). */
  losses: number[];
  /** Trainable parameter count. */
  params: number;
}

// Training hyperparameters of the benchmark (nanoGPT's defaults).
const LEARNING_RATE = 6e-4;
const BETA1 = 0.9;
const BETA2 = 0.95;
const ADAM_EPS = 1e-8;
const WEIGHT_DECAY = 0.1;
const MAX_GRAD_NORM = 1.0;
// PyTorch's clip_grad_norm_ divides by (norm + 1e-6); the same guard keeps a zero norm finite.
const CLIP_EPS = 1e-6;
const LN_EPS = 1e-5;
const INIT_STD = 0.02;
// Additive causal mask: large and finite (−inf gives NaN on rows that are fully masked).
const MASK_NEG = -1e9;
const DEFAULT_THREADS = 2;

/**
 * Build the GPT in TensorFlow.js on the chosen backend, run `warmup` untimed then `steps` timed
 * training steps on a fixed batch, and return per-step times, losses and the parameter count.
 * All tensors and variables it creates are disposed before it returns.
 */
export async function tfjsTrainStep(cfg: GptBenchConfig, opts: TfjsTrainOptions): Promise<TfjsTrainResult> {
  checkConfig(cfg, opts);
  const backend = await useBackend(opts.backend, opts.threads ?? DEFAULT_THREADS);
  const seed = opts.seed ?? 0;

  const params = initParams(cfg, seed);
  const variables = Object.values(params.all);
  const optimizer = tf.train.adam(LEARNING_RATE, BETA1, BETA2, ADAM_EPS);
  const batch = makeBatch(cfg, seed, opts.data ?? 'random');
  const mm = (opts.matmulGrads ?? 'nn') === 'nn' ? nnMatmuls : plainMatmuls;
  try {
    const msPerStep: number[] = [];
    const losses: number[] = [];
    for (let step = 0; step < opts.warmup + opts.steps; step++) {
      const t0 = performance.now();
      const lossTensor = tf.tidy(() => trainStep(cfg, mm, params, optimizer, batch));
      // dataSync waits for every queued kernel, so asynchronous work is inside the timing.
      losses.push(lossTensor.dataSync()[0]!);
      const ms = performance.now() - t0;
      lossTensor.dispose();
      if (step >= opts.warmup) msPerStep.push(ms);
    }
    const count = variables.reduce((n, v) => n + v.size, 0);
    return { backend, msPerStep, losses, params: count };
  } finally {
    optimizer.dispose();
    tf.dispose([...variables, batch.x, batch.y, batch.mask]);
  }
}

// ---------------------------------------------------------------------------------------------
// Backend set-up

let wasmConfigured = false;

/** Select the backend, loading wasm from node_modules; return a description of what runs. */
async function useBackend(name: 'wasm' | 'cpu', threads: number): Promise<string> {
  // Production mode drops tfjs's debug checks and its one-time "install tfjs-node" console banner.
  tf.enableProdMode();
  if (name === 'wasm' && !wasmConfigured) {
    // The binaries sit beside the package's Node entry point (dist/); a file path, not a URL, so
    // emscripten reads them with fs and nothing touches the network. Both calls only take effect
    // before the backend's first initialisation.
    const require = createRequire(import.meta.url);
    setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
    setThreadsCount(threads);
    wasmConfigured = true;
  }
  const ok = await tf.setBackend(name);
  if (!ok) {
    throw new TonyError(
      'device',
      `TensorFlow.js backend '${name}' failed to initialise`,
      name === 'wasm'
        ? 'check that @tensorflow/tfjs-backend-wasm is installed with its dist/*.wasm files (npm install)'
        : 'reinstall @tensorflow/tfjs (npm install)',
    );
  }
  await tf.ready();
  if (name === 'cpu') return 'cpu threads=1';
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return `wasm simd=${simd} threads=${getThreadsCount()} (requested ${threads})`;
}

function checkConfig(cfg: GptBenchConfig, opts: TfjsTrainOptions): void {
  for (const [key, value] of Object.entries(cfg)) {
    if (!Number.isInteger(value) || value < 1) {
      throw configError(`GptBenchConfig.${key} = ${value} is not a positive integer`, 'use sizes ≥ 1');
    }
  }
  if (cfg.dModel % cfg.nHead !== 0) {
    throw configError(
      `dModel ${cfg.dModel} is not divisible by nHead ${cfg.nHead}`,
      'pick nHead so that head size dModel / nHead is an integer',
    );
  }
  if (opts.backend !== 'wasm' && opts.backend !== 'cpu') {
    throw configError(`unknown TensorFlow.js backend '${String(opts.backend)}'`, "use 'wasm' or 'cpu'");
  }
  if (opts.seed !== undefined && !(Number.isInteger(opts.seed) && opts.seed >= 0)) {
    throw configError(`seed ${opts.seed} is not an integer ≥ 0`);
  }
  if (!Number.isInteger(opts.steps) || opts.steps < 0 || !Number.isInteger(opts.warmup) || opts.warmup < 0) {
    throw configError(`steps ${opts.steps} / warmup ${opts.warmup} must be integers ≥ 0`);
  }
}

// ---------------------------------------------------------------------------------------------
// Parameters

// Each tensor draws from its own seeded stream. tfjs's randomNormal treats a seed of 0 as "no seed"
// (Math.random), so stream seeds start at 1.
const SEED_STRIDE = 1_000_003;
const streamSeed = (seed: number, stream: number): number => seed * SEED_STRIDE + stream + 1;

interface Block {
  ln1g: tf.Variable;
  ln1b: tf.Variable; // [C]
  wqkv: tf.Variable;
  bqkv: tf.Variable; // [C, 3C], [3C]
  wproj: tf.Variable;
  bproj: tf.Variable; // [C, C], [C]
  ln2g: tf.Variable;
  ln2b: tf.Variable; // [C]
  wfc: tf.Variable;
  bfc: tf.Variable; // [C, 4C], [4C]
  wout: tf.Variable;
  bout: tf.Variable; // [4C, C], [C]
}

interface Params {
  wte: tf.Variable; // [V, C], also the output projection (tied)
  wpe: tf.Variable; // [T, C]
  blocks: Block[];
  lnfg: tf.Variable;
  lnfb: tf.Variable; // [C]
  /** Every variable by its (globally unique) tfjs name, the key tf.variableGrads uses. */
  all: Record<string, tf.Variable>;
}

/** normal(0, 0.02) weights, zero biases, unit LayerNorm gains. Linear weights are [in, out]. */
function initParams(cfg: GptBenchConfig, seed: number): Params {
  const { vocab: V, dModel: C, seq: T } = cfg;
  const all: Record<string, tf.Variable> = {};
  let stream = 1; // stream 0 is the data's
  const add = (init: tf.Tensor): tf.Variable => {
    const v = tf.variable(init);
    init.dispose();
    all[v.name] = v;
    return v;
  };
  const normal = (shape: number[]) => add(tf.randomNormal(shape, 0, INIT_STD, 'float32', streamSeed(seed, stream++)));
  const zeros = (n: number) => add(tf.zeros([n]));
  const ones = (n: number) => add(tf.ones([n]));

  const wte = normal([V, C]);
  const wpe = normal([T, C]);
  const blocks: Block[] = [];
  for (let l = 0; l < cfg.nLayer; l++) {
    blocks.push({
      ln1g: ones(C),
      ln1b: zeros(C),
      wqkv: normal([C, 3 * C]),
      bqkv: zeros(3 * C),
      wproj: normal([C, C]),
      bproj: zeros(C),
      ln2g: ones(C),
      ln2b: zeros(C),
      wfc: normal([C, 4 * C]),
      bfc: zeros(4 * C),
      wout: normal([4 * C, C]),
      bout: zeros(C),
    });
  }
  return { wte, wpe, blocks, lnfg: ones(C), lnfb: zeros(C), all };
}

// ---------------------------------------------------------------------------------------------
// Data

/** One fixed batch: inputs x [B, T] and next-token targets y [B·T] (int32), and the causal mask. */
interface Batch {
  x: tf.Tensor2D; // (B, T) token ids
  y: tf.Tensor1D; // (B·T) next-token ids
  mask: tf.Tensor2D; // (T, T) additive causal mask
}

function makeBatch(cfg: GptBenchConfig, seed: number, data: 'random' | 'pattern'): Batch {
  const { vocab: V, seq: T, batch: B } = cfg;
  return tf.tidy(() => {
    const tokens: tf.Tensor2D =
      data === 'random'
        ? tf.randomUniform([B, T + 1], 0, V, 'int32', streamSeed(seed, 0))
        : (tf
            .add(tf.range(0, B, 1, 'int32').reshape([B, 1]), tf.range(0, T + 1, 1, 'int32').reshape([1, T + 1]))
            .mod(tf.scalar(V, 'int32')) as tf.Tensor2D); // an int32 divisor keeps ids int32
    const x = tokens.slice([0, 0], [B, T]); // (B, T)
    const y = tokens.slice([0, 1], [B, T]).reshape([B * T]); // (B·T)
    // mask[i, j] = 0 where j ≤ i, MASK_NEG above the diagonal: (T, T), broadcast over (B, nh).
    const mask = tf.linalg
      .bandPart(tf.ones([T, T]), -1, 0)
      .sub(1)
      .mul(-MASK_NEG);
    return { x: x as tf.Tensor2D, y: y as tf.Tensor1D, mask: mask as tf.Tensor2D };
  });
}

// ---------------------------------------------------------------------------------------------
// Model

/** LayerNorm over the last axis with gain g and bias b. */
function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x
    .sub(mean)
    .mul(tf.rsqrt(variance.add(LN_EPS)))
    .mul(g)
    .add(b);
}

/**
 * The model's 2-D products: the Linears, x [N, in] · w [in, out] + b, and the tied LM head,
 * h [N, C] · wteᵀ. Two implementations with the same forward kernels:
 * - `plainMatmuls`: tfjs's own gradients. These call matMul with transposeA/transposeB, and the wasm
 *   backend sends every transposed (or batched) product to a slow generic loop instead of XNNPACK:
 *   measured here at 2048×256×1024, NN 25 GFLOP/s, NT 2.2, TN 0.4.
 * - `nnMatmuls` (the default): custom gradients that transpose explicitly (≈ 4 ms) and multiply
 *   untransposed, dA = dY · Bᵀ, dB = Aᵀ · dY, db = Σ_rows dY — what a tfjs user tuning for speed
 *   would write, so the benchmark compares Tony with TensorFlow.js at its reasonable best.
 * Attention's batched (B, nh) products stay tfjs's own: batched matMul is slow in every layout
 * (≈ 1 GFLOP/s), and per-head 2-D products were slower still.
 */
interface Matmuls {
  linear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D;
  logits(h: tf.Tensor2D, wte: tf.Tensor): tf.Tensor2D;
}

const plainMatmuls: Matmuls = {
  linear: (x, w, b) => tf.fused.matMul({ a: x, b: w as tf.Tensor2D, bias: b }) as tf.Tensor2D,
  logits: (h, wte) => tf.matMul(h, wte as tf.Tensor2D, false, true),
};

// a [M, K] · b [K, N] (+ bias [N]) with untransposed products in forward and backward.
const linearNN = tf.customGrad((...args) => {
  const [a, b, bias, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.fused.matMul({ a, b, bias }),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dy2 = dy as tf.Tensor2D;
      return [tf.matMul(dy2, sb.transpose()), tf.matMul(sa.transpose(), dy2), tf.sum(dy2, 0)];
    },
  };
});
const matMulNN = tf.customGrad((...args) => {
  const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dy2 = dy as tf.Tensor2D;
      return [tf.matMul(dy2, sb.transpose()), tf.matMul(sa.transpose(), dy2)];
    },
  };
});

const nnMatmuls: Matmuls = {
  linear: (x, w, b) => linearNN(x, w, b) as tf.Tensor2D,
  logits: (h, wte) => matMulNN(h, wte.transpose()) as tf.Tensor2D,
};

/** Exact GELU: x · Φ(x) = 0.5 · x · (1 + erf(x / √2)). */
function gelu(x: tf.Tensor): tf.Tensor {
  return x.mul(0.5).mul(tf.erf(x.mul(Math.SQRT1_2)).add(1));
}

/**
 * Token embedding lookup. tfjs's own gather gradient needs the UnsortedSegmentSum kernel, which the
 * wasm backend lacks; its ScatterNd kernel sums duplicate indices, which is exactly the embedding
 * gradient (the same scatter-add Tony lowers to ONNX ScatterND with reduction='add').
 * Exported for its test, which checks it against tfjs's own gather gradient on the cpu backend.
 */
export function embed(wte: tf.Tensor, ids: tf.Tensor1D): tf.Tensor2D {
  const [V, C] = wte.shape as [number, number];
  const rows = ids.reshape([ids.size, 1]); // (B·T, 1) indices for scatterND
  const lookup = tf.customGrad((...args) => ({
    value: tf.gather(args[0] as tf.Tensor, ids), // (B·T, C)
    gradFunc: (dy: tf.Tensor) => tf.scatterND(rows, dy.reshape([ids.size, C]), [V, C]),
  }));
  return lookup(wte) as tf.Tensor2D;
}

/** Causal multi-head self-attention on x [B·T, C]. */
function attention(cfg: GptBenchConfig, mm: Matmuls, blk: Block, x: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  const { batch: B, seq: T, dModel: C, nHead: nh } = cfg;
  const hs = C / nh;
  const qkv = mm.linear(x, blk.wqkv, blk.bqkv); // (B·T, 3C)
  const heads = (t: tf.Tensor) => t.reshape([B, T, nh, hs]).transpose([0, 2, 1, 3]); // (B, nh, T, hs)
  const [q, k, v] = tf.split(qkv, 3, 1).map(heads) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  const scores = tf
    .matMul(q, k, false, true)
    .mul(1 / Math.sqrt(hs))
    .add(mask); // (B, nh, T, T)
  const att = tf.softmax(scores); // over the last axis (keys)
  const y = tf.matMul(att, v); // (B, nh, T, hs)
  const merged = y.transpose([0, 2, 1, 3]).reshape([B * T, C]) as tf.Tensor2D; // (B·T, C)
  return mm.linear(merged, blk.wproj, blk.bproj);
}

/** Mean next-token cross-entropy of the batch. */
function forwardLoss(cfg: GptBenchConfig, mm: Matmuls, p: Params, batch: Batch): tf.Scalar {
  const { x, y, mask } = batch;
  const { batch: B, seq: T, dModel: C, vocab: V } = cfg;
  const tok = embed(p.wte, x.reshape([B * T]) as tf.Tensor1D).reshape([B, T, C]); // (B, T, C)
  let h = tok.add(p.wpe).reshape([B * T, C]) as tf.Tensor2D; // (B·T, C); wpe (T, C) broadcast over B
  for (const blk of p.blocks) {
    h = h.add(attention(cfg, mm, blk, layerNorm(h, blk.ln1g, blk.ln1b) as tf.Tensor2D, mask));
    const m = gelu(mm.linear(layerNorm(h, blk.ln2g, blk.ln2b) as tf.Tensor2D, blk.wfc, blk.bfc)) as tf.Tensor2D;
    h = h.add(mm.linear(m, blk.wout, blk.bout)); // (B·T, C)
  }
  const hf = layerNorm(h, p.lnfg, p.lnfb) as tf.Tensor2D;
  const logits = mm.logits(hf, p.wte); // (B·T, V), tied with the token embedding
  // Mean over the B·T positions (the default reduction weights every row by 1).
  return tf.losses.softmaxCrossEntropy(tf.oneHot(y, V), logits) as tf.Scalar;
}

// ---------------------------------------------------------------------------------------------
// Training step

/**
 * One step: loss and gradients, global-norm clip, decoupled weight decay, Adam. Runs inside the
 * caller's tf.tidy; returns the loss (kept by tidy).
 */
function trainStep(cfg: GptBenchConfig, mm: Matmuls, p: Params, optimizer: tf.AdamOptimizer, batch: Batch): tf.Scalar {
  const vars = Object.values(p.all);
  const { value, grads } = tf.variableGrads(() => forwardLoss(cfg, mm, p, batch), vars);

  // Global-norm clipping as in torch.nn.utils.clip_grad_norm_: scale by min(1, max / (‖g‖ + ε)).
  const sumSq = tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))));
  const scale = tf.minimum(1, tf.div(MAX_GRAD_NORM, tf.sqrt(sumSq).add(CLIP_EPS)));
  const clipped = Object.entries(grads).map(([name, g]) => ({ name, tensor: g.mul(scale) }));

  // AdamW's decoupled weight decay, applied before the Adam update as PyTorch's AdamW does:
  // w ← w · (1 − lr·wd), on 2-D weights only (biases and LayerNorm gains are not decayed).
  for (const v of vars) if (v.rank === 2) v.assign(v.mul(1 - LEARNING_RATE * WEIGHT_DECAY));
  optimizer.applyGradients(clipped);
  return value;
}
