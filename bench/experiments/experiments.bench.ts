/*
 * Experiment aggregation benchmark (issue #9): 10 million exposure and metric events in
 * sdk_events; the time of a full aggregation, of incremental ones, and the storage used. Prints a
 * table and writes bench/results/experiments.json.
 *
 *   npm run bench:experiments            (BENCH_EVENTS=1000000 for a quicker run)
 *
 * It needs the local Postgres (DATABASE_URL's server, default 127.0.0.1:5432, user postgres) and
 * creates, migrates and finally drops its own database `flagstream_bench_experiments`.
 *
 * - Events are generated in SQL (generate_series) over 7 days: a third are exposures of
 *   1/10 as many units as events (each unit seen about 3 times, 1% of units in both variations),
 *   two thirds are metric events of three kinds (purchase, pageview, latency_ms) from exposed units
 *   and from units outside the experiment. Arrival is occurrence + 0–120 s.
 * - Flagstream: ExperimentResults.aggregate, as the worker runs it: one transaction that folds
 *   the events received since the watermark into per-unit state and groups the units. "full" is
 *   the first run over all 10M events; "incremental" runs after 0.1% / 1% more events arrive, and
 *   after none (the fixed cost: grouping the units).
 * - Recompute-from-raw (the approach of warehouse-native tools such as GrowthBook, which run the
 *   whole query against the event tables at every update; this is our own SQL of that approach,
 *   not their code): one statement from raw events to per-variation totals, no stored state. Run
 *   after each increment too, for the side-by-side ratio.
 */
import { performance } from 'node:perf_hooks';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ExperimentResults, type ExperimentTotals } from '@flagstream/changes';
import { ensureDatabase, migrate, Store } from '@flagstream/persistence';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const DAYS = 7;
const SERVER = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB_NAME = 'flagstream_bench_experiments';
const START = Date.parse('2026-11-01T00:00:00.000Z');
const END = START + DAYS * 86_400_000;

