import type { EntityManager } from 'typeorm';
import { ProjectEntity } from '../entities';
import { insertOrConflict } from '../pg-errors';
import { decodeCursor, toPage, type Page, type PageRequest } from '../page';

export class ProjectRepository {
  constructor(private readonly em: EntityManager) {}

  async list(page: PageRequest, onlyIds?: readonly string[]): Promise<Page<ProjectEntity>> {
    const qb = this.em.getRepository(ProjectEntity).createQueryBuilder('p').orderBy('p.key', 'ASC').limit(page.limit + 1);
    if (page.after) qb.andWhere('p.key > :after', { after: decodeCursor<string>(page.after, 'key') });
    if (onlyIds) qb.andWhere('p.id = ANY(:ids)', { ids: onlyIds.length ? onlyIds : ['00000000-0000-0000-0000-000000000000'] });
    return toPage(await qb.getMany(), page.limit, (p) => p.key);
  }

  findByKey(key: string, lock = false): Promise<ProjectEntity | null> {
    const qb = this.em.getRepository(ProjectEntity).createQueryBuilder('p').where('p.key = :key', { key });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  findById(id: string): Promise<ProjectEntity | null> {
    return this.em.getRepository(ProjectEntity).findOneBy({ id });
  }

  count(): Promise<number> {
    return this.em.getRepository(ProjectEntity).count();
  }

  insert(values: Pick<ProjectEntity, 'key' | 'name' | 'description'>): Promise<ProjectEntity> {
    return insertOrConflict(`project "${values.key}"`, () => this.em.getRepository(ProjectEntity).save(this.em.create(ProjectEntity, values)));
  }

  async update(project: ProjectEntity, patch: Partial<Pick<ProjectEntity, 'name' | 'description' | 'tenantAttribute'>>): Promise<ProjectEntity> {
    Object.assign(project, patch);
    return this.em.getRepository(ProjectEntity).save(project);
  }
}
