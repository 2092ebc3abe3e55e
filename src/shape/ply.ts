/**
 * PLY (Stanford polygon format) read and write for point clouds and meshes.
 *
 * Reads ASCII, binary little-endian and binary big-endian files with any scalar property types and
 * any extra elements/properties (skipped); takes vertex x/y/z, red/green/blue (uchar → /255, or
 * float as is), nx/ny/nz, and face `vertex_indices` (or `vertex_index`) lists, fan-triangulating
 * polygons. Writes x/y/z as float32, colours as uchar, faces as `list uchar int`, in ASCII or
 * binary little-endian. ASCII floats are printed in the shortest form that reads back to the same
 * float32, so read → write is byte-exact for files in this layout.
 */
import { dataError } from '../errors.ts';
import { type Mesh, type PointCloud, validateMesh } from './mesh.ts';

export type PlyFormat = 'ascii' | 'binary_little_endian';

/** What a PLY file held: always positions; colours, normals and faces when present. */
export interface PlyData {
  xyz: Float32Array;
  rgb?: Float32Array;
  normals?: Float32Array;
  /** Triangles (F, 3); absent for a point cloud. */
  indices?: Uint32Array;
}

const SCALAR: Record<string, { size: number; get: (v: DataView, o: number, le: boolean) => number }> = {
  char: { size: 1, get: (v, o) => v.getInt8(o) },
  uchar: { size: 1, get: (v, o) => v.getUint8(o) },
  short: { size: 2, get: (v, o, le) => v.getInt16(o, le) },
  ushort: { size: 2, get: (v, o, le) => v.getUint16(o, le) },
  int: { size: 4, get: (v, o, le) => v.getInt32(o, le) },
  uint: { size: 4, get: (v, o, le) => v.getUint32(o, le) },
  float: { size: 4, get: (v, o, le) => v.getFloat32(o, le) },
  double: { size: 8, get: (v, o, le) => v.getFloat64(o, le) },
};
// The sized aliases that newer writers (e.g. plyfile, Open3D) emit.
const ALIASES: Record<string, string> = {
  int8: 'char',
  uint8: 'uchar',
  int16: 'short',
  uint16: 'ushort',
  int32: 'int',
  uint32: 'uint',
  float32: 'float',
  float64: 'double',
};

interface Property {
  name: string;
  type: string;
  /** For list properties: the count's type. */
  countType?: string;
}
interface Element {
  name: string;
  count: number;
  props: Property[];
}

function scalarType(t: string, line: string): string {
  const name = ALIASES[t] ?? t;
  if (!(name in SCALAR))
    throw dataError(`PLY header: unknown property type '${t}' in '${line}'`, `known types: ${Object.keys(SCALAR).join(', ')}`);
  return name;
}

/**
 * The body of a PLY file, read one element instance at a time, so that an error says where it is
 * (ASCII line or binary byte) and which element and instance it was reading. ASCII PLY puts each
 * instance on its own line: a line with too few or too many values is caught on that line, which
 * is where a wrong count in the header first shows (the vertex lines run into the faces, or the
 * other way round).
 */
interface Body {
  begin(el: Element, i: number): void;
  /** Where the current instance is: 'line 12: face 3' or 'face 3 (byte 640)'. */
  where(): string;
  next(type: string): number;
  end(): void;
  /** Throws when data follows the last element. */
  finish(elements: Element[]): void;
}

const counts = (elements: Element[]) => elements.map((e) => `'element ${e.name} ${e.count}'`).join(', ');
// Each instance is one line, so a wrong count in the header shows first as a line of one element
// read as another's (vertex lines running into the faces, or the other way round).
const countsHint = (elements: Element[]) => `check the header's counts (${counts(elements)}) against the lines: is one of them wrong?`;
const propNames = (el: Element) => el.props.map((p) => (p.countType ? `list ${p.name}` : p.name)).join(' ');

