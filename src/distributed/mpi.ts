/**
 * MPI from Node: the system's Open MPI through a small Node-API addon (native/mpi/tony_mpi.c) with
 * the collectives data-parallel training needs — allreduce (sum), allgather(v), alltoallv, bcast,
 * barrier — and a count of the bytes each one delivers, for the exchange measurements
 * (docs/results/zipf.md).
 *
 *   const comm = await openMpi();          // under `mpirun -np G`: rank 0 … G − 1 of G
 *   comm.allreduceSum(grads);              // in place: Σ over ranks
 *   const ids = comm.allgather(localIds);  // every rank's ids, in rank order
 *
 * Why an addon of our own: no MPI binding turned up on npm to depend on (`node-mpi`, `mpi-node` and
 * `mpi` are not published there, checked 2026-11-30); the few collectives are ~260 lines of C.
 * Why it is built on first use and not at install: the project's .npmrc sets ignore-scripts, so no
 * install script runs, and node-gyp would download Node's headers, which fails offline. `mpicc`
 * (Open MPI's compiler wrapper, in libopenmpi-dev) compiles it against the headers every Node
 * install ships (include/node) into a per-user cache, keyed by the source, Open MPI's flags and
 * Node's ABI, written atomically so ranks starting together never load a half-written file.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TonyError } from '../errors.ts';

const run = promisify(execFile);

const SOURCE = fileURLToPath(new URL('../../native/mpi/tony_mpi.c', import.meta.url));

/** The Debian packages and the command that install Open MPI (runtime + compiler wrapper and headers). */
export const MPI_PACKAGES = 'openmpi-bin libopenmpi-dev';
export const MPI_INSTALL = `apt-get update && apt-get install -y ${MPI_PACKAGES}`;

/** The typed arrays the collectives move. */
export type MpiArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
type Ctor<T extends MpiArray> = { new (n: number): T };

interface Native {
  init(): { rank: number; size: number };
  allreduceSum(x: MpiArray): void;
  allgather(send: MpiArray, recv: MpiArray): void;
  allgatherv(send: MpiArray, recv: MpiArray, counts: number[]): void;
  alltoallv(send: MpiArray, sendCounts: number[], recv: MpiArray, recvCounts: number[]): void;
  bcast(x: MpiArray, root: number): void;
  barrier(): void;
  finalize(): void;
}

export type Collective = 'allreduce' | 'allgather' | 'allgatherv' | 'alltoallv' | 'bcast';

/**
 * A communicator over MPI_COMM_WORLD. `bytes` counts, per collective, the bytes it delivered into
 * this rank's result buffers: allreduce of n floats counts 4n; an allgather of K ids from each of
 * G ranks counts 4·G·K. That is the per-worker payload the paper's Θ(·) formulas count; what
 * crosses the wire depends on Open MPI's algorithm (a ring allreduce sends about 2(G − 1)/G of it).
 */
export class Comm {
  readonly bytes: Record<Collective, number> = { allreduce: 0, allgather: 0, allgatherv: 0, alltoallv: 0, bcast: 0 };
  private closed = false;

  constructor(
    private native: Native,
    readonly rank: number,
    readonly size: number,
  ) {}

  /** Every collective's bytes together. */
  get totalBytes(): number {
    return Object.values(this.bytes).reduce((a, b) => a + b, 0);
  }

  /** x ← Σ over ranks of x (element-wise, in place). */
  allreduceSum<T extends Float32Array | Float64Array | Int32Array>(x: T): T {
    this.native.allreduceSum(x);
    this.bytes.allreduce += x.byteLength;
    return x;
  }

  /** Every rank's `x` (all the same length), concatenated in rank order. */
  allgather<T extends MpiArray>(x: T): T {
    const out = new (x.constructor as Ctor<T>)(x.length * this.size);
    this.native.allgather(x, out);
    this.bytes.allgather += out.byteLength;
    return out;
  }

  /** Every rank's `x`, concatenated in rank order; `counts[i]` is rank i's length. */
  allgatherv<T extends MpiArray>(x: T, counts: readonly number[]): T {
    this.checkCounts(counts, 'allgatherv');
    if (counts[this.rank] !== x.length)
      throw new TonyError('usage', `allgatherv: rank ${this.rank} sends ${x.length} elements but counts says ${counts[this.rank]}`);
    const out = new (x.constructor as Ctor<T>)(counts.reduce((a, b) => a + b, 0));
    this.native.allgatherv(x, out, [...counts]);
    this.bytes.allgatherv += out.byteLength;
    return out;
  }

