/**
 * Safetensors and checkpoints. Oracles: bit patterns the tests construct themselves, and an
 * independent numpy reader/writer (fixtures/safetensors_fixture.py, with its output oracle.safetensors
 * committed beside it).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHECKPOINT_VERSION,
  checkpointDir,
  latestCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  MANIFEST_FILE,
  pruneCheckpoints,
  saveCheckpoint,
  saveRunCheckpoint,
} from '../../src/engine/checkpoint.ts';
import { type HostTensor, hostTensor } from '../../src/engine/dtype.ts';
import { decodeSafetensors, encodeSafetensors } from '../../src/engine/safetensors.ts';
import { TonyError } from '../../src/errors.ts';
import { PYTHON3_NUMPY, requires } from '../system.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const ORACLE_SCRIPT = join(FIXTURES, 'safetensors_fixture.py');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tony-ckpt-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Raw bytes of a tensor's data, the thing a bit-exact round trip must preserve. */
const bytesOf = (t: HostTensor) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const f32FromBits = (bits: number[]) => new Float32Array(new Uint32Array(bits).buffer);
const f64FromBits = (bits: bigint[]) => new Float64Array(new BigUint64Array(bits).buffer);

/** One tensor of every dtype, with the values that break naive serializers. */
function everyDtype(): Record<string, HostTensor> {
  return {
    // -0, ±inf, smallest subnormal, max, a quiet NaN with payload, a signalling NaN, a negative NaN
    f32: {
      dtype: 'float32',
      shape: [2, 4],
      data: f32FromBits([0x80000000, 0x7f800000, 0xff800000, 0x00000001, 0x7f7fffff, 0x7fc00123, 0x7f800001, 0xffc00000]),
    },
    f64: {
      dtype: 'float64',
      shape: [5],
      data: f64FromBits([0x8000000000000000n, 0x7ff0000000000001n, 0x7ff8dead0000beefn, 0x0000000000000001n, 0x3fb999999999999an]),
    },
    i64: { dtype: 'int64', shape: [4], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n]) },
    i32: { dtype: 'int32', shape: [3, 1], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1, -7]) },
    bool: { dtype: 'bool', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
    scalar: { dtype: 'float32', shape: [], data: new Float32Array([Math.PI]) },
    empty: { dtype: 'int64', shape: [3, 0], data: new BigInt64Array(0) },
  };
}

function expectCheckpointError(run: () => unknown, message: RegExp) {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(TonyError);
    expect((e as TonyError).kind).toBe('checkpoint');
    expect((e as TonyError).message).toMatch(message);
    expect((e as TonyError).hint).toBeTruthy();
    return;
  }
  throw new Error(`expected a checkpoint error matching ${message}`);
}

