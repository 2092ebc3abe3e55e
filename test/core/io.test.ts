// Writes that fail name the path and say why in words (issue 21, item 4): the errors Node raises on
// real file systems — a file where a directory should be, a read-only tmpfs, a full 64 KiB tmpfs —
// against messages written out by hand here.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TonyError } from '../../src/errors.ts';
import { checkWritable, fileSystemError, writeFileAtomic } from '../../src/io.ts';
import { NO_MOUNT, tmpfs, unmount } from '../mounts.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-io-'));
const file = join(dir, 'a-file');
writeFileSync(file, 'x');
let readOnly: string | undefined;
let full: string | undefined;
beforeAll(async () => {
  readOnly = await tmpfs(join(dir, 'ro'), { size: '64k', readOnly: true });
  full = await tmpfs(join(dir, 'full'), { size: '64k' });
});
afterAll(async () => {
  await unmount(readOnly);
  await unmount(full);
  rmSync(dir, { recursive: true, force: true });
});

const failure = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TonyError);
  return err as TonyError;
};

describe('file-system errors', () => {
  it('a file where a directory should be (ENOTDIR)', async () => {
    const out = join(file, 'sub', 'x.png');
    const err = await failure(writeFileAtomic(out, 'data'));
    expect(err.kind).toBe('io');
    expect(err.message).toBe(`cannot write '${out}': a part of the path is a file, not a directory (ENOTDIR)`);
    expect(err.hint).toMatch(/a file stands where the path needs a directory/);
    expect((await failure(checkWritable(join(file, 'run')))).message).toBe(
      `cannot write '${join(file, 'run')}': a part of the path is a file, not a directory (ENOTDIR)`,
    );
  });

  it("a directory that cannot be made under /proc: an error, not a hang (Node's recursive mkdir loops there)", async () => {
    const out = '/proc/tony-no-such-dir/sub/x.glb';
    const err = await failure(checkWritable(out, 'file'));
    expect(err.message).toBe(`cannot write '${out}': no such file or directory (ENOENT)`);
  }, 10_000);

  it('a directory where a file should be (EISDIR), before anything is written', async () => {
    const err = await failure(checkWritable(dir, 'file'));
    expect(err.message).toBe(`cannot write '${dir}': it is a directory (EISDIR)`);
    expect(readdirSync(dir).filter((f) => f.includes('tony-write-probe'))).toEqual([]);
  });

  it('a read-only file system (EROFS)', async (ctx) => {
    if (!readOnly) return ctx.skip(NO_MOUNT);
    const out = join(readOnly, 'spec.png');
    expect((await failure(writeFileAtomic(out, 'data'))).message).toBe(`cannot write '${out}': the file system is read-only (EROFS)`);
    expect((await failure(checkWritable(out, 'file'))).message).toBe(`cannot write '${out}': the file system is read-only (EROFS)`);
    // Node's recursive mkdir calls this ENOENT; the cause is the read-only file system.
    const deep = join(readOnly, 'runs', 'a', 'b');
    expect((await failure(checkWritable(deep))).message).toBe(`cannot write '${deep}': the file system is read-only (EROFS)`);
    expect((await failure(writeFileAtomic(join(deep, 'x.json'), '{}'))).message).toBe(
      `cannot write '${join(deep, 'x.json')}': the file system is read-only (EROFS)`,
    );
  });

  it('a full disk (ENOSPC): the target is named, no temporary file is left, the old content stays', async (ctx) => {
    if (!full) return ctx.skip(NO_MOUNT);
    const out = join(full, 'big.bin');
    await writeFileAtomic(out, 'old');
    const err = await failure(writeFileAtomic(out, new Uint8Array(200_000)));
    expect(err.message).toBe(`cannot write '${out}': no space left on the device (ENOSPC)`);
    expect(err.hint).toBe('free some space, or choose a location on another disk');
    expect(readdirSync(full)).toEqual(['big.bin']);
    expect(await readFile(out, 'utf8')).toBe('old');
    // Written as pieces (a checkpoint's safetensors): the same.
    expect((await failure(writeFileAtomic(out, [new Uint8Array(100_000), new Uint8Array(100_000)]))).message).toBe(
      `cannot write '${out}': no space left on the device (ENOSPC)`,
    );
    expect(readdirSync(full)).toEqual(['big.bin']);
    expect(await readFile(out, 'utf8')).toBe('old');
    // Fill the disk to the last page: the probe finds out before any long work would.
    writeFileSync(join(full, 'filler'), new Uint8Array(0));
    try {
      for (;;) writeFileSync(join(full, 'filler'), new Uint8Array(4096), { flag: 'a' });
    } catch {
      /* full now */
    }
    expect((await failure(checkWritable(join(full, 'run')))).message).toBe(
      `cannot write '${join(full, 'run')}': no space left on the device (ENOSPC)`,
    );
    rmSync(join(full, 'filler'));
    await checkWritable(join(full, 'run'));
    expect(readdirSync(join(full, 'run'))).toEqual([]); // the probe is gone again
  });

  it('writes pieces one after another: the file is their concatenation', async () => {
    const out = join(dir, 'pieces.bin');
    const big = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) % 251);
    await writeFileAtomic(out, [Uint8Array.of(1, 2, 3), new Uint8Array(0), big.subarray(5, 69_999), Uint8Array.of(9)]);
    const got = new Uint8Array(await readFile(out));
    expect(got.length).toBe(3 + 69_994 + 1);
    expect(Array.from(got.subarray(0, 3))).toEqual([1, 2, 3]);
    expect(Buffer.compare(got.subarray(3, 3 + 69_994), big.subarray(5, 69_999))).toBe(0);
    expect(got[got.length - 1]).toBe(9);
  });

  it('maps only file-system errors a user can fix', () => {
    expect(fileSystemError(new Error('plain'))).toBeUndefined();
    expect(fileSystemError(Object.assign(new Error('EBADF'), { code: 'EBADF' }))).toBeUndefined();
    expect(fileSystemError(new TonyError('data', 'x'))).toBeUndefined();
    const e = Object.assign(new Error("ENOENT: no such file or directory, scandir 'runs/x'"), {
      code: 'ENOENT',
      syscall: 'scandir',
      path: 'runs/x',
    });
    expect(fileSystemError(e)!.message).toBe("cannot read the directory 'runs/x': no such file or directory (ENOENT)");
  });
});
