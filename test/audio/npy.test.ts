/**
 * .npy reading against files built byte by byte from the format's specification (numpy.lib.format):
 * magic, version, header length, a Python-literal header padded to 64 bytes, then the data.
 */
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '../../src/audio/npy.ts';
import { npyBytes } from './npy-bytes.ts';

describe('decodeNpy', () => {
  it('reads float32 little-endian (v1) and float64 big-endian (v2) in C order', () => {
    const a = decodeNpy(npyBytes([2, 3], [1, 2, 3, 4, 5, 6.5]));
    expect(a.shape).toEqual([2, 3]);
    expect([...a.data]).toEqual([1, 2, 3, 4, 5, 6.5]);
    const b = decodeNpy(npyBytes([3], [0.1, -2, 1e-300], { descr: '>f8', version: 2 }));
    expect(b.shape).toEqual([3]);
    expect([...b.data]).toEqual([0.1, -2, 1e-300]);
  });

  it('reads Fortran order into C order (column-major bytes of [[1, 3, 5], [2, 4, 6]] and of a 2×3×2 array)', () => {
    const a = decodeNpy(npyBytes([2, 3], [1, 2, 3, 4, 5, 6], { fortran: true }), 'f.npy');
    expect(a.shape).toEqual([2, 3]);
    expect([...a.data]).toEqual([1, 3, 5, 2, 4, 6]);
    // element (i, j, k) sits at i + 2j + 6k on disk; C order walks k fastest
    const disk = Array.from({ length: 12 }, (_, f) => f);
    const c = decodeNpy(npyBytes([2, 3, 2], disk, { fortran: true }), 'g.npy');
    const want: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) want.push(i + 2 * j + 6 * k);
    expect([...c.data]).toEqual(want);
  });

  it('refuses what it does not read, naming it', () => {
    expect(() => decodeNpy(new TextEncoder().encode('RIFF....WAVE'), 'x.npy')).toThrow(/x.npy is not a NumPy .npy file/);
    expect(() => decodeNpy(npyBytes([2], [1, 2], { descr: '<i4' }), 'i.npy')).toThrow(/i.npy holds dtype '<i4'/);
    expect(() => decodeNpy(npyBytes([4], [1, 2, 3, 4]).subarray(0, 128 + 6), 't.npy')).toThrow(
      /t.npy is truncated: shape \(4\) needs 16 bytes/,
    );
  });
});
