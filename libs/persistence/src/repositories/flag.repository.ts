import type { EntityManager } from 'typeorm';
import { FlagEntity, FlagEnvironmentEntity } from '../entities';
import { insertOrConflict } from '../pg-errors';
import { decodeCursor, toPage, type Page, type PageRequest } from '../page';

export interface FlagListFilter {
  archived?: boolean;
  tag?: string;
}

export class FlagRepository {
  constructor(private readonly em: EntityManager) {}

  async list(projectId: string, page: PageRequest, filter: FlagListFilter = {}): Promise<Page<FlagEntity>> {
    const qb = this.em
      .getRepository(FlagEntity)
      .createQueryBuilder('f')
      .where('f.project_id = :projectId', { projectId })
      .orderBy('f.key', 'ASC')
      .limit(page.limit + 1);
    if (filter.archived !== undefined) qb.andWhere('f.archived = :archived', { archived: filter.archived });
    if (filter.tag) qb.andWhere(':tag = ANY(f.tags)', { tag: filter.tag });
    if (page.after) qb.andWhere('f.key > :after', { after: decodeCursor<string>(page.after, 'key') });
    return toPage(await qb.getMany(), page.limit, (f) => f.key);
  }

  listAll(projectId: string): Promise<FlagEntity[]> {
    return this.em.getRepository(FlagEntity).find({ where: { projectId }, order: { key: 'ASC' } });
  }

  findByKey(projectId: string, key: string, lock = false): Promise<FlagEntity | null> {
    const qb = this.em
      .getRepository(FlagEntity)
      .createQueryBuilder('f')
      .where('f.project_id = :projectId AND f.key = :key', { projectId, key });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  insert(values: Omit<FlagEntity, 'id' | 'version' | 'createdAt' | 'updatedAt'>): Promise<FlagEntity> {
    return insertOrConflict(`flag "${values.key}"`, () => this.em.getRepository(FlagEntity).save(this.em.create(FlagEntity, values)));
  }

  save(flag: FlagEntity): Promise<FlagEntity> {
    return this.em.getRepository(FlagEntity).save(flag);
  }

  findSettings(flagId: string, environmentId: string, lock = false): Promise<FlagEnvironmentEntity | null> {
    const qb = this.em
      .getRepository(FlagEnvironmentEntity)
      .createQueryBuilder('s')
      .where('s.flag_id = :flagId AND s.environment_id = :environmentId', { flagId, environmentId });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  listSettings(flagId: string): Promise<FlagEnvironmentEntity[]> {
    return this.em.getRepository(FlagEnvironmentEntity).findBy({ flagId });
  }

  /** Every flag of an environment with its settings there (for validation and snapshots). */
  async listWithSettings(environmentId: string): Promise<Array<{ flag: FlagEntity; settings: FlagEnvironmentEntity }>> {
    const settings = await this.em.getRepository(FlagEnvironmentEntity).findBy({ environmentId });
    if (!settings.length) return [];
    const flags = await this.em
      .getRepository(FlagEntity)
      .createQueryBuilder('f')
      .where('f.id = ANY(:ids)', { ids: settings.map((s) => s.flagId) })
      .getMany();
    const byId = new Map(flags.map((f) => [f.id, f]));
    return settings.flatMap((s) => {
      const flag = byId.get(s.flagId);
      return flag ? [{ flag, settings: s }] : [];
    });
  }

  insertSettings(values: Omit<FlagEnvironmentEntity, 'version' | 'updatedAt'>): Promise<FlagEnvironmentEntity> {
    return this.em.getRepository(FlagEnvironmentEntity).save(this.em.create(FlagEnvironmentEntity, values));
  }

  saveSettings(settings: FlagEnvironmentEntity): Promise<FlagEnvironmentEntity> {
    return this.em.getRepository(FlagEnvironmentEntity).save(settings);
  }
}
