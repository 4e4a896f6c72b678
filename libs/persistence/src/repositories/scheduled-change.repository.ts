import type { EntityManager } from 'typeorm';
import { ValidationError } from '@flagstream/errors';
import { ScheduledChangeEntity, type ScheduledChangeStatus } from '../entities';
import { decodeCursor, toPage, type Page, type PageRequest } from '../page';

export type NewScheduledChange = Pick<
  ScheduledChangeEntity,
  'projectId' | 'environmentId' | 'kind' | 'targetType' | 'targetKey' | 'tenant' | 'payload' | 'runAt' | 'createdBy' | 'reason'
>;

/** One target of scheduled changes: a flag in an environment, or a config layer address. */
export interface ScheduledChangeTarget {
  projectId: string;
  environmentId: string;
  targetType: 'flag' | 'config';
  targetKey: string;
  /** Config only: the tenant override, or null for the environment's own value. */
  tenant: string | null;
}

export interface ScheduledChangeFilter {
  status?: ScheduledChangeStatus;
  environmentId?: string;
  targetType?: 'flag' | 'config';
  targetKey?: string;
}

/** Where the previous page of pending changes ended (they are read soonest first). */
export interface PendingCursor {
  runAt: Date;
  id: string;
}

const LIST_CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export class ScheduledChangeRepository {
  constructor(private readonly em: EntityManager) {}

  insert(values: NewScheduledChange): Promise<ScheduledChangeEntity> {
    return this.em.getRepository(ScheduledChangeEntity).save(this.em.create(ScheduledChangeEntity, { ...values, status: 'pending', version: 1 }));
  }

  save(change: ScheduledChangeEntity): Promise<ScheduledChangeEntity> {
    return this.em.getRepository(ScheduledChangeEntity).save(change);
  }

  /** `lock`: SELECT … FOR UPDATE, held until the transaction ends. */
  findById(id: string, lock = false): Promise<ScheduledChangeEntity | null> {
    const qb = this.em.getRepository(ScheduledChangeEntity).createQueryBuilder('s').where('s.id = :id', { id });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  /** A project's scheduled changes, soonest first. */
  async list(projectId: string, page: PageRequest, filter: ScheduledChangeFilter = {}): Promise<Page<ScheduledChangeEntity>> {
    const qb = this.em
      .getRepository(ScheduledChangeEntity)
      .createQueryBuilder('s')
      .where('s.project_id = :projectId', { projectId })
      .orderBy('s.run_at', 'ASC')
      .addOrderBy('s.id', 'ASC')
      .limit(page.limit + 1);
    if (filter.status) qb.andWhere('s.status = :status', { status: filter.status });
    if (filter.environmentId) qb.andWhere('s.environment_id = :environmentId', { environmentId: filter.environmentId });
    if (filter.targetType) qb.andWhere('s.target_type = :targetType', { targetType: filter.targetType });
    if (filter.targetKey) qb.andWhere('s.target_key = :targetKey', { targetKey: filter.targetKey });
    if (page.after) {
      const m = LIST_CURSOR.exec(decodeCursor<string>(page.after, 'key'));
      if (!m) throw new ValidationError('cursor is not valid; use the nextCursor of a previous page', [{ path: 'cursor', message: 'not a cursor issued by this API' }]);
      qb.andWhere('(s.run_at, s.id) > (:runAt, :id)', { runAt: m[1], id: m[2] });
    }
    return toPage(await qb.getMany(), page.limit, (s) => `${s.runAt.toISOString()}|${s.id}`);
  }

  /** Pending changes of one target (other than `excludeId`), soonest first. */
  pendingFor(target: ScheduledChangeTarget, excludeId?: string): Promise<ScheduledChangeEntity[]> {
    const qb = this.em
      .getRepository(ScheduledChangeEntity)
      .createQueryBuilder('s')
      .where("s.status = 'pending'")
      .andWhere('s.project_id = :projectId AND s.environment_id = :environmentId', target)
      .andWhere('s.target_type = :targetType AND s.target_key = :targetKey', target)
      .andWhere("coalesce(s.tenant, '') = :tenant", { tenant: target.tenant ?? '' })
      .orderBy('s.run_at', 'ASC')
      .addOrderBy('s.id', 'ASC');
    if (excludeId) qb.andWhere('s.id <> :excludeId', { excludeId });
    return qb.getMany();
  }

  /** Pending changes of some flags in some environments, locked (the kill switch cancels them). */
  pendingForFlags(projectId: string, environmentIds: readonly string[], flagKeys: readonly string[]): Promise<ScheduledChangeEntity[]> {
    if (!environmentIds.length || !flagKeys.length) return Promise.resolve([]);
    return this.em
      .getRepository(ScheduledChangeEntity)
      .createQueryBuilder('s')
      .where("s.status = 'pending' AND s.project_id = :projectId AND s.target_type = 'flag'", { projectId })
      .andWhere('s.environment_id = ANY(:environmentIds) AND s.target_key = ANY(:flagKeys)', { environmentIds: [...environmentIds], flagKeys: [...flagKeys] })
      .orderBy('s.id', 'ASC')
      .setLock('pessimistic_write')
      .getMany();
  }

  /** Every pending change, soonest first, a page at a time (the worker's sweep). */
  listPending(limit: number, after?: PendingCursor): Promise<ScheduledChangeEntity[]> {
    const qb = this.em
      .getRepository(ScheduledChangeEntity)
      .createQueryBuilder('s')
      .where("s.status = 'pending'")
      .orderBy('s.run_at', 'ASC')
      .addOrderBy('s.id', 'ASC')
      .limit(limit);
    if (after) qb.andWhere('(s.run_at, s.id) > (:runAt, :id)', { runAt: after.runAt, id: after.id });
    return qb.getMany();
  }
}
