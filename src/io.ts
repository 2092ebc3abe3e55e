import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { dataError, TonyError } from './errors.ts';

/** File-system failures a user causes, in words, with what to do about each. */
const FS_FAILURES: Record<string, { says: string; hint: string }> = {
  ENOENT: { says: 'no such file or directory', hint: 'check the path (a parent directory may be missing)' },
  EACCES: { says: 'permission denied', hint: 'choose a location you may write to, or change its permissions' },
  EPERM: { says: 'operation not permitted', hint: 'choose a location you may write to, or change its permissions' },
  EROFS: { says: 'the file system is read-only', hint: 'choose a location on a writable file system' },
  ENOSPC: { says: 'no space left on the device', hint: 'free some space, or choose a location on another disk' },
  EDQUOT: { says: 'disk quota exceeded', hint: 'free some space, or choose a location on another disk' },
  EISDIR: { says: 'it is a directory', hint: 'give a file path, not a directory' },
  ENOTDIR: {
    says: 'a part of the path is a file, not a directory',
    hint: 'a file stands where the path needs a directory: check the path',
  },
  // Only from mkdir (see below): a file has the name the directory needs.
  EEXIST: { says: 'a part of the path is a file, not a directory', hint: 'a file stands where the path needs a directory: check the path' },
  ENAMETOOLONG: { says: 'the name is too long', hint: 'choose a shorter path' },
};

// Node's syscall names, as a user would say them.
const ACTIONS: Record<string, string> = {
  open: 'open',
  mkdir: 'create the directory',
  write: 'write',
  rename: 'write',
  scandir: 'read the directory',
  stat: 'find',
  lstat: 'find',
  unlink: 'remove',
  rmdir: 'remove',
  copyfile: 'copy to',
  read: 'read',
  access: 'find',
};

/**
 * The TonyError for a Node file-system error that a user can cause (missing path, read-only or full
 * disk, no permission, a file where a directory should be), naming the path; undefined for any other
 * error. `path` is the output being written, named instead of the error's own path (a temporary or
 * probe file) or of none (a full disk surfaces at `write`, which names no path).
 *
 *   catch (err) { throw fileSystemError(err, out) ?? err; }
 */
export function fileSystemError(err: unknown, path?: string): TonyError | undefined {
  if (err instanceof TonyError || !(err instanceof Error)) return undefined;
  const e = err as NodeJS.ErrnoException;
  const failure = e.code && (e.code !== 'EEXIST' || e.syscall === 'mkdir') ? FS_FAILURES[e.code] : undefined;
  if (!failure) return undefined;
  // With `path` given the caller knows what it was writing; otherwise Node's syscall says what failed.
  const action = path !== undefined ? 'write' : (ACTIONS[e.syscall ?? ''] ?? 'use');
  const where = path ?? e.path;
  return new TonyError('io', `cannot ${action}${where ? ` '${where}'` : ''}: ${failure.says} (${e.code})`, failure.hint, { cause: err });
}

/**
 * Fail before long work, not after it, when an output location cannot be written: create the
 * directory (`kind: 'dir'`) or the file's parent directory (`kind: 'file'`), then write, sync and
 * remove a small probe file there. A missing permission, a read-only or full file system, or a file
 * where a directory should be becomes a TonyError naming `path`.
 *
 *   await checkWritable(opts.out);              // a run or dataset directory
 *   await checkWritable('plots/loss.png', 'file');
 */
export async function checkWritable(path: string, kind: 'dir' | 'file' = 'dir'): Promise<void> {
  const dir = kind === 'dir' ? path : dirname(path);
  const probe = `${dir}/.tony-write-probe-${randomBytes(4).toString('hex')}`;
  try {
    if (kind === 'file' && (await stat(path).catch(() => undefined))?.isDirectory()) {
      throw Object.assign(new Error(`EISDIR: ${path}`), { code: 'EISDIR', syscall: 'open', path });
    }
    await makeDirs(dir);
    // One page: a tmpfs or disk with no whole block left refuses it, as it would the real output.
    const fh = await open(probe, 'w');
    try {
      await fh.writeFile(new Uint8Array(4096));
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await rm(probe, { force: true }).catch(() => {});
    throw fileSystemError(err, path) ?? err;
  }
  await rm(probe, { force: true });
}

/**
 * mkdir -p that reports the real cause, one level at a time from the first missing parent down, so
 * the failing mkdir names EROFS, EACCES or ENOTDIR. Not Node's recursive mkdir: it says ENOENT on a
 * read-only file system, and under /proc (where mkdir says ENOENT though the parent exists) it
 * retries forever.
 */
async function makeDirs(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await stat(dir)).isDirectory()) return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw err;
    await makeDirs(dirname(dir));
    await mkdir(dir).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST' || !(await stat(dir)).isDirectory()) throw e; // made meanwhile by another process: fine
    });
  }
}

/**
 * Write a file so that readers see either the old content or the new, never a torn one: write a
 * temporary file beside the target, fsync it, then rename over the target (atomic on POSIX).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
  const tmp = `${path}.tony-tmp-${randomBytes(4).toString('hex')}`;
  try {
    await makeDirs(dirname(path));
    const fh = await open(tmp, 'w');
    try {
      // Pieces (safetensorsParts) are written one after another: no copy of the whole file.
      if (Array.isArray(data)) for (const part of data) await fh.writeFile(part);
      else await fh.writeFile(data as string | Uint8Array);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    // Name the target, not the temporary file (and not nothing: a full disk fails at `write`).
    throw fileSystemError(err, path) ?? err;
  }
}

/**
 * Read a local path or an http(s) URL into bytes; `.gz` content is decompressed (by magic number,
 * not by name, so a mislabelled file still loads).
 */
export async function readSource(source: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source);
    if (!res.ok) throw dataError(`GET ${source} failed: HTTP ${res.status} ${res.statusText}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  } else {
    try {
      bytes = await readFile(source);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw dataError(`cannot read '${source}': ${code ?? String(err)}`, code === 'ENOENT' ? 'check the path' : undefined);
    }
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  return bytes;
}

/** Read a source as UTF-8 text (see readSource). */
export async function readText(source: string): Promise<string> {
  return new TextDecoder().decode(await readSource(source));
}
