import type { EntityManager } from 'typeorm';
import { ApiTokenEntity, EnvironmentEntity, ProjectEntity, SdkKeyEntity } from '../entities';
import { decodeCursor, toPage, type Page, type PageRequest } from '../page';

/** What an SDK key resolves to on every request of the gateway. */
export interface SdkKeyIdentity {
  key: SdkKeyEntity;
  environment: EnvironmentEntity;
  project: ProjectEntity;
}

/** Admin tokens and SDK keys. Both are looked up by the SHA-256 hash of the presented secret. */
export class CredentialRepository {
  constructor(private readonly em: EntityManager) {}

  async findActiveToken(tokenHash: string): Promise<ApiTokenEntity | null> {
    return this.em
      .getRepository(ApiTokenEntity)
      .createQueryBuilder('t')
      .where('t.token_hash = :tokenHash AND t.revoked_at IS NULL', { tokenHash })
      .getOne();
  }

  countTokens(): Promise<number> {
    return this.em.getRepository(ApiTokenEntity).count();
  }

  async listTokens(page: PageRequest): Promise<Page<ApiTokenEntity>> {
    const qb = this.em.getRepository(ApiTokenEntity).createQueryBuilder('t').orderBy('t.id', 'ASC').limit(page.limit + 1);
    if (page.after) qb.andWhere('t.id > :after', { after: decodeCursor<string>(page.after, 'uuid') });
    return toPage(await qb.getMany(), page.limit, (t) => t.id);
  }

  findToken(id: string): Promise<ApiTokenEntity | null> {
    return this.em.getRepository(ApiTokenEntity).findOneBy({ id });
  }

  insertToken(values: Pick<ApiTokenEntity, 'name' | 'role' | 'projectId' | 'prefix' | 'tokenHash' | 'createdBy'>): Promise<ApiTokenEntity> {
    return this.em.getRepository(ApiTokenEntity).save(this.em.create(ApiTokenEntity, values));
  }

  async revokeToken(id: string): Promise<void> {
    await this.em.getRepository(ApiTokenEntity).update({ id }, { revokedAt: () => 'now()' } as never);
  }

  async touchToken(id: string): Promise<void> {
    await this.em.query(`UPDATE api_tokens SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, [id]);
  }

  async findActiveSdkKey(keyHash: string): Promise<SdkKeyIdentity | null> {
    const key = await this.em
      .getRepository(SdkKeyEntity)
      .createQueryBuilder('k')
      .where('k.key_hash = :keyHash AND k.revoked_at IS NULL', { keyHash })
      .getOne();
    if (!key) return null;
    const environment = await this.em.getRepository(EnvironmentEntity).findOneByOrFail({ id: key.environmentId });
    const project = await this.em.getRepository(ProjectEntity).findOneByOrFail({ id: environment.projectId });
    return { key, environment, project };
  }

  async listSdkKeys(environmentId: string, page: PageRequest): Promise<Page<SdkKeyEntity>> {
    const qb = this.em
      .getRepository(SdkKeyEntity)
      .createQueryBuilder('k')
      .where('k.environment_id = :environmentId', { environmentId })
      .orderBy('k.id', 'ASC')
      .limit(page.limit + 1);
    if (page.after) qb.andWhere('k.id > :after', { after: decodeCursor<string>(page.after, 'uuid') });
    return toPage(await qb.getMany(), page.limit, (k) => k.id);
  }

  /** An SDK key by id in any environment (secret policies name keys by id). */
  findSdkKeyById(id: string): Promise<SdkKeyEntity | null> {
    return this.em.getRepository(SdkKeyEntity).findOne({ where: { id } });
  }

  findSdkKey(environmentId: string, id: string): Promise<SdkKeyEntity | null> {
    return this.em.getRepository(SdkKeyEntity).findOneBy({ environmentId, id });
  }

  insertSdkKey(values: Pick<SdkKeyEntity, 'environmentId' | 'kind' | 'name' | 'prefix' | 'keyHash' | 'createdBy'>): Promise<SdkKeyEntity> {
    return this.em.getRepository(SdkKeyEntity).save(this.em.create(SdkKeyEntity, values));
  }

  async revokeSdkKey(id: string): Promise<void> {
    await this.em.query('UPDATE sdk_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
  }
}
