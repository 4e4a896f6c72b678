import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The foundation schema: projects, environments, flags, segments, tokens, SDK keys, audit, outbox. */
export class InitialSchema1764140000000 implements MigrationInterface {
  name = 'InitialSchema1764140000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
    await q.query(`
      CREATE TABLE projects (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        key text NOT NULL UNIQUE,
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE environments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE RESTRICT,
        key text NOT NULL,
        name text NOT NULL,
        parent_id uuid REFERENCES environments(id) ON DELETE RESTRICT,
        protected boolean NOT NULL DEFAULT false,
        revision bigint NOT NULL DEFAULT 0 CHECK (revision >= 0),
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (project_id, key),
        CHECK (parent_id IS NULL OR parent_id <> id)
      )`);
    await q.query(`
      CREATE TABLE flags (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE RESTRICT,
        key text NOT NULL,
        name text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('boolean', 'string', 'number', 'json')),
        variations jsonb NOT NULL,
        description text NOT NULL DEFAULT '',
        tags text[] NOT NULL DEFAULT '{}',
        client_visible boolean NOT NULL DEFAULT false,
        archived boolean NOT NULL DEFAULT false,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (project_id, key)
      )`);
    await q.query(`
      CREATE TABLE flag_environments (
        flag_id uuid NOT NULL REFERENCES flags(id) ON DELETE CASCADE,
        environment_id uuid NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
        "on" boolean NOT NULL DEFAULT false,
        off_variation text NOT NULL,
        prerequisites jsonb NOT NULL DEFAULT '[]',
        rules jsonb NOT NULL DEFAULT '[]',
        default_serve jsonb NOT NULL,
        salt text NOT NULL,
        version integer NOT NULL DEFAULT 1,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (flag_id, environment_id)
      )`);
    await q.query(`CREATE INDEX flag_environments_environment_idx ON flag_environments (environment_id)`);
    await q.query(`
      CREATE TABLE segments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE RESTRICT,
        key text NOT NULL,
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        included jsonb NOT NULL DEFAULT '[]',
        excluded jsonb NOT NULL DEFAULT '[]',
        rules jsonb NOT NULL DEFAULT '[]',
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (project_id, key)
      )`);
    await q.query(`
      CREATE TABLE api_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
        project_id uuid REFERENCES projects(id) ON DELETE CASCADE,
        prefix text NOT NULL,
        token_hash text NOT NULL UNIQUE,
        created_by text,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE sdk_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        environment_id uuid NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('server', 'client')),
        name text NOT NULL,
        prefix text NOT NULL,
        key_hash text NOT NULL UNIQUE,
        created_by text,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX sdk_keys_environment_idx ON sdk_keys (environment_id)`);
    await q.query(`
      CREATE TABLE audit_events (
        seq bigint PRIMARY KEY CHECK (seq > 0),
        occurred_at timestamptz NOT NULL,
        actor_type text NOT NULL,
        actor_id text NOT NULL,
        actor_name text NOT NULL,
        action text NOT NULL,
        target_type text NOT NULL,
        target_key text NOT NULL,
        project_key text,
        environment_key text,
        before jsonb,
        after jsonb,
        request_id text,
        reason text,
        prev_hash text NOT NULL,
        hash text NOT NULL
      )`);
    await q.query(`CREATE INDEX audit_events_target_idx ON audit_events (project_key, target_type, target_key, seq)`);
    await q.query(`CREATE INDEX audit_events_occurred_idx ON audit_events (occurred_at)`);
    await q.query(`
      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    await q.query(`
      CREATE TRIGGER audit_events_no_update_delete
        BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);
    await q.query(`
      CREATE TRIGGER audit_events_no_truncate
        BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`);
    await q.query(`
      CREATE TABLE outbox (
        id bigserial PRIMARY KEY,
        environment_id uuid NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
        revision bigint NOT NULL,
        event jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        UNIQUE (environment_id, revision)
      )`);
    await q.query(`CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE outbox`);
    await q.query(`DROP TABLE audit_events`);
    await q.query(`DROP FUNCTION audit_events_append_only()`);
    await q.query(`DROP TABLE sdk_keys`);
    await q.query(`DROP TABLE api_tokens`);
    await q.query(`DROP TABLE segments`);
    await q.query(`DROP TABLE flag_environments`);
    await q.query(`DROP TABLE flags`);
    await q.query(`DROP TABLE environments`);
    await q.query(`DROP TABLE projects`);
  }
}
