import type { EntityManager } from 'typeorm';
import { ValidationError } from '@flagstream/errors';
import { ReleasePlanEntity, ReleasePlanGuardrailEntity, ReleasePlanMilestoneEntity, ReleasePlanTransitionEntity, type ReleasePlanStatus } from '../entities';
import { decodeCursor, toPage, type Page, type PageRequest } from '../page';
import { insertOrConflict } from '../pg-errors';

export type NewReleasePlan = Pick<ReleasePlanEntity, 'projectId' | 'environmentId' | 'flagId' | 'flagKey' | 'controlVariation' | 'treatmentVariation' | 'createdBy' | 'reason'>;
export type NewReleasePlanMilestone = Omit<ReleasePlanMilestoneEntity, 'planId'>;
export type NewReleasePlanGuardrail = Omit<ReleasePlanGuardrailEntity, 'planId' | 'lastEvaluation' | 'lastEvaluatedAt'>;
export type NewReleasePlanTransition = Omit<ReleasePlanTransitionEntity, 'seq' | 'occurredAt'>;

export interface ReleasePlanFilter {
  status?: ReleasePlanStatus;
  environmentId?: string;
  flagId?: string;
}

/** Where the previous page of due plans ended. */
export interface DuePlanCursor {
  nextTransitionAt: Date;
  id: string;
}

const LIST_CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const ACTIVE = "('draft', 'running', 'paused')";

export class ReleasePlanRepository {
  constructor(private readonly em: EntityManager) {}

  /** Inserts a draft plan, its milestones and guardrails; a second active plan of the flag there is a 409. */
  async insert(values: NewReleasePlan, milestones: readonly NewReleasePlanMilestone[], guardrails: readonly NewReleasePlanGuardrail[] = []): Promise<ReleasePlanEntity> {
    const plan = await insertOrConflict('an active release plan of this flag in this environment', () =>
      this.em
        .getRepository(ReleasePlanEntity)
        .save(this.em.create(ReleasePlanEntity, { ...values, status: 'draft', currentMilestone: -1, version: 1, settingsBefore: null, nextTransitionAt: null, remainingBakeMs: null, observeSince: null })),
    );
    await this.em.getRepository(ReleasePlanMilestoneEntity).insert(milestones.map((m) => ({ ...m, planId: plan.id })));
    if (guardrails.length) await this.em.getRepository(ReleasePlanGuardrailEntity).insert(guardrails.map((g) => ({ ...g, planId: plan.id, lastEvaluation: null, lastEvaluatedAt: null })));
    return plan;
  }

  guardrails(planId: string): Promise<ReleasePlanGuardrailEntity[]> {
    return this.em.getRepository(ReleasePlanGuardrailEntity).find({ where: { planId }, order: { position: 'ASC' } });
  }

  /** Stores the worker's last verdict on a guardrail (not versioned: the latest evaluation wins). */
  async saveEvaluation(planId: string, position: number, evaluation: Record<string, unknown>, at: Date): Promise<void> {
    await this.em.query('UPDATE release_plan_guardrails SET last_evaluation = $3::jsonb, last_evaluated_at = $4 WHERE plan_id = $1 AND position = $2', [planId, position, JSON.stringify(evaluation), at.toISOString()]);
  }

  /** Running plans that have guardrails, by id, a page at a time (the worker's evaluation pass). */
  listGuarded(limit: number, afterId?: string): Promise<ReleasePlanEntity[]> {
    const qb = this.em
      .getRepository(ReleasePlanEntity)
      .createQueryBuilder('p')
      .where("p.status = 'running'")
      .andWhere('EXISTS (SELECT 1 FROM release_plan_guardrails g WHERE g.plan_id = p.id)')
      .orderBy('p.id', 'ASC')
      .limit(limit);
    if (afterId) qb.andWhere('p.id > :afterId', { afterId });
    return qb.getMany();
  }

  save(plan: ReleasePlanEntity): Promise<ReleasePlanEntity> {
    return this.em.getRepository(ReleasePlanEntity).save(plan);
  }

