/**
 * Tony's runtime over onnxruntime-node — the only TypeScript module that talks to ONNX Runtime.
 * Sessions run in a worker thread (runtime-worker.mjs); this side sends feeds and receives results.
 *
 *   const rt = await Runtime.start({ device: 'cpu' });
 *   const fwd = await rt.load(exportOnnx([x], { y }));
 *   const { y: out } = await rt.run(fwd, { x: hostTensor('float32', [2], [1, 2]) });
 *   await rt.close();
 *
 * There is no silent fallback: `rt.description` says which provider runs, and a provider that
 * cannot start is an error naming what is missing.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TonyError } from '../errors.ts';
import type { HostTensor } from './dtype.ts';
import type { OnnxModel } from './onnx.ts';

/** 'cuda' needs onnxruntime-node's CUDA binaries (README, GPU); cpu and webgpu ship in the package. */
export type Device = 'cpu' | 'webgpu' | 'cuda';

export interface RuntimeOptions {
  device?: Device;
  /** Intra-op threads (default: all cores). */
  threads?: number;
  /** ONNX Runtime graph optimization ('disabled' keeps recomputation for checkpointing). */
  optimize?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** A loaded model in the runtime (cached by content hash). */
export interface Session {
  readonly key: string;
  readonly model: OnnxModel;
  /** Inputs whose state values were baked into the session as constants (LoadOptions.bake). */
  readonly baked: ReadonlySet<string>;
}

export interface LoadOptions {
  /**
   * Inputs to bake in: input name → state key. The state's current values become constants of the
   * session (ONNX initializers), which ONNX Runtime's MatMul and Gemm kernels re-lay once into the
   * panels they multiply from; a weight fed as an input is re-laid on every run. For graphs run many
   * times over few rows — decoding — that packing is a large share of a run: baking the weights of
   * GPT's decode graphs cut their wall time per token by 17–47 % (docs/results/engine.md, issue 22).
   * The session is tied to those values: a key whose state changes afterwards (setState, or a run
   * that updates it) gives a different `stateVersion`, and the caller loads anew. Each baked
   * session holds its own (re-laid) copy of the values. They reach ONNX Runtime through a
   * temporary file under the OS's temporary directory (TMPDIR), mapped and deleted once the session
   * exists, not through the model's bytes, which cost two more copies while it loaded.
   */
  bake?: Readonly<Record<string, string>>;
  /** Intra-op threads for this session (default: the runtime's). */
  threads?: number;
  /**
   * ONNX Runtime's memory arena and pattern for this session (default off, TONY_ORT_ARENA=1 on; the
   * worker says why). Worth it for graphs whose intermediates are small and run often — decoding.
   */
  arena?: boolean;
}

export interface RunOptions {
  /** Inputs fed from runtime-held state: input name → state key. */
  state?: Readonly<Record<string, string>>;
  /** Outputs written back into runtime-held state: output name → state key. */
  update?: Readonly<Record<string, string>>;
  /**
   * Outputs of `update` written into the buffer of the state they replace, which the same run
   * reads as an input; the others go into a second buffer (double buffering). Only for outputs
   * whose every reader of the old value runs before the new value is written (optim.ts's
   * inPlaceUpdates proves it from the graph): otherwise a kernel would read the new value.
   */
  inPlace?: readonly string[];
  /**
   * Outputs written in place into runtime-held state, row by row at given positions: output
   * (b, H, n, D) → state `key` (B = at.length, H, length, D), row r at positions at[r] … at[r] + n − 1
   * (b = 1 fills every row). How a KV cache grows without copying itself each step; the state is
   * allocated as zeros when missing or of another batch or head layout, and copied into a new
   * buffer of `length` positions, before the run, when only its length differs (a cache grown a
   * chunk at a time for a graph whose cache length is symbolic).
   */
  write?: Readonly<Record<string, { key: string; at: readonly number[]; length: number }>>;
  /** Outputs to return (default: all outputs not in `update` or `write`). */
  fetch?: readonly string[];
}

const ORT_VERSION = '1.30.0';

export class Runtime {
  private nextId = 0;
  private pending = new Map<number, { resolve: (v: any) => void; reject: (e: unknown) => void }>();
  /**
   * Loaded sessions by content hash, with how many `load` calls hold each: byte-identical graphs
   * share one session, so a `release` frees it only when the last holder lets go (two caches that
   * loaded the same graph, or a graph evicted and loaded again while its release is in flight).
   */
  private sessions = new Map<string, { session: Promise<Session>; holders: number }>();
  /** Milliseconds ONNX Runtime spent in the last finished `run` (the rest of its time is messaging and copies). */
  lastOrtMs = NaN;
  /** State key → the tick of its last change (setState, a run's update, dropState); LoadOptions.bake. */
  private versions = new Map<string, number>();
  private tick = 0;

