/**
 * The CLI loads only the area that owns a command (src/cli/areas.ts): each row's command names must
 * be exactly what its module registers, or a command would be missing (or loaded from the wrong
 * area). The oracle is commander's own list of the commands each module adds to a fresh program.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { areas, areasFor } from '../../src/cli/areas.ts';

describe('CLI areas', () => {
  it('each row names exactly the top-level commands its module registers, and no command twice', async () => {
    const seen: string[] = [];
    for (const area of areas) {
      const program = new Command('tony');
      (await area.load()).register(program);
      expect(program.commands.map((c) => c.name()).sort()).toEqual([...area.commands].sort());
      seen.push(...area.commands);
    }
    expect(new Set(seen).size).toBe(seen.length);
  }, 60_000);

  it('a command loads its own area; help, options only and unknown commands load all', () => {
    const argv = (...a: string[]) => ['node', 'tony', ...a];
    expect(areasFor(argv('start', '--port', '0'))).toEqual([areas.find((a) => a.commands.includes('start'))]);
    expect(areasFor(argv('sample', '--threads', '1'))).toEqual([areas.find((a) => a.commands.includes('sample'))]);
    for (const a of [argv('--help'), argv(), argv('nope')]) expect(areasFor(a)).toBe(areas);
  });
});
