import type { EntityManager } from 'typeorm';

/** The keyring as last recorded. */
export interface KekStateRow {
  currentVersion: number;
  minVersion: number;
  versions: number[];
}

/** One stored ciphertext under a KEK, with what its AAD names (to rewrap it). */
export interface SealedRow {
  kind: 'secret-version' | 'signing-key' | 'certificate-version' | 'certificate-authority';
  /** The row: `<secret id>/<version>`, or the id of the signing key, certificate version or authority. */
  ref: string;
  kekVersion: number;
  ciphertext: Buffer;
  purpose: string;
  project: string;
  environment: string | null;
  path: string;
  version: number;
}

/**
 * Everything sealed under the key-encryption keys, across tables: counts per KEK version (what a
 * retirement would strand), batches of rows below a version (the rewrap pass), and the recorded
 * keyring state.
 */
export class KekRepository {
  constructor(private readonly em: EntityManager) {}

  async state(): Promise<KekStateRow | null> {
    const rows: Array<{ current_version: number; min_version: number; versions: number[] }> = await this.em.query('SELECT current_version, min_version, versions FROM kek_state WHERE id = 1');
    return rows[0] ? { currentVersion: rows[0].current_version, minVersion: rows[0].min_version, versions: rows[0].versions } : null;
  }

  async saveState(s: KekStateRow): Promise<void> {
    await this.em.query(
      `INSERT INTO kek_state (id, current_version, min_version, versions) VALUES (1, $1, $2, $3::jsonb)
       ON CONFLICT (id) DO UPDATE SET current_version = $1, min_version = $2, versions = $3::jsonb, updated_at = now()`,
      [s.currentVersion, s.minVersion, JSON.stringify(s.versions)],
    );
  }

  /** Live ciphertexts per KEK version, across every table that holds them. */
  async countByVersion(): Promise<Array<{ kekVersion: number; count: number }>> {
    const rows: Array<{ kek_version: number; n: string }> = await this.em.query(
      `SELECT kek_version, sum(n)::bigint AS n FROM (
         SELECT kek_version, count(*) AS n FROM secret_versions WHERE ciphertext IS NOT NULL GROUP BY kek_version
         UNION ALL
         SELECT kek_version, count(*) AS n FROM signing_keys WHERE private_key IS NOT NULL GROUP BY kek_version
         UNION ALL
         SELECT kek_version, count(*) AS n FROM certificate_versions WHERE private_key IS NOT NULL GROUP BY kek_version
         UNION ALL
         SELECT kek_version, count(*) AS n FROM certificate_authorities GROUP BY kek_version
       ) t GROUP BY kek_version ORDER BY kek_version`,
    );
    return rows.map((r) => ({ kekVersion: r.kek_version, count: Number(r.n) }));
  }

  /** Up to `limit` sealed rows under a KEK version other than `version` (oldest versions first). */
  async sealedNotUnder(version: number, limit: number): Promise<SealedRow[]> {
    const rows: Array<{ kind: SealedRow['kind']; ref: string; kek_version: number; ciphertext: Buffer; purpose: string; project: string; environment: string | null; path: string; version: number }> = await this.em.query(
      `(SELECT 'secret-version' AS kind, v.secret_id || '/' || v.version AS ref, v.kek_version, v.ciphertext, 'secret' AS purpose,
               s.project_id::text AS project, s.environment_id::text AS environment, s.path, v.version
          FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
         WHERE v.ciphertext IS NOT NULL AND v.kek_version <> $1
         ORDER BY v.kek_version LIMIT $2)
       UNION ALL
       (SELECT 'signing-key' AS kind, k.id::text AS ref, k.kek_version, k.private_key AS ciphertext, 'signing-key' AS purpose,
               k.project_id::text AS project, NULL AS environment, k.kid AS path, 1 AS version
          FROM signing_keys k
         WHERE k.private_key IS NOT NULL AND k.kek_version <> $1
         ORDER BY k.kek_version LIMIT $2)
       UNION ALL
       (SELECT 'certificate-version' AS kind, v.id::text AS ref, v.kek_version, v.private_key AS ciphertext, 'certificate-key' AS purpose,
               c.project_id::text AS project, c.environment_id::text AS environment, c.id::text AS path, v.version
          FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id
         WHERE v.private_key IS NOT NULL AND v.kek_version <> $1
         ORDER BY v.kek_version LIMIT $2)
       UNION ALL
       (SELECT 'certificate-authority' AS kind, a.id::text AS ref, a.kek_version, a.private_key AS ciphertext, 'certificate-key' AS purpose,
               a.project_id::text AS project, NULL AS environment, 'ca/' || a.id AS path, 1 AS version
          FROM certificate_authorities a
         WHERE a.kek_version <> $1
         ORDER BY a.kek_version LIMIT $2)`,
      [version, limit],
    );
    return rows.slice(0, limit).map((r) => ({ kind: r.kind, ref: r.ref, kekVersion: r.kek_version, ciphertext: r.ciphertext, purpose: r.purpose, project: r.project, environment: r.environment, path: r.path, version: Number(r.version) }));
  }

  /**
   * Replaces a row's ciphertext with the same value wrapped under another KEK version, only if it
   * still holds `before` (a concurrent rewrap or destroy wins); true when replaced.
   */
  async replaceSealed(row: Pick<SealedRow, 'kind' | 'ref'>, before: Buffer, after: Buffer, kekVersion: number): Promise<boolean> {
    if (row.kind === 'secret-version') {
      const [secretId, version] = row.ref.split('/');
      const [, count]: [unknown[], number] = await this.em.query('UPDATE secret_versions SET ciphertext = $3, kek_version = $4 WHERE secret_id = $1 AND version = $2 AND ciphertext = $5', [secretId, Number(version), after, kekVersion, before]);
      return count > 0;
    }
    const table = { 'signing-key': 'signing_keys', 'certificate-version': 'certificate_versions', 'certificate-authority': 'certificate_authorities' }[row.kind];
    const [, count]: [unknown[], number] = await this.em.query(`UPDATE ${table} SET private_key = $2, kek_version = $3 WHERE id = $1 AND private_key = $4`, [row.ref, after, kekVersion, before]);
    return count > 0;
  }
}
