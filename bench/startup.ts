/**
 * `npm run bench -- startup [--rounds 5] [--before <checkout>]`
 *
 * Start-up of the CLI: `tony --help` until it exits, and `tony start --port 0` (what `npm start`
 * runs) until it prints its URL, each in a fresh process, medians of interleaved rounds. The first
 * run after a change of the sources builds the cached bundle (bin/tony.js); it is timed apart.
 * `--before` names another checkout (e.g. a git worktree of an older commit, with node_modules) to
 * time in the same rounds.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../src/engine/trainer.ts';

const args = process.argv.slice(2);
const value = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const ROUNDS = Number(value('rounds', '5'));
const here = fileURLToPath(new URL('..', import.meta.url));
const checkouts: Record<string, string> = { now: here };
if (args.includes('--before')) checkouts.before = value('before', '');

function help(root: string, env = process.env): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'bin', 'tony.js'), '--help'], { cwd: root, encoding: 'utf8', env });
  if (r.status !== 0 || !r.stdout.includes('Usage: tony')) throw new Error(`tony --help failed in ${root}: ${r.stderr}`);
  return performance.now() - t0;
}

function start(root: string): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(root, 'bin', 'tony.js'), 'start', '--port', '0', '--threads', '1'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (/playground\s+http:\/\//.test(out)) {
        const ms = performance.now() - t0;
        child.removeAllListeners('exit');
        child.on('exit', () => resolve(ms));
        child.kill('SIGTERM');
      }
    });
    child.on('exit', (code) => reject(new Error(`tony start exited ${code} in ${root}: ${err}`)));
  });
}

// The first start after a change of the sources, in an empty cache: it builds the bundle.
const cache = mkdtempSync(join(tmpdir(), 'tony-startup-'));
const cold = help(here, { ...process.env, XDG_CACHE_HOME: cache });
const second = help(here, { ...process.env, XDG_CACHE_HOME: cache });
rmSync(cache, { recursive: true, force: true });
console.log(
  `tony --help in an empty cache: ${cold.toFixed(0)} ms (builds the bundle, then loads every area to write the help text), then ${second.toFixed(0)} ms`,
);
help(here);
const times: Record<string, number[]> = {};
const loads: string[] = [];
for (let r = 0; r < ROUNDS; r++) {
  loads.push(loadavg()[0]!.toFixed(2));
  for (const [name, root] of Object.entries(checkouts)) {
    (times[`${name} --help`] ??= []).push(help(root));
    (times[`${name} start`] ??= []).push(await start(root));
  }
}
loads.push(loadavg()[0]!.toFixed(2));
for (const [k, v] of Object.entries(times))
  console.log(`${k.padEnd(16)} median ${median(v).toFixed(0)} ms (runs: ${v.map((x) => x.toFixed(0)).join(', ')})`);
console.log(`load (1-min average) before each round and after: ${loads.join(', ')}`);
const line = ['--help', 'start']
  .map((c) => {
    const now = median(times[`now ${c}`]!);
    const before = times[`before ${c}`] ? median(times[`before ${c}`]!) : NaN;
    return `${c}=${(now / 1000).toFixed(2)} s${Number.isFinite(before) ? ` (before ${(before / 1000).toFixed(2)} s, ${(before / now).toFixed(1)}×)` : ''}`;
  })
  .join(' ');
console.log(`startup: ${line}`);
