import type { ChangePublisher } from './change-publisher';
import type { OutboxSource } from './outbox-source';

export interface ChangeRelayOptions {
  batchSize: number;
  /** Safety-net poll; writes also `kick()` the relay right after they commit. */
  pollIntervalMs: number;
  onError?: (err: unknown) => void;
}

/**
 * Moves committed changes from the outbox to Redis. At-least-once: a crash after publishing and
 * before marking re-publishes on the next pass, which the publisher treats as a no-op.
 */
export class ChangeRelay {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;

  constructor(
    private readonly source: OutboxSource,
    private readonly publisher: ChangePublisher,
    private readonly options: ChangeRelayOptions,
  ) {}

  /** Publishes everything pending now (what a previous process left behind), then polls. */
  start(): void {
    this.stopped = false;
    this.kick();
    this.timer = setInterval(() => this.kick(), this.options.pollIntervalMs);
    this.timer.unref();
  }

  /** Requests a pass; passes never overlap, and kicks during a pass coalesce into one more. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  /** Drains until the outbox is empty (or another relay holds the lock); returns rows published. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.source.drain(this.options.batchSize, (rows) => this.publisher.publish(rows.map((r) => r.event)));
      if (n === null) return total;
      total += n;
      if (n < this.options.batchSize) return total;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.drain();
      } catch (err) {
        this.options.onError?.(err);
      }
    } while (this.again && !this.stopped);
  }
}
