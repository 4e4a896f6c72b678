import type { SseMessage } from '../sse-parser';
import { EvaluatedStreamHttpError, type EvaluatedStreamOpenOptions, type EvaluatedStreamTransport } from './evaluated-stream.transport';

/** One connection of {@link FakeEvaluatedStreamTransport}, driven by the test. */
export interface FakeEvaluatedConnection {
  readonly context: Record<string, unknown>;
  readonly lastEventId?: string;
  /**
   * Delivers an event, even after the connection was aborted (like a network chunk already in
   * flight): dropping stale messages is the client's job.
   */
  send(event: string, id: number | undefined, data: unknown): void;
  /** Delivers raw `data` text (for malformed messages). */
  sendRaw(event: string, data: string): void;
  /** The gateway closes the stream. */
  end(): void;
  /** The stream fails with an HTTP status (as if the gateway had answered it). */
  fail(status: number): void;
  readonly aborted: boolean;
}

/** A scripted evaluated-stream transport for tests: each `open` becomes a connection the test drives. */
export class FakeEvaluatedStreamTransport implements EvaluatedStreamTransport {
  readonly connections: FakeEvaluatedConnection[] = [];
  readonly acks: number[] = [];
  /** HTTP statuses to answer the next opens with, instead of connecting. */
  refuseWith: number[] = [];
  /** When each `open` was called (ms since the epoch), refused ones included. */
  readonly openedAt: number[] = [];
  private waiters: Array<() => void> = [];

  open(o: EvaluatedStreamOpenOptions): Promise<void> {
    this.openedAt.push(Date.now());
    const refused = this.refuseWith.shift();
    if (refused !== undefined) {
      this.notify();
      return Promise.reject(new EvaluatedStreamHttpError(refused, `refused with ${refused}`));
    }
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (f: () => void) => {
        if (!done) {
          done = true;
          f();
        }
      };
      o.signal.addEventListener('abort', () => finish(resolve));
      const deliver = (m: SseMessage) => o.onMessage(m);
      const conn: FakeEvaluatedConnection = {
        context: o.context,
        lastEventId: o.lastEventId,
        send: (event, id, data) => deliver({ event, data: JSON.stringify(data), id: id === undefined ? undefined : String(id) }),
        sendRaw: (event, data) => deliver({ event, data }),
        end: () => finish(resolve),
        fail: (status) => finish(() => reject(new EvaluatedStreamHttpError(status, `failed with ${status}`))),
        get aborted() {
          return o.signal.aborted;
        },
      };
      o.onOpen();
      this.connections.push(conn);
      this.notify();
    });
  }

  async ack(revision: number, _signal?: AbortSignal): Promise<void> {
    this.acks.push(revision);
  }

  /** The n-th connection (0-based), waiting for it to open. */
  async connection(n: number, timeoutMs = 2000): Promise<FakeEvaluatedConnection> {
    await this.until(() => this.connections.length > n, timeoutMs, () => `connection ${n} never opened (have ${this.connections.length})`);
    return this.connections[n];
  }

  /** Waits until `open` was called `n` times (refused attempts included). */
  async attempts(n: number, timeoutMs = 2000): Promise<void> {
    await this.until(() => this.openedAt.length >= n, timeoutMs, () => `only ${this.openedAt.length} of ${n} connection attempts`);
  }

  private async until(check: () => boolean, timeoutMs: number, message: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(message());
      await new Promise<void>((r) => {
        const t = setTimeout(r, 10);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