function asciiBody(text: string, firstLine: number, elements: Element[]): Body {
  const lines = text.split('\n');
  let li = 0;
  let tokens: string[] = [];
  let at = 0;
  let where = '';
  let el: Element | undefined;
  return {
    begin(e, i) {
      el = e;
      while (li < lines.length && lines[li]!.trim() === '') li++;
      if (li >= lines.length) {
        throw dataError(
          `PLY body ends after ${i} of ${e.count} ${e.name} lines`,
          `the file is truncated, or 'element ${e.name} ${e.count}' in the header is too large`,
        );
      }
      tokens = lines[li]!.trim().split(/\s+/);
      at = 0;
      where = `line ${firstLine + li}: ${e.name} ${i}`;
      li++;
    },
    where: () => where,
    next() {
      if (at >= tokens.length) {
        throw dataError(
          `PLY ${where} has too few values (${tokens.length}) for the header's properties (${propNames(el!)})`,
          countsHint(elements),
        );
      }
      const tok = tokens[at++]!;
      const v = Number(tok);
      if (!Number.isFinite(v)) throw dataError(`PLY ${where}: '${tok}' is not a number`);
      return v;
    },
    end() {
      if (at < tokens.length) {
        throw dataError(
          `PLY ${where} has ${tokens.length} values, but the header's properties (${propNames(el!)}) take ${at}`,
          countsHint(elements),
        );
      }
    },
    finish(elements) {
      while (li < lines.length && lines[li]!.trim() === '') li++;
      if (li < lines.length) {
        throw dataError(
          `PLY line ${firstLine + li}: data after the last element`,
          `a count in the header is too small: ${counts(elements)}`,
        );
      }
    },
  };
}

function binaryBody(view: DataView, le: boolean, bodyStart: number, elements: Element[]): Body {
  let at = 0;
  let el: Element | undefined;
  let index = 0;
  let start = 0;
  return {
    begin(e, i) {
      el = e;
      index = i;
      start = at;
    },
    where: () => `${el!.name} ${index} (byte ${bodyStart + start})`,
    next(type) {
      const s = SCALAR[type]!;
      if (at + s.size > view.byteLength) {
        throw dataError(
          `PLY body ends early, at byte ${bodyStart + at}, in ${el!.name} ${index} of ${el!.count}`,
          `the file is truncated, or a count in the header is wrong: ${counts(elements)}`,
        );
      }
      const v = s.get(view, at, le);
      at += s.size;
      return v;
    },
    end() {},
    finish() {}, // trailing bytes are tolerated: some writers pad binary files
  };
}

/**
 * Parse PLY bytes. Errors name the line (ASCII) or byte (binary), the element and the instance.
 *
 *   const { xyz, rgb, indices } = readPly(await readSource('cloud.ply'));
 */
export function readPly(bytes: Uint8Array): PlyData {
  // The header is ASCII and ends with "end_header\n" (or \r\n).
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.length, 1 << 16)));
  const endMatch = /end_header\r?\n/.exec(head);
  if (!head.startsWith('ply') || !endMatch)
    throw dataError('not a PLY file (no "ply" magic or no end_header)', 'check the file, or convert it to PLY');
  const bodyStart = endMatch.index + endMatch[0].length;
  let format = '';
  const elements: Element[] = [];
  for (const raw of head.slice(0, endMatch.index).split(/\r?\n/)) {
    const line = raw.trim();
    const w = line.split(/\s+/);
    if (w[0] === 'format') format = w[1] ?? '';
    else if (w[0] === 'element') elements.push({ name: w[1]!, count: Number(w[2]), props: [] });
    else if (w[0] === 'property') {
      const el = elements.at(-1);
      if (!el) throw dataError(`PLY header: property before any element: '${line}'`);
      if (w[1] === 'list') el.props.push({ name: w[4]!, type: scalarType(w[3]!, line), countType: scalarType(w[2]!, line) });
      else el.props.push({ name: w[2]!, type: scalarType(w[1]!, line) });
    }
  }
  if (!['ascii', 'binary_little_endian', 'binary_big_endian'].includes(format)) {
    throw dataError(`PLY format '${format}' is not supported`, 'use ascii, binary_little_endian or binary_big_endian');
  }
  for (const el of elements) {
    if (!Number.isInteger(el.count) || el.count < 0) throw dataError(`PLY header: element '${el.name}' has a bad count '${el.count}'`);
  }

  const body =
    format === 'ascii'
      ? // The body's first line number, for messages: header lines + 1.
        asciiBody(new TextDecoder().decode(bytes.subarray(bodyStart)), head.slice(0, bodyStart).split('\n').length, elements)
      : binaryBody(
          new DataView(bytes.buffer, bytes.byteOffset + bodyStart, bytes.length - bodyStart),
          format === 'binary_little_endian',
          bodyStart,
          elements,
        );

  const out: PlyData = { xyz: new Float32Array(0) };
  // Face indices are checked against the header's vertex count, whichever element comes first.
  const nVertices = elements.find((e) => e.name === 'vertex')?.count ?? 0;
  for (const el of elements) {
    if (el.name === 'vertex') readVertices(el, body, out);
    else if (el.name === 'face') out.indices = readFaces(el, body, nVertices);
    else {
      for (let i = 0; i < el.count; i++) {
        body.begin(el, i);
        for (const p of el.props) readProp(p, body);
        body.end();
      }
    }
  }
  body.finish(elements);
  return out;
}

