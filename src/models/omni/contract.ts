/**
 * The omni model as the realtime server sees it (issue 18). The model side (src/models/omni) implements
 * it; the server side (src/serve/realtime, src/serve/routes/realtime.ts) speaks the OpenAI Realtime
 * protocol over it. A loaded model with the capability 'realtime' is an OmniModel.
 */
import type { LoadedModel } from '../index.ts';

/** One content part of a conversation item. Audio is mono PCM at the model's `sampleRate`, in [-1, 1]. */
export type OmniContent = { type: 'text'; text: string } | { type: 'audio'; pcm: Float32Array };

export interface OmniItem {
  role: 'user' | 'assistant' | 'system';
  content: OmniContent[];
}

export interface OmniResponseOptions {
  /** What to answer in: ['text'], or ['audio', 'text'] (audio with its transcript). */
  modalities: readonly ('text' | 'audio')[];
  /** One of the model's preset voices. */
  voice: string;
  temperature: number;
  maxOutputTokens: number;
  /** Aborted on response.cancel or disconnect; the iterator then ends promptly. */
  signal: AbortSignal;
}

/** What a response streams, in the order it is generated. */
export type OmniDelta =
  /** response.text.delta (the text modality). */
  | { type: 'text'; text: string }
  /** response.audio_transcript.delta (the words being spoken). */
  | { type: 'transcript'; text: string }
  /** response.audio.delta: vocoded as it is generated, at the model's sample rate. */
  | { type: 'audio'; pcm: Float32Array }
  /**
   * The last delta of a response that ran to its end (none after an abort): why it ended and the
   * tokens it read and wrote (response.done's status and usage).
   */
  | { type: 'done'; reason: 'completed' | 'max_output_tokens'; usage: OmniUsage };

/** Tokens of a response: the prompt read and the answer written, speech codes ('audio') apart from the rest. */
export interface OmniUsage {
  input: { text: number; audio: number };
  output: { text: number; audio: number };
}

export interface OmniModel extends LoadedModel {
  /** The rate of every PCM buffer in and out of the model (the server resamples to and from 24 kHz). */
  readonly sampleRate: number;
  /** The preset output voices; a response in any other voice is a defect. */
  readonly voices: readonly string[];
  /** Transcribe user audio (for conversation.item.input_audio_transcription.completed). */
  transcribe(pcm: Float32Array, signal: AbortSignal): Promise<string>;
  respond(conversation: readonly OmniItem[], options: OmniResponseOptions): AsyncIterable<OmniDelta>;
}

export function canRealtime(model: LoadedModel): model is OmniModel {
  return model.capabilities.includes('realtime');
}
