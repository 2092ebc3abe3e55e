// @ts-check
/**
 * The ONNX Runtime worker thread. `session.run` in onnxruntime-node executes synchronously on the
 * calling thread (a 164 ms event-loop stall per training step in the prototype), so every session
 * runs here and the main thread stays responsive.
 *
 * The worker also holds named state (parameters, optimizer moments) as ONNX Runtime tensors, so a
 * training step sends only the batch in and the loss out. State updated by a run is written into a
 * second, pre-allocated buffer and the two are swapped (double buffering: a run never writes the
 * buffer it reads).
 *
 * Plain JavaScript on purpose: a worker must load without a TypeScript loader in every host that
 * starts it (tsx, vitest, a bundler).
 */
import { mkdirSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

/** @typedef {{dtype: string, shape: number[], data: any}} Host */

const { device, threads, optimize } = workerData;
/** @type {Map<string, import('onnxruntime-node').InferenceSession>} */
const sessions = new Map();
/** @type {Map<string, import('onnxruntime-node').Tensor>} */
const store = new Map();
/** @type {Map<string, import('onnxruntime-node').Tensor>} */
const spare = new Map();
/**
 * onnxruntime-node returns a copy of every output (see `run`), so a training step's new parameters
 * and moments come back as a second copy of the whole state, which `run` drops at once. V8 frees
 * such buffers only at its next full collection, which did not come before the next step's copies:
 * at GPT-2-small's shape a step peaked at 3,795 MB, and at 2,839 MB with a collection after each
 * (docs/results/engine.md, issue 22). So once the dropped copies pass this many bytes, the worker
 * collects — after the run's reply, when nothing refers to them.
 */
const COLLECT_BYTES = 64 * 2 ** 20;
let dropped = 0;
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc');

/** Session key → the inputs baked into it (their state is not fed). @type {Map<string, Set<string>>} */
const bakedInputs = new Map();

/** @type {Record<string, any>} */
const ARRAY = { float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, bool: Uint8Array };

/** @param {Host} h */
const toOrt = (h) => new ort.Tensor(/** @type {any} */ (h.dtype), h.data, h.shape);

/** @param {import('onnxruntime-node').Tensor} t @returns {Host} */
function toHost(t) {
  // Copy: the tensor's memory belongs to ONNX Runtime (or to a state buffer reused next step).
  return { dtype: t.type, shape: [...t.dims], data: /** @type {any} */ (t.data).slice() };
}

/** Same dtype and shape: a pre-allocated output buffer can be reused. */
const sameLayout = (/** @type {any} */ a, /** @type {any} */ b) =>
  a.type === b.type &&
  a.dims.length === b.dims.length &&
  a.dims.every((/** @type {number} */ d, /** @type {number} */ i) => d === b.dims[i]);

/**
 * The state `key` a write of (b, H, n, D) rows goes into, as (B, H, length, D): allocated as zeros
 * when missing or of another batch, dtype or head layout; when only its length differs, a new
 * buffer with each (row, head)'s positions copied over (up to the shorter length). A KV cache grows
 * this way, a chunk at a time, so a decode step can attend over just the filled positions
 * (GPT's cacheLength): one copy per chunk instead of attending over the whole context every step.
 * @param {string} type @param {number[]} dims (b, H, n, D) of what is written
 * @param {{key: string, at: number[], length: number}} w
 */
function cacheFor(type, dims, { key, at, length }) {
  const [, H, , D] = dims;
  const B = at.length;
  const shape = [B, H, length, D];
  const dst = store.get(key);
  if (dst && sameLayout(dst, { type, dims: shape })) return dst;
  const grown = new ort.Tensor(/** @type {any} */ (type), new ARRAY[type](B * H * length * D), shape);
  if (dst && dst.type === type && dst.dims.length === 4 && dst.dims[0] === B && dst.dims[1] === H && dst.dims[3] === D) {
    const old = /** @type {Float32Array} */ (dst.data);
    const to = /** @type {Float32Array} */ (grown.data);
    const before = dst.dims[2];
    const keep = Math.min(before, length) * D;
    for (let rh = 0; rh < B * H; rh++) to.set(old.subarray(rh * before * D, rh * before * D + keep), rh * length * D);
  }
  store.set(key, grown);
  spare.delete(key);
  return grown;
}

/**
 * Write a run's output `src` (b, H, n, D) into state `key` (B, H, length, D) in place, row r's
 * positions at[r] … at[r] + n − 1 (b = 1 writes the one row into every row). A KV cache grows this
 * way without a copy of itself per step: a graph that returned the whole updated cache copied it
 * twice per layer and token (ScatterND's input to its output, the output to the state buffer).
 * Runs are sequential in this thread, so no session reads the buffer while it is written.
 * @param {import('onnxruntime-node').Tensor} src
 * @param {{key: string, at: number[], length: number}} w
 */
function writeRows(src, w) {
  const [b, H, n, D] = /** @type {number[]} */ ([...src.dims]);
  const { key, at, length } = w;
  const B = at.length;
  const dst = cacheFor(src.type, [b, H, n, D], w);
  const from = /** @type {Float32Array} */ (src.data);
  const to = /** @type {Float32Array} */ (dst.data);
  for (let r = 0; r < B; r++) {
    if (at[r] + n > length) throw new Error(`write '${key}': row ${r} at ${at[r]} + ${n} positions exceeds ${length}`);
    const s = b === 1 ? 0 : r;
    for (let h = 0; h < H; h++) {
      const rows = from.subarray((s * H + h) * n * D, ((s * H + h) * n + n) * D);
      to.set(rows, ((r * H + h) * length + at[r]) * D);
    }
  }
}

/** TensorProto.DataType codes. @type {Record<string, number>} */
const ONNX_TYPE = { float32: 1, bool: 9, int32: 6, int64: 7, float64: 11 };

/** Alignment of each baked value in its data file: a page on every platform (Windows maps 64 KB). */
const BAKE_ALIGN = 64 * 1024;

/**
 * The model with the inputs in `bake` (input name → state key) turned into initializers holding
 * the state's current values (Runtime.load's LoadOptions.bake), written as an ONNX model file whose
 * initializers live in a second file beside it (ONNX external data), each value at an aligned
 * offset. ONNX Runtime maps such a file instead of copying it, and lets the pages go once its MatMul
 * kernels have re-laid the weights: a GPT-2-small-shaped decode graph's session took 1,060 MB
 * more resident memory with the values inline in the model bytes (parsed, copied into tensors,
 * then packed) and 400 MB with them mapped, and the peak of loading it and decoding 8 tokens fell
 * from 1,512 to 1,181–1,234 MB (docs/results/engine.md, issue 22). Returns the model's path; the
 * caller deletes `dir` once the session exists.
 * @param {Uint8Array} bytes @param {Record<string, string>} bake
 * @returns {Promise<{dir: string, path: string}>}
 */
async function bakeState(bytes, bake) {
  // Imported on first use: most runtimes never bake, and the worker's start is every command's.
  const { onnx } = (await import('onnx-proto')).default;
  const { mkdtemp, open, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const model = onnx.ModelProto.decode(bytes);
  const graph = /** @type {any} */ (model.graph);
  graph.input = graph.input.filter((/** @type {{name: string}} */ i) => !(i.name in bake));
  const fail = (/** @type {any} */ err) =>
    new Error(
      `cannot write a decode graph's weights to a temporary file under ${tmpdir()} (${err?.code ?? err}): ` +
        'set TMPDIR to a writable directory with room for a copy of the model',
    );
  const dir = await mkdtemp(join(tmpdir(), 'tony-bake-')).catch((err) => {
    throw fail(err);
  });
  const data = await open(join(dir, 'weights.bin'), 'w').catch((err) => {
    throw fail(err);
  });
  try {
    let offset = 0;
    for (const [name, storeKey] of Object.entries(bake)) {
      const t = store.get(storeKey);
      if (!t) throw new Error(`state '${storeKey}' (baked into input '${name}') was never set`);
      const a = /** @type {any} */ (t.data);
      const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      // Written straight from the state's own buffer: no copy of the weights in this process.
      for (let done = 0; done < view.byteLength; )
        done += (await data.write(view, done, view.byteLength - done, offset + done)).bytesWritten;
      graph.initializer.push({
        name,
        dims: [...t.dims],
        dataType: ONNX_TYPE[t.type],
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: 'weights.bin' },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(view.byteLength) },
        ],
      });
      offset += Math.ceil(view.byteLength / BAKE_ALIGN) * BAKE_ALIGN;
    }
    await data.close();
    const path = join(dir, 'model.onnx');
    await writeFile(path, onnx.ModelProto.encode(model).finish());
    return { dir, path };
  } catch (err) {
    await data.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw /** @type {any} */ (err)?.code ? fail(err) : err;
  }
}

