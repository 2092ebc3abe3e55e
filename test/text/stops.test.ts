import { describe, expect, it } from 'vitest';
import { cutAtStop, stopIndex } from '../../src/text/stops.ts';

describe('stop strings', () => {
  it('finds the earliest stop, not the first listed', () => {
    //                 0123456789
    expect(stopIndex('ab\ndef\nclass', ['\nclass', '\ndef'])).toBe(2);
    expect(stopIndex('return x\n\n', ['\n\n', 'x'])).toBe(7);
    expect(stopIndex('abc', ['z'])).toBe(-1);
    expect(stopIndex('abc', [''])).toBe(-1); // an empty stop never matches
    expect(stopIndex('abc', undefined)).toBe(-1);
  });

  it('searches from an offset', () => {
    expect(stopIndex('x;y;z', [';'], 2)).toBe(3);
  });

  it('cuts before the stop and says whether it cut', () => {
    expect(cutAtStop('def f():\n    return 1\ndef g', ['\ndef', '\nclass'])).toEqual({ text: 'def f():\n    return 1', cut: true });
    expect(cutAtStop('no stop here', ['\n'])).toEqual({ text: 'no stop here', cut: false });
    expect(cutAtStop('\nstarts with it', ['\n'])).toEqual({ text: '', cut: true });
  });
});
