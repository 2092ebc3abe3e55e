/**
 * Each collective of src/distributed/mpi.ts at G = 3 ranks, against results computed by hand from
 * what collectives-rank.ts has each rank send, and the bytes Comm counts for each.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { MPI_INSTALL } from '../../src/distributed/mpi.ts';
import { program, requires } from '../system.ts';
import { root } from '../tony.ts';

it('allreduce, allgather(v), alltoallv, bcast at G = 3 give the hand-computed results and byte counts', async (ctx) => {
  requires(ctx, program('mpirun', MPI_INSTALL, 'openmpi-bin'), program('mpicc', MPI_INSTALL, 'libopenmpi-dev'));
  const dir = await mkdtemp(join(tmpdir(), 'tony-coll-'));
  try {
    const out = join(dir, 'r.json');
    await new Promise<void>((resolve, reject) => {
      const args = [
        '--oversubscribe',
        '--allow-run-as-root',
        '-np',
        '3',
        process.execPath,
        '--import',
        'tsx',
        'test/distributed/collectives-rank.ts',
        out,
      ];
      const child = spawn('mpirun', args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`mpirun exited ${code}: ${err.slice(-2000)}`))));
    });
    const r = JSON.parse(await readFile(out, 'utf8'));
    expect(r.G).toBe(3);
    expect(r.sum32).toEqual([1 + 2 + 3, 0 + 0.5 + 1]); // Σ (r + 1), Σ r/2
    expect(r.sum64).toEqual([1 + 2 + 4]); // Σ 2^r
    expect(r.gathered).toEqual([0, 0, 1, 10, 2, 20]);
    expect(r.varied).toEqual([0, 1, 1, 2, 2, 2]); // rank r sent r + 1 copies of r
    expect(r.a2a).toEqual([0, 100, 200]); // rank 0 gets one value (100·i + 0) from each rank i
    expect(r.a2aAllRanks).toEqual([1, 1, 1]); // every rank got what it expected
    expect(r.cast).toEqual([42, 1]); // rank 1's buffer
    // Bytes delivered to rank 0: 2 float32 + 1 float64; 6 int32 + 3 float64 (the final check);
    // 6 float32; 3 int32; 2 float64.
    expect(r.bytes).toEqual({ allreduce: 8 + 8, allgather: 24 + 24, allgatherv: 24, alltoallv: 12, bcast: 16 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 30_000);
