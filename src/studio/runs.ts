/**
 * What the studio reads from a folder of training runs and eval results: the runs (a folder with
 * `metrics.jsonl`, as the trainer writes it), their config, checkpoints and metrics, and HumanEval
 * results files (`*_results.jsonl`, src/evals/humaneval.ts). Paths from a request are names
 * relative to the folder and never leave it.
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { TonyError } from '../errors.ts';

/** How deep under the folder runs are looked for (a sweep's sizes sit one level down). */
const MAX_DEPTH = 3;
/** Folders never holding runs of their own: checkpoints and prepared data. */
const SKIP = /^(ckpt-\d+|data|node_modules|\..*)$/;

export interface RunSummary {
  /** Path relative to the runs folder, '/'-separated. */
  name: string;
  kind: string | undefined;
  steps: number;
  lastLoss: number | undefined;
  /** Last change of metrics.jsonl (ms since the epoch). */
  updated: number;
}

export interface RunDetail {
  name: string;
  config: Record<string, unknown> | undefined;
  checkpoints: Array<{ name: string; step: number }>;
}

/** A name from a request → its path inside `root`; anything reaching outside is a usage error. */
export function inside(root: string, name: string): string {
  const base = resolve(root);
  const p = resolve(base, name);
  if (name.includes('\0') || (p !== base && !p.startsWith(base + sep)))
    throw new TonyError('usage', `'${name}' is not inside the runs folder`, 'name a run as the run list shows it');
  return p;
}

async function walk(root: string, visit: (dir: string, files: string[]) => void): Promise<void> {
  const go = async (dir: string, depth: number): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // unreadable or vanished: not a run
    }
    visit(
      dir,
      entries.filter((e) => e.isFile()).map((e) => e.name),
    );
    if (depth >= MAX_DEPTH) return;
    for (const e of entries) {
      if (SKIP.test(e.name)) continue;
      // A linked run folder counts (runs folders often gather runs by symlink); MAX_DEPTH bounds loops.
      const isDir = e.isDirectory() || (e.isSymbolicLink() && (await stat(join(dir, e.name)).catch(() => undefined))?.isDirectory());
      if (isDir) await go(join(dir, e.name), depth + 1);
    }
  };
  await go(resolve(root), 0);
}

const nameOf = (root: string, p: string) => relative(resolve(root), p).split(sep).join('/');

/** Every run under `root`, most recently updated first. */
export async function listRuns(root: string): Promise<RunSummary[]> {
  const dirs: string[] = [];
  await walk(root, (dir, files) => files.includes('metrics.jsonl') && dirs.push(dir));
  const runs = await Promise.all(
    dirs.map(async (dir): Promise<RunSummary> => {
      const [text, st, config] = await Promise.all([
        readFile(join(dir, 'metrics.jsonl'), 'utf8'),
        stat(join(dir, 'metrics.jsonl')),
        readConfig(dir),
      ]);
      const rows = parseMetrics(text).rows;
      const losses = rows.filter((r) => typeof r.loss === 'number');
      return {
        name: nameOf(root, dir) || '.',
        kind: typeof config?.kind === 'string' ? config.kind : undefined,
        steps: Math.max(0, ...rows.map((r) => (typeof r.step === 'number' ? r.step : 0))),
        lastLoss: losses.at(-1)?.loss as number | undefined,
        updated: st.mtimeMs,
      };
    }),
  );
  return runs.sort((a, b) => b.updated - a.updated);
}

async function readConfig(dir: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined; // a run that has not written its config yet
  }
}

export async function runDetail(root: string, name: string): Promise<RunDetail> {
  const dir = inside(root, name);
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    throw new TonyError('usage', `no run '${name}' in the runs folder`, 'GET /api/runs lists them');
  }
  if (!entries.some((e) => e.name === 'metrics.jsonl')) throw new TonyError('usage', `'${name}' is not a run (no metrics.jsonl)`);
  const checkpoints = entries
    .filter((e) => e.isDirectory() && /^ckpt-\d+$/.test(e.name))
    .map((e) => ({ name: e.name, step: Number(e.name.slice(5)) }))
    .sort((a, b) => a.step - b.step);
  return { name, config: await readConfig(dir), checkpoints };
}

