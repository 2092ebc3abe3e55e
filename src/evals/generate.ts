/**
 * Sampling for the evaluations: n samples per problem from any Provider, written in the reference
 * samples format (`{task_id, completion}`) so that scoring is the same whether the samples came from
 * here or from elsewhere.
 */
import { writeFileAtomic } from '../io.ts';
import { pool } from '../pool.ts';
import { calculatorHook } from './calculator.ts';
import type { MathProblem, Problem, Sample } from './data.ts';
import { CODEX_STOP } from './humaneval.ts';
import type { Api, Provider } from './providers.ts';

export interface SamplingOptions {
  n: number;
  temperature: number;
  topP: number;
  maxTokens: number;
  /** Problems sampled at once (the provider also caps requests in flight). */
  concurrency?: number;
  /** Called after each problem. */
  onProgress?: (p: { done: number; total: number }) => void;
}

/** Codex paper defaults: nucleus 0.95; 0.2 is its best temperature for pass@1. */
export const CODE_SAMPLING: Omit<SamplingOptions, 'n'> = { temperature: 0.2, topP: 0.95, maxTokens: 512 };

/** Pull code out of a chat answer: the first fenced block if there is one, else the whole text. */
export function codeFromChat(answer: string): string {
  const m = /```[a-zA-Z]*\n([\s\S]*?)```/.exec(answer);
  return m ? m[1]! : answer;
}

/**
 * Sample completions for HumanEval or infilling problems. Left-to-right samples stop at Codex's
 * stop sequences; infilling samples send the problem's `suffix`. With the chat API the model is
 * asked to finish the function and its code block becomes the completion (a full redefinition of
 * the function after the prompt's stub is valid Python and JS).
 *
 * A prompt longer than the model's context does not end the run: its samples are empty, scored as
 * failed, and carry the reason in `error` (kept in the samples and results files). Truncating the
 * prompt instead would score the model on a problem it was not shown whole.
 */
export async function sampleCode(
  provider: Provider,
  problems: Iterable<Problem>,
  opts: SamplingOptions & { api?: Api },
): Promise<Sample[]> {
  const list = [...problems];
  const perProblem = await pool(
    list,
    opts.concurrency ?? 4,
    async (p) => {
      const infill = p.suffix !== undefined;
      const prompt =
        opts.api === 'chat' ? `Complete this function. Answer with the whole function in one code block.\n\n${p.prompt}` : p.prompt;
      const gens = await provider.generate(prompt, {
        n: opts.n,
        temperature: opts.temperature,
        topP: opts.topP,
        maxTokens: opts.maxTokens,
        ...(infill ? { suffix: p.suffix } : { stop: CODEX_STOP }),
      });
      return gens.map((g) => ({
        task_id: p.task_id,
        completion: opts.api === 'chat' ? codeFromChat(g.text) : g.text,
        ...(g.error ? { error: g.error } : {}),
      }));
    },
    (done, total) => opts.onProgress?.({ done, total }),
  );
  return perProblem.flat();
}

/** The prompt for a GSM8K question (the paper fine-tuned instead; an API model needs the format). */
export function mathPrompt(question: string): string {
  return (
    'Solve the problem step by step. Write each calculation as <<expression=result>> and end with a ' +
    `line "#### <answer>".\n\nQuestion: ${question}\nAnswer:`
  );
}

/** Sample GSM8K solutions, optionally with the calculator forcing `<<expr=result>>`. */
export async function sampleMath(
  provider: Provider,
  problems: readonly MathProblem[],
  opts: SamplingOptions & { calculator: boolean },
): Promise<Array<{ task_id: string; completion: string; error?: string }>> {
  const perProblem = await pool(
    problems.map((p, i) => ({ p, i })),
    opts.concurrency ?? 4,
    async ({ p, i }) => {
      const gens = await provider.generate(mathPrompt(p.question), {
        n: opts.n,
        temperature: opts.temperature,
        topP: opts.topP,
        maxTokens: opts.maxTokens,
        stop: ['\n\nQuestion:'],
        ...(opts.calculator ? { hook: { stopAt: '=', force: calculatorHook } } : {}),
      });
      return gens.map((g) => ({ task_id: `gsm8k/${i}`, completion: g.text, ...(g.error ? { error: g.error } : {}) }));
    },
    (done, total) => opts.onProgress?.({ done, total }),
  );
  return perProblem.flat();
}

/** Write samples as JSON Lines. */
export async function writeSamples(path: string, samples: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  await writeFileAtomic(path, samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
}
