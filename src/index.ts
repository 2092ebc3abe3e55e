/**
 * Tony's library API. The engine (tensors, ops, autodiff, export, runtime, nn, training) is exported
 * flat; models and areas by name. Deeper modules: `tony/<area>/<file>.ts`.
 */

export * as audio from './audio/index.ts';
export { latestCheckpoint, loadCheckpoint, saveCheckpoint } from './engine/checkpoint.ts';
export * from './engine/index.ts';
export * from './engine/nn.ts';
export { ADAMW_DEFAULTS, type AdamWConfig, adamwConfig, buildApplyStep, buildTrainStep, lrAt, type ParamGroup } from './engine/optim.ts';
export { BufferSet, loadWeights, runOnWeights, weightState } from './engine/state.ts';
export { buildGradStep, type NamedLoss, objective, type Traced } from './engine/step.ts';
export { type EvalRecord, type StepRecord, type TrainOptions, type TrainResult, type TrainTask, train } from './engine/trainer.ts';
export { type ErrorKind, TonyError } from './errors.ts';
export type { CompletionModel, CompletionRequest, CompletionResult } from './models/gpt/completion.ts';
export { type GenerateOptions, generate } from './models/gpt/generate.ts';
export { GPT, GPT_PRESETS, type GPTConfig, gptConfig } from './models/gpt/gpt.ts';
export { loadCompletionModel, TonyTextModel } from './models/gpt/model.ts';
export {
  asCompletionModel,
  type Capability,
  canComplete,
  exportModel,
  type LoadedModel,
  type LoadOptions,
  loadModel,
  loadTextModel,
  MODEL_KINDS_ENV,
  type ModelKind,
  modelKind,
  modelKinds,
  type TrainSetup,
} from './models/index.ts';
export { MCNN, MCNN_DEFAULTS, MCNN_PRESETS, type MCNNConfig, mcnnConfig, mcnnLosses } from './models/mcnn/mcnn.ts';
export { loadVocoder, type Magnitude, MCNNVocoder, STREAM_CHUNK_FRAMES, VocoderStream } from './models/mcnn/vocoder.ts';
export { type Recipe, trainWithRecipe } from './models/recipe.ts';
export { completionRoutes, createServer, serve } from './serve/index.ts';