export type MetricRow = Record<string, unknown>;

/** Complete lines of metrics.jsonl; `rest` is a line still being written (no newline yet). */
function parseMetrics(text: string): { rows: MetricRow[]; rest: string } {
  const lines = text.split('\n');
  const rest = lines.pop() ?? '';
  const rows: MetricRow[] = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line) as MetricRow);
    } catch {
      /* a damaged line: the trainer refuses it on resume; the studio just does not plot it */
    }
  }
  return { rows, rest };
}

/** How often a followed metrics.jsonl is checked for new lines. */
const FOLLOW_INTERVAL_MS = 250;

/**
 * Follow `<run>/metrics.jsonl` like `tail -f`: `onRows` gets every row now there, then the rows
 * appended, until `signal` aborts. A file that shrinks (a run restarted in place) is read again
 * from the start with `reset` set.
 */
export async function followMetrics(
  root: string,
  name: string,
  signal: AbortSignal,
  onRows: (rows: MetricRow[], reset: boolean) => void,
): Promise<void> {
  const path = join(inside(root, name), 'metrics.jsonl');
  let offset = 0;
  let rest = '';
  let first = true;
  while (!signal.aborted) {
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      size = 0;
    }
    const reset = size < offset;
    if (reset) [offset, rest] = [0, ''];
    if (size > offset || first || reset) {
      const fh = await open(path, 'r').catch(() => undefined);
      if (fh) {
        try {
          const buf = Buffer.alloc(size - offset);
          const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
          offset += bytesRead;
          const parsed = parseMetrics(rest + buf.subarray(0, bytesRead).toString('utf8'));
          rest = parsed.rest;
          if (parsed.rows.length || first || reset) onRows(parsed.rows, reset);
        } finally {
          await fh.close();
        }
      }
      first = false;
    }
    await new Promise((r) => setTimeout(r, FOLLOW_INTERVAL_MS));
  }
}

export interface EvalFile {
  name: string;
  samples: number;
  passed: number;
  /** Why the file cannot be read, when it cannot (the others are still listed). */
  error?: string;
}

export interface EvalRow {
  task_id: string;
  completion: string;
  result: string;
  passed: boolean;
}

/** Every `*_results.jsonl` under `root`. */
export async function listEvals(root: string): Promise<EvalFile[]> {
  const files: string[] = [];
  await walk(root, (dir, names) => {
    for (const n of names) if (n.endsWith('_results.jsonl')) files.push(join(dir, n));
  });
  const out = await Promise.all(
    files.map(async (f): Promise<EvalFile> => {
      const name = nameOf(root, f);
      try {
        const rows = parseResults(await readFile(f, 'utf8'), name);
        return { name, samples: rows.length, passed: rows.filter((r) => r.passed).length };
      } catch (err) {
        return { name, samples: 0, passed: 0, error: err instanceof TonyError ? err.message : String(err) };
      }
    }),
  );
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export async function readEvals(root: string, name: string): Promise<{ name: string; rows: EvalRow[] }> {
  if (!name.endsWith('_results.jsonl'))
    throw new TonyError('usage', `'${name}' is not a results file`, 'results files end in _results.jsonl (tony eval writes them)');
  const path = inside(root, name);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new TonyError('usage', `no results file '${name}' in the runs folder`, 'GET /api/evals lists them');
  }
  return { name, rows: parseResults(text, name) };
}

function parseResults(text: string, where: string): EvalRow[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      let r: Partial<EvalRow>;
      try {
        r = JSON.parse(l) as Partial<EvalRow>;
      } catch {
        throw new TonyError('data', `${where}:${i + 1} is not JSON`, 'results files are JSON lines as tony eval writes them');
      }
      return {
        task_id: String(r.task_id ?? `line ${i + 1}`),
        completion: String(r.completion ?? ''),
        result: String(r.result ?? ''),
        passed: r.passed === true,
      };
    });
}
