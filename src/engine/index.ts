/** The engine's public API. */

export { grad } from './autodiff.ts';
export * from './dtype.ts';
export { interpret } from './interpret.ts';
export { DEFAULT_OPSET, type ExportOptions, exportOnnx, type OnnxModel, type ValueSpec } from './onnx.ts';
export * from './ops/index.ts';
export { type Device, type RunOptions, Runtime, type RuntimeOptions, type Session } from './runtime.ts';
export { constant, input, Tensor, topoSort } from './tensor.ts';
