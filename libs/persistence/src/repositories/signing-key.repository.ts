import type { EntityManager } from 'typeorm';
import type { AuditActor } from '@flagstream/audit';
import { SigningKeyEntity, SigningKeySettingsEntity, type PublicSigningJwk, type SigningAlgorithm } from '../entities';
import { insertOrConflict } from '../pg-errors';

/** A key pair as inserted: born `next`, with its private key already encrypted. */
export interface NewSigningKey {
  projectId: string;
  kid: string;
  algorithm: SigningAlgorithm;
  publicJwk: PublicSigningJwk;
  /** The envelope ciphertext of the PKCS#8 DER private key. */
  privateKey: Buffer;
  kekVersion: number;
  createdBy: AuditActor;
  createdAt: Date;
}

/** A stored private key: its ciphertext, or null once the key is retired. */
export interface SigningKeyCiphertext {
  ciphertext: Buffer | null;
  kekVersion: number | null;
}

export type SigningKeySettingsValues = Pick<SigningKeySettingsEntity, 'projectId' | 'tokenLifetimeSeconds' | 'jwksCacheSeconds' | 'rotationIntervalDays' | 'updatedBy'>;

/**
 * Signing keys and their project settings (migration 1764800000000). Private keys are read only
 * through `privateKeyOf`, never with the metadata. Lifecycle moves are conditional on the status
 * they leave, so a move that lost a race reports false instead of overwriting.
 */
export class SigningKeyRepository {
  constructor(private readonly em: EntityManager) {}

  /** Every key of a project (retired ones too), newest first. */
  list(projectId: string): Promise<SigningKeyEntity[]> {
    return this.em.getRepository(SigningKeyEntity).find({ where: { projectId }, order: { createdAt: 'DESC', kid: 'ASC' } });
  }

  /** The keys the JWKS publishes (every status but `retired`), newest first. */
  published(projectId: string): Promise<SigningKeyEntity[]> {
    return this.em
      .getRepository(SigningKeyEntity)
      .createQueryBuilder('k')
      .where("k.project_id = :projectId AND k.status <> 'retired'", { projectId })
      .orderBy('k.created_at', 'DESC')
      .addOrderBy('k.kid', 'ASC')
      .getMany();
  }

  findByKid(projectId: string, kid: string): Promise<SigningKeyEntity | null> {
    return this.em.getRepository(SigningKeyEntity).findOne({ where: { projectId, kid } });
  }

  /** The ids of projects with at least one published key (the scheduled rotation's work list). */
  async projectsWithPublishedKeys(): Promise<string[]> {
    const rows: Array<{ project_id: string }> = await this.em.query(`SELECT DISTINCT project_id FROM signing_keys WHERE status <> 'retired' ORDER BY project_id`);
    return rows.map((r) => r.project_id);
  }

  insert(values: NewSigningKey): Promise<SigningKeyEntity> {
    return insertOrConflict(`signing key "${values.kid}" (or a next key of this project)`, async () => {
      const repo = this.em.getRepository(SigningKeyEntity);
      await repo.insert({ ...values, status: 'next', activatedAt: null, deactivatedAt: null, retireAfter: null, retiredAt: null });
      return (await this.findByKid(values.projectId, values.kid))!;
    });
  }

  async privateKeyOf(id: string): Promise<SigningKeyCiphertext | null> {
    const rows: Array<{ private_key: Buffer | null; kek_version: number | null }> = await this.em.query('SELECT private_key, kek_version FROM signing_keys WHERE id = $1', [id]);
    return rows[0] ? { ciphertext: rows[0].private_key, kekVersion: rows[0].kek_version } : null;
  }

  /** `next` -> `current`; false when the key is not `next` any more. */
  activate(id: string, at: Date): Promise<boolean> {
    return this.move(`UPDATE signing_keys SET status = 'current', activated_at = $2 WHERE id = $1 AND status = 'next'`, [id, at]);
  }

  /** `current` -> `previous`, published until `retireAfter`; false when the key is not `current`. */
  deactivate(id: string, at: Date, retireAfter: Date): Promise<boolean> {
    return this.move(`UPDATE signing_keys SET status = 'previous', deactivated_at = $2, retire_after = $3 WHERE id = $1 AND status = 'current'`, [id, at, retireAfter]);
  }

  /** `next` or `previous` -> `retired`, destroying the private key; false when it is neither. */
  retire(id: string, at: Date): Promise<boolean> {
    return this.move(`UPDATE signing_keys SET status = 'retired', retired_at = $2, private_key = NULL, kek_version = NULL WHERE id = $1 AND status IN ('next', 'previous')`, [id, at]);
  }

  settings(projectId: string): Promise<SigningKeySettingsEntity | null> {
    return this.em.getRepository(SigningKeySettingsEntity).findOne({ where: { projectId } });
  }

  async saveSettings(values: SigningKeySettingsValues): Promise<SigningKeySettingsEntity> {
    await this.em.query(
      `INSERT INTO signing_key_settings (project_id, token_lifetime_seconds, jwks_cache_seconds, rotation_interval_days, updated_by, updated_at)
       VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (project_id) DO UPDATE SET token_lifetime_seconds = EXCLUDED.token_lifetime_seconds, jwks_cache_seconds = EXCLUDED.jwks_cache_seconds,
         rotation_interval_days = EXCLUDED.rotation_interval_days, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [values.projectId, values.tokenLifetimeSeconds, values.jwksCacheSeconds, values.rotationIntervalDays, JSON.stringify(values.updatedBy)],
    );
    return (await this.settings(values.projectId))!;
  }

  private async move(sql: string, params: unknown[]): Promise<boolean> {
    // TypeORM answers an UPDATE with [rows, count].
    const [, count]: [unknown[], number] = await this.em.query(sql, params);
    return count > 0;
  }
}
