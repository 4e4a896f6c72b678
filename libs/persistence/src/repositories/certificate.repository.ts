import type { EntityManager } from 'typeorm';
import type { AuditActor } from '@flagstream/audit';
import { CertificateAuthorityEntity, CertificateEntity, CertificateSettingsEntity, CertificateVersionEntity } from '../entities';
import { insertOrConflict } from '../pg-errors';

export type NewCertificateAuthority = Omit<CertificateAuthorityEntity, 'createdAt'>;
export type NewCertificate = Pick<
  CertificateEntity,
  'id' | 'projectId' | 'environmentId' | 'name' | 'kind' | 'currentVersion' | 'secretPath' | 'authorityId' | 'commonName' | 'dnsNames' | 'ipAddresses' | 'lifetimeSeconds' | 'keyType' | 'renewAt' | 'createdBy'
>;
export type NewCertificateVersion = Omit<CertificateVersionEntity, 'destroyedAt' | 'alertedDays' | 'publishedSecretVersion' | 'createdAt' | 'privateKey' | 'kekVersion'> & {
  /** The envelope ciphertext of the PKCS#8 DER private key. */
  privateKey: Buffer;
  kekVersion: number;
};

/** A stored private key: its ciphertext, or null once destroyed. */
export interface CertificateKeyCiphertext {
  ciphertext: Buffer | null;
  kekVersion: number | null;
}

/** The current version of a live certificate with what the expiry alerts need. */
export interface CertificateAlertCandidate {
  certificateId: string;
  versionId: string;
  projectId: string;
  environmentId: string;
  name: string;
  kind: CertificateEntity['kind'];
  version: number;
  renewAt: Date | null;
  subject: string;
  serialNumber: string;
  fingerprint256: string;
  notAfter: Date;
  alertedDays: number[];
}

/** A current version of a live certificate that still has to be written to its secret. */
export interface CertificatePublication {
  certificateId: string;
  versionId: string;
  version: number;
  projectId: string;
  environmentId: string;
  name: string;
  secretPath: string;
}

/**
 * Certificates, their versions, the project CAs and the alert settings (migration 1765000000000).
 * Private keys are read only through `versionKeyOf` and `authorityKeyOf`. The claims of the
 * worker's pass (renewal, alert, publication) are conditional updates that report false when
 * another pass got there first.
 */
export class CertificateRepository {
  constructor(private readonly em: EntityManager) {}

