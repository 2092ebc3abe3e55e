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

const handlers = {
  /** @param {{key: string, bytes: Uint8Array}} m */
  async load({ key, bytes }) {
    if (!sessions.has(key)) {
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: [device],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential', // parallel mode measured 2.2× slower (DESIGN.md)
        graphOptimizationLevel: optimize,
        // TONY_ORT_LOG=1 shows ONNX Runtime's warnings, e.g. nodes a GPU provider leaves to the CPU.
        logSeverityLevel: process.env.TONY_ORT_LOG ? 2 : 3,
      });
      sessions.set(key, session);
    }
    const s = /** @type {any} */ (sessions.get(key));
    return { inputs: s.inputNames, outputs: s.outputNames };
  },

  /** @param {{key: string}} m */
  async release({ key }) {
    await sessions.get(key)?.release();
    sessions.delete(key);
    return {};
  },

  /**
   * @param {{key: string, feeds: Record<string, Host>, state: Record<string, string>,
   *          update: Record<string, string>, layouts: Record<string, {dtype: any, shape: number[]}>,
   *          fetch: string[]}} m
   */
  async run({ key, feeds, state, update, layouts, fetch }) {
    const session = sessions.get(key);
    if (!session) throw new Error(`no session '${key}'`);
    /** @type {Record<string, any>} */
    const ortFeeds = {};
    for (const [name, h] of Object.entries(feeds)) ortFeeds[name] = toOrt(h);
    for (const [name, storeKey] of Object.entries(state)) {
      const t = store.get(storeKey);
      if (!t) throw new Error(`state '${storeKey}' (for input '${name}') was never set`);
      ortFeeds[name] = t;
    }
    /** @type {Record<string, any>} */
    const fetches = {};
    for (const name of fetch) fetches[name] = null;
    for (const [name, storeKey] of Object.entries(update)) {
      // The spare buffer must have the output's layout (a key may change shape between graphs,
      // e.g. a KV cache for another batch size); and it must not be the buffer being read.
      const { dtype, shape } = layouts[name];
      let buf = spare.get(storeKey);
      if (!buf || !sameLayout(buf, { type: dtype, dims: shape })) {
        const n = shape.reduce((/** @type {number} */ a, /** @type {number} */ b) => a * b, 1);
        buf = new ort.Tensor(dtype, new ARRAY[dtype](n), shape);
        spare.set(storeKey, buf);
      }
      fetches[name] = buf;
    }
    const out = await session.run(ortFeeds, fetches);
    for (const [name, storeKey] of Object.entries(update)) {
      const result = /** @type {any} */ (out[name]);
      const prev = store.get(storeKey);
      const written = spare.get(storeKey);
      // Pre-allocated buffers are honoured (the result aliases `written`); swap the pair.
      if (written && result.data.buffer === written.data.buffer) {
        store.set(storeKey, written);
        // The old buffer becomes the next spare, unless it has another layout (then allocate anew).
        if (prev && sameLayout(prev, written)) spare.set(storeKey, prev);
        else spare.delete(storeKey);
      } else {
        store.set(storeKey, result);
        spare.delete(storeKey);
      }
    }
    /** @type {Record<string, Host>} */
    const res = {};
    for (const name of fetch) res[name] = toHost(/** @type {any} */ (out[name]));
    return res;
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
    const result = await /** @type {any} */ (handlers)[msg.type](msg);
    const transfer = [];
    for (const v of Object.values(result)) if (v && v.data && v.data.buffer) transfer.push(v.data.buffer);
    parentPort?.postMessage({ id: msg.id, result }, transfer);
  } catch (err) {
    const e = /** @type {Error} */ (err);
    parentPort?.postMessage({ id: msg.id, error: { message: e.message, stack: e.stack } });
  }
});
