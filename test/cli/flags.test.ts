import { describe, expect, it } from 'vitest';
import { count, fraction, integer, number, parseNumber, parseSets, positive } from '../../src/cli/flags.ts';

describe('CLI flag parsers', () => {
  it('accept values in range and return numbers', () => {
    expect(count('steps')('12')).toBe(12);
    expect(integer('seed', 0)('0')).toBe(0);
    expect(integer('offset')('-3')).toBe(-3);
    expect(positive('lr')('2e-3')).toBe(0.002);
    expect(fraction('fim-rate')('1')).toBe(1);
    expect(number('temperature', { min: 0, max: 10 })('0.5')).toBe(0.5);
  });

  it.each([
    [() => count('steps')('ten'), "--steps must be a positive integer, got 'ten'"],
    [() => count('steps')('0'), "--steps must be a positive integer, got '0'"],
    [() => count('batch')('1.5'), "--batch must be a positive integer, got '1.5'"],
    [() => integer('port', 0)('-1'), "--port must be an integer ≥ 0, got '-1'"],
    [() => positive('lr')('0'), "--lr must be a positive number, got '0'"],
    [() => fraction('fim-rate')('1.5'), "--fim-rate must be a number in [0, 1], got '1.5'"],
    [() => number('temperature', { min: 0, max: 10 })('-1'), "--temperature must be a number in [0, 10], got '-1'"],
    [() => integer('n', 1, 64)('65'), "--n must be an integer in [1, 64], got '65'"],
    [() => parseNumber('x', ''), "--x must be a number, got ''"],
    [() => parseNumber('x', 'Infinity'), "--x must be a number, got 'Infinity'"],
  ])('refuses a bad value naming the flag (%#)', (parse, message) => {
    expect(parse).toThrow(message);
  });

  it('parses --set values as JSON when they are JSON', () => {
    expect(parseSets(['nLayer=6', 'name=abc', 'fim={"rate":0.5}', 'dropout=0.1'])).toEqual({
      nLayer: 6,
      name: 'abc',
      fim: { rate: 0.5 },
      dropout: 0.1,
    });
    expect(() => parseSets(['nLayer'])).toThrow("--set expects key=value, got 'nLayer'");
  });
});
