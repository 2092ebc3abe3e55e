/**
 * NumPy .npz archives and Point-E's point-cloud files. An .npz is a ZIP of .npy members (numpy.savez
 * stores them, numpy.savez_compressed deflates them; both are read). Point-E's `PointCloud.save`
 * writes `coords` (N, 3) and one (N,) array per channel — R, G, B in [0, 1] from its sampler.
 *
 * Point-E's clouds are z-up; Tony's scenes, renderer and cameras are y-up, so a z-up cloud rendered
 * as is lies on its side. `fromZUp` rotates it upright: −90° about x, (x, y, z) ↦ (x, z, −y) — a
 * proper rotation (no mirror), so shapes keep their handedness.
 */
import { inflateRawSync } from 'node:zlib';
import { decodeNpy, type NpyArray } from '../audio/npy.ts';
import { dataError } from '../errors.ts';
import type { PointCloud } from './mesh.ts';

const EOCD = 0x06054b50; // end of central directory
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The .npy members of an .npz, by name without '.npy'. `name` labels errors. */
export function readNpz(bytes: Uint8Array, name = 'npz data'): Map<string, NpyArray> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // the end-of-central-directory record: 22 bytes plus a comment of at most 65,535
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw dataError(`${name} is not an .npz (ZIP) archive`, 'save it with numpy.savez(path, coords=…, R=…, G=…, B=…)');
  const entries = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const out = new Map<string, NpyArray>();
  for (let e = 0; e < entries; e++) {
    if (p + 46 > bytes.length || view.getUint32(p, true) !== CENTRAL) throw dataError(`${name}: damaged ZIP central directory`);
    const method = view.getUint16(p + 10, true);
    const compressed = view.getUint32(p + 20, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    const member = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
    if (compressed === 0xffffffff) throw dataError(`${name}: member '${member}' is a ZIP64 entry (over 4 GB), which is not read`);
    if (view.getUint32(local, true) !== LOCAL) throw dataError(`${name}: damaged ZIP entry '${member}'`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = bytes.subarray(start, start + compressed);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) data = new Uint8Array(inflateRawSync(raw));
    else throw dataError(`${name}: member '${member}' uses ZIP method ${method}`, 'save with numpy.savez or numpy.savez_compressed');
    if (!member.endsWith('.npy')) continue;
    out.set(member.slice(0, -4), decodeNpy(data, `${name}:${member}`));
  }
  return out;
}

/** (x, y, z) z-up ↦ (x, z, −y) y-up, in place order; returns a new array. */
export function fromZUp(xyz: Float32Array): Float32Array {
  const out = new Float32Array(xyz.length);
  for (let i = 0; i < xyz.length; i += 3) {
    out[i] = xyz[i]!;
    out[i + 1] = xyz[i + 2]!;
    out[i + 2] = -xyz[i + 1]!;
  }
  return out;
}

/**
 * A Point-E .npz (`coords` + R, G, B) as a y-up cloud (see fromZUp). Colours outside [0, 1] — a
 * file that stored 0–255 — are an error naming the channel.
 */
export function pointEFromNpz(bytes: Uint8Array, name = 'npz data'): PointCloud {
  const arrays = readNpz(bytes, name);
  const coords = arrays.get('coords');
  if (!coords)
    throw dataError(
      `${name} has no 'coords' array (it holds ${[...arrays.keys()].join(', ') || 'nothing'})`,
      'Point-E clouds are saved by PointCloud.save: coords (N, 3) and R, G, B (N)',
    );
  if (coords.shape.length !== 2 || coords.shape[1] !== 3) throw dataError(`${name}: 'coords' has shape (${coords.shape}), expected (N, 3)`);
  const n = coords.shape[0]!;
  const cloud: PointCloud = { xyz: fromZUp(Float32Array.from(coords.data)) };
  const channels = ['R', 'G', 'B'].map((c) => arrays.get(c));
  if (channels.every((c) => c !== undefined)) {
    const rgb = new Float32Array(3 * n);
    channels.forEach((c, k) => {
      if (c!.data.length !== n) throw dataError(`${name}: channel '${'RGB'[k]}' has ${c!.data.length} values for ${n} points`);
      for (let i = 0; i < n; i++) {
        const v = c!.data[i]!;
        if (!(v >= 0 && v <= 1)) throw dataError(`${name}: channel '${'RGB'[k]}' holds ${v} at point ${i}; Point-E colours are in [0, 1]`);
        rgb[3 * i + k] = v;
      }
    });
    cloud.rgb = rgb;
  }
  return cloud;
}
