/**
 * What a model keeps between runs, and where it lives in the runtime.
 *
 *  - Weights: the trained parameters (a ParamSet) and forward-updated buffers (a BufferSet: EMA
 *    codebooks and their usage counts, EMA copies of weights, running statistics). A checkpoint's
 *    model.safetensors holds both, under their names; in the runtime each is the state key
 *    `param:<name>` — the one parameter → runtime-state mapping, used by training, evaluation and
 *    every inference graph (`weightState`, `loadWeights`, `runOnWeights`).
 *  - Optimizer state: AdamW's moments `m:<name>` / `v:<name>`, and `grad:<name>` while gradients
 *    are accumulated over micro-batches.
 *
 * A buffer is a graph input whose new value is a graph output computed by the forward pass, not by
 * gradients: the training step feeds `param:<name>` in and writes the update back, like a parameter.
 *
 *   const bufs = new BufferSet();
 *   const ema = bufs.buffer('vq.codebook', [K, D], { kind: 'normal', std: 1 });
 *   bufs.update(ema, T.add(T.mul(ema, 0.99), T.mul(batchMeans, 0.01)));
 */
import { TonyError } from '../errors.ts';
import { type DType, type HostTensor, hostTensor } from './dtype.ts';
import { type Init, ParamSet } from './nn.ts';
import type { OnnxModel } from './onnx.ts';
import type { RunOptions, Runtime, Session } from './runtime.ts';
import { input, type Tensor } from './tensor.ts';

/** Runtime state keys. */
export const stateKey = {
  /** A trained weight: a parameter or a forward-updated buffer. */
  param: (name: string) => `param:${name}`,
  m: (name: string) => `m:${name}`,
  v: (name: string) => `v:${name}`,
  /** A gradient being accumulated over micro-batches. */
  grad: (name: string) => `grad:${name}`,
};

export interface BufferSpec {
  name: string;
  shape: readonly number[];
  dtype: DType;
  init: Init;
}

/** Forward-updated state of a model: declared like parameters, given new values by the forward pass. */
export class BufferSet {
  readonly specs: BufferSpec[] = [];
  private tensors = new Map<string, Tensor>();
  private next = new Map<string, Tensor>();

  /** Declare (or fetch, when shared) a buffer: a graph input named `name`. */
  buffer(name: string, shape: readonly number[], init: Init, dtype: DType = 'float32'): Tensor {
    const existing = this.tensors.get(name);
    if (existing) {
      if (existing.shape.join() !== shape.join())
        throw new TonyError('shape', `buffer '${name}' declared twice with shapes [${existing.shape}] and [${shape}]`);
      return existing;
    }
    const t = input(name, shape, dtype);
    this.specs.push({ name, shape: [...shape], dtype, init });
    this.tensors.set(name, t);
    return t;
  }

  /** The value `buffer` takes after this step (computed by the forward pass). */
  update(buffer: Tensor, value: Tensor): void {
    const name = buffer.name;
    if (buffer.op !== 'input' || !name || this.tensors.get(name) !== buffer) {
      throw new TonyError('usage', `BufferSet.update: ${buffer} is not a buffer of this set`, 'pass the tensor that buffer() returned');
    }
    if (value.shape.join() !== buffer.shape.join() || value.dtype !== buffer.dtype) {
      throw new TonyError(
        'shape',
        `buffer '${name}' is [${buffer.shape}] ${buffer.dtype} but its update is [${value.shape}] ${value.dtype}`,
      );
    }
    if (this.next.has(name))
      throw new TonyError('usage', `buffer '${name}' is updated twice in one step`, 'compose the updates into one value');
    this.next.set(name, value);
  }

  get inputs(): Tensor[] {
    return [...this.tensors.values()];
  }

  /** Buffer name → its new value, for the buffers this trace updated. */
  get updates(): ReadonlyMap<string, Tensor> {
    return this.next;
  }

  /** Initial values, deterministic in (seed, name) like ParamSet's. */
  initialize(seed: number): Record<string, HostTensor> {
    const shadow = new ParamSet();
    for (const s of this.specs) if (s.dtype === 'float32') shadow.param(s.name, s.shape, s.init);
    const floats = shadow.initialize(seed);
    const out: Record<string, HostTensor> = {};
    for (const s of this.specs) {
      if (s.dtype === 'float32') out[s.name] = floats[s.name]!;
      else if (s.init.kind === 'zeros') out[s.name] = hostTensor(s.dtype, s.shape);
      else throw new TonyError('usage', `buffer '${s.name}': ${s.dtype} buffers can only start at zeros`);
    }
    return out;
  }
}

/** Graph input name → runtime state key, for every weight (parameter and buffer) a traced graph reads. */
export function weightState(ps: ParamSet, buffers?: BufferSet): Record<string, string> {
  const names = [...ps.specs.map((s) => s.name), ...(buffers?.specs.map((s) => s.name) ?? [])];
  return Object.fromEntries(names.map((n) => [n, stateKey.param(n)]));
}

/**
 * Put trained weights (e.g. a checkpoint's `params`) into the runtime, where inference graphs read
 * them. `transfer` moves their buffers instead of copying them (Runtime.setState): for weights read
 * from a checkpoint for this alone, which are then left detached — a copy held two of every weight
 * until V8 collected the caller's (a GPT-2-small checkpoint: 345 MB more at load).
 */
export async function loadWeights(
  rt: Runtime,
  weights: Readonly<Record<string, HostTensor>>,
  opts: { transfer?: boolean } = {},
): Promise<void> {
  await rt.setState(Object.fromEntries(Object.entries(weights).map(([name, t]) => [stateKey.param(name), t])), {
    transfer: opts.transfer ?? false,
  });
}

/**
 * Run an inference graph on the trained weights held in the runtime: its weight inputs come from
 * state (see `loadWeights`), the rest from `feeds`. `opts.state` / `opts.update` add other state
 * (a KV cache).
 *
 *   const gpt = new GPT(cfg);
 *   const idx = input('idx', [1, cfg.blockSize], 'int64');
 *   const model = exportOnnx([idx, ...gpt.ps.inputs], { logits: gpt.forward(idx) });
 *   await loadWeights(rt, checkpoint.params);
 *   const { logits } = await runOnWeights(rt, model, gpt.ps, { idx: ids });
 */
export async function runOnWeights(
  rt: Runtime,
  model: OnnxModel | Session,
  weights: { ps: ParamSet; buffers?: BufferSet } | ParamSet,
  feeds: Readonly<Record<string, HostTensor>>,
  opts: RunOptions = {},
): Promise<Record<string, HostTensor>> {
  const session = 'key' in model ? model : await rt.load(model);
  const w = weights instanceof ParamSet ? { ps: weights } : weights;
  return rt.run(session, feeds, { ...opts, state: { ...weightState(w.ps, w.buffers), ...opts.state } });
}
