/**
 * Sampling GSM8K solutions for the verifier pipeline (PAPERS.md §3): N solutions per problem from a
 * generator, each labelled by final-answer correctness — the verifier's training data, and the
 * candidates best-of-N chooses among at test time.
 *
 * A Tony model samples in batches over its KV cache with the calculator forced inside the decoding
 * loop (GenerateOptions.force): as soon as a row has written `<<expr=`, the next tokens are the
 * calculator's `result>>`, never the model's. An OpenAI-compatible endpoint samples through the eval
 * providers instead (src/evals/generate.ts `sampleMath`: stop at "=", force, continue), with their
 * instruction prompt, since a general model was not fine-tuned on the `Question:/Answer:` layout.
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { latestCheckpoint } from '../engine/checkpoint.ts';
import type { Device } from '../engine/runtime.ts';
import { calculatorHook } from '../evals/calculator.ts';
import type { MathProblem } from '../evals/data.ts';
import { sampleMath } from '../evals/generate.ts';
import { extractAnswer, isCorrect } from '../evals/gsm8k.ts';
import type { Provider } from '../evals/providers.ts';
import { generate } from '../models/gpt/generate.ts';
import type { TonyTextModel } from '../models/gpt/model.ts';
import { loadTextModel } from '../models/index.ts';
import { solutionPrompt } from '../models/verifier/data.ts';
import { MATH_FORMAT } from '../models/verifier/kind.ts';

/** The bundled models: `generator/` (tony train math-generator) and `verifier/` (tony train verifier). */
export const BUNDLED_MATH = fileURLToPath(new URL('../../models/math', import.meta.url));

export type LabelledSample = {
  /** `gsm8k/<i>`: the problem's 0-based line in its file (the eval's task id). */
  task_id: string;
  question: string;
  completion: string;
  answer: string | null;
  /** Final answer equals the reference's: the verifier's label. A sample without `####` is wrong. */
  correct: boolean;
  /** Why nothing was generated (the prompt does not fit the context). */
  error?: string;
};

export interface MathSampling {
  n: number;
  temperature: number;
  topP: number;
  maxTokens: number;
  /** Force `result>>` after every `<<expr=` the calculator can evaluate. */
  calculator: boolean;
  seed: number;
  /** Problems in flight at once through a provider (default 4). */
  concurrency?: number;
  onProgress?: (p: { done: number; total: number }) => void;
}

/** N labelled solutions per problem, problem by problem. */
export async function sampleSolutions(
  generator: TonyTextModel | Provider,
  problems: readonly MathProblem[],
  opts: MathSampling,
): Promise<LabelledSample[]> {
  const label = (i: number, completion: string, error?: string): LabelledSample => ({
    task_id: `gsm8k/${i}`,
    question: problems[i]!.question,
    completion,
    answer: extractAnswer(completion) ?? null,
    correct: isCorrect(completion, problems[i]!.answer),
    ...(error ? { error } : {}),
  });
  if (!('runtime' in generator)) {
    const raw = await sampleMath(generator, problems, { ...opts, concurrency: opts.concurrency ?? 4 });
    return raw.map((s) => label(Number(s.task_id.split('/')[1]), s.completion, s.error));
  }
  const { runtime, cfg, tokenizer } = generator;
  const out: LabelledSample[] = [];
  for (let i = 0; i < problems.length; i++) {
    const prompt = tokenizer.encode(solutionPrompt(problems[i]!.question));
    const room = cfg.blockSize - prompt.length;
    if (room < 1) {
      const why = `the prompt has ${prompt.length} tokens; the generator's context is ${cfg.blockSize}`;
      for (let k = 0; k < opts.n; k++) out.push(label(i, '', why));
    } else {
      const gens = await generate(runtime, cfg, tokenizer, new Array(opts.n).fill(prompt), {
        maxNewTokens: Math.min(opts.maxTokens, room),
        temperature: opts.temperature,
        topP: opts.topP,
        // One stream per problem: adding problems never changes another problem's samples.
        seed: opts.seed * 1_000_003 + i,
        ...(opts.calculator ? { force: calculatorHook } : {}),
        // A generator that runs on past its solution starts the next problem; FIM sentinels are
        // tokens a math generator never saw in training.
        stopStrings: ['\nQuestion:'],
        stopTokens: [tokenizer.special.fimPrefix, tokenizer.special.fimMiddle, tokenizer.special.fimSuffix],
      });
      for (const g of gens) out.push(label(i, g.text));
    }
    opts.onProgress?.({ done: i + 1, total: problems.length });
  }
  return out;
}

/**
 * A math-generator run or checkpoint directory (its config records the `Question:/Answer:` layout it
 * was trained on) loaded for batched sampling; undefined for anything else (an endpoint, another
 * model), which the eval providers sample with their instruction prompt.
 */
export async function openMathGenerator(model: string, opts: { device?: Device; threads?: number }): Promise<TonyTextModel | undefined> {
  try {
    if (!statSync(model).isDirectory()) return undefined;
    const dir = (await latestCheckpoint(model))?.dir ?? model;
    if (JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')).format !== MATH_FORMAT) return undefined;
  } catch {
    return undefined; // not a readable Tony model directory: the providers say what is wrong with it
  }
  return (await loadTextModel(model, opts, 'math sampling')) as unknown as TonyTextModel;
}
