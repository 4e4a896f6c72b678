import type { SseMessage } from './sse-parser';
import { StreamHttpError, type StreamOpenOptions, type StreamTransport } from './transport';

interface FakeConnection {
  lastEventId?: string;
  send(event: string, id: number | undefined, data: unknown): void;
  end(): void;
  fail(status: number): void;
  readonly aborted: boolean;
}

/** A scripted transport for tests: each `open` becomes a connection the test drives. */
export class FakeTransport implements StreamTransport {
  readonly connections: FakeConnection[] = [];
  readonly acks: number[] = [];
  /** HTTP statuses to answer the next opens with, instead of connecting. */
  refuseWith: number[] = [];
  private waiters: Array<(c: FakeConnection) => void> = [];

  open(o: StreamOpenOptions): Promise<void> {
    const refused = this.refuseWith.shift();
    if (refused !== undefined) return Promise.reject(new StreamHttpError(refused, `refused with ${refused}`));
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (f: () => void) => {
        if (!done) {
          done = true;
          f();
        }
      };
      o.signal.addEventListener('abort', () => finish(resolve));
      const conn: FakeConnection = {
        lastEventId: o.lastEventId,
        send: (event, id, data) => {
          if (done) return;
          const m: SseMessage = { event, data: JSON.stringify(data), id: id === undefined ? undefined : String(id) };
          o.onMessage(m);
        },
        end: () => finish(resolve),
        fail: (status) => finish(() => reject(new StreamHttpError(status, `failed with ${status}`))),
        get aborted() {
          return o.signal.aborted;
        },
      };
      o.onOpen();
      this.connections.push(conn);
      for (const w of this.waiters.splice(0)) w(conn);
    });
  }

  async ack(revision: number): Promise<void> {
    this.acks.push(revision);
  }

  /** The n-th connection (0-based), waiting for it to open. */
  async connection(n: number, timeoutMs = 2000): Promise<FakeConnection> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections.length <= n) {
      if (Date.now() > deadline) throw new Error(`connection ${n} never opened (have ${this.connections.length})`);
      await new Promise<void>((r) => {
        this.waiters.push(() => r());
        setTimeout(r, 10);
      });
    }
    return this.connections[n];
  }
}
