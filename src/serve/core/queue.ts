/**
 * A first-in-first-out admission gate: at most `concurrency` holders at once, at most `maxQueue`
 * waiting behind them. The server takes one slot per request (whatever its `n`), so requests are
 * served in arrival order and a burst beyond the queue is refused at once (HTTP 429) instead of
 * piling up memory and latency.
 */

/** Thrown by `acquire` when every slot is taken and the queue is full. */
export class QueueFullError extends Error {
  constructor(readonly queued: number) {
    super(`the server is busy: ${queued} requests are already waiting`);
  }
}

/** Thrown to waiters when the gate closes (server shutdown). */
export class GateClosedError extends Error {
  constructor() {
    super('the server is shutting down');
  }
}

interface Waiter {
  grant: (release: () => void) => void;
  refuse: (err: unknown) => void;
}

export class FifoGate {
  private running = 0;
  private readonly waiters: Waiter[] = [];
  private closed = false;

  constructor(
    readonly concurrency: number,
    readonly maxQueue: number,
  ) {}

  /** Holders now and waiters behind them. */
  stats(): { running: number; queued: number } {
    return { running: this.running, queued: this.waiters.length };
  }

  /**
   * Wait for a slot; resolves to a `release` function (idempotent) that must be called when done.
   * Rejects with QueueFullError when the queue is full, GateClosedError after `close()`, and with
   * the signal's reason when `signal` aborts while waiting (the waiter leaves the queue).
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.closed) return Promise.reject(new GateClosedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.concurrency && this.waiters.length === 0) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiters.length >= this.maxQueue) return Promise.reject(new QueueFullError(this.waiters.length));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
        refuse: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Refuse every waiter and every later `acquire`; current holders keep their slots. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.refuse(new GateClosedError());
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Hand the slot straight to the oldest waiter, so `running` never dips and a newcomer cannot
      // overtake the queue between release and grant.
      const next = this.waiters.shift();
      if (next) next.grant(this.releaser());
      else this.running--;
    };
  }
}
