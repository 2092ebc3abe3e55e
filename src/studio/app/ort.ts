/**
 * onnxruntime-web, configured once for every page that runs a graph. Its .wasm and loader come from
 * this server (/ort/, src/serve/routes/studio.ts), never a CDN. One thread: more need cross-origin
 * isolation (COOP/COEP headers), which the iframe'd playground would have to share.
 */
import * as ort from 'onnxruntime-web/wasm';

ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;

export { ort };
