import type { EntityManager } from 'typeorm';
import { EnvironmentEntity } from '../entities';
import { insertOrConflict } from '../pg-errors';
import { decodeCursor, toPage, type Page, type PageRequest } from '../page';

export class EnvironmentRepository {
  constructor(private readonly em: EntityManager) {}

  async list(projectId: string, page: PageRequest): Promise<Page<EnvironmentEntity>> {
    const qb = this.em
      .getRepository(EnvironmentEntity)
      .createQueryBuilder('e')
      .where('e.project_id = :projectId', { projectId })
      .orderBy('e.key', 'ASC')
      .limit(page.limit + 1);
    if (page.after) qb.andWhere('e.key > :after', { after: decodeCursor<string>(page.after, 'key') });
    return toPage(await qb.getMany(), page.limit, (e) => e.key);
  }

  listAll(projectId: string): Promise<EnvironmentEntity[]> {
    return this.em.getRepository(EnvironmentEntity).find({ where: { projectId }, order: { key: 'ASC' } });
  }

  findByKey(projectId: string, key: string): Promise<EnvironmentEntity | null> {
    return this.em.getRepository(EnvironmentEntity).findOneBy({ projectId, key });
  }

  findById(id: string): Promise<EnvironmentEntity | null> {
    return this.em.getRepository(EnvironmentEntity).findOneBy({ id });
  }

  insert(values: Pick<EnvironmentEntity, 'projectId' | 'key' | 'name' | 'parentId' | 'protected'>): Promise<EnvironmentEntity> {
    return insertOrConflict(`environment "${values.key}"`, () =>
      this.em.getRepository(EnvironmentEntity).save(this.em.create(EnvironmentEntity, { ...values, revision: 0 })),
    );
  }

  async update(env: EnvironmentEntity, patch: Partial<Pick<EnvironmentEntity, 'name' | 'parentId' | 'protected'>>): Promise<EnvironmentEntity> {
    Object.assign(env, patch);
    return this.em.getRepository(EnvironmentEntity).save(env);
  }

  /**
   * Locks the environments' rows (in id order, so concurrent writers never deadlock) and returns
   * them. Holding the lock until commit is what keeps revisions gap-free and commit-ordered.
   */
  async lockForChange(ids: readonly string[]): Promise<EnvironmentEntity[]> {
    if (!ids.length) return [];
    return this.em
      .getRepository(EnvironmentEntity)
      .createQueryBuilder('e')
      .where('e.id = ANY(:ids)', { ids: [...new Set(ids)] })
      .orderBy('e.id', 'ASC')
      .setLock('pessimistic_write')
      .getMany();
  }

  /** Increments and returns the environment's revision. Call inside a transaction. */
  async bumpRevision(id: string): Promise<number> {
    // A CTE so the driver returns plain rows (an UPDATE returns [rows, count] through TypeORM).
    const rows: Array<{ revision: string }> = await this.em.query(
      'WITH bumped AS (UPDATE environments SET revision = revision + 1 WHERE id = $1 RETURNING revision) SELECT revision FROM bumped',
      [id],
    );
    return Number(rows[0].revision);
  }
}
