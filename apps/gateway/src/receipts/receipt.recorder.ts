import type { Redis } from 'ioredis';
import { receiptKeys, RECEIPT_TTL_SECONDS } from '@flagstream/protocol';

/**
 * Propagation receipts: per environment and revision, how many SDKs were connected when this
 * gateway published it, how many acknowledged it, and each acknowledgement's latency from commit.
 * Buffered and written to Redis a few times a second, so that every gateway adds to one tally
 * the admin API reads.
 */
export class ReceiptRecorder {
  private connected = new Map<string, number>();
  private acked = new Map<string, number[]>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  published(environmentId: string, revision: number, connected: number): void {
    const id = `${environmentId}:${revision}`;
    this.connected.set(id, (this.connected.get(id) ?? 0) + connected);
  }

  acknowledged(environmentId: string, revision: number, latencyMs: number): void {
    const id = `${environmentId}:${revision}`;
    let list = this.acked.get(id);
    if (!list) {
      list = [];
      this.acked.set(id, list);
    }
    list.push(Math.max(0, Math.round(latencyMs)));
  }

  start(intervalMs = 200): void {
    this.timer = setInterval(() => void this.flush().catch(this.onError), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush().catch(this.onError);
  }

  async flush(): Promise<void> {
    if (!this.connected.size && !this.acked.size) return;
    const connected = this.connected;
    const acked = this.acked;
    this.connected = new Map();
    this.acked = new Map();
    const pipeline = this.redis.pipeline();
    for (const [id, n] of connected) {
      const [environmentId, revision] = split(id);
      const keys = receiptKeys(this.keyPrefix, environmentId, revision);
      pipeline.hincrby(keys.counts, 'connected', n).expire(keys.counts, RECEIPT_TTL_SECONDS);
    }
    for (const [id, latencies] of acked) {
      const [environmentId, revision] = split(id);
      const keys = receiptKeys(this.keyPrefix, environmentId, revision);
      pipeline.hincrby(keys.counts, 'acknowledged', latencies.length).expire(keys.counts, RECEIPT_TTL_SECONDS);
      pipeline.rpush(keys.latencies, ...latencies).expire(keys.latencies, RECEIPT_TTL_SECONDS);
    }
    await pipeline.exec();
  }
}

function split(id: string): [string, number] {
  const i = id.lastIndexOf(':');
  return [id.slice(0, i), Number(id.slice(i + 1))];
}
