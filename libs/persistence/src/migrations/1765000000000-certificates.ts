import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Certificates (docs/secrets.md#certificates): uploaded or CA-issued certificate chains per project
 * and environment at a name, each upload or renewal an immutable version whose private key is an
 * envelope ciphertext (libs/crypto, purpose `certificate-key`); the certificate authorities of a
 * project (self-signed, their private keys encrypted the same way; the newest is the one that issues,
 * older ones keep renewing what they issued); and the expiry alert settings of an environment.
 *
 * - A name is unique among the live certificates of an environment; delete is a soft delete that
 *   destroys every version's private key, so the name can be used again.
 * - Versions are append-only. The columns that change after insert are bookkeeping: the private key
 *   (destroyed, or rewrapped), the alert thresholds already sent, and the publication into the
 *   secrets store. A trigger refuses DELETE and every other change.
 * - `renew_at` (issued certificates) is where the worker's renewal is claimed: a pass moves it on
 *   only if it is unchanged since it was read, so two workers never renew one certificate twice.
 */
export class Certificates1765000000000 implements MigrationInterface {
  name = 'Certificates1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE certificate_authorities (
        id uuid PRIMARY KEY,
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE RESTRICT,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
        certificate_pem text NOT NULL,
        subject text NOT NULL,
        serial_number text NOT NULL,
        fingerprint256 text NOT NULL,
        not_before timestamptz NOT NULL,
        not_after timestamptz NOT NULL,
        private_key bytea NOT NULL,
        kek_version integer NOT NULL,
        created_by jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (not_after > not_before)
      )`);
    await q.query(`CREATE INDEX certificate_authorities_project_idx ON certificate_authorities (project_id, created_at DESC)`);
    await q.query(`
      CREATE FUNCTION certificate_authorities_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'certificate_authorities rows are never deleted' USING ERRCODE = 'insufficient_privilege';
        END IF;
        -- Only a rewrap (the private key's wrapping) may change.
        IF NEW.project_id <> OLD.project_id OR NEW.name <> OLD.name OR NEW.certificate_pem <> OLD.certificate_pem OR NEW.serial_number <> OLD.serial_number
           OR NEW.not_before <> OLD.not_before OR NEW.not_after <> OLD.not_after OR NEW.created_at <> OLD.created_at THEN
          RAISE EXCEPTION 'certificate authorities are immutable' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER certificate_authorities_guard BEFORE UPDATE OR DELETE ON certificate_authorities FOR EACH ROW EXECUTE FUNCTION certificate_authorities_guard()`);

    await q.query(`
      CREATE TABLE certificates (
        id uuid PRIMARY KEY,
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE RESTRICT,
        environment_id uuid NOT NULL REFERENCES environments(id) ON DELETE RESTRICT,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 256),
        kind text NOT NULL CHECK (kind IN ('uploaded', 'issued')),
        current_version integer NOT NULL CHECK (current_version >= 1),
        secret_path text CHECK (secret_path IS NULL OR length(secret_path) BETWEEN 1 AND 256),
        authority_id uuid REFERENCES certificate_authorities(id) ON DELETE RESTRICT,
        common_name text,
        dns_names text[],
        ip_addresses text[],
        lifetime_seconds integer CHECK (lifetime_seconds IS NULL OR lifetime_seconds >= 60),
        key_type text,
        renew_at timestamptz,
        renewal_failures integer NOT NULL DEFAULT 0 CHECK (renewal_failures >= 0),
        last_renewal_error text,
        created_by jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz,
        CHECK ((kind = 'issued') = (authority_id IS NOT NULL)),
        CHECK (kind = 'uploaded' OR (common_name IS NOT NULL AND dns_names IS NOT NULL AND ip_addresses IS NOT NULL AND lifetime_seconds IS NOT NULL AND key_type IS NOT NULL)),
        CHECK (kind = 'issued' OR renew_at IS NULL),
        CHECK (deleted_at IS NULL OR renew_at IS NULL)
      )`);
    await q.query(`CREATE UNIQUE INDEX certificates_live_name_idx ON certificates (environment_id, name) WHERE deleted_at IS NULL`);
    await q.query(`CREATE UNIQUE INDEX certificates_live_secret_path_idx ON certificates (environment_id, secret_path) WHERE deleted_at IS NULL AND secret_path IS NOT NULL`);
    await q.query(`CREATE INDEX certificates_renew_idx ON certificates (renew_at) WHERE renew_at IS NOT NULL`);

    await q.query(`
      CREATE TABLE certificate_versions (
        id uuid PRIMARY KEY,
        certificate_id uuid NOT NULL REFERENCES certificates(id) ON DELETE RESTRICT,
        version integer NOT NULL CHECK (version >= 1),
        source text NOT NULL CHECK (source IN ('upload', 'issue', 'renewal')),
        chain_pem text NOT NULL,
        chain_length integer NOT NULL CHECK (chain_length >= 1),
        subject text NOT NULL,
        issuer text NOT NULL,
        serial_number text NOT NULL,
        fingerprint256 text NOT NULL,
        subject_alt_names jsonb NOT NULL,
        key_type text NOT NULL,
        not_before timestamptz NOT NULL,
        not_after timestamptz NOT NULL,
        private_key bytea,
        kek_version integer,
        destroyed_at timestamptz,
        alerted_days integer[] NOT NULL DEFAULT '{}',
        publish_claimed_at timestamptz,
        published_secret_version integer,
        created_by jsonb NOT NULL,
        reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (certificate_id, version),
        CHECK ((private_key IS NULL) = (destroyed_at IS NOT NULL)),
        CHECK ((private_key IS NULL) = (kek_version IS NULL))
      )`);
    await q.query(`CREATE INDEX certificate_versions_kek_idx ON certificate_versions (kek_version) WHERE private_key IS NOT NULL`);
    await q.query(`
      CREATE FUNCTION certificate_versions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'certificate_versions rows are never deleted (delete destroys the private key)' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.certificate_id <> OLD.certificate_id OR NEW.version <> OLD.version OR NEW.source <> OLD.source OR NEW.chain_pem <> OLD.chain_pem
           OR NEW.serial_number <> OLD.serial_number OR NEW.fingerprint256 <> OLD.fingerprint256 OR NEW.not_before <> OLD.not_before
           OR NEW.not_after <> OLD.not_after OR NEW.created_by <> OLD.created_by OR NEW.created_at <> OLD.created_at
           OR (OLD.private_key IS NULL AND NEW.private_key IS NOT NULL) THEN
          RAISE EXCEPTION 'certificate versions are immutable' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER certificate_versions_guard BEFORE UPDATE OR DELETE ON certificate_versions FOR EACH ROW EXECUTE FUNCTION certificate_versions_guard()`);

    await q.query(`
      CREATE TABLE certificate_settings (
        environment_id uuid PRIMARY KEY REFERENCES environments(id) ON DELETE RESTRICT,
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE RESTRICT,
        alert_days_before integer[] NOT NULL CHECK (cardinality(alert_days_before) <= 10),
        updated_by jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE certificate_settings`);
    await q.query(`DROP TABLE certificate_versions`);
    await q.query(`DROP TABLE certificates`);
    await q.query(`DROP TABLE certificate_authorities`);
    await q.query(`DROP FUNCTION certificate_versions_guard()`);
    await q.query(`DROP FUNCTION certificate_authorities_guard()`);
  }
}
