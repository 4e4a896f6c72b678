import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Release plans (docs/rollouts.md#release-plans): a flag's gradual rollout in one environment, its
 * ordered milestones, and the append-only history of its transitions. Postgres is the record; the
 * worker's BullMQ jobs are rebuilt from running plans with a due `next_transition_at`.
 */
export class ReleasePlans1764500000000 implements MigrationInterface {
  name = 'ReleasePlans1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE release_plans (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE RESTRICT,
        environment_id uuid NOT NULL REFERENCES environments(id) ON DELETE RESTRICT,
        flag_id uuid NOT NULL REFERENCES flags(id) ON DELETE RESTRICT,
        flag_key text NOT NULL,
        control_variation text NOT NULL,
        treatment_variation text NOT NULL,
        status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'running', 'paused', 'completed', 'aborted')),
        current_milestone integer NOT NULL DEFAULT -1 CHECK (current_milestone >= -1),
        settings_before jsonb,
        next_transition_at timestamptz,
        remaining_bake_ms integer CHECK (remaining_bake_ms IS NULL OR remaining_bake_ms >= 0),
        version integer NOT NULL DEFAULT 1,
        created_by jsonb NOT NULL,
        reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (next_transition_at IS NULL OR status = 'running'),
        CHECK (status = 'draft' OR settings_before IS NOT NULL)
      )`);
    // One active plan per flag and environment.
    await q.query(`CREATE UNIQUE INDEX release_plans_active_idx ON release_plans (flag_id, environment_id) WHERE status IN ('draft', 'running', 'paused')`);
    // The worker's sweep: running plans with a timed transition.
    await q.query(`CREATE INDEX release_plans_due_idx ON release_plans (next_transition_at, id) WHERE status = 'running' AND next_transition_at IS NOT NULL`);
    await q.query(`CREATE INDEX release_plans_project_idx ON release_plans (project_id, created_at, id)`);
    await q.query(`
      CREATE TABLE release_plan_milestones (
        plan_id uuid NOT NULL REFERENCES release_plans(id) ON DELETE CASCADE,
        position integer NOT NULL CHECK (position >= 0 AND position < 20),
        percentage numeric(9,3) CHECK (percentage IS NULL OR (percentage > 0 AND percentage <= 100)),
        weights jsonb,
        bake_seconds integer CHECK (bake_seconds IS NULL OR bake_seconds > 0),
        manual boolean NOT NULL DEFAULT false,
        PRIMARY KEY (plan_id, position),
        CHECK ((percentage IS NULL) <> (weights IS NULL)),
        CHECK ((bake_seconds IS NULL) = manual)
      )`);
    await q.query(`
      CREATE TABLE release_plan_transitions (
        seq bigserial PRIMARY KEY,
        plan_id uuid NOT NULL REFERENCES release_plans(id) ON DELETE CASCADE,
        action text NOT NULL,
        from_milestone integer NOT NULL,
        to_milestone integer NOT NULL,
        status text NOT NULL,
        actor jsonb NOT NULL,
        revision bigint,
        occurred_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX release_plan_transitions_plan_idx ON release_plan_transitions (plan_id, seq)`);
    // Append-only: history rows are never changed or removed (except with their plan).
    await q.query(`
      CREATE FUNCTION release_plan_transitions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'release_plan_transitions is append-only'; END $$`);
    await q.query(`CREATE TRIGGER release_plan_transitions_no_update BEFORE UPDATE ON release_plan_transitions FOR EACH ROW EXECUTE FUNCTION release_plan_transitions_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE release_plan_transitions`);
    await q.query(`DROP FUNCTION release_plan_transitions_append_only()`);
    await q.query(`DROP TABLE release_plan_milestones`);
    await q.query(`DROP TABLE release_plans`);
  }
}
