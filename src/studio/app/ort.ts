/**
 * onnxruntime-web for every page that runs a graph, configured once: its WebGPU build where the
 * browser has a WebGPU adapter, its WebAssembly build otherwise (the WebGPU build's WebAssembly is
 * the asyncify variant, about half as fast on the CPU here, so it is not used without a GPU). The
 * pages say which runs — never a silent fallback. The .wasm comes from this server (/ort/,
 * src/serve/routes/studio.ts), never a CDN. One thread: more need cross-origin isolation
 * (COOP/COEP headers), which the iframe'd playground would have to share.
 */
import type * as Ort from 'onnxruntime-web/wasm';

export type { Ort };

export interface OrtRuntime {
  ort: typeof Ort;
  providers: string[];
  /** How to name it to the user, e.g. 'WebGPU' or 'WebAssembly (no WebGPU adapter in this browser)'. */
  label: string;
}

let chosen: Promise<OrtRuntime> | undefined;

export function runtime(): Promise<OrtRuntime> {
  chosen ??= (async () => {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
    const ort: typeof Ort = adapter ? await import('onnxruntime-web/webgpu') : await import('onnxruntime-web/wasm');
    ort.env.wasm.wasmPaths = '/ort/';
    ort.env.wasm.numThreads = 1;
    return adapter
      ? { ort, providers: ['webgpu'], label: 'WebGPU' }
      : { ort, providers: ['wasm'], label: `WebAssembly (${gpu ? 'no WebGPU adapter in this browser' : 'this browser has no WebGPU'})` };
  })();
  return chosen;
}
