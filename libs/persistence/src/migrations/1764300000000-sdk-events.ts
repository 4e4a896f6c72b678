import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SDK events (docs/protocol.md, "Events: POST /sdk/v1/events"): exposures and metric
 * observations reported by SDKs through the gateway, the input of guardrails and experiments.
 *
 * - Append-only: a trigger refuses UPDATE and DELETE. Retention is by partition: each UTC day is
 *   its own partition (`sdk_events_YYYYMMDD`), and `sdk_events_drop_partitions_before(day)` drops
 *   whole days (as does `DROP TABLE sdk_events_YYYYMMDD`).
 * - `sdk_events_ensure_partitions(from_day, days)` creates missing daily partitions; the gateway
 *   calls it for today and tomorrow before its first insert of each day. It is idempotent and
 *   safe to run concurrently.
 * - A DEFAULT partition takes any event outside the prepared days, so no event is refused for
 *   want of a partition. A day whose events already sit in the default partition is left there
 *   (creating its partition would fail), and the function moves on.
 * - No foreign keys: an event is written only for the environment and key that authenticated it,
 *   and a check per inserted row would slow the hottest table for nothing.
 */
export class SdkEvents1764300000000 implements MigrationInterface {
  name = 'SdkEvents1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sdk_events (
        id bigint GENERATED ALWAYS AS IDENTITY,
        environment_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('exposure', 'metric')),
        flag_key text,
        variation text,
        metric_name text,
        metric_value double precision,
        context_key text NOT NULL,
        occurred_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        sdk_key_id uuid NOT NULL,
        PRIMARY KEY (id, occurred_at),
        CHECK (CASE kind
          WHEN 'exposure' THEN flag_key IS NOT NULL AND variation IS NOT NULL AND metric_name IS NULL AND metric_value IS NULL
          ELSE metric_name IS NOT NULL AND metric_value IS NOT NULL AND flag_key IS NULL AND variation IS NULL
        END),
        CHECK (metric_value IS NULL OR metric_value NOT IN ('NaN', 'Infinity', '-Infinity')),
        CHECK (occurred_at <= received_at + interval '24 hours' AND occurred_at >= received_at - interval '30 days')
      ) PARTITION BY RANGE (occurred_at)`);
    await q.query(`CREATE TABLE sdk_events_default PARTITION OF sdk_events DEFAULT`);
    // Exposures of a flag over a window (who saw which variation), and observations of a metric.
    await q.query(`CREATE INDEX sdk_events_exposure_idx ON sdk_events (environment_id, kind, flag_key, occurred_at) INCLUDE (variation, context_key)`);
    await q.query(`CREATE INDEX sdk_events_metric_idx ON sdk_events (environment_id, metric_name, occurred_at) INCLUDE (metric_value, context_key) WHERE metric_name IS NOT NULL`);
    await q.query(`
      CREATE FUNCTION sdk_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'sdk_events is append-only: % is not allowed; drop whole days with sdk_events_drop_partitions_before()', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    // A row trigger on the partitioned table is cloned onto every partition, present and future.
    await q.query(`
      CREATE TRIGGER sdk_events_no_update_delete
        BEFORE UPDATE OR DELETE ON sdk_events
        FOR EACH ROW EXECUTE FUNCTION sdk_events_append_only()`);
    await q.query(`
      CREATE FUNCTION sdk_events_ensure_partitions(from_day date, days integer) RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        day date;
        part text;
        created integer := 0;
      BEGIN
        IF days < 1 OR days > 366 THEN
          RAISE EXCEPTION 'days must be between 1 and 366, not %', days USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR i IN 0 .. days - 1 LOOP
          day := from_day + i;
          part := 'sdk_events_' || to_char(day, 'YYYYMMDD');
          CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL;
          -- One creator at a time (gateways start together); the lock ends with the transaction.
          PERFORM pg_advisory_xact_lock(1165389428); -- 0x45766e74, "Evnt"
          -- A fresh look at the catalog (to_regclass may answer from a cache older than the lock).
          CONTINUE WHEN EXISTS (SELECT 1 FROM pg_class c WHERE c.relname = part
            AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'sdk_events'::regclass));
          BEGIN
            EXECUTE format('CREATE TABLE %I PARTITION OF sdk_events FOR VALUES FROM (%L) TO (%L)',
              part, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
            created := created + 1;
          EXCEPTION
            WHEN check_violation THEN
              -- The default partition already holds events of this day: they stay there.
              RAISE NOTICE 'sdk_events: % has events in the default partition; not creating %', day, part;
            WHEN duplicate_table OR unique_violation THEN
              NULL; -- created by someone else meanwhile
          END;
        END LOOP;
        RETURN created;
      END
      $$`);
    await q.query(`
      CREATE FUNCTION sdk_events_drop_partitions_before(before_day date) RETURNS SETOF text LANGUAGE plpgsql AS $$
      DECLARE
        part text;
      BEGIN
        FOR part IN
          SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'sdk_events'::regclass AND c.relname ~ '^sdk_events_[0-9]{8}$'
            AND to_date(substr(c.relname, 12), 'YYYYMMDD') < before_day
          ORDER BY c.relname
        LOOP
          EXECUTE format('DROP TABLE %I', part);
          RETURN NEXT part;
        END LOOP;
      END
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE sdk_events`);
    await q.query(`DROP FUNCTION sdk_events_drop_partitions_before(date)`);
    await q.query(`DROP FUNCTION sdk_events_ensure_partitions(date, integer)`);
    await q.query(`DROP FUNCTION sdk_events_append_only()`);
  }
}
