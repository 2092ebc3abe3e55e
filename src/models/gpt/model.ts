/**
 * A trained Tony text model as a CompletionModel: a checkpoint directory (weights, config with the
 * tokenizer) loaded into a runtime, answering completions and infills. What `tony serve`, `tony
 * sample`, `tony infill` and the eval harness's Tony provider use.
 */
import { basename, resolve } from 'node:path';
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import { type Device, Runtime } from '../../engine/runtime.ts';
import { loadWeights } from '../../engine/state.ts';
import { TonyError } from '../../errors.ts';
import { type FimFormat, fimPrompt } from '../../text/fim.ts';
import type { Tokenizer } from '../../text/tokenizer.ts';
import { loadTokenizer } from '../../text/tokenizers.ts';
import {
  type CompletionDelta,
  type CompletionModel,
  type CompletionRequest,
  type CompletionResult,
  ContextOverflowError,
} from './completion.ts';
import { generate } from './generate.ts';
import { type GPTConfig, gptConfig } from './gpt.ts';
import { type Healing, tokenHealing } from './healing.ts';

export class TonyTextModel implements CompletionModel {
  /** The registry row's fields (src/models/index.ts): every GPT checkpoint completes and infills. */
  readonly kind = 'gpt';
  readonly capabilities = ['complete', 'infill'] as const;
  private queue: Promise<unknown> = Promise.resolve();
  /** The tokens allowed while re-writing a healed whitespace tail, per tail (see tokenHealing). */
  private readonly healed = new Map<string, ReadonlySet<number>>();

  constructor(
    readonly id: string,
    readonly cfg: Readonly<GPTConfig>,
    readonly tokenizer: Tokenizer,
    readonly runtime: Runtime,
    /** Prompt layout for requests with a suffix (a model trained with joint FIM takes either). */
    readonly infillFormat: FimFormat = 'psm',
    /**
     * Whether training used fill-in-the-middle, from the checkpoint's `fim.rate`; undefined when
     * the checkpoint does not say. A model trained without FIM has never seen the sentinels.
     */
    readonly fimTrained: boolean | undefined = undefined,
  ) {}

  /**
   * Refuse infilling unless the checkpoint records FIM training: what `tony infill` and the
   * infilling evals call. `complete` itself still infills with any model, because measuring a
   * non-FIM model on infilling is the FIM paper's baseline (`tony eval heldout-infill`).
   */
  checkCanInfill(): void {
    if (this.fimTrained) return;
    const why =
      this.fimTrained === false
        ? 'was trained with FIM rate 0'
        : 'does not record fill-in-the-middle training (no fim rate > 0 in its config.json)';
    throw new TonyError(
      'usage',
      `${this.id} ${why}: it has never learned the <PRE>/<SUF>/<MID> layout, so it would print unrelated text instead of a middle`,
      'complete left to right instead (tony sample), or train with FIM: tony train lm --fim-rate 0.5 (the default)',
    );
  }

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
    if (!(req.maxTokens >= 1))
      throw new TonyError('usage', `maxTokens is ${req.maxTokens}: a completion needs at least 1 new token`, 'ask for max_tokens ≥ 1');
    const infill = req.suffix !== undefined;
    const prompt = infill ? fimPrompt(this.tokenizer, req.prompt, req.suffix!, this.infillFormat) : this.tokenizer.encode(req.prompt);
    if (prompt.length === 0) prompt.push(this.tokenizer.special.eot); // an empty prompt starts a document
    const maxNew = Math.min(req.maxTokens, this.cfg.blockSize - prompt.length);
    const promptTokens = prompt.length;
    // The healed tokens re-write the prompt's tail: generated on top of max_tokens and not counted.
    const healed = !infill && !req.echo && !req.logprobs ? this.healing(prompt) : undefined;
    if (healed) prompt.pop();
    if (maxNew < 1) throw new ContextOverflowError(prompt.length, this.cfg.blockSize);
    // An infill ends at <EOT>, or where the middle starts writing out the suffix (cut there).
    const head = infill ? suffixHead(req.suffix!) : undefined;
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
      stopStrings: head ? [...req.stop, head] : req.stop,
      logprobs: req.logprobs,
      ...(healed ? { healed } : {}),
      onText: (index, text) => onDelta?.({ index, text }),
      signal,
    });
    out.forEach((g, index) => onDelta?.({ index, text: '', finishReason: g.finishReason }));
    const stopReason = (g: (typeof out)[number]): string | undefined => {
      const by = g.stoppedBy;
      if (!by) return undefined;
      if ('string' in by) return by.string === head && !req.stop.includes(head) ? 'suffix' : by.string;
      if (by.token === this.tokenizer.special.eot) return 'eot';
      return this.tokenizer.decode([by.token]);
    };
    return {
      choices: out.map((g, index) => ({
        index,
        text: echo + g.text,
        finishReason: g.finishReason,
        ...(g.stoppedBy ? { stopReason: stopReason(g) } : {}),
        ...(g.logprobs ? { logprobs: { ...g.logprobs, textOffset: g.logprobs.textOffset.map((o) => o + echo.length) } } : {}),
      })),
      usage: { promptTokens, completionTokens: out.reduce((n, g) => n + g.tokens.length - g.healTokens, 0) },
    };
  }

  private healing(prompt: readonly number[]): Healing | undefined {
    return tokenHealing(this.tokenizer, prompt, this.healed);
  }

  async close(): Promise<void> {
    await this.runtime.close();
  }
}

