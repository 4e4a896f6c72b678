import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scheduled changes (docs/rollouts.md#scheduled-changes): a flag or config write to apply at a
 * time, by the worker. Postgres is the record; the BullMQ jobs in Redis are rebuilt from the
 * pending rows whenever they are lost.
 */
export class ScheduledChanges1764400000000 implements MigrationInterface {
  name = 'ScheduledChanges1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE scheduled_changes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE RESTRICT,
        environment_id uuid NOT NULL REFERENCES environments(id) ON DELETE RESTRICT,
        kind text NOT NULL CHECK (kind IN ('flag.settings', 'flag.toggle', 'config.set', 'config.remove')),
        target_type text NOT NULL CHECK (target_type IN ('flag', 'config')),
        target_key text NOT NULL,
        tenant text,
        payload jsonb NOT NULL,
        run_at timestamptz NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'applied', 'cancelled', 'failed')),
        version integer NOT NULL DEFAULT 1,
        created_by jsonb NOT NULL,
        reason text,
        applied_at timestamptz,
        revision bigint,
        error jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((kind LIKE 'flag.%') = (target_type = 'flag')),
        CHECK (tenant IS NULL OR target_type = 'config'),
        CHECK ((status = 'applied') = (applied_at IS NOT NULL)),
        CHECK ((status = 'failed') = (error IS NOT NULL)),
        CHECK (revision IS NULL OR status = 'applied')
      )`);
    // The worker's sweep: every pending change, soonest first.
    await q.query(`CREATE INDEX scheduled_changes_pending_idx ON scheduled_changes (run_at, id) WHERE status = 'pending'`);
    // Conflicts and kill switches: pending changes of one target.
    await q.query(`CREATE INDEX scheduled_changes_target_idx ON scheduled_changes (project_id, target_type, target_key, environment_id) WHERE status = 'pending'`);
    // The admin list: a project's changes by time.
    await q.query(`CREATE INDEX scheduled_changes_project_idx ON scheduled_changes (project_id, run_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE scheduled_changes`);
  }
}