async function expectCheckpointRejection(run: () => Promise<unknown>, message: RegExp) {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a checkpoint error matching ${message}`).toBeInstanceOf(TonyError);
  expect((err as TonyError).kind).toBe('checkpoint');
  expect((err as TonyError).message).toMatch(message);
  expect((err as TonyError).hint).toBeTruthy();
}

/** Build a safetensors file by hand (header object + data), to test the decoder on layouts Tony never writes. */
function handmade(header: unknown, data: Uint8Array, pad = true): Uint8Array {
  let json = new TextEncoder().encode(JSON.stringify(header));
  if (pad) {
    const padded = new Uint8Array(Math.ceil((8 + json.length) / 8) * 8 - 8).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips every dtype bit-exactly, with metadata', () => {
    const tensors = everyDtype();
    const meta = { format: 'pt', note: 'ünïcode ✓' };
    const bytes = encodeSafetensors(tensors, meta);
    const back = decodeSafetensors(bytes, 'mem');
    expect(back.metadata).toEqual(meta);
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const b = back.tensors[name]!;
      expect(b.dtype, name).toBe(t.dtype);
      expect(b.shape, name).toEqual(t.shape);
      expect(b.data.constructor, name).toBe(t.data.constructor);
      expect(Buffer.from(bytesOf(b)).equals(Buffer.from(bytesOf(t))), `${name} bits`).toBe(true);
    }
    // -0 and int64 extremes, read back as values too
    expect(Object.is(back.tensors.f32!.data[0], -0)).toBe(true);
    expect(back.tensors.i64!.data[0]).toBe(-(2n ** 63n));
    expect(back.tensors.i64!.data[1]).toBe(2n ** 63n - 1n);
  });

  it('writes an 8-byte-aligned header and a deterministic layout; reads tensors stored in views with an offset', () => {
    const backing = new Float32Array([9, 1, 2, 3, 9]);
    const view: HostTensor = { dtype: 'float32', shape: [3], data: backing.subarray(1, 4) };
    const a = encodeSafetensors({ b: view, a: hostTensor('int32', [1], [5]) });
    const b = encodeSafetensors({ a: hostTensor('int32', [1], [5]), b: view });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const n = Number(new DataView(a.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    expect(Array.from(decodeSafetensors(a, 'mem').tensors.b!.data as Float32Array)).toEqual([1, 2, 3]);
    const decoded = decodeSafetensors(a, 'mem');
    a.fill(0); // decoded tensors own their memory
    expect(Array.from(decoded.tensors.b!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(encodeSafetensors({}).length).toBe(16); // "{}" padded to 8
    expect(decodeSafetensors(encodeSafetensors({}), 'mem').tensors).toEqual({});
  });

  it('decodes the numpy-written oracle file to the known values', async () => {
    const path = join(FIXTURES, 'oracle.safetensors');
    const { tensors, metadata, fileDtypes } = decodeSafetensors(await readFile(path), path);
    // The values safetensors_fixture.py writes (see known_tensors there).
    expect(metadata).toEqual({ format: 'np', source: 'safetensors_fixture.py' });
    expect(tensors['bool.mask']).toEqual({ dtype: 'bool', shape: [4], data: new Uint8Array([1, 0, 0, 1]) });
    expect(tensors['f64.ramp']).toEqual({ dtype: 'float64', shape: [2, 3], data: new Float64Array([-0.5, -0.25, 0, 0.25, 0.5, 0.75]) });
    expect(tensors['u8.bytes']).toEqual({ dtype: 'int32', shape: [3], data: new Int32Array([0, 128, 255]) });
    const special = tensors['f32.special']!;
    expect(special.dtype).toBe('float32');
    expect(Array.from(new Uint32Array(special.data.buffer as ArrayBuffer))).toEqual([
      0x80000000, 0x7f800000, 0xff800000, 0x00000001, 0x7f7fffff, 0x7fc00123,
    ]);
    expect(tensors['i64.extremes']).toEqual({ dtype: 'int64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, -1n]) });
    expect(tensors['f16.halves']).toEqual({ dtype: 'float32', shape: [4], data: new Float32Array([1, -2.5, 65504, 2 ** -24]) });
    expect(tensors['i32.grid']).toEqual({ dtype: 'int32', shape: [2, 2, 1], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, 7]) });
    expect(tensors['bf16.vals']).toEqual({ dtype: 'float32', shape: [3], data: new Float32Array([1, -3, 0.15625]) });
    expect(tensors.scalar).toEqual({ dtype: 'float32', shape: [], data: new Float32Array([42]) });
    expect(tensors.empty).toEqual({ dtype: 'int32', shape: [0, 4], data: new Int32Array(0) });
    expect(fileDtypes).toMatchObject({ 'u8.bytes': 'U8', 'f16.halves': 'F16', 'bf16.vals': 'BF16', 'bool.mask': 'BOOL' });
  });

  it('writes files the independent numpy reader parses to the same names, dtypes, shapes, sums and bits', async (ctx) => {
    requires(ctx, PYTHON3_NUMPY);
    const tensors: Record<string, HostTensor> = {
      ...everyDtype(),
      'layer.0.weight': hostTensor(
        'float32',
        [3, 4],
        Array.from({ length: 12 }, (_, i) => i / 8 - 0.5),
      ),
      'ids/π': hostTensor('int64', [2, 3], [1, -2, 3, -4, 5, -6]),
    };
    const path = join(tmp, 'tony-written.safetensors');
    await writeFile(path, encodeSafetensors(tensors, { step: '7' }));
    const summary = JSON.parse(execFileSync('python3', [ORACLE_SCRIPT, 'read', path], { encoding: 'utf8' })) as {
      aligned: boolean;
      metadata: Record<string, string>;
      tensors: Record<string, { dtype: string; shape: number[]; sum: number | string; nans: number; sha256: string }>;
    };
    expect(summary.aligned).toBe(true);
    expect(summary.metadata).toEqual({ step: '7' });
    const fileDtype = { float32: 'F32', float64: 'F64', int64: 'I64', int32: 'I32', bool: 'BOOL' };
    expect(Object.keys(summary.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const s = summary.tensors[name]!;
      expect(s.dtype, name).toBe(fileDtype[t.dtype]);
      expect(s.shape, name).toEqual(t.shape);
      expect(s.sha256, name).toBe(createHash('sha256').update(bytesOf(t)).digest('hex'));
      if (t.data instanceof Float32Array || t.data instanceof Float64Array) {
        const values = Array.from(t.data);
        expect(s.nans, name).toBe(values.filter(Number.isNaN).length);
        const finite = values.filter(Number.isFinite);
        const sum = finite.reduce((a, b) => a + b, 0);
        expect(s.sum as number, name).toBeCloseTo(sum, 12);
      } else {
        let sum = 0n;
        for (const v of t.data) sum += BigInt(v);
        expect(s.sum, name).toBe(sum.toString());
      }
    }
  });

  describe('refuses corrupt input', () => {
    const good = encodeSafetensors({ w: hostTensor('float32', [2, 3], [1, 2, 3, 4, 5, 6]), b: hostTensor('int64', [2], [7, 8]) });
    const headerLength = Number(new DataView(good.buffer).getBigUint64(0, true));

    it('truncated anywhere', () => {
      expectCheckpointError(() => decodeSafetensors(good.subarray(0, 0), 'f.st'), /'f\.st'.*only 0 bytes/);
      expectCheckpointError(() => decodeSafetensors(good.subarray(0, 5), 'f.st'), /only 5 bytes/);
      expectCheckpointError(
        () => decodeSafetensors(good.subarray(0, 8 + 10), 'f.st'),
        /header length \d+ runs past the end of the file \(18 bytes\)/,
      );
      expectCheckpointError(() => decodeSafetensors(good.subarray(0, 8 + headerLength), 'f.st'), /holds only 0 data bytes/);
      expectCheckpointError(() => decodeSafetensors(good.subarray(0, good.length - 1), 'f.st'), /ends at byte 40 .* only 39 data bytes/);
    });

    it('trailing bytes', () => {
      const longer = new Uint8Array(good.length + 3);
      longer.set(good);
      expectCheckpointError(() => decodeSafetensors(longer, 'f.st'), /3 trailing bytes/);
    });

    it('a huge header length', () => {
      const bad = good.slice();
      new DataView(bad.buffer).setBigUint64(0, 2n ** 62n, true);
      expectCheckpointError(() => decodeSafetensors(bad, 'f.st'), /exceeds the 100000000-byte limit/);
    });

    it('flipped header bytes', () => {
      const brace = good.slice();
      brace[8] = 0x78; // '{' → 'x'
      expectCheckpointError(() => decodeSafetensors(brace, 'f.st'), /header is not valid JSON/);
      const utf8 = good.slice();
      utf8[9] = 0xff;
      expectCheckpointError(() => decodeSafetensors(utf8, 'f.st'), /not valid UTF-8/);
      // the first digit of an offset ("data_offsets":[0,16] → [0,96]) stays valid JSON but lies
      const text = new TextDecoder().decode(good.subarray(8, 8 + headerLength));
      const at = text.indexOf('"data_offsets":[0,16]') + '"data_offsets":[0,'.length;
      const offset = good.slice();
      offset[8 + at] = '9'.charCodeAt(0);
      expectCheckpointError(
        () => decodeSafetensors(offset, 'f.st'),
        /tensor 'b': shape \[2\] of I64 needs 16 bytes but data_offsets \[0, 96\] span 96/,
      );
    });

    it('a header that is not an object, or a bad metadata map', () => {
      expectCheckpointError(() => decodeSafetensors(handmade([1, 2], new Uint8Array(0)), 'f.st'), /must be a JSON object/);
      expectCheckpointError(
        () => decodeSafetensors(handmade({ __metadata__: { a: 1 } }, new Uint8Array(0)), 'f.st'),
        /'__metadata__' entry 'a' must be a string/,
      );
    });

    it('unknown dtypes, bad shapes and unknown fields', () => {
      const data = new Uint8Array(4);
      expectCheckpointError(
        () => decodeSafetensors(handmade({ x: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, data), 'f.st'),
        /tensor 'x': unknown or unsupported dtype "F8_E4M3"/,
      );
      expectCheckpointError(
        () => decodeSafetensors(handmade({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, data), 'f.st'),
        /shape must be an array of non-negative integers/,
      );
      expectCheckpointError(
        () => decodeSafetensors(handmade({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, data), 'f.st'),
        /shape \[2\] of F32 needs 8 bytes but data_offsets \[0, 4\] span 4/,
      );
      expectCheckpointError(
        () => decodeSafetensors(handmade({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, data), 'f.st'),
        /0 ≤ begin ≤ end/,
      );
      expectCheckpointError(
        () => decodeSafetensors(handmade({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4], extra: 1 } }, data), 'f.st'),
        /unknown field 'extra'/,
      );
      expectCheckpointError(
        () => decodeSafetensors(handmade({ x: { dtype: 'BOOL', shape: [4], data_offsets: [0, 4] } }, new Uint8Array([0, 1, 2, 1])), 'f.st'),
        /BOOL element 2 is 2/,
      );
    });

    it('overlapping and non-contiguous offsets', () => {
      const data = new Uint8Array(8);
      const overlap = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } };
      expectCheckpointError(() => decodeSafetensors(handmade(overlap, data), 'f.st'), /overlaps the tensor before it/);
      const gap = { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } };
      expectCheckpointError(
        () => decodeSafetensors(handmade(gap, data), 'f.st'),
        /tensor 'a': data_offsets \[4, 8\] leaves a gap after byte 0/,
      );
    });

    it('accepts an unpadded header and unaligned offsets written by hand', () => {
      const data = new Uint8Array([1, 0, 0, 0x80, 0x3f]); // BOOL [1], then F32 1.0 at offset 1 (unaligned)
      const header = { m: { dtype: 'BOOL', shape: [1], data_offsets: [0, 1] }, x: { dtype: 'F32', shape: [1], data_offsets: [1, 5] } };
      const bytes = handmade(header, data, false);
      const { tensors } = decodeSafetensors(bytes, 'f.st');
      expect(Array.from(tensors.x!.data as Float32Array)).toEqual([1]);
      expect(Array.from(tensors.m!.data as Uint8Array)).toEqual([1]);
    });
  });

  it('refuses to write tensors whose data does not match their header', () => {
    expect(() => encodeSafetensors({ w: { dtype: 'float32', shape: [3], data: new Float32Array(2) } })).toThrow(
      /shape \[3\] has 3 elements but its data has 2/,
    );
    expect(() => encodeSafetensors({ w: { dtype: 'int64', shape: [1], data: new Int32Array(1) } })).toThrow(/needs a BigInt64Array/);
    expect(() => encodeSafetensors({ __metadata__: hostTensor('float32', [1]) })).toThrow(/reserved/);
  });
});

describe('checkpoints', () => {
  const config = { nLayer: 2, dModel: 8, name: 'tiny' };
  const params = () => ({
    'wte.weight': hostTensor(
      'float32',
      [4, 8],
      Array.from({ length: 32 }, (_, i) => Math.sin(i)),
    ),
    'ln.bias': hostTensor('float32', [8]),
    'pos.ids': hostTensor('int64', [4], [0, 1, 2, 3]),
  });
  const spec = () => Object.fromEntries(Object.entries(params()).map(([k, t]) => [k, { shape: t.shape, dtype: t.dtype }]));
  const state = { step: 100, data: { shard: 3, offset: 12345 }, rng: [1, 2, 3, 4], losses: [2.5, 2.25] };
  const optimizer = () => ({ 'm.wte.weight': hostTensor('float32', [4, 8]), step: hostTensor('int64', [], [100]) });

  it('round-trips config, state, params and optimizer state', async (ctx) => {
    requires(ctx, PYTHON3_NUMPY);
    const dir = join(tmp, 'rt');
    const manifest = await saveCheckpoint(dir, { config, state, params: params(), optimizer: optimizer() });
    expect(manifest.format).toBe('tony-checkpoint');
    expect(Object.keys(manifest.files).sort()).toEqual(['config.json', 'model.safetensors', 'optimizer.safetensors', 'state.json']);
    const ck = await loadCheckpoint(dir, { params: spec() });
    expect(ck.config).toEqual(config);
    expect(ck.state).toEqual(state);
    expect(ck.params).toEqual(params());
    expect(ck.optimizer).toEqual(optimizer());
    // model.safetensors is a plain safetensors file: the independent reader opens it
    const summary = JSON.parse(execFileSync('python3', [ORACLE_SCRIPT, 'read', join(dir, 'model.safetensors')], { encoding: 'utf8' }));
    expect(Object.keys(summary.tensors).sort()).toEqual(['ln.bias', 'pos.ids', 'wte.weight']);
    // the manifest's checksums are the files' real sha256
    const sha = createHash('sha256')
      .update(await readFile(join(dir, 'state.json')))
      .digest('hex');
    expect(manifest.files['state.json']!.sha256).toBe(sha);
  });

  it('replacing a checkpoint without optimizer state removes the stale optimizer file', async () => {
    const dir = join(tmp, 'replace');
    await saveCheckpoint(dir, { config, state, params: params(), optimizer: optimizer() });
    await saveCheckpoint(dir, { config, state: { step: 200 }, params: params() });
    const ck = await loadCheckpoint(dir);
    expect(ck.optimizer).toBeUndefined();
    expect(ck.state).toEqual({ step: 200 });
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors', 'state.json', MANIFEST_FILE].sort());
  });

  it('refuses config or state that JSON would silently change', async () => {
    const dir = join(tmp, 'badjson');
    await expect(saveCheckpoint(dir, { config, state: { loss: NaN }, params: params() })).rejects.toThrow(/state at state\.loss: NaN/);
    await expect(saveCheckpoint(dir, { config, state: { rng: new Uint32Array(4) }, params: params() })).rejects.toThrow(
      /Uint32Array object/,
    );
    await expect(saveCheckpoint(dir, { config: { seed: 1n }, state, params: params() })).rejects.toThrow(/a bigint/);
    await expect(readdir(dir)).rejects.toThrow(); // nothing was written
  });

  describe('refuses bad checkpoints', () => {
    let dir: string;
    beforeAll(async () => {
      dir = join(tmp, 'good');
      await saveCheckpoint(dir, { config, state, params: params(), optimizer: optimizer() });
    });
    /** A copy of the good checkpoint to damage. */
    async function copy(name: string): Promise<string> {
      const to = join(tmp, name);
      await mkdir(to, { recursive: true });
      for (const f of await readdir(dir)) await writeFile(join(to, f), await readFile(join(dir, f)));
      return to;
    }

    it('a truncated file', async () => {
      const d = await copy('trunc');
      const model = await readFile(join(d, 'model.safetensors'));
      for (const keep of [0, 7, 40, model.length - 1]) {
        await writeFile(join(d, 'model.safetensors'), model.subarray(0, keep));
        await expectCheckpointRejection(
          () => loadCheckpoint(d),
          new RegExp(`model\\.safetensors' is truncated: ${keep} bytes, the manifest says ${model.length}`),
        );
      }
    });

    it('a checksum mismatch (one flipped bit)', async () => {
      const d = await copy('flip');
      const opt = await readFile(join(d, 'optimizer.safetensors'));
      opt[opt.length - 3]! ^= 0x04;
      await writeFile(join(d, 'optimizer.safetensors'), opt);
      await expectCheckpointRejection(() => loadCheckpoint(d), /optimizer\.safetensors' fails its checksum/);
    });

    it('a missing file listed in the manifest', async () => {
      const d = await copy('missing');
      await rm(join(d, 'config.json'));
      await expectCheckpointRejection(() => loadCheckpoint(d), /'config\.json' is listed in the manifest but cannot be read \(ENOENT\)/);
    });

    it('a foreign directory: plain safetensors, or JSON without the magic', async () => {
      const foreign = join(tmp, 'hf-model');
      await mkdir(foreign, { recursive: true });
      await writeFile(join(foreign, 'model.safetensors'), await readFile(join(FIXTURES, 'oracle.safetensors')));
      await writeFile(join(foreign, 'config.json'), '{"model_type": "gpt2"}');
      await expectCheckpointRejection(
        () => loadCheckpoint(foreign),
        /is not a Tony checkpoint: no tony-checkpoint\.json \(it holds safetensors files from elsewhere\)/,
      );
      await writeFile(join(foreign, MANIFEST_FILE), '{"format": "pytorch", "version": 1}');
      await expectCheckpointRejection(
        () => loadCheckpoint(foreign),
        /not a Tony checkpoint manifest: format is "pytorch", expected "tony-checkpoint"/,
      );
      await writeFile(join(foreign, MANIFEST_FILE), '{"format": "tony-chec');
      await expectCheckpointRejection(() => loadCheckpoint(foreign), /tony-checkpoint\.json' is not valid JSON/);
      await expectCheckpointRejection(() => loadCheckpoint(join(tmp, 'nowhere')), /does not exist or is not a directory/);
    });

    it('a version from the future, and a manifest that names files outside the checkpoint', async () => {
      const d = await copy('future');
      const m = JSON.parse(await readFile(join(d, MANIFEST_FILE), 'utf8'));
      await writeFile(join(d, MANIFEST_FILE), JSON.stringify({ ...m, version: CHECKPOINT_VERSION + 1 }));
      await expectCheckpointRejection(() => loadCheckpoint(d), new RegExp(`version ${CHECKPOINT_VERSION + 1}, newer than this Tony reads`));
      await writeFile(join(d, MANIFEST_FILE), JSON.stringify({ ...m, files: { ...m.files, '../../etc/passwd': m.files['state.json'] } }));
      await expectCheckpointRejection(() => loadCheckpoint(d), /lists an unknown file '\.\.\/\.\.\/etc\/passwd'/);
    });

    it('an interrupted save (no manifest)', async () => {
      const d = await copy('interrupted');
      await rm(join(d, MANIFEST_FILE));
      await expectCheckpointRejection(() => loadCheckpoint(d), /is incomplete: it has no tony-checkpoint\.json/);
      const early = join(tmp, 'interrupted-early'); // killed while writing its first file
      await mkdir(early);
      await writeFile(join(early, 'model.safetensors.tony-tmp-0123abcd'), 'partial');
      await expectCheckpointRejection(() => loadCheckpoint(early), /is incomplete/);
    });

    it('parameters that do not match the model, listing the first differences', async () => {
      const want = {
        ...spec(),
        'wte.weight': { shape: [5, 8], dtype: 'float32' as const },
        'pos.ids': { shape: [4], dtype: 'int32' as const },
        'head.weight': { shape: [8, 4], dtype: 'float32' as const },
      };
      await expectCheckpointRejection(
        () => loadCheckpoint(dir, { params: want }),
        /3 differences\): 'wte\.weight' is float32 \[4, 8\], the model needs float32 \[5, 8\]; 'pos\.ids' is int64 \[4\], the model needs int32 \[4\]; missing 'head\.weight' \(float32 \[8, 4\]\)$/,
      );
      const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`p${i}`, { shape: [1], dtype: 'float32' as const }]));
      await expectCheckpointRejection(() => loadCheckpoint(dir, { params: many }), /12 differences\): missing 'p0' .*; and 7 more$/);
    });
  });

  describe('run directories', () => {
    it('lists, finds the latest complete, skips interrupted saves, keeps the last K', async () => {
      const run = join(tmp, 'run');
      expect(await listCheckpoints(run)).toEqual([]);
      expect(await latestCheckpoint(run)).toBeUndefined();
      for (const step of [5, 10, 20, 100]) await saveRunCheckpoint(run, step, { config, state: { step }, params: params() });
      await writeFile(join(run, 'ckpt-notes.txt'), 'not a checkpoint');
      expect((await listCheckpoints(run)).map((c) => c.step)).toEqual([5, 10, 20, 100]); // numeric, not lexical order
      expect((await latestCheckpoint(run))?.dir).toBe(checkpointDir(run, 100));

      // a save of step 150 that crashed before its manifest: listed as incomplete, skipped
      await mkdir(checkpointDir(run, 150));
      await writeFile(join(checkpointDir(run, 150), 'model.safetensors'), 'partial');
      expect((await listCheckpoints(run)).at(-1)).toEqual({ step: 150, dir: checkpointDir(run, 150), complete: false });
      const latest = await latestCheckpoint(run);
      expect(latest?.step).toBe(100);
      expect((await loadCheckpoint<unknown, { step: number }>(latest!.dir)).state.step).toBe(100);

      // keep the newest 2: 5 and 10 go; the in-progress 150 (newer than any complete one) stays
      await saveRunCheckpoint(run, 120, { config, state: { step: 120 }, params: params() }, { keep: 2 });
      expect((await listCheckpoints(run)).map((c) => [c.step, c.complete])).toEqual([
        [100, true],
        [120, true],
        [150, false],
      ]);
      expect((await readdir(run)).filter((n) => n.startsWith('.deleting'))).toEqual([]);
      // once a newer complete checkpoint exists, the dead interrupted save is pruned too
      await saveRunCheckpoint(run, 200, { config, state: { step: 200 }, params: params() });
      expect(await pruneCheckpoints(run, 1)).toEqual([100, 120, 150]);
      expect((await listCheckpoints(run)).map((c) => c.step)).toEqual([200]);
      // a run resumed from an earlier step: its new, lower-step checkpoint survives the pruning it triggers
      await saveRunCheckpoint(run, 50, { config, state: { step: 50 }, params: params() }, { keep: 1 });
      expect((await listCheckpoints(run)).map((c) => c.step)).toEqual([50, 200]);
    });
  });
});

