/**
 * Small file systems for the tests of unwritable and full output locations: a tmpfs mounted
 * read-only, and a tiny one that fills up. Mounting needs root (as CI and this project's machines
 * run); elsewhere `tmpfs()` returns undefined and the test skips, saying why.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Mount a tmpfs of `size` at `dir` (created), optionally read-only; undefined when mounting is not allowed here. */
export async function tmpfs(dir: string, opts: { size: string; readOnly?: boolean }): Promise<string | undefined> {
  mkdirSync(dir, { recursive: true });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${opts.size}${opts.readOnly ? ',ro' : ''}`, 'tmpfs', dir]);
    return dir;
  } catch {
    return undefined;
  }
}

/** Remount read-only (after the test wrote what it needs there). */
export async function remountReadOnly(dir: string): Promise<void> {
  await run('mount', ['-o', 'remount,ro', dir]);
}

export async function unmount(dir: string | undefined): Promise<void> {
  if (dir) await run('umount', [dir]).catch(() => {});
}

export const NO_MOUNT = 'cannot mount a tmpfs here (needs root): the read-only and full-disk cases are not run';
