import { StreamHttpError, type StreamEvent, type StreamOpenOptions, type StreamTransport } from './transport';

interface FakeConnection {
  lastEventId?: string;
  /** Delivers a message as a transport would (the id is what SSE would carry; the client ignores it). */
  send(event: StreamEvent, id: number | undefined, data: unknown): void;
  /** The stream ends normally. */
  end(): void;
  /** The stream fails with an HTTP status (`StreamHttpError`). */
  fail(status: number): void;
  /** The stream fails with any error (a network failure). */
  break(error: Error): void;
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
        send: (event, _id, data) => {
          if (done) return;
          // A copy, as a real transport would deliver: the client must not share the test's objects.
          o.onMessage(event, JSON.parse(JSON.stringify(data)) as unknown);
        },
        end: () => finish(resolve),
        fail: (status) => finish(() => reject(new StreamHttpError(status, `failed with ${status}`))),
        break: (error) => finish(() => reject(error)),
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

/** How a {@link FakeSecretsGateway} answers one request: a status (and body, headers), or a network failure. */
export type FakeSecretsAnswer = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

/**
 * A scripted `GET /sdk/v1/secrets` for tests: pass its `fetch` to the client. Each request gets
 * the next of `answers`, or else the current `secrets`; while `holding`, requests wait for
 * `release()` (or their abort).
 */
export class FakeSecretsGateway {
  /** What a request answered with the default answer gets (its state when it is answered). */
  secrets: Record<string, { version: number; value: string; definedIn: string }> = {};
  readonly requests: Array<{ url: string; headers: Record<string, string>; signal: AbortSignal }> = [];
  /** Answers for the next requests, in order. */
  answers: FakeSecretsAnswer[] = [];
  /** Requests wait for `release()` while this is set. */
  holding = false;
  private held: Array<() => void> = [];

  readonly fetch = (async (url: string, init: RequestInit = {}): Promise<Response> => {
    const signal = init.signal ?? new AbortController().signal;
    this.requests.push({ url, headers: { ...(init.headers as Record<string, string>) }, signal });
    if (this.holding) {
      await new Promise<void>((resolve, reject) => {
        const abort = () => reject(new DOMException('This operation was aborted', 'AbortError'));
        if (signal.aborted) abort();
        signal.addEventListener('abort', abort);
        this.held.push(resolve);
      });
    }
    if (signal.aborted) throw new DOMException('This operation was aborted', 'AbortError');
    const answer = this.answers.shift() ?? { status: 200, body: { v: 1, environment: 'test', secrets: this.secrets } };
    if (answer instanceof Error) throw answer;
    return new Response(answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'Content-Type': 'application/json', ...answer.headers },
    });
  }) as unknown as typeof fetch;

  /** Lets the requests waiting so far go on. */
  release(): void {
    for (const go of this.held.splice(0)) go();
  }

  /** How many requests are waiting. */
  get waiting(): number {
    return this.held.length;
  }
}
