/** A small `ws` client for the realtime tests: sends events, records every server event in order. */
import { WebSocket } from 'ws';

// biome-ignore lint/suspicious/noExplicitAny: server events are JSON of many shapes; tests read their fields
export type Ev = Record<string, any> & { type: string };

export class RtClient {
  readonly events: Ev[] = [];
  private waiters: { pred: (e: Ev) => boolean; from: number; resolve: (e: Ev) => void }[] = [];
  private cursor = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (m) => {
      const e = JSON.parse(m.toString()) as Ev;
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => {
        if (this.events.length - 1 >= w.from && w.pred(e)) {
          w.resolve(e);
          return false;
        }
        return true;
      });
    });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<RtClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/realtime?model=omni`, { headers });
      const c = new RtClient(ws);
      ws.once('open', () => resolve(c));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(e: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(e));
  }

  raw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** The next event (after the last one `next`/`until` returned) of type `type`. */
  next(type: string, timeoutMs = 5000): Promise<Ev> {
    return this.wait((e) => e.type === type, timeoutMs);
  }

  /** The next event (after the last one returned) whose type is any of `types`. */
  nextOf(types: readonly string[], timeoutMs = 5000): Promise<Ev> {
    return this.wait((e) => types.includes(e.type), timeoutMs);
  }

  /** Events after the cursor up to and including the next one of type `type`. */
  async until(type: string, timeoutMs = 5000): Promise<Ev[]> {
    const from = this.cursor;
    await this.next(type, timeoutMs);
    return this.events.slice(from, this.cursor);
  }

  private wait(pred: (e: Ev) => boolean, timeoutMs: number): Promise<Ev> {
    const from = this.cursor;
    const found = this.events.findIndex((e, i) => i >= from && pred(e));
    if (found >= 0) {
      this.cursor = found + 1;
      return Promise.resolve(this.events[found]!);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(
            new Error(
              `no event matching after ${timeoutMs} ms; got ${this.events
                .slice(from)
                .map((e) => e.type)
                .join(', ')}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        pred,
        from,
        resolve: (e) => {
          clearTimeout(t);
          this.cursor = this.events.indexOf(e) + 1;
          resolve(e);
        },
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