  /** `lock`: SELECT … FOR UPDATE, held until the transaction ends. */
  findById(id: string, lock = false): Promise<ReleasePlanEntity | null> {
    const qb = this.em.getRepository(ReleasePlanEntity).createQueryBuilder('p').where('p.id = :id', { id });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  /** The active plan (draft, running or paused) of a flag in an environment. */
  findActive(flagId: string, environmentId: string): Promise<ReleasePlanEntity | null> {
    return this.em
      .getRepository(ReleasePlanEntity)
      .createQueryBuilder('p')
      .where(`p.flag_id = :flagId AND p.environment_id = :environmentId AND p.status IN ${ACTIVE}`, { flagId, environmentId })
      .getOne();
  }

  milestones(planId: string): Promise<ReleasePlanMilestoneEntity[]> {
    return this.em.getRepository(ReleasePlanMilestoneEntity).find({ where: { planId }, order: { position: 'ASC' } });
  }

  history(planId: string): Promise<ReleasePlanTransitionEntity[]> {
    return this.em.getRepository(ReleasePlanTransitionEntity).find({ where: { planId }, order: { seq: 'ASC' } });
  }

  async appendTransition(values: NewReleasePlanTransition): Promise<void> {
    await this.em.getRepository(ReleasePlanTransitionEntity).insert(values);
  }

  /** A project's plans, oldest first. */
  async list(projectId: string, page: PageRequest, filter: ReleasePlanFilter = {}): Promise<Page<ReleasePlanEntity>> {
    const qb = this.em
      .getRepository(ReleasePlanEntity)
      .createQueryBuilder('p')
      .where('p.project_id = :projectId', { projectId })
      .orderBy('p.created_at', 'ASC')
      .addOrderBy('p.id', 'ASC')
      .limit(page.limit + 1);
    if (filter.status) qb.andWhere('p.status = :status', { status: filter.status });
    if (filter.environmentId) qb.andWhere('p.environment_id = :environmentId', { environmentId: filter.environmentId });
    if (filter.flagId) qb.andWhere('p.flag_id = :flagId', { flagId: filter.flagId });
    if (page.after) {
      const m = LIST_CURSOR.exec(decodeCursor<string>(page.after, 'key'));
      if (!m) throw new ValidationError('cursor is not valid; use the nextCursor of a previous page', [{ path: 'cursor', message: 'not a cursor issued by this API' }]);
      qb.andWhere('(p.created_at, p.id) > (:createdAt, :id)', { createdAt: m[1], id: m[2] });
    }
    return toPage(await qb.getMany(), page.limit, (p) => `${p.createdAt.toISOString()}|${p.id}`);
  }

  /** Running or paused plans of some flags in some environments, locked (the kill switch pauses them). */
  activeForFlags(environmentIds: readonly string[], flagIds: readonly string[]): Promise<ReleasePlanEntity[]> {
    if (!environmentIds.length || !flagIds.length) return Promise.resolve([]);
    return this.em
      .getRepository(ReleasePlanEntity)
      .createQueryBuilder('p')
      .where("p.status IN ('running', 'paused')")
      .andWhere('p.environment_id = ANY(:environmentIds) AND p.flag_id = ANY(:flagIds)', { environmentIds: [...environmentIds], flagIds: [...flagIds] })
      .orderBy('p.id', 'ASC')
      .setLock('pessimistic_write')
      .getMany();
  }

  /** Running plans with a timed transition, soonest first, a page at a time (the worker's sweep). */
  listTimed(limit: number, after?: DuePlanCursor): Promise<ReleasePlanEntity[]> {
    const qb = this.em
      .getRepository(ReleasePlanEntity)
      .createQueryBuilder('p')
      .where("p.status = 'running' AND p.next_transition_at IS NOT NULL")
      .orderBy('p.next_transition_at', 'ASC')
      .addOrderBy('p.id', 'ASC')
      .limit(limit);
    if (after) qb.andWhere('(p.next_transition_at, p.id) > (:at, :id)', { at: after.nextTransitionAt, id: after.id });
    return qb.getMany();
  }
}
