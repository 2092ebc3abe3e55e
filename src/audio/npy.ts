/**
 * NumPy `.npy` arrays (format versions 1–3, https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * how spectrograms travel between Python tools and Tony (`tony audio vocode spec.npy`). Reads
 * little- or big-endian float32/float64 in C or Fortran order (returned in C order); anything else is
 * a `data` error naming it.
 */
import { dataError } from '../errors.ts';
import { readSource } from '../io.ts';

export interface NpyArray {
  shape: number[];
  /** Row-major values. */
  data: Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parse .npy bytes; `name` labels errors. */
export function decodeNpy(bytes: Uint8Array, name = 'npy data'): NpyArray {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b))
    throw dataError(`${name} is not a NumPy .npy file (no \\x93NUMPY magic)`, 'save it with numpy.save(path, array)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw dataError(`${name}: .npy format version ${major} is not read (1–3 are)`);
  // version 1 has a 2-byte header length, versions 2 and 3 a 4-byte one
  const [lenBytes, headerLen] = major === 1 ? [2, view.getUint16(8, true)] : [4, view.getUint32(8, true)];
  const start = 8 + lenBytes;
  if (start + headerLen > bytes.length) throw dataError(`${name} is truncated inside its header`);
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw dataError(`${name}: cannot read the .npy header ${JSON.stringify(header.trim())}`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw dataError(`${name}: bad shape (${shapeText})`);
  const kinds: Record<string, [number, boolean]> = {
    '<f4': [4, true],
    '<f8': [8, true],
    '>f4': [4, false],
    '>f8': [8, false],
    '=f4': [4, true],
    '=f8': [8, true],
  };
  const kind = kinds[descr];
  if (!kind) throw dataError(`${name} holds dtype '${descr}'`, 'save it as float32 or float64: array.astype(numpy.float32)');
  const [size, little] = kind;
  const n = shape.reduce((a, b) => a * b, 1);
  const body = start + headerLen;
  if (body + n * size > bytes.length)
    throw dataError(`${name} is truncated: shape (${shape.join(', ')}) needs ${n * size} bytes of data, ${bytes.length - body} follow`);
  const data = new Float64Array(n);
  const at = (i: number) => (size === 4 ? view.getFloat32(body + 4 * i, little) : view.getFloat64(body + 8 * i, little));
  if (fortran === 'True' && shape.length > 1) {
    // column-major on disk (e.g. a transposed array saved as is, as Point-E's coords are): reorder to row-major
    const rank = shape.length;
    const idx = new Array<number>(rank).fill(0);
    for (let c = 0; c < n; c++) {
      let f = 0; // the element's offset in Fortran order
      for (let k = rank - 1; k >= 0; k--) f = f * shape[k]! + idx[k]!;
      data[c] = at(f);
      for (let k = rank - 1; k >= 0 && ++idx[k]! === shape[k]; k--) idx[k] = 0; // next C-order index
    }
  } else {
    for (let i = 0; i < n; i++) data[i] = at(i);
  }
  return { shape, data };
}

/** Read a .npy file (a path or an http(s) URL). */
export async function readNpy(source: string): Promise<NpyArray> {
  return decodeNpy(await readSource(source), source);
}
