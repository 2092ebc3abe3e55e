/** The FIFO admission gate (queue.ts): bounded holders, arrival order, a bounded queue, aborts. */
import { describe, expect, it } from 'vitest';
import { FifoGate, GateClosedError, QueueFullError } from '../../src/serve/core/queue.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('FifoGate', () => {
  it('grants in arrival order, never more than `concurrency` at once', async () => {
    const gate = new FifoGate(2, 10);
    const order: number[] = [];
    let holding = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const release = await gate.acquire();
        order.push(i);
        most = Math.max(most, ++holding);
        await tick();
        holding--;
        release();
        release(); // idempotent
      }),
    );
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(2);
    expect(gate.stats()).toEqual({ running: 0, queued: 0 });
  });

  it('refuses beyond maxQueue waiters', async () => {
    const gate = new FifoGate(1, 2);
    const first = await gate.acquire();
    const waiting = [gate.acquire(), gate.acquire()];
    await expect(gate.acquire()).rejects.toBeInstanceOf(QueueFullError);
    expect(gate.stats()).toEqual({ running: 1, queued: 2 });
    first();
    (await waiting[0]!)();
    (await waiting[1]!)();
    expect(gate.stats()).toEqual({ running: 0, queued: 0 });
  });

  it('drops an aborted waiter from the queue and serves the next', async () => {
    const gate = new FifoGate(1, 5);
    const first = await gate.acquire();
    const ac = new AbortController();
    const gone = gate.acquire(ac.signal);
    const next = gate.acquire();
    ac.abort('bye');
    await expect(gone).rejects.toBe('bye');
    expect(gate.stats().queued).toBe(1);
    first();
    (await next)();
    expect(gate.stats()).toEqual({ running: 0, queued: 0 });
  });

  it('refuses waiters and newcomers once closed', async () => {
    const gate = new FifoGate(1, 5);
    const first = await gate.acquire();
    const waiter = gate.acquire();
    gate.close();
    await expect(waiter).rejects.toBeInstanceOf(GateClosedError);
    await expect(gate.acquire()).rejects.toBeInstanceOf(GateClosedError);
    first();
  });
});
