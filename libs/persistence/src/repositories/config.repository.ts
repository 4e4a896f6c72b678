import type { EntityManager } from 'typeorm';
import { ConfigItemEntity, ConfigLayerEntity, ConfigVersionEntity } from '../entities';
import { insertOrConflict } from '../pg-errors';
import { decodeCursor, toPage, type Page, type PageRequest } from '../page';

/** Where a layer sits, with the environment by id (as stored). */
export interface StoredLayerAddress {
  scope: ConfigLayerEntity['scope'];
  environmentId: string | null;
  tenant: string | null;
  ruleId: string | null;
}

/** A layer to write at an address; `null` content removes it. */
export interface LayerWrite {
  address: StoredLayerAddress;
  content: Pick<ConfigLayerEntity, 'value' | 'clauses' | 'position'> | null;
  version: number;
}

export class ConfigRepository {
  constructor(private readonly em: EntityManager) {}

  async listItems(projectId: string, page: PageRequest): Promise<Page<ConfigItemEntity>> {
    const qb = this.em
      .getRepository(ConfigItemEntity)
      .createQueryBuilder('c')
      .where('c.project_id = :projectId AND NOT c.deleted', { projectId })
      .orderBy('c.key', 'ASC')
      .limit(page.limit + 1);
    if (page.after) qb.andWhere('c.key > :after', { after: decodeCursor<string>(page.after, 'key') });
    return toPage(await qb.getMany(), page.limit, (c) => c.key);
  }

  /** Every live item of a project, by key. */
  listAllItems(projectId: string): Promise<ConfigItemEntity[]> {
    return this.em.getRepository(ConfigItemEntity).find({ where: { projectId, deleted: false }, order: { key: 'ASC' } });
  }

  /** Deleted ones too: a deleted item keeps its history. */
  findItem(projectId: string, key: string, lock = false): Promise<ConfigItemEntity | null> {
    const qb = this.em.getRepository(ConfigItemEntity).createQueryBuilder('c').where('c.project_id = :projectId AND c.key = :key', { projectId, key });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  insertItem(values: Omit<ConfigItemEntity, 'id' | 'createdAt' | 'updatedAt'>): Promise<ConfigItemEntity> {
    return insertOrConflict(`config item "${values.key}"`, () => this.em.getRepository(ConfigItemEntity).save(this.em.create(ConfigItemEntity, values)));
  }

  saveItem(item: ConfigItemEntity): Promise<ConfigItemEntity> {
    return this.em.getRepository(ConfigItemEntity).save(item);
  }

  /** Current layers of the given items. */
  layersOf(itemIds: readonly string[]): Promise<ConfigLayerEntity[]> {
    if (!itemIds.length) return Promise.resolve([]);
    return this.em
      .getRepository(ConfigLayerEntity)
      .createQueryBuilder('l')
      .where('l.item_id = ANY(:ids)', { ids: [...new Set(itemIds)] })
      .getMany();
  }

  /** Current layers of every live item of a project. */
  layersInProject(projectId: string): Promise<ConfigLayerEntity[]> {
    return this.em
      .getRepository(ConfigLayerEntity)
      .createQueryBuilder('l')
      .innerJoin(ConfigItemEntity, 'c', 'c.id = l.item_id')
      .where('c.project_id = :projectId AND NOT c.deleted', { projectId })
      .getMany();
  }

  /** Applies layer writes (replace or remove at each address). */
  async writeLayers(itemId: string, writes: readonly LayerWrite[]): Promise<void> {
    const repo = this.em.getRepository(ConfigLayerEntity);
    for (const w of writes) {
      await repo
        .createQueryBuilder()
        .delete()
        .where('item_id = :itemId AND scope = :scope', { itemId, scope: w.address.scope })
        .andWhere(w.address.environmentId === null ? 'environment_id IS NULL' : 'environment_id = :env', { env: w.address.environmentId })
        .andWhere(w.address.tenant === null ? 'tenant IS NULL' : 'tenant = :tenant', { tenant: w.address.tenant })
        .andWhere(w.address.ruleId === null ? 'rule_id IS NULL' : 'rule_id = :rule', { rule: w.address.ruleId })
        .execute();
      if (w.content) {
        await repo.insert({
          itemId,
          scope: w.address.scope,
          environmentId: w.address.environmentId,
          tenant: w.address.tenant,
          ruleId: w.address.ruleId,
          clauses: w.content.clauses,
          position: w.content.position,
          // TypeORM serialises jsonb columns with JSON.stringify, bare strings included.
          value: w.content.value as never,
          version: w.version,
        });
      }
    }
  }

  insertVersion(values: Omit<ConfigVersionEntity, 'createdAt'>): Promise<ConfigVersionEntity> {
    return insertOrConflict(`version ${values.version} of this config item`, () => this.em.getRepository(ConfigVersionEntity).save(this.em.create(ConfigVersionEntity, values)));
  }

  /** Newest first. */
  async versions(itemId: string, page: PageRequest): Promise<Page<ConfigVersionEntity>> {
    const qb = this.em
      .getRepository(ConfigVersionEntity)
      .createQueryBuilder('v')
      .where('v.item_id = :itemId', { itemId })
      .orderBy('v.version', 'DESC')
      .limit(page.limit + 1);
    if (page.after) qb.andWhere('v.version < :after', { after: decodeCursor<number>(page.after, 'seq') });
    return toPage(await qb.getMany(), page.limit, (v) => v.version);
  }

  findVersion(itemId: string, version: number): Promise<ConfigVersionEntity | null> {
    return this.em.getRepository(ConfigVersionEntity).findOneBy({ itemId, version });
  }

  /** Oldest first, up to a version or a time (inclusive). */
  versionsUpTo(itemId: string, limit: { version?: number; at?: Date }): Promise<ConfigVersionEntity[]> {
    const qb = this.em.getRepository(ConfigVersionEntity).createQueryBuilder('v').where('v.item_id = :itemId', { itemId }).orderBy('v.version', 'ASC');
    if (limit.version !== undefined) qb.andWhere('v.version <= :version', { version: limit.version });
    if (limit.at !== undefined) qb.andWhere('v.created_at <= :at', { at: limit.at });
    return qb.getMany();
  }

  /** Items of a project that existed (in any state) at a time: their history decides. */
  itemsCreatedBy(projectId: string, at: Date): Promise<ConfigItemEntity[]> {
    return this.em
      .getRepository(ConfigItemEntity)
      .createQueryBuilder('c')
      .where('c.project_id = :projectId AND c.created_at <= :at', { projectId, at })
      .orderBy('c.key', 'ASC')
      .getMany();
  }
}
