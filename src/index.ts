/**
 * Tony's library API. The engine (tensors, ops, autodiff, export, runtime, nn, training) is exported
 * flat; models and areas by name. Deeper modules: `tony/<area>/<file>.ts`.
 */
export * from './engine/index.ts';
export * from './engine/nn.ts';
export { ADAMW_DEFAULTS, adamwConfig, buildTrainStep, lrAt, type AdamWConfig } from './engine/optim.ts';
export { train, type TrainTask, type TrainOptions, type TrainResult } from './engine/trainer.ts';
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
export { generate, type GenerateOptions } from './text/generate.ts';
export { loadCompletionModel, TonyTextModel } from './models/gpt/model.ts';
export type { CompletionModel, CompletionRequest, CompletionResult } from './models/gpt/completion.ts';
export * as audio from './audio/index.ts';
export { serve, createServer, completionRoutes } from './serve/index.ts';
