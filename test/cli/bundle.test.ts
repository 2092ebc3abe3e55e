/**
 * bin/tony.js runs the CLI from a bundle cached by the sources' hash, and prints `tony --help`
 * from a cached text. Oracle: the same commands run from the TypeScript sources through tsx.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cache = mkdtempSync(join(tmpdir(), 'tony-bundle-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

/**
 * Runs node asynchronously: a synchronous spawn blocks the test worker's event loop for the whole
 * build, which vitest reports as a failure on a loaded machine.
 */
const run = (args: string[], env?: NodeJS.ProcessEnv) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
    execFile(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 120_000, env: env ?? process.env }, (err, stdout, stderr) =>
      done({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
const tony = (...args: string[]) => run(['bin/tony.js', ...args], { ...process.env, XDG_CACHE_HOME: cache, TONY_MODEL_KINDS: '' });
const fromSources = (...args: string[]) => run(['--import', 'tsx', 'src/cli/main.ts', ...args]);

it('builds the bundle once, prints --help as the sources do (then from its cache), and runs a command', async () => {
  const want = await fromSources('--help');
  expect(want.status).toBe(0);
  const first = await tony('--help');
  expect(first.status, first.stderr).toBe(0);
  expect(first.stdout).toBe(want.stdout);
  const bundles = readdirSync(join(cache, 'tony', 'cli'));
  expect(bundles).toHaveLength(1);
  expect(readdirSync(join(cache, 'tony', 'cli', bundles[0]!))).toContain('help-pipe.txt');
  const again = await tony('--help');
  expect(again.stdout).toBe(want.stdout);
  // A subcommand's help loads only its area, from the same bundle.
  const sub = await tony('scale', 'fit', '--help');
  expect(sub.status, sub.stderr).toBe(0);
  expect(sub.stdout).toBe((await fromSources('scale', 'fit', '--help')).stdout);
  expect(readdirSync(join(cache, 'tony', 'cli'))).toEqual(bundles);
}, 240_000);
