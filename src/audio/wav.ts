/**
 * WAV (RIFF/WAVE) reading and writing.
 *
 * Encodings: integer PCM at 8 (unsigned), 16, 24 and 32 bits, IEEE float at 32 and 64 bits, any
 * channel count and sample rate, plain `WAVE_FORMAT_PCM`/`WAVE_FORMAT_IEEE_FLOAT` headers or
 * `WAVE_FORMAT_EXTENSIBLE` (the sub-format GUID says which). Samples are held as float64 in
 * [-1, 1), one array per channel: integer PCM k at b bits is k / 2^(b−1) (8-bit is unsigned with
 * an offset of 128). Float64 holds every encoding exactly, so read → write round trips are
 * byte-exact for every format.
 *
 * Chunks other than `fmt ` and `data` (LIST, fact, cue …) are skipped; odd-sized chunks are
 * padded to even length as RIFF requires. Malformed headers, truncated data and unsupported
 * encodings are `data` errors naming the file's values.
 */
import { dataError, TonyError } from '../errors.ts';
import { readSource, writeFileAtomic } from '../io.ts';

/** One clip: `channels[c][i]` is sample i of channel c, in [-1, 1). */
export interface Audio {
  sampleRate: number;
  channels: Float64Array[];
}

/** How samples are stored in the file. */
export type WavEncoding = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'float64';

export interface WavInfo {
  encoding: WavEncoding;
  /** True when the header was WAVE_FORMAT_EXTENSIBLE. */
  extensible: boolean;
}

const FORMAT_PCM = 0x0001;
const FORMAT_IEEE_FLOAT = 0x0003;
const FORMAT_EXTENSIBLE = 0xfffe;
/** The tail shared by the KSDATAFORMAT_SUBTYPE_* GUIDs; their first two bytes are the format tag. */
const SUBFORMAT_GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
const FMT_CHUNK_MIN = 16;
const EXTENSIBLE_FMT_SIZE = 40;

const BITS: Record<WavEncoding, number> = { pcm8: 8, pcm16: 16, pcm24: 24, pcm32: 32, float32: 32, float64: 64 };

/** Number of samples per channel. */
export function audioLength(audio: Audio): number {
  return audio.channels[0]?.length ?? 0;
}

/** Duration in seconds. */
export function audioDuration(audio: Audio): number {
  return audioLength(audio) / audio.sampleRate;
}

/** Average the channels into one (a copy even when there is one channel). */
export function toMono(audio: Audio): Float64Array {
  const n = audioLength(audio);
  const out = new Float64Array(n);
  for (const ch of audio.channels) for (let i = 0; i < n; i++) out[i]! += ch[i]!;
  const c = audio.channels.length;
  if (c > 1) for (let i = 0; i < n; i++) out[i]! /= c;
  return out;
}

/**
 * Parse WAV bytes. `name` only labels errors.
 *
 *   const { audio, info } = decodeWav(bytes);  // audio.channels[0][i] in [-1, 1)
 */
