import { fetchEventStream, postAck, readEventStream } from './sse-fetch';

/** The gateway answered a stream request with an HTTP error (or, over socket.io, a `failure` with that status). */
export class StreamHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'StreamHttpError';
  }
}

/** The kinds of stream messages the client applies (docs/protocol.md, "The SDK streams"). */
export type StreamEvent = 'snapshot' | 'patch';

/** What the client hands a transport for one connection. */
export interface StreamOpenOptions {
  /** Resume after this revision (SSE `Last-Event-ID`, socket.io handshake `revision`); absent asks for a snapshot. */
  lastEventId?: string;
  /** Aborted when the client closes or reconnects on purpose; the transport must then release the connection and resolve. */
  signal: AbortSignal;
  /** The gateway accepted the connection. */
  onOpen(): void;
  /**
   * One message, already decoded: a `SnapshotMessageV1` or `PatchMessageV1` as received (the
   * client checks its shape). Transports that receive text parse it; transports that receive
   * objects (socket.io) pass them through. Other events are not forwarded.
   */
  onMessage(event: StreamEvent, message: unknown): void;
}

/** How the client reaches the gateway. The default speaks SSE over `fetch`; `SocketIoTransport` speaks socket.io; tests pass a fake. */
export interface StreamTransport {
  /**
   * Streams until the connection ends (resolves) or fails (rejects, with `StreamHttpError` when
   * the gateway refused it). Must resolve promptly once `signal` aborts, leaving no open handles.
   */
  open(options: StreamOpenOptions): Promise<void>;
  /** Reports an applied revision (propagation receipts). Never rejects. */
  ack(revision: number): Promise<void>;
}

/** Options of `FetchSseTransport`. */
export interface FetchSseTransportOptions {
  /** The gateway, e.g. `http://localhost:4001`. */
  baseUrl: string;
  /** A server SDK key, sent as `Authorization: Bearer`. */
  sdkKey: string;
  /** Defaults to the global `fetch` (Node 18+, browsers). */
  fetch?: typeof fetch;
  /** The stream's path. Default `/sdk/v1/stream`. */
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
    const body = await fetchEventStream(this.fetchImpl, `${this.base}${this.options.path ?? '/sdk/v1/stream'}`, this.options.sdkKey, o, (status, message) => new StreamHttpError(status, message));
    o.onOpen();
    await readEventStream(body, (m) => {
      if (m.event !== 'snapshot' && m.event !== 'patch') return;
      let message: unknown;
      try {
        message = JSON.parse(m.data);
      } catch {
        throw new Error(`the gateway sent a ${m.event} that is not JSON (id ${m.id ?? 'none'})`);
      }
      o.onMessage(m.event, message);
    });
  }

  async ack(revision: number): Promise<void> {
    await postAck(this.fetchImpl, this.base, this.options.sdkKey, revision);
  }
}
