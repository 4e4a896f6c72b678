import type { EntityManager } from 'typeorm';
import { SegmentEntity } from '../entities';
import { insertOrConflict } from '../pg-errors';
import { decodeCursor, toPage, type Page, type PageRequest } from '../page';

export class SegmentRepository {
  constructor(private readonly em: EntityManager) {}

  async list(projectId: string, page: PageRequest): Promise<Page<SegmentEntity>> {
    const qb = this.em
      .getRepository(SegmentEntity)
      .createQueryBuilder('s')
      .where('s.project_id = :projectId', { projectId })
      .orderBy('s.key', 'ASC')
      .limit(page.limit + 1);
    if (page.after) qb.andWhere('s.key > :after', { after: decodeCursor<string>(page.after, 'key') });
    return toPage(await qb.getMany(), page.limit, (s) => s.key);
  }

  listAll(projectId: string): Promise<SegmentEntity[]> {
    return this.em.getRepository(SegmentEntity).find({ where: { projectId }, order: { key: 'ASC' } });
  }

  findByKey(projectId: string, key: string, lock = false): Promise<SegmentEntity | null> {
    const qb = this.em
      .getRepository(SegmentEntity)
      .createQueryBuilder('s')
      .where('s.project_id = :projectId AND s.key = :key', { projectId, key });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  insert(values: Omit<SegmentEntity, 'id' | 'version' | 'createdAt' | 'updatedAt'>): Promise<SegmentEntity> {
    return insertOrConflict(`segment "${values.key}"`, () => this.em.getRepository(SegmentEntity).save(this.em.create(SegmentEntity, values)));
  }

  save(segment: SegmentEntity): Promise<SegmentEntity> {
    return this.em.getRepository(SegmentEntity).save(segment);
  }

  async remove(id: string): Promise<void> {
    await this.em.getRepository(SegmentEntity).delete({ id });
  }
}
