/**
 * Shape files by extension: read a mesh or point cloud from .ply/.obj/.glb (paths or URLs, via
 * readSource) and write a mesh to any of them. PLY without faces is a point cloud. Point-E's .npz
 * clouds read too, turned upright (they are z-up; Tony is y-up: npz.ts); `up: 'z'` does the same
 * for any other z-up file, e.g. Point-E's own PLYs.
 */
import { extname } from 'node:path';
import { dataError, TonyError } from '../errors.ts';
import { readSource, writeFileAtomic } from '../io.ts';
import { readGlb, writeGlb } from './glb.ts';
import type { Mesh, PointCloud } from './mesh.ts';
import { fromZUp, pointEFromNpz } from './npz.ts';
import { readObj, writeObj } from './obj.ts';
import { type PlyFormat, readPly, writePly } from './ply.ts';

export const SHAPE_EXTENSIONS = ['.ply', '.obj', '.glb', '.npz'] as const;

/** A file's content: a mesh, or a point cloud (PLY with vertices only). */
export type ShapeFile = { kind: 'mesh'; mesh: Mesh } | { kind: 'points'; cloud: PointCloud };

function extensionOf(path: string): string {
  const ext = extname(path.replace(/\.gz$/, '').split('?')[0]!).toLowerCase();
  if (!(SHAPE_EXTENSIONS as readonly string[]).includes(ext)) {
    throw dataError(`unsupported shape file extension '${ext || '(none)'}' in '${path}'`, `use one of ${SHAPE_EXTENSIONS.join(', ')}`);
  }
  return ext;
}

/**
 * Read a .ply, .obj, .glb or Point-E .npz file (local path or http(s) URL). Every error names the
 * file; a file without vertices is refused (it would render as a blank picture and measure as
 * nothing). `up: 'z'` turns a z-up file upright; .npz files are Point-E's and always z-up.
 */
export async function readShapeFile(path: string, opts: { up?: 'y' | 'z' } = {}): Promise<ShapeFile> {
  const ext = extensionOf(path);
  const bytes = await readSource(path);
  try {
    const file = ext === '.npz' ? { kind: 'points' as const, cloud: pointEFromNpz(bytes) } : await parseShape(ext, bytes);
    if (opts.up === 'z' && ext !== '.npz') {
      if (file.kind === 'mesh') {
        file.mesh.positions = fromZUp(file.mesh.positions);
      } else {
        file.cloud.xyz = fromZUp(file.cloud.xyz);
        if (file.cloud.normals) file.cloud.normals = fromZUp(file.cloud.normals);
      }
    }
    const n = (file.kind === 'mesh' ? file.mesh.positions : file.cloud.xyz).length / 3;
    if (n === 0) throw dataError('the file holds no vertices', 'export the shape again, or check its header counts');
    return file;
  } catch (err) {
    if (err instanceof TonyError) throw new TonyError(err.kind, `${path}: ${err.message}`, err.hint, { cause: err });
    throw err;
  }
}

async function parseShape(ext: string, bytes: Uint8Array): Promise<ShapeFile> {
  if (ext === '.glb') return { kind: 'mesh', mesh: await readGlb(bytes) };
  if (ext === '.obj') return { kind: 'mesh', mesh: readObj(new TextDecoder().decode(bytes)) };
  const ply = readPly(bytes);
  if (ply.indices && ply.indices.length > 0) {
    const mesh: Mesh = { positions: ply.xyz, indices: ply.indices };
    if (ply.rgb) mesh.colors = ply.rgb;
    return { kind: 'mesh', mesh };
  }
  const cloud: PointCloud = { xyz: ply.xyz };
  if (ply.rgb) cloud.rgb = ply.rgb;
  if (ply.normals) cloud.normals = ply.normals;
  return { kind: 'points', cloud };
}

/** Write a mesh as .ply (binary unless `plyFormat` says ascii), .obj or .glb, chosen by extension. */
export async function writeMeshFile(path: string, mesh: Mesh, opts: { plyFormat?: PlyFormat } = {}): Promise<void> {
  const ext = extensionOf(path);
  const bytes =
    ext === '.glb' ? await writeGlb(mesh) : ext === '.obj' ? writeObj(mesh) : writePly(mesh, opts.plyFormat ?? 'binary_little_endian');
  await writeFileAtomic(path, bytes);
}
