import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Secrets (docs/secrets.md): a path per project and environment, its immutable versions (each an
 * envelope ciphertext from libs/crypto: a fresh data key wrapped by a KEK kept outside the
 * database), read policies (deny by default), and the count of uses of each KEK version (the
 * random-nonce budget of AES-GCM).
 *
 * - Versions are append-only except for destroy, which drops the ciphertext for good (a trigger
 *   refuses any other change and every DELETE).
 * - `kek_version` is kept beside the ciphertext so a rewrap pass selects the rows of old versions.
 */
export class Secrets1764700000000 implements MigrationInterface {
  name = 'Secrets1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE secrets (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE RESTRICT,
        environment_id uuid NOT NULL REFERENCES environments(id) ON DELETE RESTRICT,
        path text NOT NULL CHECK (length(path) BETWEEN 1 AND 256),
        current_version integer NOT NULL CHECK (current_version >= 1),
        deleted_at timestamptz,
        created_by jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (environment_id, path)
      )`);
    await q.query(`CREATE INDEX secrets_project_idx ON secrets (project_id, path)`);
    await q.query(`
      CREATE TABLE secret_versions (
        secret_id uuid NOT NULL REFERENCES secrets(id) ON DELETE RESTRICT,
        version integer NOT NULL CHECK (version >= 1),
        ciphertext bytea,
        kek_version integer,
        created_by jsonb NOT NULL,
        reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        destroyed_at timestamptz,
        PRIMARY KEY (secret_id, version),
        CHECK ((ciphertext IS NULL) = (destroyed_at IS NOT NULL)),
        CHECK ((ciphertext IS NULL) = (kek_version IS NULL))
      )`);
    await q.query(`CREATE INDEX secret_versions_kek_idx ON secret_versions (kek_version) WHERE ciphertext IS NOT NULL`);
    await q.query(`
      CREATE FUNCTION secret_versions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'secret_versions rows are never deleted (destroy drops the value)' USING ERRCODE = 'insufficient_privilege';
        END IF;
        -- Allowed: destroy (the value goes, nothing else changes) and rewrap (same version, new wrapping).
        IF NEW.secret_id <> OLD.secret_id OR NEW.version <> OLD.version OR NEW.created_by <> OLD.created_by
           OR NEW.created_at <> OLD.created_at OR OLD.destroyed_at IS NOT NULL THEN
          RAISE EXCEPTION 'secret versions are immutable' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER secret_versions_guard BEFORE UPDATE OR DELETE ON secret_versions FOR EACH ROW EXECUTE FUNCTION secret_versions_guard()`);
    await q.query(`
      CREATE TABLE secret_policies (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE RESTRICT,
        subject_type text NOT NULL CHECK (subject_type IN ('role', 'sdk-key')),
        subject text NOT NULL,
        paths jsonb NOT NULL,
        environments jsonb NOT NULL,
        description text,
        created_by jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (subject_type <> 'role' OR subject IN ('viewer', 'editor', 'owner'))
      )`);
    await q.query(`CREATE INDEX secret_policies_project_idx ON secret_policies (project_id, created_at)`);
    await q.query(`
      CREATE TABLE kek_usage (
        kek_version integer PRIMARY KEY CHECK (kek_version >= 1),
        uses bigint NOT NULL DEFAULT 0 CHECK (uses >= 0),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE kek_usage`);
    await q.query(`DROP TABLE secret_policies`);
    await q.query(`DROP TABLE secret_versions`);
    await q.query(`DROP FUNCTION secret_versions_guard()`);
    await q.query(`DROP TABLE secrets`);
  }
}
