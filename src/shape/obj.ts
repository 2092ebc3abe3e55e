/**
 * Wavefront OBJ: write triangle meshes (with the widespread `v x y z r g b` vertex-colour
 * extension that MeshLab, Blender and trimesh read) and read them back, for `tony shapes render`.
 * Reading takes `v` and `f` lines only (normals, texture coordinates, groups and materials are
 * ignored), accepts `f a/b/c` forms and negative (relative) indices, and fan-triangulates polygons.
 */
import { dataError } from '../errors.ts';
import { type Mesh, validateMesh } from './mesh.ts';
import { formatFloat32 } from './ply.ts';

/** Write a mesh as OBJ text (1-based indices; colours as three floats after each position). */
export function writeObj(mesh: Mesh): string {
  validateMesh(mesh);
  const p = mesh.positions;
  const c = mesh.colors;
  const lines: string[] = ['# tony shapes mesh'];
  for (let i = 0; i < p.length; i += 3) {
    const xyz = [p[i]!, p[i + 1]!, p[i + 2]!].map(formatFloat32).join(' ');
    lines.push(c ? `v ${xyz} ${[c[i]!, c[i + 1]!, c[i + 2]!].map(formatFloat32).join(' ')}` : `v ${xyz}`);
  }
  const f = mesh.indices;
  for (let t = 0; t < f.length; t += 3) lines.push(`f ${f[t]! + 1} ${f[t + 1]! + 1} ${f[t + 2]! + 1}`);
  return `${lines.join('\n')}\n`;
}

/** Parse OBJ text into a mesh (colours when every vertex has them). */
export function readObj(text: string): Mesh {
  const pos: number[] = [];
  const col: number[] = [];
  const tris: number[] = [];
  let colored = true;
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trim();
    if (line.startsWith('v ')) {
      const w = line.split(/\s+/).slice(1).map(Number);
      if (w.length < 3 || w.slice(0, 3).some((x) => !Number.isFinite(x))) throw dataError(`OBJ line ${lineNo}: bad vertex '${line}'`);
      pos.push(w[0]!, w[1]!, w[2]!);
      if (w.length >= 6) col.push(w[3]!, w[4]!, w[5]!);
      else colored = false;
    } else if (line.startsWith('f ')) {
      const nv = pos.length / 3;
      const idx = line
        .split(/\s+/)
        .slice(1)
        .map((tok) => {
          const i = parseInt(tok.split('/')[0]!, 10);
          const v = i < 0 ? nv + i : i - 1; // negative indices count back from the latest vertex
          if (!Number.isInteger(v) || v < 0 || v >= nv)
            throw dataError(`OBJ line ${lineNo}: face index '${tok}' is out of range (${nv} vertices so far)`);
          return v;
        });
      if (idx.length < 3) throw dataError(`OBJ line ${lineNo}: a face needs 3 or more vertices`);
      for (let i = 1; i + 1 < idx.length; i++) tris.push(idx[0]!, idx[i]!, idx[i + 1]!);
    }
  }
  const mesh: Mesh = { positions: Float32Array.from(pos), indices: Uint32Array.from(tris) };
  if (colored && pos.length > 0 && col.length === pos.length) mesh.colors = Float32Array.from(col);
  return mesh;
}
