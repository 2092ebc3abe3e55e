import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.ts';
import { TonyError } from '../../src/errors.ts';

describe('resolveConfig', () => {
  const defaults = { nLayer: 2, dModel: 128, name: 'tiny' };

  it('applies overrides and freezes', () => {
    const cfg = resolveConfig('gpt', defaults, { nLayer: 4 });
    expect(cfg).toEqual({ nLayer: 4, dModel: 128, name: 'tiny' });
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('rejects an unknown key, suggesting the closest', () => {
    const run = () => resolveConfig('gpt', defaults, { nLayers: 4 });
    expect(run).toThrow(TonyError);
    expect(run).toThrow(/unknown gpt config key 'nLayers'/);
    try {
      run();
    } catch (e) {
      expect((e as TonyError).hint).toMatch(/did you mean 'nLayer'/);
    }
  });

  it('rejects a value of the wrong type or a non-finite number', () => {
    expect(() => resolveConfig('gpt', defaults, { dModel: '128' })).toThrow(/must be a number/);
    expect(() => resolveConfig('gpt', defaults, { dModel: NaN })).toThrow(/finite/);
  });
});
