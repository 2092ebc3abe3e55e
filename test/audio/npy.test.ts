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

  it('refuses what it does not read, naming it', () => {
    expect(() => decodeNpy(new TextEncoder().encode('RIFF....WAVE'), 'x.npy')).toThrow(/x.npy is not a NumPy .npy file/);
    expect(() => decodeNpy(npyBytes([2], [1, 2], { descr: '<i4' }), 'i.npy')).toThrow(/i.npy holds dtype '<i4'/);
    expect(() => decodeNpy(npyBytes([2, 2], [1, 2, 3, 4], { fortran: true }), 'f.npy')).toThrow(/Fortran order/);
    expect(() => decodeNpy(npyBytes([4], [1, 2, 3, 4]).subarray(0, 128 + 6), 't.npy')).toThrow(
      /t.npy is truncated: shape \(4\) needs 16 bytes/,
    );
  });
});
