/**
 * The reference datasets' formats, read from `.jsonl` or `.jsonl.gz` at a path or an http(s) URL.
 * No dataset is bundled. Every malformed line is an error naming the file and line; nothing is
 * skipped silently.
 *
 *   HumanEval            {task_id, prompt, entry_point, canonical_solution, test}
 *   HumanEval-infilling  the same plus {suffix}; `prompt` is the text before the hole
 *   samples              {task_id, completion}   (any other fields are kept and echoed back)
 *   GSM8K                {question, answer}, the answer ending in `#### N`
 */
import { dataError } from '../errors.ts';
import { readText } from '../io.ts';

export interface Problem {
  task_id: string;
  prompt: string;
  entry_point: string;
  canonical_solution: string;
  test: string;
  /** Infilling problems only: the text after the hole. */
  suffix?: string;
}

export interface Sample {
  task_id: string;
  completion: string;
  [extra: string]: unknown;
}

export interface MathProblem {
  question: string;
  answer: string;
}

/** Parse JSON Lines; blank lines are allowed, anything else that is not a JSON object is an error. */
export function parseJsonl(text: string, source: string): Array<{ line: number; value: Record<string, unknown> }> {
  const out: Array<{ line: number; value: Record<string, unknown> }> = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (!raw) continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw dataError(
        `${source}:${i + 1}: not valid JSON (${(e as Error).message})`,
        'each line must be one JSON object (JSON Lines, not a JSON array)',
      );
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw dataError(
        `${source}:${i + 1}: expected a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`,
        'each line must be one JSON object',
      );
    }
    out.push({ line: i + 1, value: value as Record<string, unknown> });
  }
  return out;
}

function requireStrings<K extends string>(
  rows: Array<{ line: number; value: Record<string, unknown> }>,
  source: string,
  keys: readonly K[],
  what: string,
): Array<Record<K, string> & Record<string, unknown>> {
  return rows.map(({ line, value }) => {
    for (const k of keys) {
      if (typeof value[k] !== 'string') {
        throw dataError(
          `${source}:${line}: ${what} field '${k}' is ${value[k] === undefined ? 'missing' : `a ${typeof value[k]}, not a string`}`,
          `${what} lines need string fields ${keys.join(', ')}`,
        );
      }
    }
    return value as Record<K, string> & Record<string, unknown>;
  });
}

async function load(source: string): Promise<Array<{ line: number; value: Record<string, unknown> }>> {
  return parseJsonl(await readText(source), source);
}

/** Load HumanEval problems (or infilling problems with `infilling: true`, which requires `suffix`). */
export async function loadProblems(source: string, opts: { infilling?: boolean } = {}): Promise<Map<string, Problem>> {
  const keys = [
    'task_id',
    'prompt',
    'entry_point',
    'canonical_solution',
    'test',
    ...(opts.infilling ? (['suffix'] as const) : []),
  ] as const;
  const rows = requireStrings(await load(source), source, keys, opts.infilling ? 'infilling problem' : 'problem');
  const out = new Map<string, Problem>();
  rows.forEach((r, i) => {
    if (out.has(r.task_id)) throw dataError(`${source}: task_id '${r.task_id}' appears twice (second at record ${i + 1})`);
    out.set(r.task_id, r as unknown as Problem);
  });
  if (out.size === 0) throw dataError(`${source}: no problems in the file`);
  return out;
}

/** Load samples `{task_id, completion}`. */
export async function loadSamples(source: string): Promise<Sample[]> {
  return requireStrings(await load(source), source, ['task_id', 'completion'], 'sample') as Sample[];
}

/** Load GSM8K `{question, answer}` rows. */
export async function loadMathProblems(source: string): Promise<MathProblem[]> {
  const rows = requireStrings(await load(source), source, ['question', 'answer'], 'GSM8K');
  if (rows.length === 0) throw dataError(`${source}: no problems in the file`);
  return rows.map((r) => ({ question: r.question, answer: r.answer }));
}

/** `x.jsonl` → `x.jsonl_results.jsonl`, the reference harness's naming. */
export function resultsPath(samplesPath: string): string {
  return `${samplesPath}_results.jsonl`;
}
