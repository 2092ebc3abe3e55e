/**
 * The omni model's registry rows (src/models/index.ts):
 *
 *   omni-speech  the speech tokenizer (speech-vq.ts): `tony train omni-speech --data <speech corpus>`
 */
import type { ModelKind } from '../index.ts';
import { loadSpeechTokenizer, readSpeechFrames, speechVQTask } from './speech-codec.ts';
import { type SpeechVQConfig, speechVQConfig } from './speech-vq.ts';

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