function readProp(p: Property, body: Body): number | number[] {
  if (!p.countType) return body.next(p.type);
  const n = body.next(p.countType);
  if (!Number.isInteger(n) || n < 0)
    throw dataError(
      `PLY ${body.where()}: list '${p.name}' has a bad length ${n}`,
      'a count in the header may be wrong, so that other data is read as this list',
    );
  const list: number[] = [];
  for (let i = 0; i < n; i++) list.push(body.next(p.type));
  return list;
}

function readVertices(el: Element, body: Body, out: PlyData): void {
  const n = el.count;
  const col = (names: string[]) => names.map((name) => el.props.findIndex((p) => p.name === name));
  const [ix, iy, iz] = col(['x', 'y', 'z']);
  if (ix! < 0 || iy! < 0 || iz! < 0)
    throw dataError('PLY vertex element lacks x, y or z', `it has: ${el.props.map((p) => p.name).join(', ')}`);
  let ic = col(['red', 'green', 'blue']);
  if (ic.some((i) => i < 0)) ic = col(['r', 'g', 'b']);
  const hasColor = ic.every((i) => i >= 0);
  const inorm = col(['nx', 'ny', 'nz']);
  const hasNormals = inorm.every((i) => i >= 0);
  const xyz = new Float32Array(3 * n);
  const rgb = hasColor ? new Float32Array(3 * n) : undefined;
  const normals = hasNormals ? new Float32Array(3 * n) : undefined;
  // Integer colour channels are 0..max of their type; float channels are already in [0, 1].
  const colorScale = hasColor ? ic.map((i) => (({ uchar: 255, ushort: 65535 }) as Record<string, number>)[el.props[i]!.type] ?? 1) : [];
  const row: number[] = new Array(el.props.length);
  for (let v = 0; v < n; v++) {
    body.begin(el, v);
    for (let k = 0; k < el.props.length; k++) {
      const val = readProp(el.props[k]!, body);
      row[k] = typeof val === 'number' ? val : NaN;
    }
    body.end();
    xyz[3 * v] = row[ix!]!;
    xyz[3 * v + 1] = row[iy!]!;
    xyz[3 * v + 2] = row[iz!]!;
    if (rgb) for (let k = 0; k < 3; k++) rgb[3 * v + k] = row[ic[k]!]! / colorScale[k]!;
    if (normals) for (let k = 0; k < 3; k++) normals[3 * v + k] = row[inorm[k]!]!;
  }
  out.xyz = xyz;
  if (rgb) out.rgb = rgb;
  if (normals) out.normals = normals;
}

function readFaces(el: Element, body: Body, nVertices: number): Uint32Array {
  const listIdx = el.props.findIndex((p) => p.countType && (p.name === 'vertex_indices' || p.name === 'vertex_index'));
  if (listIdx < 0) throw dataError('PLY face element has no vertex_indices list', `it has: ${el.props.map((p) => p.name).join(', ')}`);
  const tris: number[] = [];
  for (let f = 0; f < el.count; f++) {
    body.begin(el, f);
    let poly: number[] = [];
    for (let k = 0; k < el.props.length; k++) {
      const val = readProp(el.props[k]!, body);
      if (k === listIdx) poly = val as number[];
    }
    body.end(); // a line that does not fit says so before its values are judged
    if (poly.length < 3) throw dataError(`PLY ${body.where()} has ${poly.length} vertices`, 'faces need at least 3');
    for (const v of poly) {
      if (!Number.isInteger(v) || v < 0 || v >= nVertices) {
        throw dataError(
          `PLY ${body.where()} uses vertex ${v}, but the file has ${nVertices} vertices${nVertices > 0 ? ` (indices 0 to ${nVertices - 1})` : ''}`,
          nVertices === 0
            ? "the file has no vertices: add them, or fix the header's vertex count"
            : "the face refers to a vertex that is not there: check the faces and the header's vertex count",
        );
      }
    }
    for (let i = 1; i + 1 < poly.length; i++) tris.push(poly[0]!, poly[i]!, poly[i + 1]!);
  }
  return Uint32Array.from(tris);
}

