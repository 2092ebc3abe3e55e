/**
 * Every collective of src/distributed/mpi.ts on values each rank can predict, run under
 * `mpirun -np G node --import tsx test/distributed/collectives-rank.ts <result.json>`. Each rank
 * r contributes values made from r; rank 0 writes what came back and the byte counts, for
 * collectives.test.ts to check against the hand-computed results.
 */
import { writeFile } from 'node:fs/promises';
import { openMpi } from '../../src/distributed/mpi.ts';

const comm = await openMpi();
const { rank: r, size: G } = comm;
const sum32 = Array.from(comm.allreduceSum(new Float32Array([r + 1, 0.5 * r])));
const sum64 = Array.from(comm.allreduceSum(new Float64Array([2 ** r])));
const gathered = Array.from(comm.allgather(new Int32Array([r, 10 * r])));
// Rank r sends r + 1 values, all equal to r.
const varied = Array.from(
  comm.allgatherv(
    new Float32Array(r + 1).fill(r),
    Array.from({ length: G }, (_, i) => i + 1),
  ),
);
// Rank r sends j + 1 copies of 100·r + j to rank j; so rank r receives r + 1 values from each rank i.
const sendCounts = Array.from({ length: G }, (_, j) => j + 1);
const send = new Int32Array(sendCounts.flatMap((c, j) => new Array<number>(c).fill(100 * r + j)));
const a2a = Array.from(comm.alltoallv(send, sendCounts, new Array<number>(G).fill(r + 1)));
const cast = Array.from(comm.bcast(new Float64Array([r === 1 ? 42 : -1, r]), 1));
comm.barrier();
const all = comm.allgather(new Float64Array([JSON.stringify(a2a) === JSON.stringify(expectA2a()) ? 1 : 0]));
if (r === 0)
  await writeFile(
    process.argv[2]!,
    JSON.stringify({ G, sum32, sum64, gathered, varied, a2a, a2aAllRanks: Array.from(all), cast, bytes: comm.bytes }),
  );
comm.close();

/** What rank r must receive from alltoallv: r + 1 copies of 100·i + r from each rank i. */
function expectA2a(): number[] {
  return Array.from({ length: G }, (_, i) => new Array<number>(r + 1).fill(100 * i + r)).flat();
}
