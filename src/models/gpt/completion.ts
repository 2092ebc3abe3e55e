/**
 * The completion contract between text models and their callers (the OpenAI-compatible server, the
 * CLI, the eval harness). Field meanings follow OpenAI's legacy Completions API (DESIGN.md,
 * Protocols): `suffix` asks for an infill (fill-in-the-middle) between prompt and suffix.
 */
import { TonyError } from '../../errors.ts';

export interface CompletionRequest {
  prompt: string;
  /** Infilling: the text after the insertion point. */
  suffix?: string;
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  /** Nucleus sampling mass (1 = off). */
  topP: number;
  topK?: number;
  /** Independent samples. */
  n: number;
  /** Stop strings (at most 4); the returned text excludes the stop string. */
  stop: readonly string[];
  /** Same seed + same request → same text. */
  seed?: number;
  /** Return the top-k (≤ 5) log-probabilities per generated token. */
  logprobs?: number;
  /** Prepend the prompt to the returned text. */
  echo?: boolean;
}

export interface TokenLogprobs {
  tokens: string[];
  tokenLogprobs: number[];
  topLogprobs: Array<Record<string, number>>;
  /** Character offset of each token in the returned text. */
  textOffset: number[];
}

interface CompletionChoice {
  index: number;
  text: string;
  finishReason: 'stop' | 'length';
  /** What ended a 'stop' (like vLLM's stop_reason): 'eot', 'suffix' (an infill reached its suffix), or the stop string. */
  stopReason?: string;
  logprobs?: TokenLogprobs;
}

export interface CompletionResult {
  choices: CompletionChoice[];
  usage: { promptTokens: number; completionTokens: number };
}

/** A piece of streamed output: new text for one choice (never splits a UTF-8 character). */
export interface CompletionDelta {
  index: number;
  text: string;
  /** Set on the last delta of a choice. */
  finishReason?: 'stop' | 'length';
}

export interface CompletionModel {
  /** Model id as /v1/models lists it. */
  readonly id: string;
  /** Longest prompt + completion in tokens. */
  readonly contextLength: number;
  countTokens(text: string): number;
  /**
   * Complete `req`. `onDelta` receives text as it is generated (for streaming); `signal` aborts
   * generation (e.g. the client went away).
   */
  complete(req: CompletionRequest, onDelta?: (d: CompletionDelta) => void, signal?: AbortSignal): Promise<CompletionResult>;
  /**
   * Throw a TonyError saying why this model should not be asked to infill (e.g. trained without
   * FIM); absent or returning means it may. `complete` itself never refuses a suffix.
   */
  checkCanInfill?(): void;
}

/**
 * `complete()` refuses a prompt that leaves no room for one new token. Callers that must go on
 * (an eval run over many problems) catch this one and record the reason.
 */
export class ContextOverflowError extends TonyError {
  constructor(
    readonly promptTokens: number,
    readonly contextLength: number,
  ) {
    super(
      'usage',
      `the prompt has ${promptTokens} tokens; this model's context is ${contextLength}, leaving no room to generate`,
      'shorten the prompt',
    );
  }
}
