/**
 * One MPI rank of a test run: `mpirun -np G node --import tsx test/distributed/rank.ts '<RunArgs JSON>' <result.json>`.
 * Rank 0 writes the result; every rank trains.
 */
import { writeFile } from 'node:fs/promises';
import { openMpi } from '../../src/distributed/mpi.ts';
import { type RunArgs, trainRun } from './run.ts';

const [json, resultPath] = process.argv.slice(2);
const comm = await openMpi();
const res = await trainRun(JSON.parse(json!) as RunArgs, comm);
if (comm.rank === 0) await writeFile(resultPath!, JSON.stringify({ size: comm.size, ...res }));
comm.close();
