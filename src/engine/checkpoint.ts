/**
 * Checkpoints: one directory per save.
 *
 *   model.safetensors      parameters (Hugging Face safetensors: any safetensors reader can open it)
 *   optimizer.safetensors  optimizer state, when there is any
 *   config.json            the resolved config the model was built from
 *   state.json             training state: step, data position, RNG state, … (any JSON)
 *   tony-checkpoint.json   the manifest: format magic, version, and each file's byte size and sha256
 *
 * The manifest is written last, after every other file is on disk, and is removed first when a save
 * replaces an older checkpoint in the same directory. A crash at any point therefore leaves either the
 * old complete checkpoint, the new complete one, or a directory without a manifest, which loads as an
 * error ("incomplete") and which `latestCheckpoint` skips. The size and checksum in the manifest catch
 * truncation and corruption that happen later.
 *
 * A run directory holds `ckpt-<step>/` checkpoints; `saveRunCheckpoint` writes one and keeps the newest K.
 * `replaceCheckpoint` swaps a whole checkpoint in at a fixed path (the trainer's `best/`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TonyError } from '../errors.ts';
import { writeFileAtomic } from '../io.ts';
import type { DType, HostTensor } from './dtype.ts';
import { decodeSafetensors, safetensorsParts } from './safetensors.ts';

/** The manifest's `format` field: a JSON file without it is not a Tony checkpoint. */
const CHECKPOINT_MAGIC = 'tony-checkpoint';
/** Bump when the layout changes; readers refuse versions newer than theirs. */
export const CHECKPOINT_VERSION = 1;
export const MANIFEST_FILE = 'tony-checkpoint.json';
const MODEL_FILE = 'model.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const CONFIG_FILE = 'config.json';
const STATE_FILE = 'state.json';
const REQUIRED_FILES = [MODEL_FILE, CONFIG_FILE, STATE_FILE];
const KNOWN_FILES = [...REQUIRED_FILES, OPTIMIZER_FILE];
/** How many differences a mismatch error lists before "and N more". */
const MAX_LISTED_DIFFERENCES = 5;
const CKPT_DIR = /^ckpt-(\d+)$/;
/** Prefix of a checkpoint being deleted: renamed first (atomic), removed after. */
const DELETING_PREFIX = '.deleting-';

/** What a checkpoint holds. `config` and `state` must be plain JSON (checked on save). */
export interface Checkpoint<C = unknown, S = unknown> {
  config: C;
  state: S;
  params: Record<string, HostTensor>;
  optimizer?: Record<string, HostTensor>;
}

export interface Manifest {
  format: typeof CHECKPOINT_MAGIC;
  version: number;
  files: Record<string, { bytes: number; sha256: string }>;
}

/** A loaded checkpoint, with the directory it came from and its manifest. */
export interface LoadedCheckpoint<C = unknown, S = unknown> extends Checkpoint<C, S> {
  dir: string;
  manifest: Manifest;
}

/** The parameter names, shapes and dtypes a loader requires (e.g. from the model it will run). */
export interface CheckpointExpectation {
  params?: Record<string, { shape: readonly number[]; dtype: DType }>;
}

/**
 * Save a checkpoint into `dir` (created if missing; an older checkpoint there is replaced).
 *
 *   await saveCheckpoint('runs/a/ckpt-100', { config, state: { step: 100, rng }, params, optimizer });
 */
export async function saveCheckpoint(dir: string, ckpt: Checkpoint, opts: { float16?: boolean } = {}): Promise<Manifest> {
  // Encode everything first, so bad input fails before the directory is touched.
  // Each file as its pieces (safetensorsParts: views of the tensors, no copy of the whole file).
  const files: Record<string, Uint8Array[]> = {
    [MODEL_FILE]: safetensorsParts(ckpt.params, undefined, { float16: opts.float16 }),
    [CONFIG_FILE]: [jsonBytes(ckpt.config, 'config')],
    [STATE_FILE]: [jsonBytes(ckpt.state, 'state')],
  };
  if (ckpt.optimizer !== undefined) files[OPTIMIZER_FILE] = safetensorsParts(ckpt.optimizer);

  // Invalidate whatever was here before touching any data file.
  await rm(join(dir, MANIFEST_FILE), { force: true });
  await syncDir(dir);
  if (ckpt.optimizer === undefined) await rm(join(dir, OPTIMIZER_FILE), { force: true });

  const manifest: Manifest = { format: CHECKPOINT_MAGIC, version: CHECKPOINT_VERSION, files: {} };
  for (const [name, parts] of Object.entries(files)) {
    await writeFileAtomic(join(dir, name), parts);
    const hash = createHash('sha256');
    for (const p of parts) hash.update(p);
    manifest.files[name] = { bytes: parts.reduce((n, p) => n + p.byteLength, 0), sha256: hash.digest('hex') };
  }
  // The renames above must be durable before the manifest that vouches for them exists.
  await syncDir(dir);
  await writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  await syncDir(dir);
  return manifest;
}

