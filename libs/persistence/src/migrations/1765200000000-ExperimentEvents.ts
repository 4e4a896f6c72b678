import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Experiment exposures in `sdk_events` (docs/protocol.md, "Events: POST /sdk/v1/events"): an
 * exposure that put its unit into an experiment carries the experiment's key and, when the
 * experiment's unit is not the context's `targetingKey`, that unit.
 *
 * - `experiment_key`: set only on exposures (metric events have neither column).
 * - `unit_key`: only with `experiment_key`; NULL means the unit is `context_key`.
 * - `txid`: the id of the inserting transaction (`pg_current_xact_id()`); the experiment
 *   aggregation's watermark is a transaction id horizon, so no event is skipped whatever order
 *   concurrent inserts commit in.
 * - Two partial indexes for the experiment aggregation's incremental scan by arrival time
 *   (`received_at`, bounding the scan; `txid` decides): experiment exposures, and metric
 *   events. They are covering (INCLUDE), so the scan reads the index only.
 *
 * `sdk_events` is partitioned: the columns, checks and indexes are created on every partition,
 * present and future (an index on a partitioned table cannot be built CONCURRENTLY; the checks
 * scan existing rows once, under the ALTER's lock).
 */
export class ExperimentEvents1765200000000 implements MigrationInterface {
  name = 'ExperimentEvents1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE sdk_events
        ADD COLUMN experiment_key text,
        ADD COLUMN unit_key text,
        ADD CONSTRAINT sdk_events_experiment_exposure_only CHECK (kind = 'exposure' OR (experiment_key IS NULL AND unit_key IS NULL)),
        ADD CONSTRAINT sdk_events_unit_needs_experiment CHECK (unit_key IS NULL OR experiment_key IS NOT NULL)`);
    // The inserting transaction's id: an aggregation reads exactly the rows of transactions that
    // finished between two of its runs (see ExperimentRepository). Added without a default first,
    // so existing rows need no rewrite (they stay NULL: they predate every experiment).
    await q.query(`ALTER TABLE sdk_events ADD COLUMN txid xid8`);
    await q.query(`ALTER TABLE sdk_events ALTER COLUMN txid SET DEFAULT pg_current_xact_id()`);
    await q.query(`
      CREATE INDEX sdk_events_experiment_idx ON sdk_events (environment_id, experiment_key, received_at)
        INCLUDE (flag_key, variation, context_key, unit_key, occurred_at, txid, sdk_key_id) WHERE experiment_key IS NOT NULL`);
    await q.query(`
      CREATE INDEX sdk_events_metric_received_idx ON sdk_events (environment_id, metric_name, received_at)
        INCLUDE (metric_value, context_key, occurred_at, txid, sdk_key_id) WHERE metric_name IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX sdk_events_metric_received_idx`);
    await q.query(`DROP INDEX sdk_events_experiment_idx`);
    // Dropping the columns drops their checks with them; the data of both columns is lost.
    await q.query(`
      ALTER TABLE sdk_events
        DROP CONSTRAINT sdk_events_unit_needs_experiment,
        DROP CONSTRAINT sdk_events_experiment_exposure_only,
        DROP COLUMN txid,
        DROP COLUMN unit_key,
        DROP COLUMN experiment_key`);
  }
}
