import { fetchEventStream, postAck, readEventStream } from '../sse-fetch';
import type { SseMessage } from '../sse-parser';

/** The gateway answered the evaluated stream (or an acknowledgement) with an HTTP error. */
export class EvaluatedStreamHttpError extends Error {
  /**
   * @param status - the HTTP status the gateway answered with.
   * @param message - what went wrong, including the gateway's own message when it sent one.
   */
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'EvaluatedStreamHttpError';
  }
}

/** What the browser client asks of a transport for one connection. */
export interface EvaluatedStreamOpenOptions {
  /** The evaluation context the gateway evaluates every client-visible flag for. */
  context: Record<string, unknown>;
  /** The revision the client holds (SSE `Last-Event-ID`). */
  lastEventId?: string;
  /** Aborted when the client closes, or switches context with `identify()`. */
  signal: AbortSignal;
  /** The gateway accepted the stream (HTTP 200). */
  onOpen(): void;
  /** One server-sent event (`snapshot` or `patch`). */
  onMessage(message: SseMessage): void;
}

/**
 * How the browser client reaches the gateway's evaluated stream. The default speaks SSE over
 * `fetch`; tests pass a fake.
 */
export interface EvaluatedStreamTransport {
  /**
   * Streams until the connection ends (resolves) or fails (rejects; `EvaluatedStreamHttpError`
   * for an HTTP error answer).
   */
  open(options: EvaluatedStreamOpenOptions): Promise<void>;
  /**
   * Reports an applied revision (propagation receipts). Best effort: never rejects. `signal`
   * aborts it when the client closes.
   */
  ack(revision: number, signal?: AbortSignal): Promise<void>;
}

/** Settings of {@link FetchEvaluatedStreamTransport}. */
export interface FetchEvaluatedStreamTransportOptions {
  /** The gateway, e.g. `https://flags.example.com`. */
  baseUrl: string;
  /** A client SDK key (`fs_client_…`), sent as `Authorization: Bearer`. */
  sdkKey: string;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

/**
 * `GET /sdk/v1/stream/evaluated?context=<base64url JSON>` over `fetch` with a streaming body: the
 * key goes in a header (which `EventSource` cannot send), and it runs in browsers and Node 20.
 */
export class FetchEvaluatedStreamTransport implements EvaluatedStreamTransport {
  private readonly fetchImpl: typeof fetch;
  private readonly base: string;

  /** @param options - the gateway, the key and optionally a `fetch` implementation. */
  constructor(private readonly options: FetchEvaluatedStreamTransportOptions) {
    this.fetchImpl = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
    this.base = options.baseUrl.replace(/\/+$/, '');
  }

  async open(o: EvaluatedStreamOpenOptions): Promise<void> {
    const url = `${this.base}/sdk/v1/stream/evaluated?context=${base64url(JSON.stringify(o.context))}`;
    const body = await fetchEventStream(this.fetchImpl, url, this.options.sdkKey, o, (status, message) => new EvaluatedStreamHttpError(status, message));
    o.onOpen();
    await readEventStream(body, (m) => o.onMessage(m));
  }

  async ack(revision: number, signal?: AbortSignal): Promise<void> {
    await postAck(this.fetchImpl, this.base, this.options.sdkKey, revision, signal);
  }

}

/** base64url (RFC 4648 §5, no padding) of the UTF-8 bytes of `text`, without Node's Buffer. */
export function base64url(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
