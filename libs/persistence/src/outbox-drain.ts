import type { OutboxRow, OutboxSource } from '@flagstream/change-feed';
import type { Store } from './store';

/** The relay's view of the outbox table: one locked transaction per batch. */
export class OutboxDrain implements OutboxSource {
  constructor(private readonly store: Store) {}

  drain(limit: number, publish: (rows: readonly OutboxRow[]) => Promise<void>): Promise<number | null> {
    return this.store.transaction(async (tx) => {
      if (!(await tx.outbox.tryLockRelay())) return null;
      const rows = await tx.outbox.pending(limit);
      if (!rows.length) return 0;
      await publish(rows);
      await tx.outbox.markPublished(rows.map((r) => r.id));
      return rows.length;
    });
  }
}