  private constructor(
    private worker: Worker,
    readonly device: Device,
    readonly threads: number,
  ) {
    worker.on('message', (msg: { id: number; result?: unknown; ortMs?: number; error?: { message: string } }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ortMs !== undefined) this.lastOrtMs = msg.ortMs;
      if (msg.error) p.reject(this.translate(msg.error.message));
      else p.resolve(msg.result);
    });
    worker.on('error', (err) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  /** Start a runtime (one worker thread) on `device`. */
  static async start(opts: RuntimeOptions = {}): Promise<Runtime> {
    const device = opts.device ?? 'cpu';
    if (device !== 'cpu' && device !== 'webgpu' && device !== 'cuda') {
      throw new TonyError('device', `unknown device '${device}'`, "use 'cpu', 'webgpu' or 'cuda'");
    }
    const threads = opts.threads ?? Math.max(1, availableParallelism());
    const worker = new Worker(new URL('./runtime-worker.mjs', import.meta.url), {
      workerData: { device, threads, optimize: opts.optimize ?? 'all' },
    });
    worker.unref();
    return new Runtime(worker, device, threads);
  }

  /** e.g. "cpu (onnxruntime-node 1.30.0, 2 threads)" — printed by every command that runs models. */
  get description(): string {
    return `${this.device} (onnxruntime-node ${ORT_VERSION}${this.device === 'cpu' ? `, ${this.threads} threads` : ''})`;
  }

  private call<T>(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    const id = this.nextId++;
    this.worker.ref(); // keep the process alive while a call is in flight
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, {
        resolve: (v) => {
          if (this.pending.size === 0) this.worker.unref();
          resolve(v);
        },
        reject: (e) => {
          if (this.pending.size === 0) this.worker.unref();
          reject(e);
        },
      });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  private translate(message: string): Error {
    if (this.device === 'webgpu' && /adapter|webgpu|vulkan|dawn/i.test(message)) {
      const vulkan = ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'].some((d) =>
        existsSync(`${d}/libvulkan.so.1`),
      );
      const missing = vulkan
        ? 'Vulkan is installed but found no GPU driver (is an NVIDIA/AMD/Intel driver with Vulkan support present?)'
        : 'libvulkan.so.1 is not installed (Debian: apt-get install libvulkan1), and a GPU driver with Vulkan support is needed too';
      return new TonyError(
        'device',
        `the WebGPU provider found no GPU adapter: ${missing}`,
        `use --device cpu, or install what is missing. ONNX Runtime said: ${message.split('\n')[0]!.slice(-160)}`,
      );
    }
    if (this.device === 'cuda') {
      return new TonyError(
        'device',
        `the CUDA provider could not start: ${message.split('\n')[0]!.slice(0, 200)}`,
        'install it on a machine with an NVIDIA GPU: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node --foreground-scripts (README, GPU); or use --device cpu',
      );
    }
    return new TonyError('usage', `ONNX Runtime: ${message}`);
  }

  /**
   * Which values of these state keys the runtime holds now, as a string that changes whenever one
   * of them does: a baked session (LoadOptions.bake) is current while this is what it was at load.
   */
  stateVersion(keys: Iterable<string>): string {
    return [...keys].map((k) => this.versions.get(k) ?? 0).join(',');
  }

  private changed(keys: Iterable<string>) {
    this.tick++;
    for (const k of keys) this.versions.set(k, this.tick);
  }

  /** Create (or reuse) a session for `model`; each call is one hold that `release` gives back. */
  async load(model: OnnxModel, opts: LoadOptions = {}): Promise<Session> {
    const bake = opts.bake ?? {};
    for (const name of Object.keys(bake)) {
      if (!model.inputs.some((i) => i.name === name))
        throw new TonyError('usage', `load: bake names '${name}', which is not an input of the model`);
    }
    const hash = createHash('sha256').update(model.bytes);
    // The same graph baked with other values is another session.
    if (Object.keys(bake).length) hash.update(JSON.stringify(Object.entries(bake).map(([n, k]) => [n, k, this.versions.get(k) ?? 0])));
    if (opts.threads !== undefined || opts.arena !== undefined) hash.update(JSON.stringify([opts.threads, opts.arena]));
    if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
      throw new TonyError('usage', `load: threads must be a positive integer, got ${opts.threads}`);
    }
    const key = hash.digest('hex').slice(0, 16);
    let entry = this.sessions.get(key);
    if (!entry) {
      const baked = new Set(Object.keys(bake));
      // Copy the bytes: the transfer detaches them and the caller may export again.
      const session = this.call({ type: 'load', key, bytes: model.bytes.slice(), bake, threads: opts.threads, arena: opts.arena }).then(
        (): Session => ({ key, model, baked }),
      );
      const created = { session, holders: 0 };
      entry = created;
      this.sessions.set(key, created);
      session.catch(() => {
        if (this.sessions.get(key) === created) this.sessions.delete(key);
      });
    }
    entry.holders++;
    return entry.session;
  }

