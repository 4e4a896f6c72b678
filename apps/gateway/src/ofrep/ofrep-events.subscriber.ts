import type { HubSubscriber, PublishedPatch } from '../stream/environment-hub';
import type { SseConnection } from '../sse/sse-connection';

/** OFREP's change notification (ADR 0008): `event: message`, data `{"type":"refetchEvaluation"}`. */
export class OfrepEventsSubscriber implements HubSubscriber {
  constructor(private readonly conn: SseConnection) {}

  get keyId(): string {
    return this.conn.keyId;
  }

  onPatch(patch: PublishedPatch): void {
    // `etag` is the revision: providers send it back as flagConfigEtag when they re-fetch.
    this.conn.write(
      `id: ${patch.revision}\nevent: message\ndata: ${JSON.stringify({ type: 'refetchEvaluation', etag: String(patch.revision), lastModified: Math.floor(patch.committedAt / 1000) })}\n\n`,
    );
  }

  onReset(): void {
    this.conn.write(`event: message\ndata: ${JSON.stringify({ type: 'refetchEvaluation' })}\n\n`);
  }


  close(reason: string): void {
    this.conn.close(reason);
  }
}
