/**
 * Scaling data: points of learning curves, one per (run, tokens seen, split). Two sources read into
 * the same rows:
 *
 * - a runs JSONL file, one row a line:
 *     {"run": "d256", "params": 2100000, "nonembedding_params": 1600000, "tokens": 4096000,
 *      "compute": 3.9e13, "loss": 2.41, "split": "val"}          (compute optional)
 * - Tony's own training logs: a directory per run holding `config.json` ({"params", "nonembedding_params",
 *   "model", …}) and `metrics.jsonl` (train lines `{"step", "tokens", "loss", …}`, eval lines
 *   `{"step", "tokens", "val_loss"}`), so that a sweep's output is fitted without conversion.
 *
 * Compute, when not given, is C = 6·N·tokens with N the non-embedding parameters (Kaplan et al.'s
 * forward + backward FLOPs per token, which Henighan et al. use too).
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TonyError } from '../errors.ts';
import { readText } from '../io.ts';
import type { CurvePoint } from './frontier.ts';

/** One point of one learning curve. */
export interface RunRow {
  run: string;
  params: number;
  nonembedding_params: number;
  tokens: number;
  compute: number;
  loss: number;
  /** 'train', 'val', or any other name the source uses. */
  split: string;
}

/** Training FLOPs per parameter per token: 2 for the forward pass, 4 for the backward. */
export const FLOPS_PER_PARAM_TOKEN = 6;

/**
 * Read scaling rows from a runs JSONL file (path or URL, optionally gzipped), from one run directory
 * of Tony's training logs, or from a directory of such run directories.
 */
export async function readRuns(source: string): Promise<RunRow[]> {
  const st = /^https?:\/\//.test(source) ? undefined : await stat(source).catch(() => undefined);
  if (!st?.isDirectory()) return parseRunsJsonl(await readText(source), source);
  if (await isFile(join(source, 'metrics.jsonl'))) return readMetricsRun(source);
  const rows: RunRow[] = [];
  const entries = (await readdir(source, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  for (const name of entries) {
    const dir = join(source, name);
    if (await isFile(join(dir, 'metrics.jsonl'))) rows.push(...(await readMetricsRun(dir)));
  }
  if (rows.length === 0) {
    throw new TonyError(
      'data',
      `'${source}' holds no run directories with a metrics.jsonl`,
      'pass a runs JSONL file, a run directory, or the directory that holds the run directories',
    );
  }
  return rows;
}

/** Parse runs JSONL text; `where` names the source in error messages. */
export function parseRunsJsonl(text: string, where = 'runs'): RunRow[] {
  const rows: RunRow[] = [];
  for (const [i, obj] of jsonLines(text, where)) {
    const at = `${where}:${i + 1}`;
    const run = obj.run;
    if (typeof run !== 'string' && typeof run !== 'number')
      throw new TonyError('data', `${at}: 'run' must be a string, got ${JSON.stringify(run)}`);
    const split = obj.split ?? 'train';
    if (typeof split !== 'string') throw new TonyError('data', `${at}: 'split' must be a string, got ${JSON.stringify(split)}`);
    const row = {
      run: String(run),
      params: num(obj, 'params', at),
      nonembedding_params: num(obj, 'nonembedding_params', at),
      tokens: num(obj, 'tokens', at),
      loss: num(obj, 'loss', at),
      split,
    };
    const compute =
      obj.compute === undefined || obj.compute === null ? computeOf(row.nonembedding_params, row.tokens) : num(obj, 'compute', at);
    rows.push({ ...row, compute });
  }
  if (rows.length === 0)
    throw new TonyError(
      'data',
      `${where} has no rows`,
      'one JSON object a line: {run, params, nonembedding_params, tokens, compute?, loss, split}',
    );
  return rows;
}

/**
 * Read one run directory of Tony's training logs: train rows from `loss` lines, 'val' rows from
 * `val_loss` lines. Lines with neither are other events and are skipped. A torn last line (the run is
 * still writing, or died mid-write) is skipped too.
 */
export async function readMetricsRun(dir: string): Promise<RunRow[]> {
  const configPath = join(dir, 'config.json');
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readText(configPath)) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TonyError) throw err;
    throw new TonyError('data', `${configPath} is not valid JSON: ${(err as Error).message}`);
  }
  const params = num(config, 'params', configPath);
  const nonembedding = num(config, 'nonembedding_params', configPath);
  const run = basename(dir);
  const metricsPath = join(dir, 'metrics.jsonl');
  const rows: RunRow[] = [];
  for (const [i, obj] of jsonLines(await readText(metricsPath), metricsPath, { tolerateTornLastLine: true })) {
    const at = `${metricsPath}:${i + 1}`;
    for (const [key, split] of [
      ['loss', 'train'],
      ['val_loss', 'val'],
    ] as const) {
      if (obj[key] === undefined) continue;
      const tokens = num(obj, 'tokens', at);
      rows.push({
        run,
        params,
        nonembedding_params: nonembedding,
        tokens,
        compute: computeOf(nonembedding, tokens),
        loss: num(obj, key, at),
        split,
      });
    }
  }
  if (rows.length === 0) throw new TonyError('data', `${metricsPath} has no loss or val_loss lines`, 'has the run logged any steps yet?');
  return rows;
}

