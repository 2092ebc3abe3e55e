/**
 * The one registry of model kinds: a checkpoint's `kind` → the row that builds its training task,
 * loads it for inference and says what it can do. The CLI (`tony train <name>`, `sample`, `infill`,
 * `serve`, `export`), the server, `tony eval --model` and `tony scale sweep` find models here; a new
 * kind is one folder under src/models/ and one row below.
 *
 * Extra rows — a third-party kind, or a kind that exists only as a test fixture — come from modules
 * named in the environment variable TONY_MODEL_KINDS (paths, separated like PATH). Each such module
 * exports `kinds: ModelKind[]`. That keeps test-only kinds out of what ships (the fixture's row is
 * never imported unless a test names its module) and is the seam for kinds that live outside Tony.
 *
 *   const model = await loadModel('models/code', { device: 'cpu', threads: 2 });
 *   if (canComplete(model)) await model.complete({ prompt: 'def ', maxTokens: 16, temperature: 0, topP: 1, n: 1, stop: [] });
 */
import { readFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { latestCheckpoint, loadCheckpoint, saveCheckpoint } from '../engine/checkpoint.ts';
import type { Device } from '../engine/runtime.ts';
import type { TrainTask } from '../engine/trainer.ts';
import { TonyError } from '../errors.ts';
import type { CompletionModel } from './gpt/completion.ts';
import { gptKind, lmKind } from './gpt/kind.ts';
import { priorKind, vqvaeKind } from './jukebox/kind.ts';
import { mcnnKind } from './mcnn/kind.ts';
import { omniImageKind, omniKind, omniSpeechKind } from './omni/kind.ts';
import { pointeKind } from './pointe/kind.ts';
import { shapeEKind } from './shape-e/kind.ts';
import { mathGeneratorKind, verifierKind } from './verifier/kind.ts';

/**
 * What a loaded model can do. The known ones are listed; a plugin kind may name its own (any
 * string), which only its own callers look for.
 */
export type Capability = 'complete' | 'infill' | 'vocode' | 'generate-audio' | 'generate-shape' | 'score' | 'speak' | (string & {});

export interface LoadOptions {
  device?: Device;
  /** CPU threads of its runtime (default: all cores). */
  threads?: number;
  /** The id it is served under (default: the directory's name). */
  id?: string;
  /** Kinds that infill text: the prompt layout for requests with a suffix (default psm). */
  infillFormat?: 'psm' | 'spm';
}

/** What every kind's `load` returns; each capability adds its own methods (e.g. CompletionModel's). */
export interface LoadedModel {
  /** The checkpoint kind, e.g. 'gpt'. */
  readonly kind: string;
  readonly id: string;
  readonly capabilities: readonly Capability[];
  /** Which execution provider runs it, e.g. "cpu (onnxruntime-node 1.30.0, 2 threads)". */
  readonly provider: string;
  close(): Promise<void>;
}

/** How a training run draws its data. */
export interface TrainSetup {
  /** Examples (sequences, clips, shapes …) per step. */
  batch: number;
  /** Seed of the batch order (and of any data augmentation such as FIM). */
  seed: number;
  /** The preset the config came from, recorded in the checkpoint. */
  preset?: string;
}

/**
 * One registry row. `C` is the kind's resolved config, `D` its training data in memory.
 */
export interface ModelKind<C = any, D = any> {
  /** `tony train <name>`; unique among rows. */
  readonly name: string;
  /** The `kind` its checkpoints carry in config.json; several rows may share one (gpt and lm). */
  readonly kind: string;
  /** One line for `tony train --help`. */
  readonly summary: string;
  readonly capabilities: readonly Capability[];
  /** The typed, validated config from overrides (`--set key=value`); unknown keys are errors. */
  config(overrides: Record<string, unknown>): C;
  /** Read training data from paths (`--data`): what the generic `tony train <name>` uses. */
  data?(paths: readonly string[], config: C): Promise<D>;
  /** The trainer's task: model + loss + batches + the config saved in every checkpoint. */
  task(config: C, data: D, setup: TrainSetup): TrainTask;
  /** A checkpoint or run directory (its latest checkpoint) loaded for inference. */
  load(dir: string, opts?: LoadOptions): Promise<LoadedModel>;
}

/** Tony's own kinds, in the order `tony train --help` lists them. */
const BUILTIN: readonly ModelKind[] = [
  gptKind,
  lmKind,
  mcnnKind,
  mathGeneratorKind,
  verifierKind,
  pointeKind,
  shapeEKind,
  vqvaeKind,
  priorKind,
  omniSpeechKind,
  omniImageKind,
  omniKind,
];

/** The environment variable naming modules with extra rows. */
export const MODEL_KINDS_ENV = 'TONY_MODEL_KINDS';

const loaded = new Map<string, Promise<ModelKind[]>>();

/** Rows exported (`kinds`) by the modules in TONY_MODEL_KINDS, imported once per distinct value. */
function extraKinds(): Promise<ModelKind[]> {
  const value = process.env[MODEL_KINDS_ENV] ?? '';
  let p = loaded.get(value);
  if (!p) {
    p = Promise.all(
      value
        .split(delimiter)
        .filter((s) => s.trim() !== '')
        .map(async (path) => {
          let mod: { kinds?: unknown };
          try {
            mod = (await import(pathToFileURL(resolve(path)).href)) as { kinds?: unknown };
          } catch (err) {
            throw new TonyError(
              'config',
              `${MODEL_KINDS_ENV}: cannot import '${path}': ${(err as Error).message}`,
              'name a module that exports `kinds: ModelKind[]`',
              { cause: err },
            );
          }
          if (!Array.isArray(mod.kinds))
            throw new TonyError(
              'config',
              `${MODEL_KINDS_ENV}: '${path}' does not export \`kinds\` (an array of registry rows)`,
              'export const kinds = [myKind]',
            );
          return mod.kinds as ModelKind[];
        }),
    ).then((lists) => lists.flat());
    loaded.set(value, p);
  }
  return p;
}

/** Every row: the built-in ones, then those from TONY_MODEL_KINDS. Names must be unique. */
export async function modelKinds(): Promise<readonly ModelKind[]> {
  const rows = [...BUILTIN, ...(await extraKinds())];
  const seen = new Set<string>();
  for (const r of rows) {
    if (seen.has(r.name))
      throw new TonyError('config', `two model kinds are named '${r.name}'`, `rename one of the rows in ${MODEL_KINDS_ENV}`);
    seen.add(r.name);
  }
  return rows;
}

/** The row `tony train <name>` trains. */
export async function modelKind(name: string): Promise<ModelKind> {
  const rows = await modelKinds();
  const row = rows.find((r) => r.name === name);
  if (!row) throw new TonyError('usage', `unknown model kind '${name}'`, `known: ${rows.map((r) => r.name).join(', ')}`);
  return row;
}

/**
 * Load any Tony model directory (a run's latest checkpoint, or an exported model) through the row
 * of its checkpoint's `kind`.
 */
export async function loadModel(dir: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const ckDir = (await latestCheckpoint(dir))?.dir ?? dir;
  let kind: unknown;
  try {
    kind = (JSON.parse(await readFile(join(ckDir, 'config.json'), 'utf8')) as { kind?: unknown }).kind;
  } catch (err) {
    throw new TonyError(
      'checkpoint',
      `${dir} holds no Tony checkpoint: cannot read ${join(ckDir, 'config.json')} (${(err as Error).message})`,
      'pass a run directory (tony train --out) or a model directory (tony export --out)',
      { cause: err },
    );
  }
  const rows = await modelKinds();
  const row = rows.find((r) => r.kind === kind);
  if (!row) {
    throw new TonyError(
      'checkpoint',
      `${ckDir}: no model kind '${String(kind)}' is registered`,
      `known kinds: ${[...new Set(rows.map((r) => r.kind))].join(', ')}; a plugin kind needs its module in ${MODEL_KINDS_ENV}`,
    );
  }
  return row.load(dir, opts);
}

/** Whether a loaded model completes text (the OpenAI routes, `tony sample`, the eval harness). */
export function canComplete(m: LoadedModel): m is LoadedModel & CompletionModel {
  return m.capabilities.includes('complete');
}

/** `m` as a text-completion model, or a usage error saying what it is instead. */
export function asCompletionModel(m: LoadedModel, what = 'this command'): LoadedModel & CompletionModel {
  if (canComplete(m)) return m;
  throw new TonyError(
    'usage',
    `${m.id} is a '${m.kind}' model (${m.capabilities.join(', ') || 'no capabilities'}); ${what} needs one that completes text`,
    'pass a text model, e.g. one trained by tony train lm',
  );
}

/** Load a directory that must hold a text-completion model. */
export async function loadTextModel(dir: string, opts: LoadOptions = {}, what?: string): Promise<LoadedModel & CompletionModel> {
  const m = await loadModel(dir, opts);
  try {
    return asCompletionModel(m, what);
  } catch (err) {
    await m.close();
    throw err;
  }
}

/**
 * Copy a run's latest weights into a standalone model directory (no optimizer state): what gets
 * shipped, served and committed. Any registered kind; returns the step it came from.
 */
export async function exportModel(runDir: string, outDir: string, opts: { float16?: boolean } = {}): Promise<number> {
  const entry = await latestCheckpoint(runDir);
  const ck = await loadCheckpoint<Record<string, unknown>, { step?: number }>(entry?.dir ?? runDir);
  const rows = await modelKinds();
  if (!rows.some((r) => r.kind === ck.config.kind)) {
    throw new TonyError(
      'checkpoint',
      `${ck.dir}: no model kind '${String(ck.config.kind)}' is registered`,
      `a plugin kind needs its module in ${MODEL_KINDS_ENV}`,
    );
  }
  const step = Number(ck.state.step ?? 0);
  await saveCheckpoint(outDir, { config: ck.config, state: { step, exported_from: runDir }, params: ck.params }, opts);
  return step;
}
