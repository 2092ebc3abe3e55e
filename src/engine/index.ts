/** The engine's public API. */
export * from './dtype.ts';
export { Tensor, input, constant, topoSort } from './tensor.ts';
export * from './ops/index.ts';
export { grad } from './autodiff.ts';
export { interpret } from './interpret.ts';
export { exportOnnx, DEFAULT_OPSET, type OnnxModel, type ExportOptions, type ValueSpec } from './onnx.ts';
export { Runtime, type Device, type RuntimeOptions, type Session, type RunOptions } from './runtime.ts';
