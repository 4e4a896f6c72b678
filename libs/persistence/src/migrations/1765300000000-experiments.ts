import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Experiments (docs/experiments.md): an A/B test on a flag's rollout in one environment, its
 * metric definitions, the worker's incremental per-unit state, and snapshots of the results.
 *
 * - `experiment_units`: one row per unit that entered (first exposure wins; `multiple` marks a
 *   unit seen in more than one variation, left out of every count and reported; `added_step` is
 *   the experiment's aggregation step that added it).
 * - `experiment_unit_metrics`: per metric and unit, the running numerator `x` and denominator `y`
 *   (see ExperimentRepository), so each aggregation reads only the events received since the
 *   experiment's watermark and the read-out groups units, never raw events. Both tables leave
 *   room in their pages (fillfactor): increments update rows in place, and an update that
 *   changes no indexed column and fits its page is a HOT update (no index write).
 * - `experiment_snapshots`: append-only results over time (what the API's time series shows).
 */
export class Experiments1765300000000 implements MigrationInterface {
  name = 'Experiments1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE experiments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE RESTRICT,
        environment_id uuid NOT NULL REFERENCES environments(id) ON DELETE RESTRICT,
        flag_id uuid NOT NULL REFERENCES flags(id) ON DELETE RESTRICT,
        flag_key text NOT NULL,
        key text NOT NULL,
        name text NOT NULL,
        hypothesis text,
        control_variation text NOT NULL,
        variations jsonb NOT NULL,
        coverage numeric(7,6) NOT NULL CHECK (coverage > 0 AND coverage <= 1),
        unit_attribute text NOT NULL DEFAULT 'targetingKey',
        rule_id text,
        event_sources text NOT NULL DEFAULT 'all' CHECK (event_sources IN ('all', 'server')),
        alpha numeric(6,5) NOT NULL DEFAULT 0.05 CHECK (alpha > 0 AND alpha < 0.5),
        status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'running', 'stopped')),
        started_at timestamptz,
        stopped_at timestamptz,
        settings_before jsonb,
        outcome jsonb,
        watermark timestamptz,
        watermark_xid bigint,
        settle_xmax bigint,
        aggregation_step integer NOT NULL DEFAULT 0,
        aggregated_at timestamptz,
        version integer NOT NULL DEFAULT 1,
        created_by jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (project_id, key),
        CHECK (status = 'draft' OR (started_at IS NOT NULL AND settings_before IS NOT NULL)),
        CHECK ((status = 'stopped') = (stopped_at IS NOT NULL))
      )`);
    // One running experiment per flag and environment: two would fight over the same rollout.
    await q.query(`CREATE UNIQUE INDEX experiments_running_idx ON experiments (flag_id, environment_id) WHERE status = 'running'`);
    await q.query(`CREATE INDEX experiments_project_idx ON experiments (project_id, created_at, id)`);
    await q.query(`
      CREATE TABLE experiment_metrics (
        experiment_id uuid NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        position integer NOT NULL CHECK (position >= 0 AND position < 50),
        key text NOT NULL,
        role text NOT NULL CHECK (role IN ('primary', 'secondary', 'guardrail')),
        kind text NOT NULL CHECK (kind IN ('conversion', 'count', 'sum', 'mean', 'ratio')),
        event text NOT NULL,
        denominator_event text,
        window_seconds integer CHECK (window_seconds IS NULL OR window_seconds > 0),
        lower_is_better boolean NOT NULL DEFAULT false,
        PRIMARY KEY (experiment_id, position),
        UNIQUE (experiment_id, key),
        CHECK ((kind = 'ratio') = (denominator_event IS NOT NULL))
      )`);
    await q.query(`
      CREATE TABLE experiment_units (
        experiment_id uuid NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        unit text NOT NULL,
        variation text NOT NULL,
        first_exposed_at timestamptz NOT NULL,
        multiple boolean NOT NULL DEFAULT false,
        added_step integer NOT NULL,
        PRIMARY KEY (experiment_id, unit)
      ) WITH (fillfactor = 80)`);
    await q.query(`
      CREATE TABLE experiment_unit_metrics (
        experiment_id uuid NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        position integer NOT NULL,
        unit text NOT NULL,
        x double precision NOT NULL DEFAULT 0,
        y double precision NOT NULL DEFAULT 0,
        PRIMARY KEY (experiment_id, position, unit)
      ) WITH (fillfactor = 70)`);
    await q.query(`
      CREATE TABLE experiment_snapshots (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        experiment_id uuid NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        computed_at timestamptz NOT NULL DEFAULT now(),
        watermark timestamptz NOT NULL,
        trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'stop')),
        horizon_xmin bigint NOT NULL,
        horizon_xmax bigint NOT NULL,
        events_read bigint NOT NULL,
        duration_ms integer NOT NULL,
        totals jsonb NOT NULL,
        analysis jsonb
      )`);
    await q.query(`CREATE INDEX experiment_snapshots_time_idx ON experiment_snapshots (experiment_id, computed_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE experiment_snapshots');
    await q.query('DROP TABLE experiment_unit_metrics');
    await q.query('DROP TABLE experiment_units');
    await q.query('DROP TABLE experiment_metrics');
    await q.query('DROP TABLE experiments');
  }
}