function databaseUrl(name: string): string {
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

interface Row {
  step: string;
  eventsInDb: number;
  newEvents: number;
  flagstreamMs: number;
  eventsRead: number;
  recomputeMs: number;
  ratio: number;
}

async function main(): Promise<void> {
  const url = databaseUrl(DB_NAME);
  const admin = new Client({ connectionString: databaseUrl('postgres') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  await admin.end();
  await ensureDatabase(url);
  await migrate(url);
  const db = new Client({ connectionString: url });
  await db.connect();
  const store = await Store.connect({ databaseUrl: url, poolSize: 2, applicationName: 'bench-experiments' });
  try {
    const ids = await setup(db);
    const units = Math.max(1000, Math.round(EVENTS / 10));
    log(`generating ${EVENTS.toLocaleString()} events (${units.toLocaleString()} units) over ${DAYS} days…`);
    const loadStarted = performance.now();
    // Bulk load without the secondary indexes, then build them: minutes instead of tens of
    // minutes on 2 cores (the aggregation reads the same indexes either way).
    const indexes = (await db.query<{ name: string; def: string }>(`SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'sdk_events' AND indexname NOT LIKE '%pkey'`)).rows;
    for (const ix of indexes) await db.query(`DROP INDEX ${ix.name}`);
    await generate(db, ids, { count: EVENTS, units, from: START, to: END, seed: 1 });
    await db.query(`SET maintenance_work_mem = '1GB'`);
    // pg_indexes shows a partitioned table's index as `ON ONLY` (the parent alone): build it on every partition.
    for (const ix of indexes) await db.query(ix.def.replace(' ON ONLY ', ' ON '));
    const loadMs = performance.now() - loadStarted;
    await db.query('VACUUM ANALYZE sdk_events');
    log(`loaded in ${(loadMs / 1000).toFixed(1)} s`);

    const rows: Row[] = [];
    let inDb = EVENTS;
    const results = (at: number) => new ExperimentResults(store, { settleSeconds: 3600, now: () => new Date(at) });
    const step = async (name: string, newEvents: number, at: number): Promise<void> => {
      const started = performance.now();
      const snapshot = (await results(at).aggregate(ids.experimentId, 'manual'))!;
      const flagstreamMs = performance.now() - started;
      const recomputeStarted = performance.now();
      const recomputed = await recompute(db, ids, at);
      const recomputeMs = performance.now() - recomputeStarted;
      const totals = snapshot.totals as unknown as ExperimentTotals;
      // Both ways must agree, or the timing means nothing.
      for (const [variation, n] of Object.entries(totals.units.byVariation)) {
        if (recomputed.units[variation] !== n) throw new Error(`${name}: units of ${variation} differ: ${n} vs ${recomputed.units[variation]}`);
        const conversions = totals.metrics[0]!.byVariation[variation]!.converted;
        if (recomputed.converted[variation] !== conversions) throw new Error(`${name}: conversions of ${variation} differ: ${conversions} vs ${recomputed.converted[variation]}`);
      }
      rows.push({ step: name, eventsInDb: inDb, newEvents, flagstreamMs, eventsRead: snapshot.eventsRead, recomputeMs, ratio: recomputeMs / flagstreamMs });
      log(`${name}: ${flagstreamMs.toFixed(0)} ms (recompute ${recomputeMs.toFixed(0)} ms)`);
    };

    await step('full (first run)', EVENTS, END + 3_600_000);
    await step('incremental, nothing new', 0, END + 2 * 3_600_000);
    let clock = END + 2 * 3_600_000;
    for (const share of [0.001, 0.01]) {
      const count = Math.round(EVENTS * share);
      const from = clock;
      clock += 3_600_000;
      await generate(db, ids, { count, units: Math.max(100, Math.round(units * share * 3)), from, to: clock, seed: Math.round(share * 1e6), unitOffset: Math.round(units * 0.9) });
      inDb += count;
      await db.query('ANALYZE sdk_events');
      await step(`incremental, +${(share * 100).toLocaleString()}% events`, count, clock + 3_600_000);
      clock += 3_600_000;
    }

    const storage = await sizes(db);
    print(rows, storage, loadMs);
    const out = {
      generatedAt: new Date().toISOString(),
      machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), postgres: (await db.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version },
      events: EVENTS,
      units,
      days: DAYS,
      loadSeconds: loadMs / 1000,
      steps: rows,
      storage,
    };
    const dir = join(__dirname, '..', '..', '..', '..', 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'experiments.json'), `${JSON.stringify(out, null, 2)}\n`);
    log(`wrote ${join(dir, 'experiments.json')}`);
  } finally {
    await store.close();
    await db.end();
    // BENCH_KEEP=1 leaves the database for EXPLAIN ANALYZE.
    if (process.env.BENCH_KEEP !== '1') {
      const c = new Client({ connectionString: databaseUrl('postgres') });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
      await c.end();
    }
  }
}

interface Ids {
  environmentId: string;
  sdkKeyId: string;
  experimentId: string;
}

async function setup(db: Client): Promise<Ids> {
  const project = (await db.query<{ id: string }>(`INSERT INTO projects (key, name) VALUES ('bench', 'bench') RETURNING id`)).rows[0]!.id;
  const environment = (await db.query<{ id: string }>(`INSERT INTO environments (project_id, key, name) VALUES ($1, 'production', 'production') RETURNING id`, [project])).rows[0]!.id;
  const flag = (
    await db.query<{ id: string }>(`INSERT INTO flags (project_id, key, name, kind, variations) VALUES ($1, 'checkout', 'checkout', 'boolean', $2) RETURNING id`, [
      project,
      JSON.stringify([{ key: 'off', value: false }, { key: 'on', value: true }]),
    ])
  ).rows[0]!.id;
  const sdkKey = (await db.query<{ id: string }>(`INSERT INTO sdk_keys (environment_id, kind, name, prefix, key_hash) VALUES ($1, 'server', 'bench', 'fs_srv', 'bench-hash') RETURNING id`, [environment])).rows[0]!.id;
  const experiment = (
    await db.query<{ id: string }>(
      `INSERT INTO experiments (project_id, environment_id, flag_id, flag_key, key, name, control_variation, variations, coverage, status, started_at, settings_before, created_by)
       VALUES ($1, $2, $3, 'checkout', 'checkout-test', 'checkout test', 'off', $4, 1, 'running', $5, '{}', '{"type":"system","id":"bench","name":"bench"}') RETURNING id`,
      [project, environment, flag, JSON.stringify([{ variation: 'off', weight: 1 }, { variation: 'on', weight: 1 }]), new Date(START).toISOString()],
    )
  ).rows[0]!.id;
  const metrics: Array<[string, string, string, string, string | null, number | null, boolean]> = [
    ['purchased', 'primary', 'conversion', 'purchase', null, 86_400, false],
    ['pageviews', 'secondary', 'count', 'pageview', null, null, false],
    ['revenue', 'secondary', 'sum', 'purchase', null, null, false],
    ['latency', 'guardrail', 'mean', 'latency_ms', null, null, true],
    ['revenue-per-pageview', 'secondary', 'ratio', 'purchase', 'pageview', null, false],
  ];
  for (const [i, m] of metrics.entries()) {
    await db.query(`INSERT INTO experiment_metrics (experiment_id, position, key, role, kind, event, denominator_event, window_seconds, lower_is_better) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [experiment, i, ...m]);
  }
  const DAY = 86_400_000;
  await db.query('SELECT sdk_events_ensure_partitions($1::date, $2)', [new Date(Math.floor(START / DAY) * DAY).toISOString().slice(0, 10), DAYS + 3]);
  return { environmentId: environment, sdkKeyId: sdkKey, experimentId: experiment };
}

/**
 * Inserts `count` events in SQL: a third exposures (unit = hash of the row, variation by unit
 * parity, 1% of rows the other variation), two thirds metrics; `unitOffset` shifts the unit range
 * (later increments mix known and new units).
 */
async function generate(db: Client, ids: Ids, o: { count: number; units: number; from: number; to: number; seed: number; unitOffset?: number }): Promise<void> {
  const chunk = 1_000_000;
  for (let done = 0; done < o.count; done += chunk) {
    const n = Math.min(chunk, o.count - done);
    await db.query(
      `INSERT INTO sdk_events (environment_id, kind, flag_key, variation, metric_name, metric_value, context_key, occurred_at, received_at, sdk_key_id, experiment_key)
       SELECT $1::uuid, CASE WHEN r.kind < 0.34 THEN 'exposure' ELSE 'metric' END,
              CASE WHEN r.kind < 0.34 THEN 'checkout' END,
              CASE WHEN r.kind < 0.34 THEN CASE WHEN (r.unit % 2 = 0) <> (r.flip < 0.01) THEN 'on' ELSE 'off' END END,
              CASE WHEN r.kind >= 0.34 THEN CASE WHEN r.kind < 0.40 THEN 'purchase' WHEN r.kind < 0.80 THEN 'pageview' ELSE 'latency_ms' END END,
              CASE WHEN r.kind >= 0.34 THEN CASE WHEN r.kind < 0.40 THEN round((20 + r.value * 80)::numeric, 2)::float8 WHEN r.kind < 0.80 THEN 1 ELSE 50 + r.value * 400 END END,
              'u' || r.unit, r.at, r.at + (r.lag * interval '120 seconds'), $2::uuid,
              CASE WHEN r.kind < 0.34 AND r.unit % 20 <> 0 THEN 'checkout-test' END
         FROM (
           SELECT (hashint8(g + $3::bigint) & 2147483647)::float8 / 2147483647 AS kind,
                  $5::bigint + (hashint8(g * 7 + $3::bigint) & 2147483647) % $4::bigint AS unit,
                  (hashint8(g * 13 + $3::bigint) & 2147483647)::float8 / 2147483647 AS flip,
                  (hashint8(g * 17 + $3::bigint) & 2147483647)::float8 / 2147483647 AS value,
                  (hashint8(g * 19 + $3::bigint) & 2147483647)::float8 / 2147483647 AS lag,
                  to_timestamp(($6::float8 + (hashint8(g * 23 + $3::bigint) & 2147483647)::float8 / 2147483647 * ($7::float8 - $6::float8)) / 1000) AS at
             FROM generate_series($8::bigint, $9::bigint) g
         ) r`,
      [ids.environmentId, ids.sdkKeyId, o.seed * 1_000_003, o.units, o.unitOffset ?? 0, o.from, o.to, done + 1, done + n],
    );
  }
}

/** Recompute-from-raw: per-variation units and conversions straight from sdk_events, no stored state. */
async function recompute(db: Client, ids: Ids, at: number): Promise<{ units: Record<string, number>; converted: Record<string, number> }> {
  const rows = (
    await db.query<{ variation: string; units: string; converted: string }>(
      `WITH exposed AS (
         SELECT context_key AS unit, min(variation) AS variation, min(occurred_at) AS first_at, min(variation) <> max(variation) AS multiple
           FROM sdk_events
          WHERE environment_id = $1 AND experiment_key = 'checkout-test' AND received_at <= $2 AND occurred_at >= $3 AND variation IN ('off', 'on')
          GROUP BY 1
       ), per_unit AS (
         SELECT x.unit, x.variation,
                count(m.*) FILTER (WHERE m.metric_name = 'purchase' AND m.occurred_at <= x.first_at + interval '1 day') AS purchases,
                count(m.*) FILTER (WHERE m.metric_name = 'pageview') AS pageviews,
                coalesce(sum(m.metric_value) FILTER (WHERE m.metric_name = 'purchase'), 0) AS revenue,
                coalesce(sum(m.metric_value) FILTER (WHERE m.metric_name = 'latency_ms'), 0) AS latency,
                count(m.*) FILTER (WHERE m.metric_name = 'latency_ms') AS latency_n
           FROM exposed x
           LEFT JOIN sdk_events m ON m.environment_id = $1 AND m.metric_name IN ('purchase', 'pageview', 'latency_ms') AND m.context_key = x.unit
                AND m.received_at <= $2 AND m.occurred_at >= x.first_at
          WHERE NOT x.multiple
          GROUP BY x.unit, x.variation
       )
       SELECT variation, count(*) AS units, count(*) FILTER (WHERE purchases > 0) AS converted,
              sum(pageviews), sum(pageviews * pageviews), sum(revenue), sum(revenue * revenue), sum(latency), sum(latency_n), sum(revenue * pageviews)
         FROM per_unit GROUP BY variation`,
      [ids.environmentId, new Date(at).toISOString(), new Date(START).toISOString()],
    )
  ).rows;
  return {
    units: Object.fromEntries(rows.map((r) => [r.variation, Number(r.units)])),
    converted: Object.fromEntries(rows.map((r) => [r.variation, Number(r.converted)])),
  };
}

async function sizes(db: Client): Promise<Record<string, number>> {
  const part = async (sql: string) => Number((await db.query<{ b: string }>(sql)).rows[0]!.b);
  const events = await part(`SELECT sum(pg_table_size(c.oid))::bigint AS b FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'sdk_events'::regclass`);
  const eventIndexes = await part(`SELECT sum(pg_indexes_size(c.oid))::bigint AS b FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'sdk_events'::regclass`);
  const experimentIndexes = await part(
    `SELECT sum(pg_relation_size(ix.indexrelid))::bigint AS b FROM pg_inherits i JOIN pg_index ix ON ix.indrelid = i.inhrelid JOIN pg_class c ON c.oid = ix.indexrelid
      WHERE i.inhparent = 'sdk_events'::regclass AND (c.relname LIKE '%experiment_key%' OR c.relname LIKE '%received_at%')`,
  );
  const units = await part(`SELECT pg_total_relation_size('experiment_units')::bigint AS b`);
  const unitMetrics = await part(`SELECT pg_total_relation_size('experiment_unit_metrics')::bigint AS b`);
  const snapshots = await part(`SELECT pg_total_relation_size('experiment_snapshots')::bigint AS b`);
  const count = await part(`SELECT count(*)::bigint AS b FROM sdk_events`);
  return {
    sdkEventsTableBytes: events,
    sdkEventsIndexBytes: eventIndexes,
    experimentScanIndexBytes: experimentIndexes,
    experimentUnitsBytes: units,
    experimentUnitMetricsBytes: unitMetrics,
    experimentSnapshotsBytes: snapshots,
    bytesPerEvent: Math.round((events + eventIndexes) / count),
  };
}

function print(rows: Row[], storage: Record<string, number>, loadMs: number): void {
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  console.log(`\nExperiment aggregation, ${EVENTS.toLocaleString()} events (loaded in ${(loadMs / 1000).toFixed(0)} s)\n`);
  console.log(['step'.padEnd(30), 'events in db'.padStart(13), 'new'.padStart(10), 'flagstream'.padStart(11), 'read'.padStart(10), 'recompute'.padStart(10), 'ratio'.padStart(7)].join(' '));
  for (const r of rows) {
    console.log(
      [r.step.padEnd(30), r.eventsInDb.toLocaleString().padStart(13), r.newEvents.toLocaleString().padStart(10), `${r.flagstreamMs.toFixed(0)} ms`.padStart(11), r.eventsRead.toLocaleString().padStart(10), `${r.recomputeMs.toFixed(0)} ms`.padStart(10), `${r.ratio.toFixed(1)}x`.padStart(7)].join(' '),
    );
  }
  console.log('\nratio: recompute-from-raw time / Flagstream time (higher is better for Flagstream)\n');
  console.log('storage');
  for (const [k, v] of Object.entries(storage)) console.log(`  ${k.padEnd(28)} ${k === 'bytesPerEvent' ? `${v} B` : mb(v)}`);
}

function log(message: string): void {
  console.error(`[bench:experiments] ${message}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
