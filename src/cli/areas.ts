/**
 * The CLI's areas, in pipeline order: the top-level commands each registers, and how to load it.
 * `tony <command>` imports only the area that owns the command (an area's file imports what its
 * commands need: ONNX Runtime's bindings, vega, three, …, 1–2 s of imports for all of them); help
 * and unknown commands load them all. test/cli/areas.test.ts checks each row against what its
 * module registers.
 */
import type { Command } from 'commander';

export interface Area {
  commands: readonly string[];
  load: () => Promise<{ register: (program: Command) => void }>;
}

export const areas: readonly Area[] = [
  { commands: ['train'], load: () => import('./train.ts') },
  { commands: ['sample', 'infill', 'export'], load: () => import('./generate.ts') },
  { commands: ['serve'], load: () => import('./serve.ts') },
  { commands: ['audio'], load: () => import('./audio.ts') },
  { commands: ['jukebox'], load: () => import('./jukebox.ts') },
  { commands: ['shapes'], load: () => import('./shapes.ts') },
  { commands: ['pointe'], load: () => import('./pointe.ts') },
  { commands: ['shape-e'], load: () => import('./shape-e.ts') },
  { commands: ['math'], load: () => import('./math.ts') },
  { commands: ['eval'], load: () => import('./evals.ts') },
  { commands: ['omni'], load: () => import('./omni.ts') },
  { commands: ['scale'], load: () => import('./scaling.ts') },
  { commands: ['studio', 'start'], load: () => import('./studio.ts') },
];

/** The areas `argv` (process.argv) needs: the one owning its command, or all of them. */
export function areasFor(argv: readonly string[]): readonly Area[] {
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  const owner = areas.find((a) => command !== undefined && a.commands.includes(command));
  return owner ? [owner] : areas;
}
