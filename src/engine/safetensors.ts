/**
 * The Hugging Face safetensors format, read and written exactly per its specification
 * (https://huggingface.co/docs/safetensors, "Format"):
 *
 *   [ N: u64 little-endian ][ N bytes: UTF-8 JSON header ][ data buffer ]
 *
 * The header maps each tensor name to `{ dtype, shape, data_offsets: [begin, end] }`, offsets relative
 * to the start of the data buffer; an optional `__metadata__` entry is a string → string map. Tensors
 * are row-major little-endian, and the buffer is fully covered by them: no holes, no overlaps, no
 * trailing bytes. Writers pad the header with spaces so the data starts 8-byte aligned.
 *
 * Decoding trusts nothing: every length, offset, dtype and shape is checked against the file, and any
 * violation is a TonyError('checkpoint') naming the file, the tensor and the numbers that disagree.
 */
import { TonyError } from '../errors.ts';
import { type DType, type HostTensor, sizeOf, type TypedArray } from './dtype.ts';

/** Bytes of the little-endian u64 header length that opens every file. */
const LENGTH_PREFIX_BYTES = 8;
/** The data buffer starts on this boundary (the reference writer pads to 8). */
const HEADER_ALIGNMENT = 8;
/** Headers larger than this are refused, as the reference reader does (it guards against huge allocations). */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const TENSOR_FIELDS = ['dtype', 'shape', 'data_offsets'];

/** How each Tony dtype is written. */
const DTYPE_TO_FILE: Record<DType, string> = { float32: 'F32', float64: 'F64', int64: 'I64', int32: 'I32', bool: 'BOOL' };

/**
 * How each safetensors dtype this reader understands is read: its element size in the file and the
 * Tony dtype it becomes. Narrower types that Tony has no dtype for are widened exactly (U8/I8/I16/U16 →
 * int32, U32 → int64, F16/BF16 → float32), so Hugging Face weights in those types load without loss.
 * The 8-bit float types and U64 (which can exceed int64) are refused.
 */
const FILE_DTYPES: Record<string, { bytes: number; dtype: DType }> = {
  F64: { bytes: 8, dtype: 'float64' },
  F32: { bytes: 4, dtype: 'float32' },
  F16: { bytes: 2, dtype: 'float32' },
  BF16: { bytes: 2, dtype: 'float32' },
  I64: { bytes: 8, dtype: 'int64' },
  U32: { bytes: 4, dtype: 'int64' },
  I32: { bytes: 4, dtype: 'int32' },
  I16: { bytes: 2, dtype: 'int32' },
  U16: { bytes: 2, dtype: 'int32' },
  I8: { bytes: 1, dtype: 'int32' },
  U8: { bytes: 1, dtype: 'int32' },
  BOOL: { bytes: 1, dtype: 'bool' },
};

// Typed arrays use the host's byte order; safetensors is little-endian. Every platform Node supports
// is little-endian, so data is copied as bytes; on a big-endian host we refuse rather than corrupt.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A decoded file: tensors by name, the `__metadata__` map (empty when absent), and each tensor's dtype as the file spelled it. */
export interface Safetensors {
  tensors: Record<string, HostTensor>;
  metadata: Record<string, string>;
  fileDtypes: Record<string, string>;
}

/**
 * Serialize tensors (and an optional string → string metadata map) as a safetensors file.
 * Tensors are laid out by descending element size, then by name, so every tensor starts aligned to its
 * element size and the same input always gives the same bytes.
 *
 *   const bytes = encodeSafetensors({ w: hostTensor('float32', [2, 2], [1, 2, 3, 4]) }, { step: '10' });
 */