describe('crash safety', () => {
  /**
   * A child process saves checkpoints into one directory in a loop, every tensor filled with the step
   * number, and is killed (SIGKILL) at an arbitrary moment. Whatever it left must either load as a
   * complete, consistent checkpoint of a step it finished, or be refused.
   */
  it('a save killed at any moment never leaves a checkpoint that loads as valid but wrong', async () => {
    const dir = join(tmp, 'crash', 'ckpt');
    const child = join(tmp, 'crash-child.mts'); // .mts: ESM (top-level await) outside a "type": "module" package
    await writeFile(
      child,
      `import { saveCheckpoint } from ${JSON.stringify(join(REPO, 'src/engine/checkpoint.ts'))};
       const pauseMs = Number(process.argv[2]); // idle time after each completed save
       const N = 1 << 20; // 4 MB per tensor: saves take long enough to be interrupted
       for (let step = 1; ; step++) {
         const fill = (n) => ({ dtype: 'float32', shape: [n], data: new Float32Array(n).fill(step) });
         await saveCheckpoint(${JSON.stringify(dir)}, { config: { n: N }, state: { step }, params: { a: fill(N), b: fill(N) }, optimizer: { m: fill(N) } });
         process.stdout.write('saved ' + step + '\\n');
         await new Promise((r) => setTimeout(r, pauseMs));
       }`,
    );
    const spec = { a: { shape: [1 << 20], dtype: 'float32' as const }, b: { shape: [1 << 20], dtype: 'float32' as const } };
    /** Run the child, kill it `delayMs` after its `afterSaves`-th save, and load what it left. */
    async function crashAndLoad(pauseMs: number, afterSaves: number, delayMs: number) {
      const proc = spawn(process.execPath, ['--import', 'tsx', child, String(pauseMs)], {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let lastSaved = 0;
      const signal = await new Promise<NodeJS.Signals | null>((resolve) => {
        proc.stdout.on('data', (chunk: Buffer) => {
          for (const m of chunk.toString().matchAll(/saved (\d+)/g)) lastSaved = Number(m[1]);
          if (lastSaved >= afterSaves) setTimeout(() => proc.kill('SIGKILL'), delayMs);
        });
        proc.on('exit', (_code, sig) => resolve(sig));
      });
      expect(signal, 'the child must run until killed').toBe('SIGKILL');
      try {
        const ck = await loadCheckpoint<unknown, { step: number }>(dir, { params: spec });
        const step = ck.state.step;
        expect(step).toBeGreaterThanOrEqual(lastSaved);
        for (const t of [ck.params.a!, ck.params.b!, ck.optimizer!.m!])
          expect((t.data as Float32Array).every((v) => v === step)).toBe(true);
        return 'valid';
      } catch (e) {
        expect(e).toBeInstanceOf(TonyError);
        expect((e as TonyError).kind).toBe('checkpoint');
        return 'refused';
      }
    }
    // Killed while saving over an older checkpoint: the result is whichever it is, but never torn.
    const outcomes: string[] = [];
    for (const delayMs of [0, 3, 10, 25, 50]) outcomes.push(await crashAndLoad(0, 1 + (delayMs % 3), delayMs));
    expect(outcomes.every((o) => o === 'valid' || o === 'refused')).toBe(true); // which one depends on timing
    // Killed while idle after a save: that save must load.
    expect(await crashAndLoad(60_000, 1, 0)).toBe('valid');
  });
});
