import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Configuration (docs/configuration.md): items with their schema, their current layers, and an
 * append-only history of versions from which any past state is rebuilt. The project chooses the
 * context attribute that names a tenant.
 */
export class ConfigItems1764200000000 implements MigrationInterface {
  name = 'ConfigItems1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE projects ADD COLUMN tenant_attribute text NOT NULL DEFAULT 'tenantId'`);
    await q.query(`
      CREATE TABLE config_items (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE RESTRICT,
        key text NOT NULL,
        description text NOT NULL DEFAULT '',
        schema jsonb NOT NULL,
        merge text NOT NULL DEFAULT 'replace' CHECK (merge IN ('replace', 'merge')),
        client_visible boolean NOT NULL DEFAULT false,
        tags text[] NOT NULL DEFAULT '{}',
        deleted boolean NOT NULL DEFAULT false,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (project_id, key)
      )`);
    await q.query(`
      CREATE TABLE config_layers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        item_id uuid NOT NULL REFERENCES config_items(id) ON DELETE CASCADE,
        scope text NOT NULL CHECK (scope IN ('default', 'environment', 'tenant', 'targeted')),
        environment_id uuid REFERENCES environments(id) ON DELETE RESTRICT,
        tenant text,
        rule_id text,
        clauses jsonb,
        position integer,
        value jsonb NOT NULL,
        version integer NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((scope = 'default') = (environment_id IS NULL)),
        CHECK ((scope = 'tenant') = (tenant IS NOT NULL)),
        CHECK ((scope = 'targeted') = (rule_id IS NOT NULL AND clauses IS NOT NULL AND position IS NOT NULL))
      )`);
    await q.query(`
      CREATE UNIQUE INDEX config_layers_address_idx ON config_layers
        (item_id, scope, coalesce(environment_id, '00000000-0000-0000-0000-000000000000'::uuid), coalesce(tenant, ''), coalesce(rule_id, ''))`);
    await q.query(`CREATE INDEX config_layers_environment_idx ON config_layers (environment_id)`);
    await q.query(`
      CREATE TABLE config_versions (
        item_id uuid NOT NULL REFERENCES config_items(id) ON DELETE RESTRICT,
        version integer NOT NULL,
        action text NOT NULL,
        changes jsonb NOT NULL,
        author text NOT NULL,
        reason text,
        request_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (item_id, version)
      )`);
    await q.query(`CREATE INDEX config_versions_time_idx ON config_versions (item_id, created_at)`);
    await q.query(`
      CREATE FUNCTION config_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'config_versions is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    await q.query(`
      CREATE TRIGGER config_versions_no_update_delete
        BEFORE UPDATE OR DELETE ON config_versions
        FOR EACH ROW EXECUTE FUNCTION config_versions_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE config_versions`);
    await q.query(`DROP FUNCTION config_versions_append_only()`);
    await q.query(`DROP TABLE config_layers`);
    await q.query(`DROP TABLE config_items`);
    await q.query(`ALTER TABLE projects DROP COLUMN tenant_attribute`);
  }
}
