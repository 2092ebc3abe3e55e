/**
 * A trained Tony text model as a CompletionModel: a checkpoint directory (weights, config with the
 * tokenizer) loaded into a runtime, answering completions and infills. What `tony serve`, `tony
 * sample`, `tony infill` and the eval harness's Tony provider use.
 */
import { basename, resolve } from 'node:path';
import { TonyError } from '../../errors.ts';
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import { loadWeights } from '../../engine/state.ts';
import { type Device, Runtime } from '../../engine/runtime.ts';
import type { CompletionDelta, CompletionModel, CompletionRequest, CompletionResult } from './completion.ts';
import { generate } from '../../text/generate.ts';
import { type GPTConfig, gptConfig } from './gpt.ts';
import { type FimFormat, fimPrompt } from '../../text/fim.ts';
import type { Tokenizer } from '../../text/tokenizer.ts';
import { loadTokenizer } from '../../text/tokenizers.ts';


export class TonyTextModel implements CompletionModel {
  /** The registry row's fields (src/models/index.ts): every GPT checkpoint completes and infills. */
  readonly kind = 'gpt';
  readonly capabilities = ['complete', 'infill'] as const;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly cfg: Readonly<GPTConfig>,
    readonly tokenizer: Tokenizer,
    readonly runtime: Runtime,
    /** Prompt layout for requests with a suffix (a model trained with joint FIM takes either). */
    readonly infillFormat: FimFormat = 'psm',
  ) {}

  /** Which execution provider runs the model, e.g. "cpu (onnxruntime-node 1.30.0, 2 threads)". */
  get provider(): string {
    return this.runtime.description;
  }

  get contextLength(): number {
    return this.cfg.blockSize;
  }

  countTokens(text: string): number {
    return this.tokenizer.encode(text).length;
  }

  /** Completions run one at a time: they share the runtime's KV cache. */
  complete(req: CompletionRequest, onDelta?: (d: CompletionDelta) => void, signal?: AbortSignal): Promise<CompletionResult> {
    const run = this.queue.then(() => this.run(req, onDelta, signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(req: CompletionRequest, onDelta?: (d: CompletionDelta) => void, signal?: AbortSignal): Promise<CompletionResult> {
    const prompt = req.suffix !== undefined ? fimPrompt(this.tokenizer, req.prompt, req.suffix, this.infillFormat) : this.tokenizer.encode(req.prompt);
    if (prompt.length === 0) prompt.push(this.tokenizer.special.eot); // an empty prompt starts a document
    const maxNew = Math.min(req.maxTokens, this.cfg.blockSize - prompt.length);
    if (maxNew < 1) {
      throw new TonyError('usage', `the prompt has ${prompt.length} tokens; this model's context is ${this.cfg.blockSize}`, 'shorten the prompt');
    }
    const echo = req.echo ? req.prompt : '';
    if (echo) for (let i = 0; i < req.n; i++) onDelta?.({ index: i, text: echo });
    const out = await generate(this.runtime, this.cfg, this.tokenizer, new Array(req.n).fill(prompt), {
      maxNewTokens: maxNew,
      temperature: req.temperature,
      topP: req.topP,
      topK: req.topK,
      seed: req.seed,
      // A FIM sentinel in the output means the model is starting another document's layout.
      stopTokens: [this.tokenizer.special.fimPrefix, this.tokenizer.special.fimMiddle, this.tokenizer.special.fimSuffix],
      stopStrings: req.stop,
      logprobs: req.logprobs,
      onText: (index, text) => onDelta?.({ index, text }),
      signal,
    });
    out.forEach((g, index) => onDelta?.({ index, text: '', finishReason: g.finishReason }));
    return {
      choices: out.map((g, index) => ({
        index,
        text: echo + g.text,
        finishReason: g.finishReason,
        ...(g.logprobs ? { logprobs: { ...g.logprobs, textOffset: g.logprobs.textOffset.map((o) => o + echo.length) } } : {}),
      })),
      usage: { promptTokens: prompt.length, completionTokens: out.reduce((n, g) => n + g.tokens.length, 0) },
    };
  }

  async close(): Promise<void> {
    await this.runtime.close();
  }
}

/**
 * Load a model from a run directory (its latest checkpoint) or a checkpoint directory.
 *
 *   const model = await loadCompletionModel('models/code-small');
 *   const { choices } = await model.complete({ prompt: 'def ', maxTokens: 32, temperature: 0.2, topP: 0.95, n: 1, stop: [] });
 */
export async function loadCompletionModel(
  dir: string,
  opts: { device?: Device; threads?: number; id?: string; infillFormat?: FimFormat } = {},
): Promise<TonyTextModel> {
  const entry = await latestCheckpoint(dir);
  const ck = await loadCheckpoint<{ kind?: string; model?: Record<string, unknown>; tokenizer?: Record<string, unknown> }>(entry?.dir ?? dir);
  if (ck.config.kind !== 'gpt' || !ck.config.model) {
    throw new TonyError('checkpoint', `${ck.dir} is not a Tony GPT checkpoint (kind '${String(ck.config.kind)}')`);
  }
  const cfg = gptConfig(ck.config.model);
  const tokenizer = loadTokenizer(ck.config.tokenizer ?? { kind: 'bytes' });
  if (tokenizer.vocabSize > cfg.vocabSize) {
    throw new TonyError('checkpoint', `${ck.dir}: tokenizer has ${tokenizer.vocabSize} tokens but the model only ${cfg.vocabSize}`);
  }
  const runtime = await Runtime.start({ device: opts.device, threads: opts.threads });
  await loadWeights(runtime, ck.params);
  return new TonyTextModel(opts.id ?? basename(resolve(dir)), cfg, tokenizer, runtime, opts.infillFormat);
}
