import type { Redis } from 'ioredis';
import { changeStreamKey, type ChangeEventV1 } from '@flagstream/protocol';

export interface ChangePublisherOptions {
  /** Prefix of every Redis key this deployment (or test) uses, e.g. `flagstream:`. */
  keyPrefix: string;
  /** Approximate bound on each environment stream's length (XADD MAXLEN ~). */
  maxLen: number;
}

/**
 * Appends change events to their environment's Redis stream, with the stream entry id
 * `<revision>-0`. Publishing the same revision twice is therefore harmless: Redis refuses an id
 * that is not greater than the last one, and that refusal counts as "already published".
 */
export class ChangePublisher {
  constructor(
    private readonly redis: Redis,
    private readonly options: ChangePublisherOptions,
  ) {}

  async publish(events: readonly ChangeEventV1[]): Promise<void> {
    if (!events.length) return;
    const pipeline = this.redis.pipeline();
    for (const event of events) {
      pipeline.xadd(
        changeStreamKey(this.options.keyPrefix, event.environmentId),
        'MAXLEN',
        '~',
        String(this.options.maxLen),
        `${event.revision}-0`,
        'event',
        JSON.stringify(event),
      );
    }
    const results = (await pipeline.exec()) ?? [];
    for (const [err] of results) {
      if (err && !isAlreadyPublished(err)) throw err;
    }
  }
}

export function isAlreadyPublished(err: Error): boolean {
  return /equal or smaller than the target stream top item/i.test(err.message);
}
