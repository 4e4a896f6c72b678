import type { EntityManager } from 'typeorm';
import { SecretEntity, SecretPolicyEntity, SecretRotationPolicyEntity, SecretVersionEntity } from '../entities';
import { insertOrConflict } from '../pg-errors';

export type NewSecretVersion = Pick<SecretVersionEntity, 'secretId' | 'version' | 'kekVersion' | 'createdBy' | 'reason'> & { ciphertext: Buffer };
export type NewRotationPolicy = Pick<SecretRotationPolicyEntity, 'secretId' | 'intervalSeconds' | 'notifyBeforeSeconds' | 'graceSeconds' | 'rotator' | 'rotatorConfig' | 'nextRotationAt' | 'createdBy'>;
export type NewSecretPolicy = Pick<SecretPolicyEntity, 'projectId' | 'subjectType' | 'subject' | 'paths' | 'environments' | 'description' | 'createdBy'>;

/** A stored value: its ciphertext, or null once destroyed. */
export interface SecretCiphertext {
  ciphertext: Buffer | null;
  kekVersion: number | null;
  destroyedAt: Date | null;
}

/**
 * Secrets, their versions, read policies and the KEK use counts (migration 1764700000000).
 * Ciphertexts are read only through `ciphertextOf`, never with the metadata.
 */
export class SecretRepository {
  constructor(private readonly em: EntityManager) {}