/** C = 6·N·tokens. */
export function computeOf(nonembeddingParams: number, tokens: number): number {
  return FLOPS_PER_PARAM_TOKEN * nonembeddingParams * tokens;
}

/** The split to fit: `requested` if given (it must exist), otherwise 'val' when present, else 'train'. */
export function chooseSplit(rows: readonly RunRow[], requested?: string): string {
  const splits = [...new Set(rows.map((r) => r.split))];
  if (requested !== undefined) {
    if (!splits.includes(requested))
      throw new TonyError('usage', `no rows with split '${requested}'`, `the data have: ${splits.join(', ')}`);
    return requested;
  }
  if (splits.includes('val')) return 'val';
  if (splits.includes('train')) return 'train';
  if (splits.length === 1) return splits[0]!;
  throw new TonyError(
    'usage',
    `the data have several splits (${splits.join(', ')}) and none is 'val' or 'train'`,
    'choose one with --split',
  );
}

/** The points of every learning curve in `split`, for the compute frontier. */
export function curvePoints(rows: readonly RunRow[], split: string): Array<CurvePoint & { tokens: number }> {
  return rows
    .filter((r) => r.split === split)
    .map((r) => ({ run: r.run, params: r.nonembedding_params, compute: r.compute, loss: r.loss, tokens: r.tokens }));
}

/** Each run's last point in `split` (most tokens): its final loss, for L(N). */
export function finalPoints(rows: readonly RunRow[], split: string): Array<CurvePoint & { tokens: number }> {
  const last = new Map<string, RunRow>();
  for (const r of rows) {
    if (r.split !== split) continue;
    const prev = last.get(r.run);
    if (!prev || r.tokens >= prev.tokens) last.set(r.run, r);
  }
  for (const r of last.values()) {
    const sizes = new Set(rows.filter((q) => q.run === r.run).map((q) => q.nonembedding_params));
    if (sizes.size > 1)
      throw new TonyError(
        'data',
        `run '${r.run}' has rows with different nonembedding_params (${[...sizes].join(', ')})`,
        'give each model its own run name',
      );
  }
  return [...last.values()].map((r) => ({ run: r.run, params: r.nonembedding_params, compute: r.compute, loss: r.loss, tokens: r.tokens }));
}

function* jsonLines(
  text: string,
  where: string,
  opts: { tolerateTornLastLine?: boolean } = {},
): Generator<[number, Record<string, unknown>]> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      // Only the very last line, with no newline after it, can be a write in progress.
      if (opts.tolerateTornLastLine && i === lines.length - 1) return;
      throw new TonyError('data', `${where}:${i + 1}: not valid JSON (${(err as Error).message})`, 'one JSON object a line');
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
      throw new TonyError('data', `${where}:${i + 1}: expected a JSON object, got ${line.slice(0, 60)}`);
    yield [i, obj as Record<string, unknown>];
  }
}

function num(obj: Record<string, unknown>, key: string, at: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new TonyError(
      'data',
      `${at}: '${key}' must be a finite number, got ${JSON.stringify(v)}`,
      v === undefined ? `add '${key}'` : undefined,
    );
  }
  return v;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