export function encodeSafetensors(
  tensors: Record<string, HostTensor>,
  metadata?: Record<string, string>,
  opts: { float16?: boolean } = {},
): Uint8Array {
  const parts = safetensorsParts(tensors, metadata, opts);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * encodeSafetensors's bytes as the pieces of the file in order — the header, then each tensor's
 * bytes as a view of its own array (float16 storage: a new half array) — to write one after the
 * other without a copy of the whole file in memory (a GPT-2-small checkpoint's parameters and
 * moments are 1 GB: writeFileAtomic takes the pieces).
 */
export function safetensorsParts(
  tensors: Record<string, HostTensor>,
  metadata?: Record<string, string>,
  opts: { float16?: boolean } = {},
): Uint8Array[] {
  assertLittleEndianHost();
  const names = Object.keys(tensors);
  for (const name of names) checkTensorForWrite(name, tensors[name]!);
  // float16 storage (opts.float16): float32 tensors are rounded to the nearest half (ties to even);
  // loading widens them back exactly (decodeSafetensors), so only the rounding is lost.
  const data = new Map<string, { file: string; array: ArrayBufferView }>();
  for (const n of names) {
    const t = tensors[n]!;
    data.set(
      n,
      opts.float16 && t.dtype === 'float32'
        ? { file: 'F16', array: toHalf(n, t.data as Float32Array) }
        : { file: DTYPE_TO_FILE[t.dtype], array: t.data },
    );
  }
  const bytes = (n: string) => (data.get(n)!.array as Float32Array).BYTES_PER_ELEMENT;
  names.sort((a, b) => bytes(b) - bytes(a) || (a < b ? -1 : a > b ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string')
        throw usage(
          `safetensors metadata '${k}' must be a string, got ${typeof v}`,
          'stringify the value (the format allows only strings)',
        );
    }
    header[METADATA_KEY] = { ...metadata };
  }
  let offset = 0;
  for (const name of names) {
    const { file, array } = data.get(name)!;
    const end = offset + array.byteLength;
    header[name] = { dtype: file, shape: [...tensors[name]!.shape], data_offsets: [offset, end] };
    offset = end;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil((LENGTH_PREFIX_BYTES + json.length) / HEADER_ALIGNMENT) * HEADER_ALIGNMENT - LENGTH_PREFIX_BYTES;
  const head = new Uint8Array(LENGTH_PREFIX_BYTES + headerLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLength), true);
  head.set(json, LENGTH_PREFIX_BYTES);
  head.fill(0x20, LENGTH_PREFIX_BYTES + json.length); // space padding
  const parts: Uint8Array[] = [head];
  for (const name of names) {
    const d = data.get(name)!.array;
    if (d.byteLength > 0) parts.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)); // bytes, not elements: NaN payloads survive
  }
  return parts;
}

/**
 * Parse and validate a safetensors file. `source` (a path or URL) only names the file in errors.
 * The returned tensors own fresh buffers (they do not alias `bytes`).
 *
 *   const { tensors, metadata } = decodeSafetensors(await readSource(path), path);
 */
