import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { dataError } from './errors.ts';

/**
 * Write a file so that readers see either the old content or the new, never a torn one: write a
 * temporary file beside the target, fsync it, then rename over the target (atomic on POSIX).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tony-tmp-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
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