  /**
   * Personalised exchange: this rank's `send` is cut into blocks of `sendCounts[j]` elements, block
   * j going to rank j; the result is the blocks received, `recvCounts[i]` from rank i, in rank order.
   */
  alltoallv<T extends MpiArray>(send: T, sendCounts: readonly number[], recvCounts: readonly number[]): T {
    this.checkCounts(sendCounts, 'alltoallv');
    this.checkCounts(recvCounts, 'alltoallv');
    const out = new (send.constructor as Ctor<T>)(recvCounts.reduce((a, b) => a + b, 0));
    this.native.alltoallv(send, [...sendCounts], out, [...recvCounts]);
    this.bytes.alltoallv += out.byteLength;
    return out;
  }

  /** x ← root's x (in place). */
  bcast<T extends MpiArray>(x: T, root = 0): T {
    this.native.bcast(x, root);
    this.bytes.bcast += x.byteLength;
    return x;
  }

  barrier(): void {
    this.native.barrier();
  }

  /** MPI_Finalize (once; MPI cannot start again in this process). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.finalize();
  }

  private checkCounts(counts: readonly number[], what: string) {
    if (counts.length !== this.size || counts.some((c) => !Number.isInteger(c) || c < 0))
      throw new TonyError('usage', `${what}: counts must be ${this.size} non-negative integers (one per rank), got [${counts}]`);
  }
}

let opened: Promise<Comm> | undefined;

/**
 * Initialise MPI in this process (once) and return the world communicator. Under `mpirun -np G`
 * each process is one rank; started alone it is rank 0 of 1 (an MPI singleton).
 */
export function openMpi(): Promise<Comm> {
  opened ??= (async () => {
    const native = await loadAddon();
    let world: { rank: number; size: number };
    try {
      world = native.init();
    } catch (err) {
      throw new TonyError(
        'device',
        `MPI could not start: ${(err as Error).message}`,
        `is Open MPI installed and working? (${MPI_INSTALL})`,
      );
    }
    return new Comm(native, world.rank, world.size);
  })();
  opened.catch(() => {
    opened = undefined;
  });
  return opened;
}

/** Where built addons are kept: $TONY_CACHE, else $XDG_CACHE_HOME/tony, else ~/.cache/tony. */
function cacheDir(): string {
  return process.env.TONY_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tony');
}

/** Build the addon if this source, Open MPI and Node ABI have not been built yet, then load it. */
async function loadAddon(): Promise<Native> {
  const mpicc = await whichMpicc();
  const headers = join(dirname(dirname(process.execPath)), 'include', 'node');
  if (!existsSync(join(headers, 'node_api.h')))
    throw new TonyError(
      'device',
      `Node's headers are not at ${headers} (node_api.h), so the MPI addon cannot be built`,
      'use a Node install that ships include/node (the official tarballs and Debian/NodeSource packages do)',
    );
  const source = await readFile(SOURCE);
  const flags = (await run(mpicc, ['--showme'])).stdout.trim();
  const key = createHash('sha256')
    .update(source)
    .update(flags)
    .update(`${process.platform}-${process.arch}-abi${process.versions.modules}`)
    .digest('hex')
    .slice(0, 16);
  const dir = join(cacheDir(), 'native');
  const target = join(dir, `tony_mpi-${key}.node`);
  if (!existsSync(target)) {
    await mkdir(dir, { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    try {
      await run(mpicc, ['-shared', '-fPIC', '-O2', `-I${headers}`, SOURCE, '-o', tmp]);
      await rename(tmp, target); // atomic: another rank may be building the same file
    } catch (err) {
      await rm(tmp, { force: true });
      const e = err as { stderr?: string; message: string };
      throw new TonyError(
        'device',
        `building the MPI addon failed: ${(e.stderr || e.message).trim().split('\n').slice(0, 6).join('\n')}`,
        `it needs Open MPI's headers and mpicc (${MPI_INSTALL}) and a C compiler (apt-get install -y gcc)`,
      );
    }
  }
  const mod = { exports: {} as Native };
  process.dlopen(mod, target);
  return mod.exports;
}

async function whichMpicc(): Promise<string> {
  try {
    await run('mpicc', ['--showme:version']);
    return 'mpicc';
  } catch {
    throw new TonyError(
      'device',
      'Open MPI is not installed (no mpicc on PATH): distributed training runs on the system MPI',
      `install ${MPI_PACKAGES}: ${MPI_INSTALL}`,
    );
  }
}
