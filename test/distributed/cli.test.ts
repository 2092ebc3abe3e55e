/**
 * `tony train lm --workers 2`: mpirun starts two ranks, rank 0 alone reports and writes, and the run
 * logs the losses one process logs for the same global batch (the single-process run is the oracle).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MPI_INSTALL } from '../../src/distributed/mpi.ts';
import { program, requires } from '../system.ts';
import { tony } from '../tony.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-dp-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rows = async (out: string) =>
  (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);

it('tony train lm --workers 2 logs what one process logs, once', async (ctx) => {
  requires(ctx, program('mpirun', MPI_INSTALL, 'openmpi-bin'), program('mpicc', MPI_INSTALL, 'libopenmpi-dev'));
  const args = (out: string) => [
    'train',
    'lm',
    '--data',
    '/usr/lib/python3.11/json',
    '--preset',
    'tiny',
    '--steps',
    '3',
    '--batch',
    '4',
    '--vocab',
    '300',
    '--eval-every',
    '3',
    '--threads',
    '1',
    '--out',
    out,
  ];
  const one = await tony(args(join(dir, 'one')));
  expect(one.status, one.stderr).toBe(0);
  const two = await tony([...args(join(dir, 'two')), '--workers', '2', '--embedding-exchange', 'unique']);
  expect(two.status, two.stderr).toBe(0);
  expect(two.stderr.match(/data-parallel over 2 MPI ranks, 2 sequences each; embedding exchange unique/g)).toHaveLength(1);
  expect(two.stderr.match(/run saved in/g)).toHaveLength(1);
  const a = await rows(join(dir, 'one'));
  const b = await rows(join(dir, 'two'));
  expect(b.map((r) => r.step)).toEqual(a.map((r) => r.step)); // one row per step and evaluation, not one per rank
  b.forEach((r, i) => {
    const key = 'loss' in r ? 'loss' : 'val_loss';
    expect(r[key]).toBeCloseTo(a[i]![key]!, 5);
  });
  expect(b[0]!.comm_embedding_bytes).toBeGreaterThan(0);
}, 90_000);
