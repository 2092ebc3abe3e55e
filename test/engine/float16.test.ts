/**
 * float16 storage for exported weights: the bits written must be numpy's `np.float16(x)` (round to
 * nearest, ties to even, subnormals kept). Expected bit patterns were printed by
 *   python3 -c "import numpy as np; print([int(np.float16(np.float32(v)).view(np.uint16)) for v in V])"
 * for the values below; loading widens them back to float32 exactly.
 */
import { describe, expect, it } from 'vitest';
import { hostTensor } from '../../src/engine/dtype.ts';
import { decodeSafetensors, encodeSafetensors } from '../../src/engine/safetensors.ts';

// [float32 value, numpy float16 bits]
const CASES: Array<[number, number]> = [
  [0, 0],
  [-0, 32768],
  [1, 15360],
  [1 / 3, 13653],
  [0.1, 11878],
  [-2.5, 49408],
  [65504, 31743],
  [65519, 31743], // rounds down to the largest half
  [2 ** -14, 1024], // smallest normal
  [2 ** -24, 1], // smallest subnormal
  [2 ** -25, 0], // exactly half of it: ties to even → 0
  [2 ** -25 * (1 + 2 ** -23), 1], // just above half: rounds up
  [1.00048828125, 15360], // 1 + 2^-11: a tie, to even (down)
  [1.00146484375, 15362], // 1 + 3·2^-11: a tie, to even (up)
  [0.001, 5145],
  [-123.456, 55223],
  [Math.PI, 16968],
];

describe('float16 safetensors', () => {
  it('writes numpy’s float16 bits, ties to even, and reads them back widened', () => {
    const values = Float32Array.from(CASES.map(([v]) => v));
    const bytes = encodeSafetensors(
      { w: hostTensor('float32', [values.length], values), ids: hostTensor('int64', [2], [3, 4]) },
      undefined,
      { float16: true },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header.w.dtype).toBe('F16');
    expect(header.ids.dtype).toBe('I64'); // only float32 tensors are narrowed
    const [begin, end] = header.w.data_offsets as [number, number];
    const raw = bytes.slice(8 + headerLength + begin, 8 + headerLength + end);
    expect(Array.from(new Uint16Array(raw.buffer))).toEqual(CASES.map(([, bits]) => bits));
    const back = decodeSafetensors(bytes, 'mem').tensors.w!.data as Float32Array;
    // Each value comes back as the half it was rounded to: within half a unit in the last place.
    CASES.forEach(([v], i) => expect(Math.abs(back[i]! - Math.fround(v))).toBeLessThanOrEqual(Math.max(Math.abs(v) * 2 ** -11, 2 ** -25)));
  });

  it('refuses a finite value beyond the half range instead of storing infinity', () => {
    expect(() => encodeSafetensors({ big: hostTensor('float32', [1], [70000]) }, undefined, { float16: true })).toThrow(
      /'big' holds 70000, beyond float16's range/,
    );
    expect(() => encodeSafetensors({ big: hostTensor('float32', [1], [65520]) }, undefined, { float16: true })).toThrow(
      /beyond float16's range/,
    );
  });
});
