import type { Redis } from 'ioredis';
import { receiptKeys } from '@flagstream/protocol';

export interface PropagationReport {
  revision: number;
  /** SDK connections the gateways were serving when they published this revision. */
  connected: number;
  acknowledged: number;
  /** acknowledged / connected, 0..1 (more acks than connections, e.g. reconnects, count as 1). */
  ratio: number;
  /** From commit to acknowledgement, over the acknowledgements received. */
  latencyMs: { p50: number; p99: number; max: number } | null;
  summary: string;
}

/** Reads the propagation receipts gateways write to Redis (see the gateway's ReceiptRecorder). */
export class PropagationReader {
  constructor(
    private readonly redis: Pick<Redis, 'hgetall' | 'lrange'>,
    private readonly keyPrefix: string,
  ) {}

  async read(environmentId: string, revision: number): Promise<PropagationReport | null> {
    const keys = receiptKeys(this.keyPrefix, environmentId, revision);
    const counts = await this.redis.hgetall(keys.counts);
    if (!counts || (counts.connected === undefined && counts.acknowledged === undefined)) return null;
    const connected = Number(counts.connected ?? 0);
    const acknowledged = Number(counts.acknowledged ?? 0);
    const latencies = (await this.redis.lrange(keys.latencies, 0, -1)).map(Number).sort((a, b) => a - b);
    return summarise(revision, connected, acknowledged, latencies);
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function summarise(revision: number, connected: number, acknowledged: number, sortedLatencies: readonly number[]): PropagationReport {
  const ratio = connected > 0 ? Math.min(1, acknowledged / connected) : acknowledged > 0 ? 1 : 0;
  const latencyMs = sortedLatencies.length
    ? { p50: percentile(sortedLatencies, 50), p99: percentile(sortedLatencies, 99), max: sortedLatencies[sortedLatencies.length - 1] }
    : null;
  const pct = `${(ratio * 100).toFixed(1)}%`;
  const summary = latencyMs
    ? `revision ${revision} reached ${pct} of ${connected.toLocaleString('en-US')} SDKs; p50 ${latencyMs.p50} ms, p99 ${latencyMs.p99} ms after commit`
    : `revision ${revision} was published to ${connected.toLocaleString('en-US')} SDKs; none acknowledged it yet`;
  return { revision, connected, acknowledged, ratio, latencyMs, summary };
}