export function decodeWav(bytes: Uint8Array, name = 'WAV data'): { audio: Audio; info: WavInfo } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') {
    const what = bytes.length < 12 ? `only ${bytes.length} bytes` : `starts with '${tag(0)}'…'${tag(8)}'`;
    throw dataError(
      `${name} is not a RIFF/WAVE file (${what})`,
      'pass a .wav file; RF64, AIFF, FLAC and MP3 are not read — convert with `ffmpeg -i in -c:a pcm_s16le out.wav`',
    );
  }
  let fmt: { tag: number; channels: number; rate: number; blockAlign: number; bits: number; sub?: number } | undefined;
  let data: { start: number; size: number } | undefined;
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const id = tag(pos);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (size < FMT_CHUNK_MIN || body + size > bytes.length) {
        throw dataError(
          `${name}: 'fmt ' chunk has size ${size} (need ≥ ${FMT_CHUNK_MIN} within the file's ${bytes.length} bytes)`,
          'the header is malformed or the file is truncated',
        );
      }
      fmt = {
        tag: view.getUint16(body, true),
        channels: view.getUint16(body + 2, true),
        rate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bits: view.getUint16(body + 14, true),
      };
      if (fmt.tag === FORMAT_EXTENSIBLE) {
        if (size < EXTENSIBLE_FMT_SIZE) {
          throw dataError(
            `${name}: WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk has size ${size}, need ${EXTENSIBLE_FMT_SIZE}`,
            'the header is malformed',
          );
        }
        const guid = bytes.subarray(body + 24, body + 40);
        if (!SUBFORMAT_GUID_TAIL.every((b, i) => guid[i + 2] === b)) {
          throw dataError(
            `${name}: WAVE_FORMAT_EXTENSIBLE sub-format GUID is not a KSDATAFORMAT_SUBTYPE_* GUID`,
            'only PCM and IEEE-float sub-formats are read',
          );
        }
        fmt.sub = view.getUint16(body + 24, true);
      }
    } else if (id === 'data') {
      if (body + size > bytes.length) {
        throw dataError(
          `${name} is truncated: its 'data' chunk says ${size} bytes but only ${bytes.length - body} follow`,
          'the file was cut short (an interrupted download or recording); re-create it',
        );
      }
      data = { start: body, size };
      if (fmt) break;
    }
    pos = body + size + (size & 1);
  }
  if (!fmt) throw dataError(`${name} has no 'fmt ' chunk`, 'the header is malformed');
  if (!data) throw dataError(`${name} has no 'data' chunk`, 'the file is truncated or not audio');
  const encoding = encodingOf(fmt.sub ?? fmt.tag, fmt.bits, name);
  const bytesPer = BITS[encoding] / 8;
  if (fmt.channels < 1) throw dataError(`${name} has ${fmt.channels} channels`, 'the header is malformed');
  if (fmt.rate < 1) throw dataError(`${name} has sample rate ${fmt.rate}`, 'the header is malformed');
  if (fmt.blockAlign !== fmt.channels * bytesPer) {
    throw dataError(`${name}: block align ${fmt.blockAlign} ≠ ${fmt.channels} channels × ${bytesPer} bytes`, 'the header is malformed');
  }
  const frames = Math.floor(data.size / fmt.blockAlign);
  if (frames * fmt.blockAlign !== data.size) {
    throw dataError(
      `${name}: 'data' size ${data.size} is not a whole number of ${fmt.blockAlign}-byte frames`,
      'the file is truncated or the header is wrong',
    );
  }
  const channels = Array.from({ length: fmt.channels }, () => new Float64Array(frames));
  const read = sampleReader(encoding, view);
  let at = data.start;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < fmt.channels; c++, at += bytesPer) channels[c]![i] = read(at);
  }
  return { audio: { sampleRate: fmt.rate, channels }, info: { encoding, extensible: fmt.tag === FORMAT_EXTENSIBLE } };
}

function encodingOf(format: number, bits: number, name: string): WavEncoding {
  if (format === FORMAT_PCM && (bits === 8 || bits === 16 || bits === 24 || bits === 32)) return `pcm${bits}`;
  if (format === FORMAT_IEEE_FLOAT && (bits === 32 || bits === 64)) return `float${bits}`;
  const what =
    format === FORMAT_PCM ? `${bits}-bit PCM` : format === FORMAT_IEEE_FLOAT ? `${bits}-bit float` : `format tag 0x${format.toString(16)}`;
  throw dataError(
    `${name} uses an unsupported encoding: ${what}`,
    'supported: PCM 8/16/24/32-bit and float 32/64-bit; convert with `ffmpeg -i in -c:a pcm_s16le out.wav`',
  );
}

function sampleReader(encoding: WavEncoding, v: DataView): (at: number) => number {
  switch (encoding) {
    case 'pcm8':
      return (at) => (v.getUint8(at) - 128) / 128;
    case 'pcm16':
      return (at) => v.getInt16(at, true) / 32768;
    case 'pcm24':
      return (at) => (((v.getUint8(at + 2) << 24) >> 8) | (v.getUint8(at + 1) << 8) | v.getUint8(at)) / 8388608;
    case 'pcm32':
      return (at) => v.getInt32(at, true) / 2147483648;
    case 'float32':
      return (at) => v.getFloat32(at, true);
    case 'float64':
      return (at) => v.getFloat64(at, true);
  }
}

/** Round to the integer grid of `bits`-bit PCM and clip to its range. */
function quantize(x: number, bits: number): number {
  const scale = 2 ** (bits - 1);
  return Math.max(-scale, Math.min(scale - 1, Math.round(x * scale)));
}

