/**
 * Run the `tony` command as a user does, for the CLI tests.
 *
 * Asynchronous on purpose: a spawnSync of a training run blocks the test worker's event loop for the
 * whole run, and on a loaded machine that outlasts vitest's 60 s RPC timeout ("Timeout calling
 * onTaskUpdate"), which fails the suite even when every test passes.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

export interface TonyRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function tony(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<TonyRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/tony.js', ...args], {
      cwd: root,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 180_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}