export function decodeSafetensors(bytes: Uint8Array, source: string): Safetensors {
  assertLittleEndianHost();
  const fail = (what: string, hint: string) => new TonyError('checkpoint', `safetensors file '${source}': ${what}`, hint);
  const TRUNCATED = 'the file is truncated or not a safetensors file; re-save or re-download it';

  if (bytes.length < LENGTH_PREFIX_BYTES) {
    throw fail(`only ${bytes.length} bytes, shorter than the ${LENGTH_PREFIX_BYTES}-byte header length`, TRUNCATED);
  }
  const declared = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    throw fail(`header length ${declared} exceeds the ${MAX_HEADER_BYTES}-byte limit`, TRUNCATED);
  }
  const headerLength = Number(declared);
  if (LENGTH_PREFIX_BYTES + headerLength > bytes.length) {
    throw fail(`header length ${headerLength} runs past the end of the file (${bytes.length} bytes)`, TRUNCATED);
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + headerLength));
  } catch {
    throw fail('header is not valid UTF-8', TRUNCATED);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw fail(`header is not valid JSON (${(err as Error).message})`, TRUNCATED);
  }
  if (!text.startsWith('{') || !isPlainObject(header)) {
    throw fail(`header must be a JSON object, got ${JSON.stringify(text.slice(0, 40))}`, TRUNCATED);
  }

  const metadata: Record<string, string> = {};
  const meta = header[METADATA_KEY];
  if (meta !== undefined) {
    if (!isPlainObject(meta)) throw fail(`'${METADATA_KEY}' must be an object of strings`, TRUNCATED);
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== 'string') throw fail(`'${METADATA_KEY}' entry '${k}' must be a string, got ${JSON.stringify(v)}`, TRUNCATED);
      metadata[k] = v;
    }
  }

  // Check each entry on its own, then the layout of all of them together. (JSON.parse keeps the last of
  // duplicate keys; the entry it drops leaves a hole in the data buffer, which the layout check refuses.)
  const entries: Array<{ name: string; fileDtype: string; shape: number[]; begin: number; end: number }> = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    const where = `tensor '${name}'`;
    if (!isPlainObject(info)) throw fail(`${where}: entry must be an object, got ${JSON.stringify(info)}`, TRUNCATED);
    const extra = Object.keys(info).filter((k) => !TENSOR_FIELDS.includes(k));
    if (extra.length) throw fail(`${where}: unknown field '${extra[0]}' (expected ${TENSOR_FIELDS.join(', ')})`, TRUNCATED);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string' || !(dtype in FILE_DTYPES)) {
      throw fail(
        `${where}: unknown or unsupported dtype ${JSON.stringify(dtype)}`,
        `Tony reads ${Object.keys(FILE_DTYPES).join(', ')}; convert the tensor to one of them (e.g. F32) before loading`,
      );
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw fail(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`, TRUNCATED);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0]! > offsets[1]!) {
      throw fail(`${where}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`, TRUNCATED);
    }
    const [begin, end] = offsets as [number, number];
    const elements = sizeOf(shape as number[]);
    const want = elements * FILE_DTYPES[dtype]!.bytes;
    if (!Number.isSafeInteger(want) || want !== end - begin) {
      throw fail(
        `${where}: shape [${shape.join(', ')}] of ${dtype} needs ${want} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
        TRUNCATED,
      );
    }
    entries.push({ name, fileDtype: dtype, shape: shape as number[], begin, end });
  }

  const dataStart = LENGTH_PREFIX_BYTES + headerLength;
  const dataLength = bytes.length - dataStart;
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of entries) {
    if (e.begin !== covered) {
      const what = e.begin < covered ? `overlaps the tensor before it (which ends at ${covered})` : `leaves a gap after byte ${covered}`;
      throw fail(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] ${what}; tensors must tile the data buffer exactly`, TRUNCATED);
    }
    covered = e.end;
  }
  if (covered > dataLength) {
    throw fail(`tensor data ends at byte ${covered} of the data buffer but the file holds only ${dataLength} data bytes`, TRUNCATED);
  }
  if (covered < dataLength) {
    throw fail(`${dataLength - covered} trailing bytes after the last tensor (data ends at ${covered} of ${dataLength})`, TRUNCATED);
  }

  const tensors: Record<string, HostTensor> = {};
  const fileDtypes: Record<string, string> = {};
  for (const e of entries) {
    // A fresh copy at offset 0 (so aligned). Not bytes.slice: on a Node Buffer that is a view, not a copy.
    const raw = new Uint8Array(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    const data = readElements(e.fileDtype, raw);
    if (e.fileDtype === 'BOOL') {
      const bad = (data as Uint8Array).findIndex((v) => v > 1);
      if (bad >= 0) throw fail(`tensor '${e.name}': BOOL element ${bad} is ${data[bad]}, not 0 or 1`, TRUNCATED);
    }
    tensors[e.name] = { dtype: FILE_DTYPES[e.fileDtype]!.dtype, shape: e.shape, data };
    fileDtypes[e.name] = e.fileDtype;
  }
  return { tensors, metadata, fileDtypes };
}

/** Turn one tensor's little-endian bytes (a fresh buffer at offset 0) into Tony's array for its dtype. */
function readElements(fileDtype: string, raw: Uint8Array): TypedArray {
  const buf = raw.buffer as ArrayBuffer;
  switch (fileDtype) {
    case 'F64':
      return new Float64Array(buf);
    case 'F32':
      return new Float32Array(buf);
    case 'I64':
      return new BigInt64Array(buf);
    case 'I32':
      return new Int32Array(buf);
    case 'BOOL':
      return raw;
    case 'U32':
      return BigInt64Array.from(new Uint32Array(buf), (v) => BigInt(v));
    case 'I16':
      return Int32Array.from(new Int16Array(buf));
    case 'U16':
      return Int32Array.from(new Uint16Array(buf));
    case 'I8':
      return Int32Array.from(new Int8Array(buf));
    case 'U8':
      return Int32Array.from(raw);
    case 'F16': {
      // A table of all 65,536 halves: a lookup per element instead of a call with a power of two
      // (the bundled float16 models took 1.3 s of `npm start` to widen, now milliseconds).
      const halves = new Uint16Array(buf);
      const table = (HALF_TABLE ??= Float32Array.from({ length: 65536 }, (_, h) => halfToFloat(h)));
      const out = new Float32Array(halves.length);
      for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]!]!;
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: shifting the bits back is exact.
      const bits = Uint32Array.from(new Uint16Array(buf), (h) => h << 16);
      return new Float32Array(bits.buffer);
    }
  }
  throw new Error(`unreachable: dtype ${fileDtype} was validated`);
}

/**
 * A float32 tensor as IEEE 754 binary16 bits (round to nearest, ties to even; subnormals kept). A
 * finite value beyond the half range (|x| ≥ 65520) is refused rather than stored as infinity.
 */
function toHalf(name: string, src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    let h: number;
    if (exp === 0xff)
      h = sign | 0x7c00 | (mant ? 0x200 : 0); // inf, NaN
    else if (exp > 142) {
      throw usage(`tensor '${name}' holds ${src[i]}, beyond float16's range (±65504)`, 'export it as float32');
    } else if (exp >= 113) {
      // Normal half: rebias the exponent, round the 13 dropped mantissa bits to nearest even.
      h = ((exp - 112) << 10) | (mant >>> 13);
      const rest = mant & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // a carry into the exponent is still right
      if (h >= 0x7c00) throw usage(`tensor '${name}' holds ${src[i]}, beyond float16's range (±65504)`, 'export it as float32');
      h |= sign;
    } else if (exp >= 102) {
      // Subnormal half: value = m · 2^-24 with the implicit bit made explicit.
      const m = mant | 0x800000;
      const shift = 126 - exp; // 14..24
      h = m >>> shift;
      const rest = m & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rest > half || (rest === half && h & 1)) h++;
      h |= sign;
    } else h = sign; // below half the smallest subnormal: ±0
    out[i] = h;
  }
  return out;
}

