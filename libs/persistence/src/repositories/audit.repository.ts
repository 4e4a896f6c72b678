import type { EntityManager } from 'typeorm';
import {
  AuditChainVerifier,
  GENESIS_HASH,
  computeAuditHash,
  redactSensitive,
  type AuditActor,
  type AuditRecord,
  type ChainVerdict,
  type ChainedAuditRecord,
} from '@flagstream/audit';
import { AuditEventEntity } from '../entities';
import { decodeCursor, toPage, type Page } from '../page';

/** Arbitrary but fixed key of the advisory lock that serialises appends to the chain. */
const AUDIT_APPEND_LOCK = 0x466c6167; // "Flag"

export interface AuditAppend {
  actor: AuditActor;
  action: string;
  target: { type: string; key: string };
  project?: string | null;
  environment?: string | null;
  before?: unknown;
  after?: unknown;
  requestId?: string | null;
  reason?: string | null;
}

export interface AuditQuery {
  limit: number;
  after?: string;
  project?: string;
  environment?: string;
  targetType?: string;
  targetKey?: string;
  action?: string;
  actorId?: string;
  since?: Date;
  until?: Date;
  /** Restricts to these projects (a project-scoped token): instance-wide events are not shown. */
  projects?: readonly string[];
}

export function toAuditRecord(e: AuditEventEntity): ChainedAuditRecord {
  return {
    seq: e.seq,
    occurredAt: e.occurredAt.toISOString(),
    actor: { type: e.actorType as AuditActor['type'], id: e.actorId, name: e.actorName },
    action: e.action,
    target: { type: e.targetType, key: e.targetKey },
    project: e.projectKey,
    environment: e.environmentKey,
    before: e.before ?? null,
    after: e.after ?? null,
    requestId: e.requestId,
    reason: e.reason,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

export class AuditRepository {
  constructor(
    private readonly em: EntityManager,
    private readonly configuredKey: string | undefined,
  ) {}

  private get key(): string {
    if (!this.configuredKey) throw new Error('this process has no audit key: it cannot append to or verify the audit chain');
    return this.configuredKey;
  }

  /**
   * Appends one link to the chain. Must run inside the write's transaction: the advisory lock
   * serialises appenders until commit, so `seq` is gap-free and each link sees its predecessor.
   */
  /** Takes the append lock until the transaction ends (re-entrant within it). */
  async lock(): Promise<void> {
    await this.em.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_APPEND_LOCK]);
  }

  async append(entry: AuditAppend): Promise<ChainedAuditRecord> {
    await this.lock();
    const head: Array<{ seq: string; hash: string }> = await this.em.query(
      'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1',
    );
    const record: AuditRecord = {
      seq: head.length ? Number(head[0].seq) + 1 : 1,
      occurredAt: new Date().toISOString(),
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      project: entry.project ?? null,
      environment: entry.environment ?? null,
      // Stored as JSON: normalise (dates to strings, undefined dropped) before hashing.
      before: normalise(redactSensitive(entry.before ?? null)),
      after: normalise(redactSensitive(entry.after ?? null)),
      requestId: entry.requestId ?? null,
      reason: entry.reason ?? null,
      prevHash: head.length ? head[0].hash : GENESIS_HASH,
    };
    const hash = computeAuditHash(this.key, record);
    await this.em.query(
      `INSERT INTO audit_events (seq, occurred_at, actor_type, actor_id, actor_name, action, target_type, target_key,
         project_key, environment_key, before, after, request_id, reason, prev_hash, hash)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)`,
      [
        record.seq,
        record.occurredAt,
        record.actor.type,
        record.actor.id,
        record.actor.name,
        record.action,
        record.target.type,
        record.target.key,
        record.project,
        record.environment,
        JSON.stringify(record.before),
        JSON.stringify(record.after),
        record.requestId,
        record.reason,
        record.prevHash,
        hash,
      ],
    );
    return { ...record, hash };
  }

  async query(q: AuditQuery): Promise<Page<ChainedAuditRecord>> {
    const qb = this.em.getRepository(AuditEventEntity).createQueryBuilder('a').orderBy('a.seq', 'DESC').limit(q.limit + 1);
    if (q.after) qb.andWhere('a.seq < :after', { after: decodeCursor<number>(q.after, 'seq') });
    if (q.project) qb.andWhere('a.project_key = :project', { project: q.project });
    if (q.projects) qb.andWhere('a.project_key = ANY(:projects)', { projects: q.projects });
    if (q.environment) qb.andWhere('a.environment_key = :environment', { environment: q.environment });
    if (q.targetType) qb.andWhere('a.target_type = :targetType', { targetType: q.targetType });
    if (q.targetKey) qb.andWhere('a.target_key = :targetKey', { targetKey: q.targetKey });
    if (q.action) qb.andWhere('a.action = :action', { action: q.action });
    if (q.actorId) qb.andWhere('a.actor_id = :actorId', { actorId: q.actorId });
    if (q.since) qb.andWhere('a.occurred_at >= :since', { since: q.since });
    if (q.until) qb.andWhere('a.occurred_at < :until', { until: q.until });
    const page = toPage(await qb.getMany(), q.limit, (a) => a.seq);
    return { items: page.items.map(toAuditRecord), nextCursor: page.nextCursor };
  }

  /** Walks the whole chain in pages of `pageSize`, in constant memory. */
  async verify(pageSize = 1000): Promise<ChainVerdict> {
    const verifier = new AuditChainVerifier(this.key);
    let after = 0;
    for (;;) {
      const rows = await this.em
        .getRepository(AuditEventEntity)
        .createQueryBuilder('a')
        .where('a.seq > :after', { after })
        .orderBy('a.seq', 'ASC')
        .limit(pageSize)
        .getMany();
      for (const row of rows) {
        if (!verifier.push(toAuditRecord(row))) return verifier.verdict();
      }
      if (rows.length < pageSize) return verifier.verdict();
      after = rows[rows.length - 1].seq;
    }
  }
}

function normalise(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null)) as unknown;
}
