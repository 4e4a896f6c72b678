import { SseParser, type SseMessage } from './sse-parser';

/** The gateway answered a stream request with an HTTP error. */
export class StreamHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'StreamHttpError';
  }
}

export interface StreamOpenOptions {
  /** Resume after this revision (SSE `Last-Event-ID`). */
  lastEventId?: string;
  signal: AbortSignal;
  onOpen(): void;
  onMessage(message: SseMessage): void;
}

/** How the client reaches the gateway. The default speaks SSE over `fetch`; tests pass a fake. */
export interface StreamTransport {
  /** Streams until the connection ends (resolves) or fails (rejects, `StreamHttpError` for HTTP errors). */
  open(options: StreamOpenOptions): Promise<void>;
  /** Reports an applied revision (propagation receipts). Never rejects. */
  ack(revision: number): Promise<void>;
}

export interface FetchSseTransportOptions {
  baseUrl: string;
  sdkKey: string;
  /** Defaults to the global `fetch` (Node 18+, browsers). */
  fetch?: typeof fetch;
  path?: string;
}

/** SSE over `fetch` with a streaming body: works in Node 20 and browsers, no EventSource needed. */
export class FetchSseTransport implements StreamTransport {
  private readonly fetchImpl: typeof fetch;
  private readonly base: string;

  constructor(private readonly options: FetchSseTransportOptions) {
    this.fetchImpl = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
    this.base = options.baseUrl.replace(/\/+$/, '');
  }

  async open(o: StreamOpenOptions): Promise<void> {
    const headers: Record<string, string> = { Accept: 'text/event-stream', Authorization: `Bearer ${this.options.sdkKey}` };
    if (o.lastEventId !== undefined) headers['Last-Event-ID'] = o.lastEventId;
    const res = await this.fetchImpl(`${this.base}${this.options.path ?? '/sdk/v1/stream'}`, { headers, signal: o.signal });
    if (!res.ok || !res.body) {
      let message = `gateway answered ${res.status}`;
      try {
        const body = (await res.json()) as { error?: { message?: string } };
        if (body.error?.message) message = `${message}: ${body.error.message}`;
      } catch {
        // not JSON
      }
      throw new StreamHttpError(res.status, message);
    }
    o.onOpen();
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        for (const m of parser.push(decoder.decode(value, { stream: true }))) o.onMessage(m);
      }
    } finally {
      reader.releaseLock();
    }
  }

  async ack(revision: number): Promise<void> {
    try {
      await this.fetchImpl(`${this.base}/sdk/v1/ack`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.options.sdkKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ revision }),
      });
    } catch {
      // receipts are best effort
    }
  }
}
