/**
 * bin/tony.js runs the CLI from a bundle cached by the sources' hash, and prints `tony --help`
 * from a cached text. Oracle: the same commands run from the TypeScript sources through tsx.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cache = mkdtempSync(join(tmpdir(), 'tony-bundle-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

const tony = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/tony.js', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, XDG_CACHE_HOME: cache, TONY_MODEL_KINDS: '' },
  });
const fromSources = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });

it('builds the bundle once, prints --help as the sources do (then from its cache), and runs a command', () => {
  const want = fromSources('--help');
  expect(want.status).toBe(0);
  const first = tony('--help');
  expect(first.status, first.stderr).toBe(0);
  expect(first.stdout).toBe(want.stdout);
  const bundles = readdirSync(join(cache, 'tony', 'cli'));
  expect(bundles).toHaveLength(1);
  expect(readdirSync(join(cache, 'tony', 'cli', bundles[0]!))).toContain('help-pipe.txt');
  const again = tony('--help');
  expect(again.stdout).toBe(want.stdout);
  // A subcommand's help loads only its area, from the same bundle.
  const sub = tony('scale', 'fit', '--help');
  expect(sub.status, sub.stderr).toBe(0);
  expect(sub.stdout).toBe(fromSources('scale', 'fit', '--help').stdout);
  expect(readdirSync(join(cache, 'tony', 'cli'))).toEqual(bundles);
}, 240_000);
