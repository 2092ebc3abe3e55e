/**
 * Math routes: the GSM8K verifier pipeline (PAPERS.md §3) behind the studio's Math page — a problem
 * in, N solutions sampled by the generator with the calculator forced, each scored by the verifier,
 * out ranked best first with the verifier's value after every character.
 *
 *   GET  /api/math/problem?seed=0&index=3   → { question, answer }  (a procedural held-out test problem)
 *   POST /api/math/solve { question, answer?, n?, temperature?, seed? }
 *        → { candidates: [{ completion, answer, correct, score, pieces: [{ text, value }] }], majority }
 *
 * The models are a folder holding `generator/` (tony train math-generator) and `verifier/` (tony
 * train verifier): by default the bundled models/math. They load on the first request, so a studio
 * whose folder lacks them starts anyway and says so on the page.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { majorityVote } from '../../evals/gsm8k.ts';
import { generateProblems } from '../../math/problems.ts';
import { BUNDLED_MATH, openMathGenerator, sampleSolutions } from '../../math/sample.ts';
import type { TonyTextModel } from '../../models/gpt/model.ts';
import { loadVerifier, type VerifierModel } from '../../models/verifier/model.ts';
import { badRequest, HttpError } from '../core/http.ts';
import type { RouteModule } from '../core/server.ts';

const LIMITS = { n: 64, question: 2000, maxTokens: 320 };
/**
 * The test problems the page offers: those the bundled models were measured on (docs/results/
 * verifiers.md) — two calculations, held-out themes and starting numbers, where the generator is
 * right about one time in five and the ranking matters.
 */
const PROBLEMS = { minSteps: 2, maxSteps: 2 };

interface MathCandidate {
  completion: string;
  answer: string | null;
  /** Against the reference, when the request gave one. */
  correct: boolean | null;
  /** The verifier's value at the last token: what the ranking sorts by. */
  score: number;
  /** The solution cut into characters, each with the value after its last byte. */
  pieces: Array<{ text: string; value: number }>;
}

/** Characters of `text` with the value after each one's last token (byte-level: one value per UTF-8 byte). */
function valuePieces(verifier: VerifierModel, text: string, values: readonly number[]): Array<{ text: string; value: number }> {
  const pieces: Array<{ text: string; value: number }> = [];
  let at = 0;
  for (const ch of text) {
    at += verifier.tokenizer.encode(ch).length;
    if (at > values.length) break; // past the verifier's context
    pieces.push({ text: ch, value: values[at - 1]! });
  }
  return pieces;
}

export function mathRoutes(dir: string = BUNDLED_MATH): RouteModule {
  let models: Promise<{ generator: TonyTextModel; verifier: VerifierModel }> | undefined;
  const open = () => {
    models ??= (async () => {
      const generator = await openMathGenerator(join(dir, 'generator'), { threads: 1 });
      if (!existsSync(join(dir, 'verifier')) || !generator)
        throw new HttpError(
          503,
          `No math models in ${dir}: it needs generator/ (tony train math-generator) and verifier/ (tony train verifier).`,
          'server_error',
        );
      return { generator, verifier: await loadVerifier(join(dir, 'verifier'), { threads: 1 }) };
    })();
    // A failed load is retried on the next request (the folder may be filled in meanwhile).
    models.catch(() => (models = undefined));
    return models;
  };
  return {
    routes: [
      {
        method: 'GET',
        path: '/api/math/problem',
        public: true,
        async handle(ctx) {
          const q = new URL(ctx.req.url ?? '/', 'http://x').searchParams;
          const nat = (name: string) => {
            const v = q.get(name) ?? '0';
            if (!/^\d{1,6}$/.test(v)) throw badRequest(`'${name}' must be a whole number below 10⁶, got ${JSON.stringify(v)}.`, name);
            return Number(v);
          };
          const index = nat('index');
          const p = generateProblems({ split: 'test', count: index + 1, seed: nat('seed'), ...PROBLEMS })[index]!;
          ctx.send(200, { question: p.question, answer: p.answer });
        },
      },
      {
        method: 'POST',
        path: '/api/math/solve',
        public: true,
        async handle(ctx) {
          const body = await ctx.json();
          const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
          const { question, answer } = b;
          if (typeof question !== 'string' || !question.trim() || question.length > LIMITS.question)
            throw badRequest(`"question" must be a non-empty string of at most ${LIMITS.question} characters.`, 'question');
          if (answer !== undefined && (typeof answer !== 'string' || !/####\s*\S/.test(answer)))
            throw badRequest('"answer", when given, is a reference solution ending in a "#### N" line.', 'answer');
          const n = b.n ?? 8;
          if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > LIMITS.n)
            throw badRequest(`"n" must be an integer from 1 to ${LIMITS.n}, got ${JSON.stringify(b.n)}.`, 'n');
          const temperature = b.temperature ?? 0.7;
          if (typeof temperature !== 'number' || !(temperature >= 0 && temperature <= 2))
            throw badRequest(`"temperature" must be a number from 0 to 2, got ${JSON.stringify(b.temperature)}.`, 'temperature');
          const seed = b.seed ?? 0;
          if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0)
            throw badRequest(`"seed" must be a whole number, got ${JSON.stringify(b.seed)}.`, 'seed');
          const { generator, verifier } = await open();
          await ctx.withSlot(async () => {
            // With no reference, label against a placeholder and drop the labels.
            const reference = answer ?? '#### none';
            const samples = await sampleSolutions(generator, [{ question, answer: reference }], {
              n,
              temperature,
              topP: 1,
              maxTokens: LIMITS.maxTokens,
              calculator: true,
              seed,
            });
            if (samples[0]?.error) throw badRequest(samples[0].error, 'question');
            const texts = samples.map((s) => s.completion);
            const values = await verifier.values(question, texts);
            // What `tony math rank` ranks by (an empty solution scores the prompt's last value).
            const scores = await verifier.score(question, texts);
            const candidates: MathCandidate[] = samples.map((s, i) => ({
              completion: s.completion,
              answer: s.answer,
              correct: answer === undefined ? null : s.correct,
              score: scores[i]!,
              pieces: valuePieces(verifier, s.completion, values[i]!),
            }));
            candidates.sort((x, y) => y.score - x.score);
            ctx.send(200, { candidates, majority: majorityVote(texts) ?? null, verifier: verifier.level });
          });
        },
      },
    ],
  };
}
