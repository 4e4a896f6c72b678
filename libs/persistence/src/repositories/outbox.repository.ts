import type { EntityManager } from 'typeorm';
import type { ChangeEventV1 } from '@flagstream/protocol';
import { OutboxEntity } from '../entities';

/** Arbitrary but fixed key of the advisory lock held by the one relay pass running at a time. */
const RELAY_LOCK = 0x52656c61; // "Rela"

export interface PendingChange {
  id: number;
  environmentId: string;
  revision: number;
  event: ChangeEventV1;
}

export class OutboxRepository {
  constructor(private readonly em: EntityManager) {}

  async insert(event: ChangeEventV1): Promise<void> {
    await this.em.query('INSERT INTO outbox (environment_id, revision, event) VALUES ($1, $2, $3)', [
      event.environmentId,
      event.revision,
      JSON.stringify(event),
    ]);
  }

  /** Unpublished changes, oldest first (per environment this is revision order). */
  async pending(limit: number): Promise<PendingChange[]> {
    const rows = await this.em
      .getRepository(OutboxEntity)
      .createQueryBuilder('o')
      .where('o.published_at IS NULL')
      .orderBy('o.id', 'ASC')
      .limit(limit)
      .getMany();
    return rows.map((r) => ({ id: r.id, environmentId: r.environmentId, revision: r.revision, event: r.event }));
  }

  async markPublished(ids: readonly number[]): Promise<void> {
    if (!ids.length) return;
    await this.em.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [ids]);
  }

  /** Takes the relay lock for the current transaction; false when another relay holds it. */
  async tryLockRelay(): Promise<boolean> {
    const rows: Array<{ locked: boolean }> = await this.em.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [RELAY_LOCK]);
    return rows[0].locked;
  }

  /** Events of an environment after a revision, for catch-up when the stream was trimmed. */
  async since(environmentId: string, afterRevision: number, limit: number): Promise<ChangeEventV1[]> {
    const rows = await this.em
      .getRepository(OutboxEntity)
      .createQueryBuilder('o')
      .where('o.environment_id = :environmentId AND o.revision > :afterRevision', { environmentId, afterRevision })
      .orderBy('o.revision', 'ASC')
      .limit(limit)
      .getMany();
    return rows.map((r) => r.event);
  }
}
