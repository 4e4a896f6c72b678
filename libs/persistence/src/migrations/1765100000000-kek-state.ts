import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the admin last saw of the key-encryption keyring (docs/secrets.md#kek-lifecycle): the
 * current version and the minimum decryption version, so that a rotation or a raised minimum is
 * noticed (and audited) once, at the first start with the new keyring. One row.
 */
export class KekState1765100000000 implements MigrationInterface {
  name = 'KekState1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE kek_state (
        id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        current_version integer NOT NULL CHECK (current_version >= 1),
        min_version integer NOT NULL CHECK (min_version >= 1),
        versions jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE kek_state`);
  }
}
