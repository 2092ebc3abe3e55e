/**
 * Starting G ranks on this host: `tony train lm … --workers G` runs `mpirun -np G` on the same
 * command with `--distributed mpi` in place of `--workers G`, so one-host and multi-host runs are
 * the same program (across hosts, run mpirun yourself with a hostfile).
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { TonyError } from '../errors.ts';
import { MPI_INSTALL, MPI_PACKAGES } from './mpi.ts';

/**
 * mpirun's arguments for G local ranks of `command`. More ranks than cores need --oversubscribe
 * (Open MPI refuses otherwise); root needs --allow-run-as-root (Open MPI refuses root by default,
 * and containers often run as root).
 */
export function mpirunArgs(G: number, command: readonly string[], cores = availableParallelism()): string[] {
  return [
    ...(G > cores ? ['--oversubscribe'] : []),
    ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []),
    '-np',
    String(G),
    ...command,
  ];
}

/** Run `command` as G ranks under mpirun, output passed through; resolves with mpirun's exit code. */
export function runWorkers(G: number, command: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('mpirun', mpirunArgs(G, command), { stdio: 'inherit' });
    child.on('error', (err) =>
      reject(
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? new TonyError(
              'device',
              'mpirun is not installed: --workers starts its ranks with Open MPI',
              `install ${MPI_PACKAGES}: ${MPI_INSTALL}`,
            )
          : err,
      ),
    );
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** `argv` with every `--workers N` / `--workers=N` (and `--threads`, when `threads` is given) replaced. */
export function workerArgv(argv: readonly string[], threads?: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--workers' || (threads !== undefined && a === '--threads')) i++;
    else if (a.startsWith('--workers=') || (threads !== undefined && a.startsWith('--threads='))) continue;
    else out.push(a);
  }
  return [...out, '--distributed', 'mpi', ...(threads !== undefined ? ['--threads', String(threads)] : [])];
}
