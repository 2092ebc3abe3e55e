/**
 * Tony's library API. The engine (tensors, ops, autodiff, export, runtime, nn, training) is exported
 * flat; models and areas by name. Deeper modules: `tony/<area>/<file>.ts`.
 */
export * from './engine/index.ts';
export * from './engine/nn.ts';
export { ADAMW_DEFAULTS, adamwConfig, buildApplyStep, buildTrainStep, lrAt, type AdamWConfig, type ParamGroup } from './engine/optim.ts';
export { train, type TrainTask, type TrainOptions, type TrainResult, type StepRecord, type EvalRecord } from './engine/trainer.ts';
export { BufferSet, loadWeights, runOnWeights, weightState } from './engine/state.ts';
export { buildGradStep, objective, type NamedLoss, type Traced } from './engine/step.ts';
export { saveCheckpoint, loadCheckpoint, latestCheckpoint } from './engine/checkpoint.ts';
export { TonyError, type ErrorKind } from './errors.ts';
export { GPT, GPT_PRESETS, gptConfig, type GPTConfig } from './text/gpt.ts';
export { generate, type GenerateOptions } from './text/generate.ts';
export { loadCompletionModel, TonyTextModel } from './text/model.ts';
export type { CompletionModel, CompletionRequest, CompletionResult } from './text/completion.ts';
export * as audio from './audio/index.ts';
export { serve } from './serve/server.ts';