/**
 * Non-blank characters of the suffix an infill must write out before it counts as having reached
 * the suffix. Eight is most of a short line (`return c`): a middle rarely contains that much of the
 * text that follows it by chance, while a model that has not learned to end a middle with <EOT>
 * runs on into the suffix (the README's infill example did; docs/results/serving.md measures how
 * often each stop fires).
 */
const SUFFIX_HEAD_CHARS = 8;
/** Fewer non-blank characters than this (a lone `)`) would also match correct middles: no cut. */
const SUFFIX_HEAD_MIN = 4;

/**
 * The start of `suffix` whose appearance in a generated middle means the middle has reached the
 * suffix: the shortest start with SUFFIX_HEAD_CHARS non-blank characters, or the whole suffix
 * without trailing blanks when it is shorter; undefined when that holds under SUFFIX_HEAD_MIN.
 *
 *   suffixHead('\n    return c\n')  // '\n    return c'
 */
export function suffixHead(suffix: string): string | undefined {
  let seen = 0;
  for (let i = 0; i < suffix.length; i++) {
    if (/\S/.test(suffix[i]!) && ++seen === SUFFIX_HEAD_CHARS) return suffix.slice(0, i + 1);
  }
  return seen >= SUFFIX_HEAD_MIN ? suffix.trimEnd() : undefined;
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
  const ck = await loadCheckpoint<{
    kind?: string;
    model?: Record<string, unknown>;
    tokenizer?: Record<string, unknown>;
    fim?: { rate?: unknown };
  }>(entry?.dir ?? dir);
  if (ck.config.kind !== 'gpt' || !ck.config.model) {
    throw new TonyError('checkpoint', `${ck.dir} is not a Tony GPT checkpoint (kind '${String(ck.config.kind)}')`);
  }
  const cfg = gptConfig(ck.config.model);
  const tokenizer = loadTokenizer(ck.config.tokenizer ?? { kind: 'bytes' });
  if (tokenizer.vocabSize > cfg.vocabSize) {
    throw new TonyError('checkpoint', `${ck.dir}: tokenizer has ${tokenizer.vocabSize} tokens but the model only ${cfg.vocabSize}`);
  }
  const runtime = await Runtime.start({ device: opts.device, threads: opts.threads });
  await loadWeights(runtime, ck.params, { transfer: true }); // read for this alone
  const fimRate = ck.config.fim?.rate;
  const fimTrained = typeof fimRate === 'number' ? fimRate > 0 : undefined;
  return new TonyTextModel(opts.id ?? basename(resolve(dir)), cfg, tokenizer, runtime, opts.infillFormat, fimTrained);
}
