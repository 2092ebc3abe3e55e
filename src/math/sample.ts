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
import { calculatorHook } from '../evals/calculator.ts';
import type { MathProblem } from '../evals/data.ts';
import { sampleMath } from '../evals/generate.ts';
import { extractAnswer, isCorrect } from '../evals/gsm8k.ts';
import type { Provider } from '../evals/providers.ts';
import { generate } from '../models/gpt/generate.ts';
import type { TonyTextModel } from '../models/gpt/model.ts';
import { solutionPrompt } from '../models/verifier/data.ts';

export interface LabelledSample {
  /** `gsm8k/<i>`: the problem's 0-based line in its file (the eval's task id). */
  task_id: string;
  question: string;
  completion: string;
  answer: string | null;
  /** Final answer equals the reference's: the verifier's label. A sample without `####` is wrong. */
  correct: boolean;
  /** Why nothing was generated (the prompt does not fit the context). */
  error?: string;
}

export interface MathSampling {
  n: number;
  temperature: number;
  topP: number;
  maxTokens: number;
  /** Force `result>>` after every `<<expr=` the calculator can evaluate. */
  calculator: boolean;
  seed: number;
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
    const raw = await sampleMath(generator, problems, { ...opts, concurrency: 4 });
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