/**
 * Load and verify the checkpoint in `dir`: manifest magic and version, every file's size and sha256,
 * the safetensors structure, and (when `expect.params` is given) the parameter names, shapes and dtypes.
 * Anything wrong is a TonyError('checkpoint') that says which file and what.
 *
 *   const ck = await loadCheckpoint<GptConfig, TrainState>(dir, { params: model.paramSpec() });
 */
export async function loadCheckpoint<C = unknown, S = unknown>(
  dir: string,
  expect: CheckpointExpectation = {},
): Promise<LoadedCheckpoint<C, S>> {
  const manifest = await readManifest(dir);
  const contents: Record<string, Uint8Array> = {};
  for (const [name, want] of Object.entries(manifest.files)) {
    const path = join(dir, name);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw fail(
        `checkpoint '${dir}': '${name}' is listed in the manifest but cannot be read (${errCode(err)})`,
        'the checkpoint is incomplete; resume from an earlier one',
      );
    }
    if (bytes.length !== want.bytes) {
      const how = bytes.length < want.bytes ? 'truncated' : 'longer than written';
      throw fail(
        `checkpoint file '${path}' is ${how}: ${bytes.length} bytes, the manifest says ${want.bytes}`,
        'the file was cut short or overwritten; resume from an earlier checkpoint',
      );
    }
    const got = sha256(bytes);
    if (got !== want.sha256) {
      throw fail(
        `checkpoint file '${path}' fails its checksum: sha256 ${got.slice(0, 16)}…, the manifest says ${want.sha256.slice(0, 16)}…`,
        'the file is corrupted; resume from an earlier checkpoint',
      );
    }
    contents[name] = bytes;
  }

  const params = decodeSafetensors(contents[MODEL_FILE]!, join(dir, MODEL_FILE)).tensors;
  const optimizer = contents[OPTIMIZER_FILE] && decodeSafetensors(contents[OPTIMIZER_FILE], join(dir, OPTIMIZER_FILE)).tensors;
  if (expect.params) checkParams(dir, params, expect.params);
  const out: LoadedCheckpoint<C, S> = {
    dir,
    manifest,
    config: parseJson(contents[CONFIG_FILE]!, join(dir, CONFIG_FILE)) as C,
    state: parseJson(contents[STATE_FILE]!, join(dir, STATE_FILE)) as S,
    params,
  };
  if (optimizer) out.optimizer = optimizer;
  return out;
}

/** A checkpoint directory in a run: its step, its path, and whether its save completed (manifest present). */
export interface CheckpointEntry {
  step: number;
  dir: string;
  complete: boolean;
}

/** The `ckpt-<step>` directory for `step` in `runDir`. */
export const checkpointDir = (runDir: string, step: number) => join(runDir, `ckpt-${step}`);

