/**
 * The one worker pool: run items through an async function with at most `workers` in flight. Used
 * by the evals (sampling, sandboxed executions) and the scaling sweep (one training process per size).
 */

/**
 * Run `items` through `fn` with at most `workers` at a time, results in the order of the input;
 * reports progress after each one. The first failure stops new items from starting; once the
 * running ones settle, it is rethrown.
 *
 *   const lengths = await pool(files, 4, async (f) => (await readFile(f)).length);
 */
export async function pool<T, R>(
  items: readonly T[],
  workers: number,
  fn: (item: T, index: number) => Promise<R>,
  onDone?: (done: number, total: number) => void,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  let failed: { err: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failed ??= { err };
        return;
      }
      onDone?.(++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, items.length)) }, worker));
  if (failed) throw failed.err;
  return out;
}