function sampleWriter(encoding: WavEncoding, v: DataView): (at: number, x: number) => void {
  switch (encoding) {
    case 'pcm8':
      return (at, x) => v.setUint8(at, quantize(x, 8) + 128);
    case 'pcm16':
      return (at, x) => v.setInt16(at, quantize(x, 16), true);
    case 'pcm24':
      return (at, x) => {
        const q = quantize(x, 24);
        v.setUint8(at, q & 0xff);
        v.setUint8(at + 1, (q >> 8) & 0xff);
        v.setUint8(at + 2, (q >> 16) & 0xff);
      };
    case 'pcm32':
      return (at, x) => v.setInt32(at, quantize(x, 32), true);
    case 'float32':
      return (at, x) => v.setFloat32(at, x, true);
    case 'float64':
      return (at, x) => v.setFloat64(at, x, true);
  }
}

export interface EncodeOptions {
  /** Default 'pcm16'. Integer encodings round to the nearest level and clip to [-1, 1). */
  encoding?: WavEncoding;
  /** Write a WAVE_FORMAT_EXTENSIBLE header (default: only when > 2 channels or > 16-bit PCM, as the spec asks). */
  extensible?: boolean;
}

/**
 * Encode audio as WAV bytes.
 *
 *   await writeFileAtomic('a.wav', encodeWav({ sampleRate: 16000, channels: [x] }));
 */
export function encodeWav(audio: Audio, options: EncodeOptions = {}): Uint8Array {
  const encoding = options.encoding ?? 'pcm16';
  const bits = BITS[encoding];
  if (bits === undefined) throw new TonyError('usage', `unknown WAV encoding '${encoding}'`, `use one of ${Object.keys(BITS).join(', ')}`);
  const nch = audio.channels.length;
  if (nch < 1) throw new TonyError('usage', 'cannot write a WAV file with no channels');
  const frames = audioLength(audio);
  for (const [c, ch] of audio.channels.entries()) {
    if (ch.length !== frames)
      throw new TonyError(
        'shape',
        `channel ${c} has ${ch.length} samples, channel 0 has ${frames}`,
        'all channels must have the same length',
      );
  }
  if (!Number.isInteger(audio.sampleRate) || audio.sampleRate < 1) {
    throw new TonyError('usage', `sample rate ${audio.sampleRate} is not a positive integer`, 'WAV stores the rate as an integer');
  }
  const isFloat = encoding.startsWith('float');
  const extensible = options.extensible ?? (nch > 2 || (!isFloat && bits > 16));
  const fmtSize = extensible ? EXTENSIBLE_FMT_SIZE : FMT_CHUNK_MIN;
  const blockAlign = nch * (bits / 8);
  const dataSize = frames * blockAlign;
  const total = 12 + 8 + fmtSize + 8 + dataSize + (dataSize & 1);
  const bytes = new Uint8Array(total);
  const v = new DataView(bytes.buffer);
  const put = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) bytes[at + i] = s.charCodeAt(i);
  };
  const formatTag = isFloat ? FORMAT_IEEE_FLOAT : FORMAT_PCM;
  put(0, 'RIFF');
  v.setUint32(4, total - 8, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  v.setUint32(16, fmtSize, true);
  v.setUint16(20, extensible ? FORMAT_EXTENSIBLE : formatTag, true);
  v.setUint16(22, nch, true);
  v.setUint32(24, audio.sampleRate, true);
  v.setUint32(28, audio.sampleRate * blockAlign, true);
  v.setUint16(32, blockAlign, true);
  v.setUint16(34, bits, true);
  if (extensible) {
    v.setUint16(36, 22, true); // size of the extension
    v.setUint16(38, bits, true); // valid bits per sample
    v.setUint32(40, nch <= 32 ? 2 ** nch - 1 : 0, true); // channel mask: the first nch speaker positions
    v.setUint16(44, formatTag, true);
    bytes.set(SUBFORMAT_GUID_TAIL, 46);
  }
  const dataAt = 12 + 8 + fmtSize;
  put(dataAt, 'data');
  v.setUint32(dataAt + 4, dataSize, true);
  const write = sampleWriter(encoding, v);
  let at = dataAt + 8;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++, at += bits / 8) write(at, audio.channels[c]![i]!);
  }
  return bytes;
}

/** Read a WAV file (path or http(s) URL). */
export async function readWav(source: string): Promise<Audio> {
  return decodeWav(await readSource(source), source).audio;
}

/** Write a WAV file atomically (default 16-bit PCM). */
export async function writeWav(path: string, audio: Audio, options: EncodeOptions = {}): Promise<void> {
  await writeFileAtomic(path, encodeWav(audio, options));
}
