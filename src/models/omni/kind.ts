/**
 * The omni model's registry rows (src/models/index.ts):
 *
 *   omni-speech  the speech tokenizer (speech-vq.ts): `tony train omni-speech --data <speech corpus>`
 *   omni         the transformer (train.ts) on a `tony omni prepare` mixture; loads as an OmniModel (model.ts)
 *   omni-image   the image tokenizer (images.ts): `tony train omni-image --data .` (renders made in memory)
 */
import { TonyError } from '../../errors.ts';
import type { GPTConfig } from '../gpt/gpt.ts';
import type { ModelKind } from '../index.ts';
import { type ImageVQConfig, imageVQConfig, imageVQTask, loadImageTokenizer, readShapeImages } from './images.ts';
import { loadOmni } from './model.ts';
import { loadSpeechTokenizer, readSpeechFrames, speechVQTask } from './speech-codec.ts';
import { type SpeechVQConfig, speechVQConfig } from './speech-vq.ts';
import { type OmniData, omniConfig, omniTask, readOmniData } from './train.ts';

export const omniSpeechKind: ModelKind<Readonly<SpeechVQConfig>, Awaited<ReturnType<typeof readSpeechFrames>>> = {
  name: 'omni-speech',
  kind: 'omni-speech',
  summary: "the omni model's speech tokenizer: a VQ-VAE over log-magnitude frames, 31.25 codes/s (a speech corpus)",
  capabilities: ['encode-audio'],
  config: (overrides) => speechVQConfig(overrides),
  data: (paths, cfg) => readSpeechFrames(paths, cfg),
  task: speechVQTask,
  load: (dir, opts) => loadSpeechTokenizer(dir, opts),
};

export const omniImageKind: ModelKind<Readonly<ImageVQConfig>, ReturnType<typeof readShapeImages>> = {
  name: 'omni-image',
  kind: 'omni-image',
  summary:
    "the omni model's image tokenizer: a patch VQ-VAE on 32×32 renders of the shapes world (rendered in memory; --data . is ignored)",
  capabilities: [],
  config: (overrides) => imageVQConfig(overrides),
  // The renders are made in memory (deterministic, ~7 s); --data is required by the generic trainer
  // and must be a directory, where nothing is read or written.
  data: async (paths) => {
    if (paths.length !== 1)
      throw new TonyError('usage', `omni-image renders its own images; pass one --data directory, got ${paths.length}`, '--data .');
    return readShapeImages();
  },
  task: imageVQTask,
  load: (dir, opts) => loadImageTokenizer(dir, opts),
};

export const omniKind: ModelKind<Readonly<GPTConfig>, OmniData> = {
  name: 'omni',
  kind: 'omni',
  summary: 'Tony-o: one transformer over text, speech and image tokens (a tony omni prepare directory)',
  capabilities: ['realtime', 'transcribe'],
  config: (overrides) => omniConfig(overrides),
  data: (paths) => readOmniData(paths),
  task: omniTask,
  load: (dir, opts) => loadOmni(dir, opts),
};
