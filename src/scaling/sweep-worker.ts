/**
 * The child process that trains one size of a sweep (sweep.ts forks it): receives a SizeJob over IPC,
 * trains it, and reports progress, the result or a typed error back, then exits.
 */
import { TonyError } from '../errors.ts';
import { type SizeJob, trainSize, type WorkerMessage } from './sweep.ts';

const send = (m: WorkerMessage) => new Promise<void>((resolve) => process.send!(m, () => resolve()));

process.once('message', async (job: SizeJob) => {
  let code = 0;
  try {
    const res = await trainSize(job, (progress) => void send({ type: 'progress', progress }));
    await send({ type: 'done', ...res });
  } catch (err) {
    const e = err instanceof TonyError ? err : undefined;
    await send({
      type: 'error',
      kind: e?.kind ?? 'device',
      message: e ? e.message : String((err as Error)?.stack ?? err),
      ...(e?.hint ? { hint: e.hint } : {}),
    });
    code = 1;
  }
  process.disconnect();
  process.exitCode = code;
});