  /** The secret at a path in one environment, deleted or not; `lock`: FOR UPDATE. */
  findByPath(environmentId: string, path: string, lock = false): Promise<SecretEntity | null> {
    const qb = this.em.getRepository(SecretEntity).createQueryBuilder('s').where('s.environment_id = :environmentId AND s.path = :path', { environmentId, path });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  /** The live (not deleted) secrets of some environments, by path (inheritance down a chain). */
  listLive(environmentIds: readonly string[], pathPrefix?: string): Promise<SecretEntity[]> {
    if (!environmentIds.length) return Promise.resolve([]);
    const qb = this.em
      .getRepository(SecretEntity)
      .createQueryBuilder('s')
      .where('s.environment_id = ANY(:ids) AND s.deleted_at IS NULL', { ids: [...environmentIds] })
      .orderBy('s.path', 'ASC');
    if (pathPrefix) qb.andWhere("(s.path = :prefix OR s.path LIKE :like ESCAPE '\\')", { prefix: pathPrefix, like: `${pathPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}/%` });
    return qb.getMany();
  }

  /** The secrets of an environment that are soft-deleted (to restore). */
  listDeleted(environmentId: string): Promise<SecretEntity[]> {
    return this.em.getRepository(SecretEntity).createQueryBuilder('s').where('s.environment_id = :environmentId AND s.deleted_at IS NOT NULL', { environmentId }).orderBy('s.path', 'ASC').getMany();
  }

  insert(values: Pick<SecretEntity, 'projectId' | 'environmentId' | 'path' | 'currentVersion' | 'createdBy'>): Promise<SecretEntity> {
    return insertOrConflict(`secret "${values.path}"`, () => this.em.getRepository(SecretEntity).save(this.em.create(SecretEntity, { ...values, deletedAt: null })));
  }

  save(secret: SecretEntity): Promise<SecretEntity> {
    return this.em.getRepository(SecretEntity).save(secret);
  }

  async insertVersion(values: NewSecretVersion): Promise<void> {
    await this.em.getRepository(SecretVersionEntity).insert({ ...values, destroyedAt: null });
  }

  /** Version metadata, oldest first (no values). */
  versions(secretId: string): Promise<SecretVersionEntity[]> {
    return this.em.getRepository(SecretVersionEntity).find({ where: { secretId }, order: { version: 'ASC' } });
  }

  async ciphertextOf(secretId: string, version: number): Promise<SecretCiphertext | null> {
    const rows: Array<{ ciphertext: Buffer | null; kek_version: number | null; destroyed_at: Date | null }> = await this.em.query(
      'SELECT ciphertext, kek_version, destroyed_at FROM secret_versions WHERE secret_id = $1 AND version = $2',
      [secretId, version],
    );
    return rows[0] ? { ciphertext: rows[0].ciphertext, kekVersion: rows[0].kek_version, destroyedAt: rows[0].destroyed_at } : null;
  }

  /** Drops a version's value for good; false when it was destroyed already. */
  async destroyVersion(secretId: string, version: number): Promise<boolean> {
    // TypeORM answers an UPDATE with [rows, count].
    const [, count]: [unknown[], number] = await this.em.query(
      'UPDATE secret_versions SET ciphertext = NULL, kek_version = NULL, destroyed_at = now() WHERE secret_id = $1 AND version = $2 AND destroyed_at IS NULL',
      [secretId, version],
    );
    return count > 0;
  }

  /** Replaces a version's ciphertext with the same value wrapped under another KEK version (rewrap). */
  async rewrapVersion(secretId: string, version: number, ciphertext: Buffer, kekVersion: number): Promise<void> {
    await this.em.query('UPDATE secret_versions SET ciphertext = $3, kek_version = $4 WHERE secret_id = $1 AND version = $2 AND destroyed_at IS NULL', [secretId, version, ciphertext, kekVersion]);
  }

  policies(projectId: string): Promise<SecretPolicyEntity[]> {
    return this.em.getRepository(SecretPolicyEntity).find({ where: { projectId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  insertPolicy(values: NewSecretPolicy): Promise<SecretPolicyEntity> {
    return this.em.getRepository(SecretPolicyEntity).save(this.em.create(SecretPolicyEntity, values));
  }

  findPolicy(projectId: string, id: string): Promise<SecretPolicyEntity | null> {
    return this.em.getRepository(SecretPolicyEntity).findOne({ where: { projectId, id } });
  }

  async deletePolicy(id: string): Promise<void> {
    await this.em.getRepository(SecretPolicyEntity).delete({ id });
  }

  findSecretById(id: string): Promise<SecretEntity | null> {
    return this.em.getRepository(SecretEntity).findOne({ where: { id } });
  }

  rotationPolicy(secretId: string, lock = false): Promise<SecretRotationPolicyEntity | null> {
    const qb = this.em.getRepository(SecretRotationPolicyEntity).createQueryBuilder('r').where('r.secret_id = :secretId', { secretId });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  /** Creates or replaces a secret's rotation policy (its schedule state starts over). */
  async upsertRotationPolicy(values: NewRotationPolicy): Promise<SecretRotationPolicyEntity> {
    await this.em.getRepository(SecretRotationPolicyEntity).delete({ secretId: values.secretId });
    return this.em
      .getRepository(SecretRotationPolicyEntity)
      .save(this.em.create(SecretRotationPolicyEntity, { ...values, lastRotatedAt: null, previousVersion: null, graceUntil: null, consecutiveFailures: 0, lastError: null, notifiedFor: null }));
  }

  saveRotationPolicy(p: SecretRotationPolicyEntity): Promise<SecretRotationPolicyEntity> {
    return this.em.getRepository(SecretRotationPolicyEntity).save(p);
  }

  async deleteRotationPolicy(secretId: string): Promise<boolean> {
    const r = await this.em.getRepository(SecretRotationPolicyEntity).delete({ secretId });
    return (r.affected ?? 0) > 0;
  }

  /** The rotation policies of a project's secrets, with their secrets (the compliance report). */
  async rotationPolicies(projectId: string): Promise<Array<{ policy: SecretRotationPolicyEntity; secret: SecretEntity }>> {
    const secrets = await this.em.getRepository(SecretEntity).find({ where: { projectId } });
    const byId = new Map(secrets.map((s) => [s.id, s]));
    if (!secrets.length) return [];
    const policies = await this.em
      .getRepository(SecretRotationPolicyEntity)
      .createQueryBuilder('r')
      .where('r.secret_id = ANY(:ids)', { ids: secrets.map((s) => s.id) })
      .orderBy('r.next_rotation_at', 'ASC')
      .getMany();
    return policies.map((policy) => ({ policy, secret: byId.get(policy.secretId)! }));
  }

  /** Policies whose rotation or notice is due by `at`, soonest first (the worker's pass). */
  dueRotationPolicies(at: Date, limit: number): Promise<SecretRotationPolicyEntity[]> {
    return this.em
      .getRepository(SecretRotationPolicyEntity)
      .createQueryBuilder('r')
      .where("(r.next_rotation_at <= :at OR (r.notify_before_seconds > 0 AND r.next_rotation_at - make_interval(secs => r.notify_before_seconds) <= :at AND r.notified_for IS DISTINCT FROM r.next_rotation_at))", { at })
      // A soft-deleted secret's policy waits (it would otherwise stay first in line and block the rest).
      .andWhere('EXISTS (SELECT 1 FROM secrets s WHERE s.id = r.secret_id AND s.deleted_at IS NULL)')
      .orderBy('r.next_rotation_at', 'ASC')
      .limit(limit)
      .getMany();
  }

  /**
   * Claims a due rotation for one worker: moves `next_rotation_at` on from the value it was read
   * with; false when another worker claimed it first (or the policy changed).
   */
  async claimRotation(secretId: string, dueAt: Date, next: Date): Promise<boolean> {
    const [, count]: [unknown[], number] = await this.em.query(
      'UPDATE secret_rotation_policies SET next_rotation_at = $3, updated_at = now() WHERE secret_id = $1 AND next_rotation_at = $2',
      [secretId, dueAt.toISOString(), next.toISOString()],
    );
    return count > 0;
  }

  /**
   * Adds `n` uses of a KEK version (0 only reads it) and returns the new total. Called on its own
   * connection, outside any write transaction (the cipher keeps pending counts in memory).
   */
  async countKekUses(kekVersion: number, n: number): Promise<number> {
    const rows: Array<{ uses: string }> = await this.em.query(
      `INSERT INTO kek_usage (kek_version, uses) VALUES ($1, $2)
       ON CONFLICT (kek_version) DO UPDATE SET uses = kek_usage.uses + $2, updated_at = now() RETURNING uses`,
      [kekVersion, n],
    );
    return Number(rows[0].uses);
  }

  async kekUsage(): Promise<Array<{ kekVersion: number; uses: number }>> {
    const rows: Array<{ kek_version: number; uses: string }> = await this.em.query('SELECT kek_version, uses FROM kek_usage ORDER BY kek_version');
    return rows.map((r) => ({ kekVersion: r.kek_version, uses: Number(r.uses) }));
  }
}
