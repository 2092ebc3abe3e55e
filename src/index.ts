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
export {
  asCompletionModel,
  canComplete,
  exportModel,
  loadModel,
  loadTextModel,
  MODEL_KINDS_ENV,
  modelKind,
  modelKinds,
  type Capability,
  type LoadedModel,
  type LoadOptions,
  type ModelKind,
  type TrainSetup,
} from './models/index.ts';
export { trainWithRecipe, type Recipe } from './models/recipe.ts';
export { GPT, GPT_PRESETS, gptConfig, type GPTConfig } from './models/gpt/gpt.ts';
export { generate, type GenerateOptions } from './models/gpt/generate.ts';
export { loadCompletionModel, TonyTextModel } from './models/gpt/model.ts';
export type { CompletionModel, CompletionRequest, CompletionResult } from './models/gpt/completion.ts';
export * as audio from './audio/index.ts';
export { serve, createServer, completionRoutes } from './serve/index.ts';