let HALF_TABLE: Float32Array | undefined;

/** IEEE 754 binary16 → number (exact: every half is a float32). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Refuse a tensor whose array does not match its dtype and shape: the header would lie about it. */
function checkTensorForWrite(name: string, t: HostTensor): void {
  if (name === METADATA_KEY) throw usage(`a tensor cannot be named '${METADATA_KEY}' (reserved by the format)`, 'rename the tensor');
  if (!t || !(t.dtype in DTYPE_TO_FILE))
    throw usage(`tensor '${name}': unknown dtype ${JSON.stringify(t?.dtype)}`, `use one of ${Object.keys(DTYPE_TO_FILE).join(', ')}`);
  if (!Array.isArray(t.shape) || !t.shape.every(isCount)) {
    throw usage(`tensor '${name}': shape must be non-negative integers, got ${JSON.stringify(t.shape)}`, 'fix the tensor shape');
  }
  const arrayType = { float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, bool: Uint8Array }[t.dtype];
  if (!(t.data instanceof arrayType)) {
    throw usage(
      `tensor '${name}': dtype ${t.dtype} needs a ${arrayType.name}, got ${t.data?.constructor?.name}`,
      'build tensors with hostTensor() or allocate()',
    );
  }
  if (t.data.length !== sizeOf(t.shape)) {
    throw usage(
      `tensor '${name}': shape [${t.shape.join(', ')}] has ${sizeOf(t.shape)} elements but its data has ${t.data.length}`,
      'fix the shape or the data',
    );
  }
  if (t.dtype === 'bool' && (t.data as Uint8Array).some((v) => v > 1)) {
    throw usage(`tensor '${name}': bool data must be 0 or 1`, 'store other byte values as int32');
  }
}

function assertLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) throw new TonyError('device', 'safetensors needs a little-endian host', 'run Tony on x86-64 or arm64');
}

const usage = (msg: string, hint: string) => new TonyError('usage', msg, hint);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
