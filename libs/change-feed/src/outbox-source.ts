import type { ChangeEventV1 } from '@flagstream/protocol';

export interface OutboxRow {
  id: number;
  event: ChangeEventV1;
}

/**
 * Where the relay reads committed changes from (the outbox table, behind a repository).
 * `drain` runs `publish` on the oldest unpublished rows while holding the relay lock, and marks
 * them published only when `publish` resolved. It returns how many rows were published, or
 * `null` when another relay holds the lock.
 */
export interface OutboxSource {
  drain(limit: number, publish: (rows: readonly OutboxRow[]) => Promise<void>): Promise<number | null>;
}