  /**
   * Free a session in ONNX Runtime (its thread pool and memory arena). Each session owns both, so a
   * process that loads graphs for ever-new shapes must release the ones it stops using.
   */
  async release(session: Session): Promise<void> {
    const entry = this.sessions.get(session.key);
    if (!entry || --entry.holders > 0) return;
    this.sessions.delete(session.key);
    await this.call({ type: 'release', key: session.key });
  }

  /** Sessions loaded and not released. */
  get liveSessions(): number {
    return this.sessions.size;
  }

  /** Run a session. Feeds are validated against the model's declared inputs first. */
  async run(session: Session, feeds: Readonly<Record<string, HostTensor>>, opts: RunOptions = {}): Promise<Record<string, HostTensor>> {
    const state = opts.state ?? {};
    const update = opts.update ?? {};
    const write = opts.write ?? {};
    for (const [name, w] of Object.entries(write)) {
      const o = session.model.outputs.find((x) => x.name === name);
      if (!o) throw new TonyError('usage', `run: write names '${name}', which the model does not output`);
      const [b, , n] = o.shape as [number, number, number, number];
      if (o.shape.length !== 4 || (b !== 1 && b !== w.at.length) || w.at.some((p) => !Number.isInteger(p) || p < 0 || p + n! > w.length)) {
        throw new TonyError('shape', `run: cannot write '${name}' [${o.shape}] into ${w.key} at [${w.at}] of length ${w.length}`);
      }
    }
    for (const spec of session.model.inputs) {
      if (spec.name in state || session.baked.has(spec.name)) continue;
      const f = feeds[spec.name];
      if (!f) throw new TonyError('usage', `run: missing input '${spec.name}' [${spec.shape}] ${spec.dtype}`);
      // A symbolic dimension (ExportOptions.dims) takes any size.
      if (
        f.dtype !== spec.dtype ||
        f.shape.length !== spec.shape.length ||
        f.shape.some((d, i) => d !== spec.shape[i] && !spec.dims?.[i])
      ) {
        const want = spec.shape.map((d, i) => spec.dims?.[i] ?? d);
        throw new TonyError('shape', `run: input '${spec.name}' expects [${want}] ${spec.dtype}, got [${f.shape}] ${f.dtype}`);
      }
    }
    const fetch = opts.fetch ?? session.model.outputs.map((o) => o.name).filter((n) => !(n in update) && !(n in write));
    const plain: Record<string, { dtype: string; shape: readonly number[]; data: unknown }> = {};
    for (const [k, v] of Object.entries(feeds)) plain[k] = { dtype: v.dtype, shape: v.shape, data: v.data };
    // The worker pre-allocates the state outputs' second buffers; it needs their layouts.
    const layouts: Record<string, { dtype: string; shape: readonly number[] }> = {};
    for (const o of session.model.outputs) if (o.name in update) layouts[o.name] = { dtype: o.dtype, shape: o.shape };
    const inPlace = [...(opts.inPlace ?? [])];
    for (const name of inPlace) if (!(name in update)) throw new TonyError('usage', `run: inPlace names '${name}', which is not in update`);
    this.changed(Object.values(update));
    return this.call({ type: 'run', key: session.key, feeds: plain, state, update, inPlace, layouts, write, fetch: [...fetch] });
  }

  /**
   * Put tensors into runtime-held state (e.g. parameters before training). The worker gets a copy,
   * unless `transfer`: then their buffers move to it and the caller's arrays are left empty
   * (detached) — for tensors made only to be held here, such as a model's initial parameters and
   * zero moments. A copy leaves two of each until V8 collects the caller's (GPT-2-small's
   * parameters and moments are 1 GB), and cloning zeros writes them out.
   */
  async setState(entries: Readonly<Record<string, HostTensor>>, opts: { transfer?: boolean } = {}): Promise<void> {
    this.changed(Object.keys(entries));
    const buffers = new Set<ArrayBuffer>();
    if (opts.transfer) for (const t of Object.values(entries)) if (ArrayBuffer.isView(t.data)) buffers.add(t.data.buffer as ArrayBuffer);
    await this.call({ type: 'setState', entries }, [...buffers]);
  }

  /** Read runtime-held state back (e.g. for a checkpoint). All keys when omitted. */
  async getState(keys?: readonly string[]): Promise<Record<string, HostTensor>> {
    return this.call({ type: 'getState', keys: keys ? [...keys] : null });
  }

  async dropState(keys?: readonly string[]): Promise<void> {
    this.changed(keys ?? [...this.versions.keys()]);
    await this.call({ type: 'dropState', keys: keys ? [...keys] : null });
  }

  async close(): Promise<void> {
    if (process.env.TONY_ORT_PROFILE) await this.call({ type: 'endProfiling' }).catch(() => {});
    await this.worker.terminate();
  }
}
