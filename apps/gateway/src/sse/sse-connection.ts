import type { ServerResponse } from 'node:http';
import type { Connection } from '../auth/connection.registry';
import { sseFrame } from '../stream/environment-hub';
import type { MessageSink } from './evaluated-stream.subscriber';

export interface SseLimits {
  /** Bytes queued in the socket beyond which the client is dropped (it will resume). */
  maxBufferedBytes: number;
  retryMs: number;
}

/**
 * One SSE response: the headers proxies need (no buffering, no caching), a `retry:` hint,
 * writes that drop a client whose socket buffer outgrows the bound instead of growing memory.
 */
export class SseConnection implements Connection, MessageSink {
  readonly transport = 'sse' as const;
  private closed = false;
  private readonly closeHandlers: Array<() => void> = [];

  constructor(
    readonly keyId: string,
    private readonly res: ServerResponse,
    private readonly limits: SseLimits,
    private readonly onDropped: (reason: string) => void = () => undefined,
  ) {
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-store, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    res.socket?.setKeepAlive(true);
    res.on('close', () => this.finish());
    this.write(`retry: ${limits.retryMs}\n\n`);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onClose(handler: () => void): void {
    if (this.closed) handler();
    else this.closeHandlers.push(handler);
  }

  write(chunk: string | Uint8Array): void {
    if (this.closed) return;
    if (this.res.writableLength > this.limits.maxBufferedBytes) {
      this.onDropped('slow client: socket buffer over the bound');
      this.close('slow client');
      return;
    }
    this.res.write(chunk);
  }

  send(event: 'snapshot' | 'patch', revision: number, payload: unknown): void {
    this.write(sseFrame(event, revision, payload));
  }

  heartbeat(): void {
    this.write(': ping\n\n');
  }

  close(_reason: string): void {
    if (this.closed) return;
    this.res.end();
    this.res.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.closeHandlers.splice(0)) h();
  }
}