  /** The live certificate at a name in one environment; `lock`: FOR UPDATE. */
  findByName(environmentId: string, name: string, lock = false): Promise<CertificateEntity | null> {
    const qb = this.em
      .getRepository(CertificateEntity)
      .createQueryBuilder('c')
      .where('c.environment_id = :environmentId AND c.name = :name AND c.deleted_at IS NULL', { environmentId, name });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  findById(id: string, lock = false): Promise<CertificateEntity | null> {
    const qb = this.em.getRepository(CertificateEntity).createQueryBuilder('c').where('c.id = :id', { id });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  /** The live certificate of an environment that publishes to a secret path, if any. */
  findBySecretPath(environmentId: string, secretPath: string): Promise<CertificateEntity | null> {
    return this.em
      .getRepository(CertificateEntity)
      .createQueryBuilder('c')
      .where('c.environment_id = :environmentId AND c.secret_path = :secretPath AND c.deleted_at IS NULL', { environmentId, secretPath })
      .getOne();
  }

  /** The live certificates of an environment, by name. */
  listLive(environmentId: string): Promise<CertificateEntity[]> {
    return this.em.getRepository(CertificateEntity).createQueryBuilder('c').where('c.environment_id = :environmentId AND c.deleted_at IS NULL', { environmentId }).orderBy('c.name', 'ASC').getMany();
  }

  async insert(values: NewCertificate): Promise<CertificateEntity> {
    return insertOrConflict(`certificate "${values.name}" (or a certificate publishing to secret "${values.secretPath}")`, async () => {
      await this.em.getRepository(CertificateEntity).insert({ ...values, renewalFailures: 0, lastRenewalError: null, deletedAt: null });
      return (await this.findById(values.id))!;
    });
  }

  /** A new current version (and, for issued certificates, when to renew it); resets the renewal failures. */
  async setCurrent(id: string, version: number, secretPath: string | null, renewAt: Date | null): Promise<void> {
    await insertOrConflict(`a certificate publishing to secret "${secretPath}"`, () =>
      this.em.query(
        `UPDATE certificates SET current_version = $2, secret_path = $3, renew_at = $4, renewal_failures = 0, last_renewal_error = NULL, updated_at = now() WHERE id = $1`,
        [id, version, secretPath, renewAt],
      ),
    );
  }

  async insertVersion(values: NewCertificateVersion): Promise<void> {
    await this.em.getRepository(CertificateVersionEntity).insert({ ...values, destroyedAt: null, alertedDays: [], publishedSecretVersion: null });
  }

  /** Version metadata, oldest first (no private keys). */
  versions(certificateId: string): Promise<CertificateVersionEntity[]> {
    return this.em.getRepository(CertificateVersionEntity).find({ where: { certificateId }, order: { version: 'ASC' } });
  }

  version(certificateId: string, version: number): Promise<CertificateVersionEntity | null> {
    return this.em.getRepository(CertificateVersionEntity).findOne({ where: { certificateId, version } });
  }

  async versionKeyOf(versionId: string): Promise<CertificateKeyCiphertext | null> {
    const rows: Array<{ private_key: Buffer | null; kek_version: number | null }> = await this.em.query('SELECT private_key, kek_version FROM certificate_versions WHERE id = $1', [versionId]);
    return rows[0] ? { ciphertext: rows[0].private_key, kekVersion: rows[0].kek_version } : null;
  }

  /** Soft delete: hidden and never renewed; false when it was deleted already. */
  softDelete(id: string, at: Date): Promise<boolean> {
    return this.update(`UPDATE certificates SET deleted_at = $2, renew_at = NULL, updated_at = now() WHERE id = $1 AND deleted_at IS NULL`, [id, at]);
  }

  /** Destroys the private key of every version of a certificate; how many were destroyed. */
  async destroyKeys(certificateId: string, at: Date): Promise<number> {
    const [, count]: [unknown[], number] = await this.em.query(
      `UPDATE certificate_versions SET private_key = NULL, kek_version = NULL, destroyed_at = $2 WHERE certificate_id = $1 AND private_key IS NOT NULL`,
      [certificateId, at],
    );
    return count;
  }

  /** Issued certificates whose renewal is due, earliest first. */
  dueRenewals(now: Date, limit: number): Promise<CertificateEntity[]> {
    return this.em
      .getRepository(CertificateEntity)
      .createQueryBuilder('c')
      .where('c.renew_at <= :now AND c.deleted_at IS NULL', { now })
      .orderBy('c.renew_at', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** Claims a due renewal by moving `renew_at` to `until`, only if it is still `expected`. */
  claimRenewal(id: string, expected: Date, until: Date): Promise<boolean> {
    return this.update(`UPDATE certificates SET renew_at = $3 WHERE id = $1 AND renew_at = $2 AND deleted_at IS NULL`, [id, expected, until]);
  }

  /** Records a failed renewal and when to try again. */
  async renewalFailed(id: string, error: string, retryAt: Date): Promise<number> {
    // TypeORM answers UPDATE … RETURNING with [rows, count].
    const [rows]: [Array<{ renewal_failures: number }>, number] = await this.em.query(
      `UPDATE certificates SET renewal_failures = renewal_failures + 1, last_renewal_error = $2, renew_at = CASE WHEN deleted_at IS NULL THEN $3::timestamptz END WHERE id = $1 RETURNING renewal_failures`,
      [id, error, retryAt],
    );
    return rows[0]?.renewal_failures ?? 0;
  }

  /** The current versions of every live certificate (the expiry alerts' work list). */
  async alertCandidates(): Promise<CertificateAlertCandidate[]> {
    const rows: Array<Record<string, unknown>> = await this.em.query(
      `SELECT c.id AS certificate_id, v.id AS version_id, c.project_id, c.environment_id, c.name, c.kind, v.version, c.renew_at,
              v.subject, v.serial_number, v.fingerprint256, v.not_after, v.alerted_days
         FROM certificates c JOIN certificate_versions v ON v.certificate_id = c.id AND v.version = c.current_version
        WHERE c.deleted_at IS NULL
        ORDER BY v.not_after ASC`,
    );
    return rows.map((r) => ({
      certificateId: r.certificate_id as string,
      versionId: r.version_id as string,
      projectId: r.project_id as string,
      environmentId: r.environment_id as string,
      name: r.name as string,
      kind: r.kind as CertificateEntity['kind'],
      version: r.version as number,
      renewAt: (r.renew_at as Date | null) ?? null,
      subject: r.subject as string,
      serialNumber: r.serial_number as string,
      fingerprint256: r.fingerprint256 as string,
      notAfter: r.not_after as Date,
      alertedDays: (r.alerted_days as number[]) ?? [],
    }));
  }

  /**
   * Claims the alert of threshold `days` of a version, marking `covers` (it and any larger
   * thresholds due at the same time) as sent; false when another pass claimed it first.
   */
  claimAlert(versionId: string, days: number, covers: readonly number[]): Promise<boolean> {
    return this.update(
      `UPDATE certificate_versions SET alerted_days = ARRAY(SELECT DISTINCT d FROM unnest(alerted_days || $3::integer[]) AS d ORDER BY d)
        WHERE id = $1 AND NOT ($2 = ANY(alerted_days))`,
      [versionId, days, [...covers]],
    );
  }

  /** Current versions of live certificates with a secret path, not yet published, unclaimed since `claimedBefore`. */
  async pendingPublications(claimedBefore: Date, limit: number): Promise<CertificatePublication[]> {
    const rows: Array<Record<string, unknown>> = await this.em.query(
      `SELECT c.id AS certificate_id, v.id AS version_id, v.version, c.project_id, c.environment_id, c.name, c.secret_path
         FROM certificates c JOIN certificate_versions v ON v.certificate_id = c.id AND v.version = c.current_version
        WHERE c.deleted_at IS NULL AND c.secret_path IS NOT NULL AND v.published_secret_version IS NULL AND v.private_key IS NOT NULL
          AND (v.publish_claimed_at IS NULL OR v.publish_claimed_at < $1)
        ORDER BY v.created_at ASC LIMIT $2`,
      [claimedBefore, limit],
    );
    return rows.map((r) => ({
      certificateId: r.certificate_id as string,
      versionId: r.version_id as string,
      version: r.version as number,
      projectId: r.project_id as string,
      environmentId: r.environment_id as string,
      name: r.name as string,
      secretPath: r.secret_path as string,
    }));
  }

  /** Claims the publication of a version until the lease runs out; false when someone holds it or it is done. */
  claimPublication(versionId: string, claimedBefore: Date, at: Date): Promise<boolean> {
    return this.update(
      `UPDATE certificate_versions SET publish_claimed_at = $3 WHERE id = $1 AND published_secret_version IS NULL AND (publish_claimed_at IS NULL OR publish_claimed_at < $2)`,
      [versionId, claimedBefore, at],
    );
  }

  async markPublished(versionId: string, secretVersion: number): Promise<void> {
    await this.em.query(`UPDATE certificate_versions SET published_secret_version = $2 WHERE id = $1`, [versionId, secretVersion]);
  }

  /** The project's current CA: the newest. */
  authority(projectId: string): Promise<CertificateAuthorityEntity | null> {
    return this.em.getRepository(CertificateAuthorityEntity).findOne({ where: { projectId }, order: { createdAt: 'DESC', id: 'ASC' } });
  }

  /** Every CA of the project, newest (current) first. */
  authorities(projectId: string): Promise<CertificateAuthorityEntity[]> {
    return this.em.getRepository(CertificateAuthorityEntity).find({ where: { projectId }, order: { createdAt: 'DESC', id: 'ASC' } });
  }

  authorityById(id: string): Promise<CertificateAuthorityEntity | null> {
    return this.em.getRepository(CertificateAuthorityEntity).findOne({ where: { id } });
  }

  async insertAuthority(values: NewCertificateAuthority): Promise<CertificateAuthorityEntity> {
    await this.em.getRepository(CertificateAuthorityEntity).insert(values);
    return (await this.authorityById(values.id))!;
  }

  async authorityKeyOf(id: string): Promise<CertificateKeyCiphertext | null> {
    const rows: Array<{ private_key: Buffer; kek_version: number }> = await this.em.query('SELECT private_key, kek_version FROM certificate_authorities WHERE id = $1', [id]);
    return rows[0] ? { ciphertext: rows[0].private_key, kekVersion: rows[0].kek_version } : null;
  }

  settings(environmentId: string): Promise<CertificateSettingsEntity | null> {
    return this.em.getRepository(CertificateSettingsEntity).findOne({ where: { environmentId } });
  }

  async saveSettings(values: { environmentId: string; projectId: string; alertDaysBefore: number[]; updatedBy: AuditActor }): Promise<CertificateSettingsEntity> {
    await this.em.query(
      `INSERT INTO certificate_settings (environment_id, project_id, alert_days_before, updated_by, updated_at) VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (environment_id) DO UPDATE SET alert_days_before = EXCLUDED.alert_days_before, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [values.environmentId, values.projectId, values.alertDaysBefore, JSON.stringify(values.updatedBy)],
    );
    return (await this.settings(values.environmentId))!;
  }

  private async update(sql: string, params: unknown[]): Promise<boolean> {
    // TypeORM answers an UPDATE with [rows, count].
    const [, count]: [unknown[], number] = await this.em.query(sql, params);
    return count > 0;
  }
}
