import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { StreamHttpError, type StreamEvent, type StreamOpenOptions, type StreamTransport } from '../transport';

/** Options of `SocketIoTransport`. */
export interface SocketIoTransportOptions {
  /** The gateway, e.g. `http://localhost:4001` (a path prefix, as behind a proxy, is kept for the socket.io path). */
  baseUrl: string;
  /** A server SDK key, sent in the handshake's `auth.key`. */
  sdkKey: string;
  /** The socket.io endpoint path. Default `<baseUrl path>/socket.io`. */
  path?: string;
  /** How long to wait for the gateway to accept the connection (its first message) before giving up and retrying. Default 10,000 ms. */
  connectTimeoutMs?: number;
  /**
   * Extra socket.io-client options (e.g. `extraHeaders`, `withCredentials`, `transports` where
   * WebSocket is unavailable). The transport always sets `auth`, `reconnection: false`,
   * `forceNew: true` and `timeout`: the client's own loop owns reconnection and backoff.
   */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

/** The gateway's `failure` event: a refused handshake. */
interface Failure {
  status?: unknown;
  code?: unknown;
  message?: unknown;
}

/**
 * Streams from the gateway's socket.io namespace `/sdk` instead of SSE (docs/protocol.md,
 * "socket.io: namespace /sdk"): `snapshot` and `patch` arrive as objects, acknowledgements go back
 * as `emit('ack', { revision })` on the same socket, and a refused key (`failure` with status
 * 401/403) stops the client like an HTTP 401/403. Each `open` makes one socket over WebSocket with
 * socket.io's own reconnection off; aborting it (the client closing or resuming) disconnects it and
 * leaves no handles behind.
 *
 * socket.io completes its handshake before the gateway checks the key, so "connected" is not
 * "accepted". The transport reports the stream open on the gateway's first message instead, and
 * makes sure there is one: it resumes after the revision before the one it holds, so the gateway
 * always answers with at least that (already applied, ignored) patch, or a snapshot.
 *
 * ```ts
 * import { FlagstreamClient } from '@flagstream/sdk';
 * import { SocketIoTransport } from '@flagstream/sdk/socket-io';
 *
 * const options = { sdkKey: process.env.FLAGSTREAM_SDK_KEY!, baseUrl: 'http://localhost:4001' };
 * const flags = new FlagstreamClient({ ...options, transport: new SocketIoTransport(options) });
 * ```
 */
export class SocketIoTransport implements StreamTransport {
  private socket: Socket | null = null;
  private readonly origin: string;
  private readonly path: string;

  constructor(private readonly options: SocketIoTransportOptions) {
    const url = new URL(options.baseUrl);
    this.origin = url.origin;
    this.path = options.path ?? `${url.pathname.replace(/\/+$/, '')}/socket.io`;
  }

  open(o: StreamOpenOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (o.signal.aborted) {
        resolve();
        return;
      }
      const auth: { key: string; revision?: number } = { key: this.options.sdkKey };
      const revision = o.lastEventId === undefined ? NaN : Number(o.lastEventId);
      // One revision back: the gateway's answer (that patch again) proves it accepted the key.
      if (Number.isSafeInteger(revision) && revision >= 1) auth.revision = revision - 1;
      const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
      const socket = io(`${this.origin}/sdk`, {
        transports: ['websocket'],
        ...this.options.socketOptions,
        path: this.path,
        auth,
        reconnection: false,
        forceNew: true,
        timeout: timeoutMs,
      });
      this.socket = socket;
      let settled = false;
      let opened = false;
      const acceptTimer = setTimeout(() => settle(new Error(`socket.io: no answer from the gateway within ${timeoutMs} ms`)), timeoutMs);
      const settle = (error: Error | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(acceptTimer);
        o.signal.removeEventListener('abort', onAbort);
        socket.off();
        socket.disconnect();
        if (this.socket === socket) this.socket = null;
        if (error) reject(error);
        else resolve();
      };
      const onAbort = (): void => settle(null);
      o.signal.addEventListener('abort', onAbort);
      const deliver = (event: StreamEvent, message: unknown): void => {
        if (settled) return;
        if (!opened) {
          opened = true;
          clearTimeout(acceptTimer);
          o.onOpen();
          if (settled) return;
        }
        o.onMessage(event, message);
      };

      socket.on('snapshot', (message: unknown) => deliver('snapshot', message));
      socket.on('patch', (message: unknown) => deliver('patch', message));
      socket.on('failure', (failure: Failure | null) => {
        const status = typeof failure?.status === 'number' ? failure.status : 500;
        const message = typeof failure?.message === 'string' ? failure.message : 'connection refused';
        settle(new StreamHttpError(status, `gateway answered ${status}: ${message}`));
      });
      socket.on('connect_error', (e: Error) => settle(new Error(`socket.io connection failed: ${e.message}`)));
      socket.on('disconnect', (reason: Socket.DisconnectReason) => {
        // The gateway closing the socket ends the stream (the client resumes); anything else is a failure.
        settle(reason === 'io server disconnect' || reason === 'io client disconnect' ? null : new Error(`socket.io connection lost: ${reason}`));
      });
    });
  }

  async ack(revision: number): Promise<void> {
    const socket = this.socket;
    if (socket?.connected) socket.emit('ack', { revision });
  }
}
