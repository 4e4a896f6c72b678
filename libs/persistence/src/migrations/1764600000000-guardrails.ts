import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Guardrails of release plans (docs/rollouts.md#guardrails): a metric watched while a plan runs,
 * the threshold that rolls it back, and the last evaluation. `release_plans.observe_since` is when
 * the current observation period began (the last milestone applied, or resume): each milestone,
 * and a resumed plan, is judged on its own traffic.
 */
export class Guardrails1764600000000 implements MigrationInterface {
  name = 'Guardrails1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE release_plans ADD COLUMN observe_since timestamptz`);
    await q.query(`
      CREATE TABLE release_plan_guardrails (
        plan_id uuid NOT NULL REFERENCES release_plans(id) ON DELETE CASCADE,
        position integer NOT NULL CHECK (position >= 0 AND position < 10),
        metric text NOT NULL,
        statistic text NOT NULL CHECK (statistic IN ('rate', 'mean')),
        comparison text NOT NULL CHECK (comparison IN ('control', 'absolute')),
        worse_when text NOT NULL DEFAULT 'higher' CHECK (worse_when IN ('higher', 'lower')),
        threshold double precision,
        max_relative_change double precision,
        alpha double precision NOT NULL CHECK (alpha > 0 AND alpha < 0.5),
        window_seconds integer NOT NULL CHECK (window_seconds > 0),
        min_sample_size integer NOT NULL CHECK (min_sample_size > 0),
        rollback text NOT NULL DEFAULT 'previous-milestone' CHECK (rollback IN ('previous-milestone', 'off')),
        event_sources text NOT NULL DEFAULT 'server' CHECK (event_sources IN ('server', 'all')),
        last_evaluation jsonb,
        last_evaluated_at timestamptz,
        PRIMARY KEY (plan_id, position),
        CHECK ((comparison = 'absolute') = (threshold IS NOT NULL))
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE release_plan_guardrails`);
    await q.query(`ALTER TABLE release_plans DROP COLUMN observe_since`);
  }
}