/** The intra-op pool's spinning, from TONY_ORT_SPIN and TONY_ORT_SPIN_US (see `load`). */
function spinning() {
  if (process.env.TONY_ORT_SPIN === '1') return { allow_spinning: '1' };
  const us = process.env.TONY_ORT_SPIN_US || '0';
  if (!/^\d+$/.test(us)) throw new Error(`TONY_ORT_SPIN_US must be a whole number of microseconds (0: sleep at once), got '${us}'`);
  return us === '0' ? { allow_spinning: '0' } : { allow_spinning: '1', spin_duration_us: us };
}

/**
 * TONY_ORT_PROFILE=<dir>: ONNX Runtime's own per-node profile of every session, written to
 * <dir>/<session>_<time>.json when the session is released (docs/results/engine/ort-profile.py sums it by op and node).
 */
function profiling(/** @type {string} */ key) {
  const dir = process.env.TONY_ORT_PROFILE;
  if (!dir) return {};
  mkdirSync(dir, { recursive: true });
  return { enableProfiling: true, profileFilePrefix: `${dir}/${key.slice(0, 12)}` };
}

const handlers = {
  /** @param {{key: string, bytes: Uint8Array, bake: Record<string, string>, threads?: number, arena?: boolean}} m */
  async load({ key, bytes, bake, threads: own, arena }) {
    if (!sessions.has(key)) {
      const baked = Object.keys(bake ?? {}).length ? await bakeState(bytes, bake) : undefined;
      const options = /** @type {import('onnxruntime-node').InferenceSession.SessionOptions} */ ({
        executionProviders: [device],
        intraOpNumThreads: own ?? threads,
        interOpNumThreads: 1,
        executionMode: 'sequential', // parallel mode measured 2.2× slower (DESIGN.md)
        graphOptimizationLevel: optimize,
        // Neither ONNX Runtime's CPU arena (it grows by doubling and keeps its peak) nor its memory
        // pattern (one block planned for every intermediate of a run, kept between runs): the
        // 19 M-parameter training step peaked at 2.21 GB with both and 1.32 GB without, at no
        // measured cost in speed (docs/results/engine.md, issue 22). TONY_ORT_ARENA=1 restores them.
        enableCpuMemArena: arena ?? process.env.TONY_ORT_ARENA === '1',
        enableMemPattern: arena ?? (process.env.TONY_ORT_PATTERN ?? process.env.TONY_ORT_ARENA) === '1',
        // TONY_ORT_LOG=1 shows ONNX Runtime's warnings, e.g. nodes a GPU provider leaves to the CPU.
        logSeverityLevel: process.env.TONY_ORT_LOG ? 2 : 3,
        // Idle pool threads sleep instead of busy-waiting for the next kernel: on a shared machine
        // the spinning thread takes the core the working one needs. Decoding at load 7–8 took 2–4×
        // the wall time and twice the CPU time with spinning; spinning at most 50 or 200 µs
        // (TONY_ORT_SPIN_US) measured no faster training, quiet, and cost 16 % more CPU at the large
        // size (docs/results/engine.md, issue 22). TONY_ORT_SPIN=1 restores ONNX Runtime's default.
        extra: { session: { intra_op: spinning() } },
        ...profiling(key),
      });
      let session;
      try {
        session = baked ? await ort.InferenceSession.create(baked.path, options) : await ort.InferenceSession.create(bytes, options);
      } finally {
        // Linux keeps a mapped file's pages until they are unmapped; elsewhere a mapped file may
        // refuse deletion, and the temporary directory stays behind.
        if (baked) await import('node:fs/promises').then((fs) => fs.rm(baked.dir, { recursive: true, force: true })).catch(() => {});
      }
      sessions.set(key, session);
      bakedInputs.set(key, new Set(Object.keys(bake ?? {})));
    }
    const s = /** @type {any} */ (sessions.get(key));
    return { inputs: s.inputNames, outputs: s.outputNames };
  },

  /** Write the profile of every open session (TONY_ORT_PROFILE; the runtime calls this on close). */
  async endProfiling() {
    for (const s of sessions.values()) /** @type {any} */ (s).endProfiling();
  },

  /** @param {{key: string}} m */
  async release({ key }) {
    if (process.env.TONY_ORT_PROFILE) /** @type {any} */ (sessions.get(key))?.endProfiling();
    await sessions.get(key)?.release();
    sessions.delete(key);
    bakedInputs.delete(key);
    return {};
  },

  /**
   * @param {{key: string, feeds: Record<string, Host>, state: Record<string, string>,
   *          update: Record<string, string>, inPlace: string[], layouts: Record<string, {dtype: any, shape: number[]}>,
   *          write: Record<string, {key: string, at: number[], length: number}>, fetch: string[]}} m
   */
  async run({ key, feeds, state, update, inPlace, layouts, write, fetch }) {
    const session = sessions.get(key);
    if (!session) throw new Error(`no session '${key}'`);
    // A cache that a write will extend past its length is grown first: the graph reads it at the
    // new length (a decode graph whose cache length is symbolic).
    for (const w of Object.values(write)) {
      const cur = store.get(w.key);
      if (cur && cur.dims.length === 4 && cur.dims[0] === w.at.length && cur.dims[2] !== w.length) cacheFor(cur.type, [...cur.dims], w);
    }
    /** @type {Record<string, any>} */
    const ortFeeds = {};
    for (const [name, h] of Object.entries(feeds)) ortFeeds[name] = toOrt(h);
    const baked = bakedInputs.get(key);
    for (const [name, storeKey] of Object.entries(state)) {
      if (baked?.has(name)) continue;
      const t = store.get(storeKey);
      if (!t) throw new Error(`state '${storeKey}' (for input '${name}') was never set`);
      ortFeeds[name] = t;
    }
    /** @type {Record<string, any>} */
    const fetches = {};
    for (const name of fetch) fetches[name] = null;
    for (const name of Object.keys(write)) fetches[name] = null;
    for (const [name, storeKey] of Object.entries(update)) {
      // The spare buffer must have the output's layout (a key may change shape between graphs,
      // e.g. a KV cache for another batch size); and it must not be the buffer being read.
      const { dtype, shape } = layouts[name];
      const cur = store.get(storeKey);
      if (inPlace.includes(name) && cur && sameLayout(cur, { type: dtype, dims: shape })) {
        // Written over the value it replaces (RunOptions.inPlace): no second buffer.
        fetches[name] = cur;
        spare.delete(storeKey);
        continue;
      }
      let buf = spare.get(storeKey);
      if (!buf || !sameLayout(buf, { type: dtype, dims: shape })) {
        const n = shape.reduce((/** @type {number} */ a, /** @type {number} */ b) => a * b, 1);
        buf = new ort.Tensor(dtype, new ARRAY[dtype](n), shape);
        spare.set(storeKey, buf);
      }
      fetches[name] = buf;
    }
    const t0 = performance.now();
    const out = await session.run(ortFeeds, fetches);
    const ortMs = performance.now() - t0;
    for (const [name, w] of Object.entries(write)) writeRows(/** @type {any} */ (out[name]), w);
    for (const [name, storeKey] of Object.entries(update)) {
      const result = /** @type {any} */ (out[name]);
      const ours = fetches[name];
      const prev = store.get(storeKey);
      // ONNX Runtime writes a pre-allocated output into the buffer passed, but onnxruntime-node
      // returns a copy of it (measured: writing into the buffer afterwards leaves the returned data
      // unchanged), so the buffer passed is kept and the copy dropped. Keeping the copy, as this
      // did before, allocated a fresh spare and a fresh copy per state tensor every step (issue 22).
      // Its first and last elements are compared: a run that did not write the buffer is copied.
      const n = result.data.length;
      if (n > 0 && (!Object.is(ours.data[0], result.data[0]) || !Object.is(ours.data[n - 1], result.data[n - 1]))) {
        ours.data.set(result.data);
      }
      dropped += result.data.byteLength;
      if (ours === prev) continue; // updated in place
      store.set(storeKey, ours);
      // The old buffer becomes the next spare, unless it has another layout (then allocate anew).
      if (prev && sameLayout(prev, ours)) spare.set(storeKey, prev);
      else spare.delete(storeKey);
    }
    /** @type {Record<string, Host>} */
    const res = {};
    for (const name of fetch) res[name] = toHost(/** @type {any} */ (out[name]));
    if (dropped > COLLECT_BYTES) {
      dropped = 0;
      setImmediate(collect);
    }
    return { res, ortMs };
  },

  /** @param {{entries: Record<string, Host>}} m */
  async setState({ entries }) {
    for (const [k, h] of Object.entries(entries)) {
      store.set(k, toOrt(h));
      spare.delete(k);
    }
    return {};
  },

  /** @param {{keys: string[] | null}} m */
  async getState({ keys }) {
    /** @type {Record<string, Host>} */
    const res = {};
    for (const k of keys ?? [...store.keys()]) {
      const t = store.get(k);
      if (!t) throw new Error(`state '${k}' was never set`);
      res[k] = toHost(t);
    }
    return res;
  },

  /** @param {{keys: string[] | null}} m */
  async dropState({ keys }) {
    for (const k of keys ?? [...store.keys()]) {
      store.delete(k);
      spare.delete(k);
    }
    return {};
  },
};

parentPort?.on('message', async (/** @type {any} */ msg) => {
  try {
    let result = await /** @type {any} */ (handlers)[msg.type](msg);
    // A run also reports how long ONNX Runtime itself took (the rest of a call is messaging and copies).
    const ortMs = msg.type === 'run' ? result.ortMs : undefined;
    if (msg.type === 'run') result = result.res;
    const transfer = [];
    for (const v of Object.values(result)) if (v && v.data && v.data.buffer) transfer.push(v.data.buffer);
    parentPort?.postMessage({ id: msg.id, result, ortMs }, transfer);
  } catch (err) {
    const e = /** @type {Error} */ (err);
    parentPort?.postMessage({ id: msg.id, error: { message: e.message, stack: e.stack } });
  }
});