/** Shortest decimal that reads back (through float32) to the same float32 value. */
export function formatFloat32(v: number): string {
  const f = Math.fround(v);
  if (Number.isInteger(f) && Math.abs(f) < 1e15) return String(f === 0 ? 0 : f);
  for (let p = 1; p <= 9; p++) {
    const s = Number(f.toPrecision(p));
    if (Math.fround(s) === f) return String(s);
  }
  return String(f);
}

/**
 * Write a point cloud or mesh as PLY. Colours are quantised to uchar (round(255·c), clamped).
 *
 *   await writeFileAtomic('cloud.ply', writePly(cloud, 'binary_little_endian'));
 */
export function writePly(data: PlyData | PointCloud | Mesh, format: PlyFormat = 'binary_little_endian'): Uint8Array {
  const xyz = 'xyz' in data ? data.xyz : data.positions;
  const rgb = 'rgb' in data ? data.rgb : 'colors' in data ? data.colors : undefined;
  const normals = 'normals' in data ? data.normals : undefined;
  const indices = 'indices' in data ? data.indices : undefined;
  const n = xyz.length / 3;
  const nf = indices ? indices.length / 3 : 0;
  if (indices) validateMesh({ positions: xyz, indices, ...(rgb ? { colors: rgb } : {}) });
  const header = [
    'ply',
    `format ${format} 1.0`,
    `element vertex ${n}`,
    'property float x',
    'property float y',
    'property float z',
    ...(normals ? ['property float nx', 'property float ny', 'property float nz'] : []),
    ...(rgb ? ['property uchar red', 'property uchar green', 'property uchar blue'] : []),
    ...(indices ? [`element face ${nf}`, 'property list uchar int vertex_indices'] : []),
    'end_header',
    '',
  ].join('\n');
  const q = (c: number) => Math.min(255, Math.max(0, Math.round(c * 255)));
  const headBytes = new TextEncoder().encode(header);

  if (format === 'ascii') {
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const row = [xyz[3 * i]!, xyz[3 * i + 1]!, xyz[3 * i + 2]!].map(formatFloat32);
      if (normals) row.push(...[0, 1, 2].map((k) => formatFloat32(normals[3 * i + k]!)));
      if (rgb) row.push(...[0, 1, 2].map((k) => String(q(rgb[3 * i + k]!))));
      lines.push(row.join(' '));
    }
    for (let f = 0; f < nf; f++) lines.push(`3 ${indices![3 * f]} ${indices![3 * f + 1]} ${indices![3 * f + 2]}`);
    const body = new TextEncoder().encode(lines.map((l) => `${l}\n`).join(''));
    const out = new Uint8Array(headBytes.length + body.length);
    out.set(headBytes);
    out.set(body, headBytes.length);
    return out;
  }

  const stride = 12 + (normals ? 12 : 0) + (rgb ? 3 : 0);
  const out = new Uint8Array(headBytes.length + n * stride + nf * 13);
  out.set(headBytes);
  const view = new DataView(out.buffer);
  let o = headBytes.length;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++, o += 4) view.setFloat32(o, xyz[3 * i + k]!, true);
    if (normals) for (let k = 0; k < 3; k++, o += 4) view.setFloat32(o, normals[3 * i + k]!, true);
    if (rgb) for (let k = 0; k < 3; k++) view.setUint8(o++, q(rgb[3 * i + k]!));
  }
  for (let f = 0; f < nf; f++) {
    view.setUint8(o++, 3);
    for (let k = 0; k < 3; k++, o += 4) view.setInt32(o, indices![3 * f + k]!, true);
  }
  return out;
}
