/**
 * Runs the PyTorch peer (torch_gpt.py) from its own virtual environment, made on first use with the
 * CPU build of torch from whatever pip is configured with, and cached outside the repository
 * ($XDG_CACHE_HOME/tony/bench-venv, else ~/.cache/tony/bench-venv; TONY_BENCH_VENV overrides).
 * Without python3 or when pip cannot find torch, `torchPeer` returns why, and the benchmark skips
 * the peer saying so.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostTensor } from '../../src/engine/dtype.ts';
import { encodeSafetensors } from '../../src/engine/safetensors.ts';
import { writeFileAtomic } from '../../src/io.ts';

const script = join(dirname(fileURLToPath(import.meta.url)), 'torch_gpt.py');

function venvDir(): string {
  if (process.env.TONY_BENCH_VENV) return process.env.TONY_BENCH_VENV;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tony', 'bench-venv');
}

/** The venv's python, creating the venv when missing; or a string saying why there is none. */
export function torchPeer(): { python: string; version: string } | { skip: string } {
  const dir = venvDir();
  const python = join(dir, 'bin', 'python');
  const version = () => execFileSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim();
  if (existsSync(python)) {
    try {
      return { python, version: version() };
    } catch {
      // A venv without torch (an interrupted first run): made again below.
    }
  }
  process.stderr.write(`bench: making the PyTorch venv in ${dir} (once; pip install torch numpy) …\n`);
  // Built beside its final place and renamed, so an interrupted install never looks finished (a
  // venv moves: its python finds site-packages from pyvenv.cfg beside it; only bin/ scripts keep the old path).
  const tmp = `${dir}.tmp-${process.pid}`;
  mkdirSync(dirname(dir), { recursive: true });
  const mk = spawnSync('python3', ['-m', 'venv', tmp], { encoding: 'utf8' });
  if (mk.status !== 0) return { skip: `python3 -m venv failed (${(mk.stderr || String(mk.error)).trim().split('\n').pop()})` };
  // --retries 0: where the default index is unreachable, fall through to the configured mirrors at once.
  const pip = spawnSync(join(tmp, 'bin', 'pip'), ['install', '--retries', '0', 'torch', 'numpy'], { encoding: 'utf8' });
  if (pip.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    return { skip: `pip could not install torch (${pip.stderr.trim().split('\n').pop()})` };
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { python, version: version() };
}

/** Write the tensors the peer reads (parameters as `param:<name>`, batches, a prompt). */
export async function writePeerData(path: string, tensors: Record<string, HostTensor>): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors));
}

/** Run torch_gpt.py; its one JSON line, or throws with its stderr's tail. */
export function runTorch<R>(python: string, args: string[], threads: number, env: Record<string, string> = {}): R {
  const r = spawnSync(python, [script, ...args, '--threads', String(threads)], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: String(threads), ...env },
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`torch_gpt.py ${args[0]} failed: ${(r.stderr || '').trim().split('\n').slice(-4).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as R;
}
