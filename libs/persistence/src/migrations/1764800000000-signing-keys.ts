import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signing keys per project (docs/secrets.md#signing-keys-and-jwks): Ed25519 or P-256 key pairs
 * whose public half is published as a JWKS and whose private half is stored only as an envelope
 * ciphertext (libs/crypto, purpose `signing-key`), plus the project's token and rotation settings.
 *
 * - Lifecycle `next` -> `current` -> `previous` -> `retired` (a `next` may be retired directly);
 *   at most one `next` and one `current` per project (partial unique indexes).
 * - Retiring destroys the private key: `private_key` is set to NULL, and the checks keep a retired
 *   row from holding one. A trigger refuses DELETE, backward moves and changes to the key itself.
 */
export class SigningKeys1764800000000 implements MigrationInterface {
  name = 'SigningKeys1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE signing_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE RESTRICT,
        kid text NOT NULL CHECK (kid ~ '^[A-Za-z0-9_-]{43}$'),
        algorithm text NOT NULL CHECK (algorithm IN ('EdDSA', 'ES256')),
        public_jwk jsonb NOT NULL,
        private_key bytea,
        kek_version integer,
        status text NOT NULL CHECK (status IN ('next', 'current', 'previous', 'retired')),
        created_by jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        activated_at timestamptz,
        deactivated_at timestamptz,
        retire_after timestamptz,
        retired_at timestamptz,
        UNIQUE (project_id, kid),
        CHECK ((private_key IS NULL) = (status = 'retired')),
        CHECK ((private_key IS NULL) = (kek_version IS NULL)),
        CHECK ((retired_at IS NULL) = (status <> 'retired')),
        CHECK (status NOT IN ('current', 'previous') OR activated_at IS NOT NULL),
        CHECK (status <> 'previous' OR (deactivated_at IS NOT NULL AND retire_after IS NOT NULL))
      )`);
    await q.query(`CREATE UNIQUE INDEX signing_keys_one_current_idx ON signing_keys (project_id) WHERE status = 'current'`);
    await q.query(`CREATE UNIQUE INDEX signing_keys_one_next_idx ON signing_keys (project_id) WHERE status = 'next'`);
    await q.query(`CREATE INDEX signing_keys_published_idx ON signing_keys (project_id) WHERE status <> 'retired'`);
    await q.query(`
      CREATE FUNCTION signing_keys_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'signing_keys rows are never deleted (retire destroys the private key)' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.project_id <> OLD.project_id OR NEW.kid <> OLD.kid OR NEW.algorithm <> OLD.algorithm OR NEW.public_jwk <> OLD.public_jwk
           OR NEW.created_by <> OLD.created_by OR NEW.created_at <> OLD.created_at OR OLD.status = 'retired' THEN
          RAISE EXCEPTION 'signing keys are immutable apart from their lifecycle' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.status <> OLD.status AND NOT (
             (OLD.status = 'next' AND NEW.status IN ('current', 'retired'))
          OR (OLD.status = 'current' AND NEW.status = 'previous')
          OR (OLD.status = 'previous' AND NEW.status = 'retired')) THEN
          RAISE EXCEPTION 'a signing key cannot move from % to %', OLD.status, NEW.status USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER signing_keys_guard BEFORE UPDATE OR DELETE ON signing_keys FOR EACH ROW EXECUTE FUNCTION signing_keys_guard()`);
    await q.query(`
      CREATE TABLE signing_key_settings (
        project_id uuid PRIMARY KEY REFERENCES projects(id) ON DELETE RESTRICT,
        token_lifetime_seconds integer NOT NULL CHECK (token_lifetime_seconds BETWEEN 60 AND 604800),
        jwks_cache_seconds integer NOT NULL CHECK (jwks_cache_seconds BETWEEN 0 AND 86400),
        rotation_interval_days integer CHECK (rotation_interval_days BETWEEN 1 AND 3650),
        updated_by jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE signing_key_settings`);
    await q.query(`DROP TABLE signing_keys`);
    await q.query(`DROP FUNCTION signing_keys_guard()`);
  }
}
