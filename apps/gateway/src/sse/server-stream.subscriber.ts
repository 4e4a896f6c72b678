import type { EnvironmentHub, HubSubscriber, PublishedPatch } from '../stream/environment-hub';
import type { SseConnection } from './sse-connection';

/** A server SDK key's SSE stream: the snapshot, then each patch frame as it was serialised once. */
export class ServerStreamSubscriber implements HubSubscriber {
  constructor(
    private readonly hub: EnvironmentHub,
    private readonly conn: SseConnection,
  ) {}

  get keyId(): string {
    return this.conn.keyId;
  }

  /** Catches up from `lastRevision` when the hub still has those patches, else sends a snapshot. */
  start(lastRevision: number | null): 'resumed' | 'snapshot' {
    const missed = lastRevision === null ? null : this.hub.since(lastRevision);
    if (missed) {
      for (const p of missed) this.conn.write(p.sse);
      return 'resumed';
    }
    this.conn.write(this.hub.snapshot().sse);
    return 'snapshot';
  }

  onPatch(patch: PublishedPatch): void {
    this.conn.write(patch.sse);
  }

  onReset(): void {
    this.conn.write(this.hub.snapshot().sse);
  }

  close(reason: string): void {
    this.conn.close(reason);
  }
}