/** The `ckpt-<step>/` directories of `runDir`, by ascending step (empty if `runDir` does not exist). */
export async function listCheckpoints(runDir: string): Promise<CheckpointEntry[]> {
  let names: string[];
  try {
    names = await readdir(runDir);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return [];
    throw fail(`cannot list checkpoints in '${runDir}' (${errCode(err)})`, 'check the run directory path');
  }
  const out: CheckpointEntry[] = [];
  for (const name of names) {
    const m = CKPT_DIR.exec(name);
    if (!m) continue;
    const dir = join(runDir, name);
    if (!(await isDir(dir))) continue;
    out.push({ step: Number(m[1]), dir, complete: await exists(join(dir, MANIFEST_FILE)) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/**
 * The newest complete checkpoint of a run, or undefined if none. Interrupted saves (no manifest) are
 * skipped; a complete one that is later found corrupt is not: `loadCheckpoint` reports it.
 */
export async function latestCheckpoint(runDir: string): Promise<CheckpointEntry | undefined> {
  return (await listCheckpoints(runDir)).filter((c) => c.complete).at(-1);
}

/**
 * Save `ckpt` as `<runDir>/ckpt-<step>/`, then keep only the newest `keep` complete checkpoints
 * (default: keep all).
 */
export async function saveRunCheckpoint(
  runDir: string,
  step: number,
  ckpt: Checkpoint,
  opts: { keep?: number } = {},
): Promise<CheckpointEntry> {
  if (!Number.isSafeInteger(step) || step < 0)
    throw new TonyError('usage', `checkpoint step must be a non-negative integer, got ${step}`, 'pass the training step');
  const dir = checkpointDir(runDir, step);
  await saveCheckpoint(dir, ckpt);
  if (opts.keep !== undefined) await pruneCheckpoints(runDir, opts.keep, step);
  return { step, dir, complete: true };
}

/**
 * Write `ckpt` to `dir`, replacing what is there as one step: it is saved complete beside `dir`
 * first, then renamed into place. Readers of `dir` see the old checkpoint or the new one, never a mix;
 * a crash leaves at worst no `dir` (between the two renames) and a stray sibling to delete.
 */
export async function replaceCheckpoint(dir: string, ckpt: Checkpoint, opts: { float16?: boolean } = {}): Promise<void> {
  const tag = randomBytes(4).toString('hex');
  const fresh = `${dir}.tony-tmp-${tag}`;
  const tomb = `${dir}${DELETING_PREFIX}${tag}`;
  await saveCheckpoint(fresh, ckpt, opts);
  const had = await exists(dir);
  if (had) await rename(dir, tomb);
  await rename(fresh, dir);
  await syncDir(dirname(dir));
  if (had) await rm(tomb, { recursive: true, force: true });
}

/**
 * Delete all but the newest `keep` complete checkpoints of a run, plus interrupted saves older than
 * the newest complete one; never the checkpoint of step `protect` (the one just saved, which may be
 * older than stale checkpoints of an earlier run in the same directory). Each directory is first
 * renamed out of the `ckpt-<step>` namespace (atomic), then removed, so a crash mid-delete never leaves
 * a half-deleted directory that looks like a checkpoint. Returns the steps deleted.
 */
export async function pruneCheckpoints(runDir: string, keep: number, protect?: number): Promise<number[]> {
  if (!Number.isSafeInteger(keep) || keep < 1)
    throw new TonyError('usage', `keep must be an integer ≥ 1, got ${keep}`, 'keep at least the newest checkpoint');
  const all = await listCheckpoints(runDir);
  const complete = all.filter((c) => c.complete);
  const newest = complete.at(-1)?.step ?? -1;
  const doomed = [
    ...complete.slice(0, Math.max(0, complete.length - keep)),
    ...all.filter((c) => !c.complete && c.step < newest), // a dead interrupted save; a newer one may still be in progress
  ].filter((c) => c.step !== protect);
  for (const c of doomed) {
    const tomb = join(runDir, `${DELETING_PREFIX}${c.step}-${randomBytes(4).toString('hex')}`);
    await rename(c.dir, tomb);
  }
  await syncDir(runDir);
  // Finish deletions, including ones an earlier crash left behind.
  for (const name of await readdir(runDir)) {
    if (name.startsWith(DELETING_PREFIX)) await rm(join(runDir, name), { recursive: true, force: true });
  }
  return doomed.map((c) => c.step).sort((a, b) => a - b);
}

/** Read and check the manifest: present, JSON, Tony's magic, a version this code reads, known files with sizes and hashes. */
async function readManifest(dir: string): Promise<Manifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = errCode(err);
    if (code !== 'ENOENT') throw fail(`cannot read '${path}' (${code})`, 'check the file permissions');
    if (!(await isDir(dir)))
      throw fail(`checkpoint '${dir}' does not exist or is not a directory`, 'check the path; a checkpoint is a directory');
    const files = await readdir(dir);
    // state.json or a temporary file of writeFileAtomic: a Tony save began here and did not finish.
    if (files.includes(STATE_FILE) || files.some((f) => f.includes('.tony-tmp-'))) {
      throw fail(
        `checkpoint '${dir}' is incomplete: it has no ${MANIFEST_FILE} (the save was interrupted)`,
        'resume from an earlier checkpoint (latestCheckpoint skips incomplete ones)',
      );
    }
    throw fail(
      `'${dir}' is not a Tony checkpoint: no ${MANIFEST_FILE}${files.some((f) => f.endsWith('.safetensors')) ? ' (it holds safetensors files from elsewhere)' : ''}`,
      'to load foreign weights, read them with decodeSafetensors instead',
    );
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw fail(`'${path}' is not valid JSON (${(err as Error).message})`, 'the manifest is corrupted; resume from an earlier checkpoint');
  }
  if (!isPlainObject(m) || m.format !== CHECKPOINT_MAGIC) {
    const got = isPlainObject(m) ? JSON.stringify(m.format) : typeof m;
    throw fail(
      `'${path}' is not a Tony checkpoint manifest: format is ${got}, expected "${CHECKPOINT_MAGIC}"`,
      'point Tony at a directory written by saveCheckpoint',
    );
  }
  if (!Number.isSafeInteger(m.version) || (m.version as number) < 1) {
    throw fail(`'${path}': invalid version ${JSON.stringify(m.version)}`, 'the manifest is corrupted; resume from an earlier checkpoint');
  }
  if ((m.version as number) > CHECKPOINT_VERSION) {
    throw fail(
      `'${path}' is checkpoint format version ${m.version}, newer than this Tony reads (≤ ${CHECKPOINT_VERSION})`,
      'upgrade Tony to load it',
    );
  }
  const files = m.files;
  if (!isPlainObject(files))
    throw fail(`'${path}': 'files' must be an object`, 'the manifest is corrupted; resume from an earlier checkpoint');
  for (const [name, info] of Object.entries(files)) {
    // Only known names: a manifest must not make the loader read paths outside the directory.
    if (!KNOWN_FILES.includes(name))
      throw fail(
        `'${path}' lists an unknown file '${name}'`,
        `a version-${CHECKPOINT_VERSION} checkpoint holds only ${KNOWN_FILES.join(', ')}`,
      );
    if (
      !isPlainObject(info) ||
      !Number.isSafeInteger(info.bytes) ||
      typeof info.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(info.sha256)
    ) {
      throw fail(
        `'${path}': entry for '${name}' needs a byte count and a hex sha256, got ${JSON.stringify(info)}`,
        'the manifest is corrupted; resume from an earlier checkpoint',
      );
    }
  }
  const missing = REQUIRED_FILES.filter((f) => !(f in files));
  if (missing.length)
    throw fail(`'${path}' does not list ${missing.join(', ')}`, 'the manifest is corrupted; resume from an earlier checkpoint');
  return m as unknown as Manifest;
}

/** Compare loaded parameters with what the model needs; list the first few differences. */
function checkParams(dir: string, got: Record<string, HostTensor>, want: Record<string, { shape: readonly number[]; dtype: DType }>): void {
  const diffs: string[] = [];
  for (const [name, w] of Object.entries(want)) {
    const g = got[name];
    if (!g) diffs.push(`missing '${name}' (${w.dtype} [${w.shape.join(', ')}])`);
    else if (g.dtype !== w.dtype || g.shape.length !== w.shape.length || g.shape.some((d, i) => d !== w.shape[i])) {
      diffs.push(`'${name}' is ${g.dtype} [${g.shape.join(', ')}], the model needs ${w.dtype} [${w.shape.join(', ')}]`);
    }
  }
  for (const name of Object.keys(got)) if (!(name in want)) diffs.push(`unexpected '${name}'`);
  if (diffs.length === 0) return;
  const more = diffs.length > MAX_LISTED_DIFFERENCES ? `; and ${diffs.length - MAX_LISTED_DIFFERENCES} more` : '';
  throw fail(
    `checkpoint '${dir}' does not match the model's parameters (${diffs.length} difference${diffs.length > 1 ? 's' : ''}): ${diffs.slice(0, MAX_LISTED_DIFFERENCES).join('; ')}${more}`,
    'load it with the config it was saved with (its config.json), or start a fresh run',
  );
}

/**
 * JSON-encode a config or state, refusing what JSON would silently change: NaN/Infinity (become null),
 * undefined and functions (vanish), bigints (throw), typed arrays and class instances (become objects).
 */
function jsonBytes(value: unknown, what: string): Uint8Array {
  const walk = (v: unknown, path: string): void => {
    const bad = (why: string) => {
      throw new TonyError(
        'usage',
        `checkpoint ${what} at ${path}: ${why}`,
        'config and state must be plain JSON (tensors go in params or optimizer)',
      );
    };
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') return Number.isFinite(v) ? undefined : bad(`${v} is not representable in JSON`);
    if (typeof v !== 'object') return bad(`a ${typeof v} is not representable in JSON`);
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${path}[${i}]`));
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return bad(`a ${proto?.constructor?.name ?? 'non-plain'} object is not plain JSON`);
    for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  walk(value, what);
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

function parseJson(bytes: Uint8Array, path: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw fail(`'${path}' is not valid JSON (${(err as Error).message})`, 'the file is corrupted; resume from an earlier checkpoint');
  }
}

/**
 * fsync a directory so the renames in it survive a power loss. Some platforms (Windows) cannot open a
 * directory for syncing; there the rename's own guarantees are all we get, so those errors are ignored.
 */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
  } catch {
    return; // missing directory (nothing to sync yet) or a platform that cannot open directories
  }
  try {
    await fh.sync();
  } catch (err) {
    if (!['EINVAL', 'EISDIR', 'EPERM', 'EBADF'].includes(errCode(err))) throw err;
  } finally {
    await fh.close();
  }
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const fail = (msg: string, hint: string) => new TonyError('checkpoint', msg, hint);
const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isDir = async (p: string) => (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
const exists = async (p: string) => (await stat(p).catch(() => undefined)) !== undefined;
