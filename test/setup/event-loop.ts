/**
 * Keeps the suite from failing on a loaded machine with every test passing (issue 21, item 1).
 *
 * A vitest worker reports progress to the main process over RPC calls that time out after 60 s. A
 * test that blocks its worker's event loop longer than that — a spawnSync of a training run, a long
 * synchronous computation — makes the whole run fail with "Timeout calling onTaskUpdate", and on a
 * busy 2-core machine a block grows several-fold. So a test (or a file's hooks) that blocks the loop
 * for more than BLOCK_LIMIT_MS fails here, named, with the fix: spawn asynchronously, or move the work
 * into a worker thread or child process.
 */
import { afterAll, afterEach, beforeEach } from 'vitest';

/**
 * Half of vitest's RPC timeout: a block must double under load before it fails a run. The longest
 * blocks left in the suite are 8–9 s on a 2-core machine at load average 10 (o200k against
 * js-tiktoken on a whole text, a scaling plot); 30 s leaves them 3× room, so the guard itself does
 * not make a busy machine's run flaky. TONY_TEST_BLOCK_LIMIT_MS lowers it for the guard's own test.
 */
export const BLOCK_LIMIT_MS = Number(process.env.TONY_TEST_BLOCK_LIMIT_MS ?? 30_000);
const TICK_MS = 50;

// Captured before any test can install fake timers, so the watch runs on real time.
const realSetInterval = globalThis.setInterval;
const now = performance.now.bind(performance);

let last = now();
let inTest = false;
let testMax = 0;
let outsideMax = 0; // module code and hooks outside a test
const tick = () => {
  const t = now();
  const gap = t - last - TICK_MS;
  if (inTest) testMax = Math.max(testMax, gap);
  else outsideMax = Math.max(outsideMax, gap);
  last = t;
};
realSetInterval(tick, TICK_MS).unref();

const message = (what: string, ms: number) =>
  `${what} blocked its worker's event loop for ${(ms / 1000).toFixed(1)} s (limit ${BLOCK_LIMIT_MS / 1000} s; vitest's RPC ` +
  'times out at 60 s and then fails the whole run): spawn child processes asynchronously, and move long synchronous work into a worker thread or child process';

beforeEach(() => {
  tick();
  inTest = true;
  testMax = 0;
});

afterEach((ctx) => {
  tick(); // a block that ends the test has not been seen by the interval yet
  inTest = false;
  if (testMax > BLOCK_LIMIT_MS) throw new Error(message(`test '${ctx.task.name}'`, testMax));
});

afterAll(() => {
  tick();
  if (outsideMax > BLOCK_LIMIT_MS) throw new Error(message('this file (its module code or hooks)', outsideMax));
});
