import type { EntityManager } from 'typeorm';
import { ValidationError } from '@flagstream/errors';
import { SDK_EVENT_LIMITS } from '@flagstream/protocol';
import { ExperimentEntity, ExperimentMetricEntity, ExperimentSnapshotEntity, type ExperimentStatus } from '../entities';
import { decodeCursor, toPage, type Page, type PageRequest } from '../page';
import { insertOrConflict } from '../pg-errors';

export type NewExperiment = Pick<
  ExperimentEntity,
  | 'projectId'
  | 'environmentId'
  | 'flagId'
  | 'flagKey'
  | 'key'
  | 'name'
  | 'hypothesis'
  | 'controlVariation'
  | 'variations'
  | 'coverage'
  | 'unitAttribute'
  | 'ruleId'
  | 'eventSources'
  | 'alpha'
  | 'createdBy'
>;
export type NewExperimentMetric = Omit<ExperimentMetricEntity, 'experimentId'>;
export type NewExperimentSnapshot = Omit<ExperimentSnapshotEntity, 'id' | 'computedAt'>;

export interface ExperimentFilter {
  status?: ExperimentStatus;
  environmentId?: string;
  flagKey?: string;
}

/** What one incremental aggregation step read and wrote. */
export interface ExperimentIncrement {
  /** Units whose exposures arrived in the window (new units, or known ones seen again). */
  units: number;
  /** Metric events of the window from exposed units, at or after their first exposure (each once, whatever its metrics). */
  metricEvents: number;
}

/** Per-variation totals of the counted units (units seen in one variation only). */
export interface ExperimentUnitTotals {
  byVariation: Record<string, number>;
  /** Units exposed to more than one variation (left out of every count). */
  multipleExposureUnits: number;
}

/**
 * Per metric (by position) and variation, over the counted units that have metric events: units
 * with x > 0 (`converted`), and the sums of the per-unit numerator x and denominator y, their
 * squares and cross product.
 */
export interface ExperimentMetricTotalsRow {
  position: number;
  variation: string;
  converted: number;
  sumX: number;
  sumX2: number;
  sumY: number;
  sumY2: number;
  sumXY: number;
}

/**
 * How far before the previous step a step's scan starts (by `received_at`): metric events
 * delivered up to this long before their unit's exposure still count for it (an SDK may send a
 * metric batch ahead of the exposure batch), and an insert may take this long to commit.
 */
export const METRIC_LOOKBACK_SECONDS = 600;

/** `xmin`: every transaction below it has finished; `xmax`: the next transaction id to be assigned. */
export interface Horizon {
  xmin: number;
  xmax: number;
}

/** Which events one aggregation step reads. */
export interface AggregationWindow {
  /** The previous step's transaction horizon (null: the first step, from the start). */
  fromXid: number | null;
  /** This step's horizon (ExperimentEventAggregation.horizon). */
  uptoXid: number;
  /**
   * Every event of the window was stamped (`received_at`) after about this time (minus
   * {@link METRIC_LOOKBACK_SECONDS} of margin): when the window's first transaction id had not been
   * assigned yet. The first step: a day before the start.
   */
  since: Date;
  /** Events received after this do not count (a stopped experiment's settle time); null: no end. */
  receivedUntil: Date | null;
  /** This step's number (the experiment's `aggregationStep` after it). */
  step: number;
}

const LIST_CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * The aggregation interface: what ExperimentResults asks of the store that holds the events and
 * the per-unit state. ExperimentRepository implements it in Postgres (SQL over `sdk_events`); an
 * analytics engine holding the events would implement the same calls (docs/scaling.md).
 */
export interface ExperimentEventAggregation {
  /**
   * A position in the event store such that every event below it is visible now and no event
   * will appear below it later (the next step reads from here).
   */
  horizon(): Promise<Horizon>;
  /** Folds the events of [`window.fromXid`, `window.uptoXid`) into the per-unit state. */
  aggregateIncrement(experiment: ExperimentEntity, window: AggregationWindow): Promise<ExperimentIncrement>;
  /** Counted units per variation, and units left out for multiple exposures. */
  unitTotals(experimentId: string): Promise<ExperimentUnitTotals>;
  /** Per metric and variation with events: converted units, Σx, Σx², Σy, Σy², Σxy over counted units. */
  metricTotals(experimentId: string): Promise<ExperimentMetricTotalsRow[]>;
  /** Forgets the per-unit state and the horizon (the next step starts from the beginning). */
  resetAggregation(experimentId: string): Promise<void>;
}

export class ExperimentRepository implements ExperimentEventAggregation {
  constructor(private readonly em: EntityManager) {}

  /** Inserts a draft and its metrics; a key already used in the project is a 409. */
  async insert(values: NewExperiment, metrics: readonly NewExperimentMetric[]): Promise<ExperimentEntity> {
    const experiment = await insertOrConflict('an experiment with this key in this project', () =>
      this.em.getRepository(ExperimentEntity).save(
        this.em.create(ExperimentEntity, {
          ...values,
          status: 'draft',
          startedAt: null,
          stoppedAt: null,
          settingsBefore: null,
          outcome: null,
          watermark: null,
          aggregatedAt: null,
          version: 1,
        }),
      ),
    );
    await this.em.getRepository(ExperimentMetricEntity).insert(metrics.map((m) => ({ ...m, experimentId: experiment.id })));
    return experiment;
  }

  /** Saves a state change; a second running experiment of the flag in the environment is a 409. */
  save(experiment: ExperimentEntity): Promise<ExperimentEntity> {
    return insertOrConflict('a running experiment of this flag in this environment', () => this.em.getRepository(ExperimentEntity).save(experiment));
  }

  /** `lock`: SELECT … FOR UPDATE, held until the transaction ends. */
  findByKey(projectId: string, key: string, lock = false): Promise<ExperimentEntity | null> {
    const qb = this.em.getRepository(ExperimentEntity).createQueryBuilder('x').where('x.project_id = :projectId AND x.key = :key', { projectId, key });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  findById(id: string): Promise<ExperimentEntity | null> {
    return this.em.getRepository(ExperimentEntity).findOne({ where: { id } });
  }

  /**
   * Locks an experiment for aggregation without waiting: null when another aggregation holds it
   * (the caller skips; that one's snapshot is as fresh).
   */
  async lockForAggregation(id: string): Promise<ExperimentEntity | null> {
    const locked = (await this.em.query('SELECT id FROM experiments WHERE id = $1 FOR UPDATE SKIP LOCKED', [id])) as unknown[];
    // Read after the lock: the row as the previous holder committed it.
    return locked.length ? this.findById(id) : null;
  }

  /** The running experiment of a flag in an environment, if any. */
  findRunning(flagId: string, environmentId: string): Promise<ExperimentEntity | null> {
    return this.em.getRepository(ExperimentEntity).findOne({ where: { flagId, environmentId, status: 'running' } });
  }

  metrics(experimentId: string): Promise<ExperimentMetricEntity[]> {
    return this.em.getRepository(ExperimentMetricEntity).find({ where: { experimentId }, order: { position: 'ASC' } });
  }

  /** A project's experiments, oldest first. */
  async list(projectId: string, page: PageRequest, filter: ExperimentFilter = {}): Promise<Page<ExperimentEntity>> {
    const qb = this.em
      .getRepository(ExperimentEntity)
      .createQueryBuilder('x')
      .where('x.project_id = :projectId', { projectId })
      .orderBy('x.created_at', 'ASC')
      .addOrderBy('x.id', 'ASC')
      .limit(page.limit + 1);
    if (filter.status) qb.andWhere('x.status = :status', { status: filter.status });
    if (filter.environmentId) qb.andWhere('x.environment_id = :environmentId', { environmentId: filter.environmentId });
    if (filter.flagKey) qb.andWhere('x.flag_key = :flagKey', { flagKey: filter.flagKey });
    if (page.after) {
      const m = LIST_CURSOR.exec(decodeCursor<string>(page.after, 'key'));
      if (!m) throw new ValidationError('cursor is not valid; use the nextCursor of a previous page', [{ path: 'cursor', message: 'not a cursor issued by this API' }]);
      qb.andWhere('(x.created_at, x.id) > (:createdAt, :id)', { createdAt: m[1], id: m[2] });
    }
    return toPage(await qb.getMany(), page.limit, (x) => `${x.createdAt.toISOString()}|${x.id}`);
  }

  /**
   * Experiments the worker's pass aggregates, by id, a page at a time: running ones, and stopped
   * ones still settling (late events still count): until their horizon has passed every insert
   * that began before the settle time ended (`settle_xmax`).
   */
  listDue(limit: number, afterId?: string): Promise<ExperimentEntity[]> {
    const qb = this.em
      .getRepository(ExperimentEntity)
      .createQueryBuilder('x')
      .where(`(x.status = 'running' OR (x.status = 'stopped' AND (x.settle_xmax IS NULL OR x.watermark_xid IS NULL OR x.watermark_xid < x.settle_xmax)))`)
      .orderBy('x.id', 'ASC')
      .limit(limit);
    if (afterId) qb.andWhere('x.id > :afterId', { afterId });
    return qb.getMany();
  }

  /**
   * The transaction horizon now (`pg_snapshot_xmin`): every transaction with an id below it has
   * finished (committed or rolled back), so no row it inserted can become visible later.
   * Cluster-wide: a long transaction anywhere holds it back.
   */
  async horizon(): Promise<Horizon> {
    const rows = (await this.em.query('SELECT pg_snapshot_xmin(s)::text AS xmin, pg_snapshot_xmax(s)::text AS xmax FROM pg_current_snapshot() s')) as Array<{ xmin: string; xmax: string }>;
    return { xmin: Number(rows[0]!.xmin), xmax: Number(rows[0]!.xmax) };
  }

  /**
   * When every transaction id at or above `xid` had not been assigned yet: the time of the latest
   * snapshot whose `xmax` (the next id then) is at most `xid`. Rows of transactions at or above
   * `xid` were stamped after about that time. Null when no snapshot is that old.
   */
  async assignedAfter(experimentId: string, xid: number): Promise<Date | null> {
    const rows = (await this.em.query(
      'SELECT max(computed_at) AS at FROM experiment_snapshots WHERE experiment_id = $1 AND horizon_xmax <= $2',
      [experimentId, xid],
    )) as Array<{ at: Date | null }>;
    return rows[0]?.at ?? null;
  }

  /**
   * One incremental step, in SQL: folds the experiment's exposures and metric events inserted by
   * transactions in [`window.fromXid`, `window.uptoXid`) into the per-unit state. Run it inside
   * the transaction that holds the experiment's lock and then moves its horizon to `uptoXid`, so
   * each event is applied once, whatever order concurrent inserts committed in.
   *
   * The experiment key is unique in its project, so (environment, key) names its exposures.
   * Units: first exposure (earliest `occurred_at`) wins; a unit seen in two variations is marked
   * `multiple`. Metric events count for a unit already exposed (this step's exposures included)
   * when they occurred at or after its first exposure, within the metric's window, and before
   * the stop. Metric events that earlier steps read before their unit existed (delivered ahead of
   * the exposure) count for the units this step adds, if they arrived within
   * {@link METRIC_LOOKBACK_SECONDS} of the previous step.
   *
   * `received_at` only bounds the scan (the index range; an event is stored at most 30 days after
   * it occurred, so `occurred_at` bounds prune day partitions): the window starts
   * {@link METRIC_LOOKBACK_SECONDS} before the previous step, so a transaction would have to take
   * longer than that to commit for its rows to be missed. `receivedUntil` ends a stopped
   * experiment's settle time.
   */
  async aggregateIncrement(experiment: ExperimentEntity, window: AggregationWindow): Promise<ExperimentIncrement> {
    if (!experiment.startedAt) throw new Error('aggregateIncrement: the experiment has not started');
    const start = experiment.startedAt.toISOString();
    const stop = experiment.stoppedAt ? experiment.stoppedAt.toISOString() : 'infinity';
    const scanFrom = new Date(window.since.getTime() - METRIC_LOOKBACK_SECONDS * 1000).toISOString();
    const until = window.receivedUntil ? window.receivedUntil.toISOString() : 'infinity';
    const fromXid = window.fromXid === null ? null : String(window.fromXid);
    const uptoXid = String(window.uptoXid);
    const variations = experiment.variations.map((v) => v.variation);
    const serverOnly = experiment.eventSources === 'server';
    const exposures = (await this.em.query(
      `WITH window_exposures AS (
         SELECT coalesce(e.unit_key, e.context_key) AS unit, min(e.variation) AS low, max(e.variation) AS high, min(e.occurred_at) AS first_at
           FROM sdk_events e
          WHERE e.environment_id = $2 AND e.experiment_key = $3 AND e.flag_key = $13
            AND e.received_at > $4 AND e.received_at <= $5
            AND e.txid < $6::xid8 AND ($7::xid8 IS NULL OR e.txid >= $7::xid8)
            AND e.occurred_at >= greatest($8::timestamptz, $4::timestamptz - interval '30 days') AND e.occurred_at <= $9::timestamptz
            AND e.variation = ANY($10::text[])
            AND (NOT $11::boolean OR e.sdk_key_id IN (SELECT id FROM sdk_keys WHERE kind = 'server'))
          GROUP BY 1
       ), upserted AS (
         INSERT INTO experiment_units AS u (experiment_id, unit, variation, first_exposed_at, multiple, added_step)
         SELECT $1, unit, low, first_at, low <> high, $12 FROM window_exposures
         ON CONFLICT (experiment_id, unit) DO UPDATE
           SET multiple = u.multiple OR excluded.multiple OR u.variation <> excluded.variation,
               first_exposed_at = least(u.first_exposed_at, excluded.first_exposed_at)
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM upserted)::int AS units`,
      [experiment.id, experiment.environmentId, experiment.key, scanFrom, until, uptoXid, fromXid, start, stop, variations, serverOnly, window.step, experiment.flagKey],
    )) as Array<{ units: number }>;
    const defs = (await this.em.query('SELECT event, denominator_event FROM experiment_metrics WHERE experiment_id = $1', [experiment.id])) as Array<{ event: string; denominator_event: string | null }>;
    const names = [...new Set(defs.flatMap((d) => (d.denominator_event ? [d.event, d.denominator_event] : [d.event])))];
    // A unit's metric state changes only in this step; fresh statistics keep the joins below hash
    // joins after a big first step (the planner would otherwise see an empty unit table).
    if ((exposures[0]?.units ?? 0) > 10_000) await this.em.query('ANALYZE experiment_units');
    const metrics = (await this.em.query(
      `WITH roles AS (
         -- One row per (metric, event name, side): the numerator x, the denominator y.
         SELECT position, event AS name, 'x' AS side, kind, window_seconds FROM experiment_metrics WHERE experiment_id = $1
         UNION ALL
         SELECT position, event, 'y', kind, window_seconds FROM experiment_metrics WHERE experiment_id = $1 AND kind = 'mean'
         UNION ALL
         SELECT position, denominator_event, 'y', kind, window_seconds FROM experiment_metrics WHERE experiment_id = $1 AND kind = 'ratio'
       ), events AS (
         SELECT e.metric_name, e.metric_value, e.occurred_at, u.unit, u.first_exposed_at
           FROM sdk_events e
           JOIN experiment_units u ON u.experiment_id = $1 AND u.unit = e.context_key
          WHERE e.environment_id = $2 AND e.metric_name = ANY($3::text[])
            AND e.received_at > $4 AND e.received_at <= $5
            AND e.txid < $6::xid8
            -- Rows earlier steps read count only for units this step added: they were not units then.
            AND ($7::xid8 IS NULL OR e.txid >= $7::xid8 OR u.added_step = $8)
            AND e.occurred_at >= greatest($9::timestamptz, $4::timestamptz - interval '30 days') AND e.occurred_at <= $10::timestamptz
            AND (NOT $11::boolean OR e.sdk_key_id IN (SELECT id FROM sdk_keys WHERE kind = 'server'))
            AND e.occurred_at >= u.first_exposed_at
            -- The intake refuses larger values; older rows cannot overflow the sums of squares either.
            AND abs(e.metric_value) <= $12
       ), matched AS (
         SELECT r.position, e.unit,
                CASE WHEN r.side = 'x' THEN (CASE WHEN r.kind IN ('conversion', 'count') THEN 1 ELSE e.metric_value END) ELSE 0 END AS x,
                CASE WHEN r.side = 'y' THEN (CASE WHEN r.kind = 'mean' THEN 1 ELSE e.metric_value END) ELSE 0 END AS y
           FROM events e
           JOIN roles r ON r.name = e.metric_name
          WHERE r.window_seconds IS NULL OR e.occurred_at <= e.first_exposed_at + make_interval(secs => r.window_seconds)
       ), upserted AS (
         INSERT INTO experiment_unit_metrics AS m (experiment_id, position, unit, x, y)
         SELECT $1, position, unit, sum(x), sum(y) FROM matched GROUP BY position, unit
         ON CONFLICT (experiment_id, position, unit) DO UPDATE SET x = m.x + excluded.x, y = m.y + excluded.y
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM events)::int AS events, (SELECT count(*) FROM upserted)::int AS rows`,
      [experiment.id, experiment.environmentId, names, scanFrom, until, uptoXid, fromXid, window.step, start, stop, serverOnly, SDK_EVENT_LIMITS.maxMetricMagnitude],
    )) as Array<{ events: number; rows: number }>;
    return { units: exposures[0]?.units ?? 0, metricEvents: metrics[0]?.events ?? 0 };
  }

  /** Counted units per variation, and the units excluded for multiple exposures. */
  async unitTotals(experimentId: string): Promise<ExperimentUnitTotals> {
    const rows = (await this.em.query(
      `SELECT variation, multiple, count(*)::bigint AS units FROM experiment_units WHERE experiment_id = $1 GROUP BY variation, multiple`,
      [experimentId],
    )) as Array<{ variation: string; multiple: boolean; units: string }>;
    const byVariation: Record<string, number> = {};
    let multipleExposureUnits = 0;
    for (const row of rows) {
      if (row.multiple) multipleExposureUnits += Number(row.units);
      else byVariation[row.variation] = (byVariation[row.variation] ?? 0) + Number(row.units);
    }
    return { byVariation, multipleExposureUnits };
  }

  /**
   * Per metric and variation, over counted units (units without events count with x = y = 0):
   * one GROUP BY over the per-unit state, never over raw events.
   */
  async metricTotals(experimentId: string): Promise<ExperimentMetricTotalsRow[]> {
    // Only the units that have a row: the work grows with (unit, metric) pairs that saw events.
    // Units without events add to n only (x = y = 0), and n is unitTotals' count.
    const rows = (await this.em.query(
      `SELECT m.position, u.variation,
              count(*) FILTER (WHERE m.x > 0)::bigint AS converted,
              sum(m.x) AS sum_x, sum(m.x * m.x) AS sum_x2, sum(m.y) AS sum_y, sum(m.y * m.y) AS sum_y2, sum(m.x * m.y) AS sum_xy
         FROM experiment_unit_metrics m
         JOIN experiment_units u ON u.experiment_id = m.experiment_id AND u.unit = m.unit
        WHERE m.experiment_id = $1 AND NOT u.multiple
        GROUP BY m.position, u.variation
        ORDER BY m.position, u.variation`,
      [experimentId],
    )) as Array<Record<string, string | number>>;
    return rows.map((r) => ({
      position: Number(r.position),
      variation: String(r.variation),
      converted: Number(r.converted),
      sumX: Number(r.sum_x),
      sumX2: Number(r.sum_x2),
      sumY: Number(r.sum_y),
      sumY2: Number(r.sum_y2),
      sumXY: Number(r.sum_xy),
    }));
  }

  /** Forgets the per-unit state (a full re-aggregation from the start follows). */
  async resetAggregation(experimentId: string): Promise<void> {
    await this.em.query('DELETE FROM experiment_unit_metrics WHERE experiment_id = $1', [experimentId]);
    await this.em.query('DELETE FROM experiment_units WHERE experiment_id = $1', [experimentId]);
    await this.em.query('UPDATE experiments SET watermark = NULL, watermark_xid = NULL WHERE id = $1', [experimentId]);
  }

  /** Appends a snapshot computed at `computedAt` (the caller's clock, the same one as its watermark). */
  async insertSnapshot(values: NewExperimentSnapshot, computedAt: Date): Promise<ExperimentSnapshotEntity> {
    const rows = (await this.em.query(
      `INSERT INTO experiment_snapshots (experiment_id, computed_at, watermark, trigger, horizon_xmin, horizon_xmax, events_read, duration_ms, totals, analysis)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb) RETURNING id`,
      [values.experimentId, computedAt.toISOString(), values.watermark.toISOString(), values.trigger, values.horizonXmin, values.horizonXmax, values.eventsRead, values.durationMs, JSON.stringify(values.totals), values.analysis === null ? null : JSON.stringify(values.analysis)],
    )) as Array<{ id: string }>;
    return this.em.create(ExperimentSnapshotEntity, { ...values, id: Number(rows[0]!.id), computedAt });
  }

  latestSnapshot(experimentId: string): Promise<ExperimentSnapshotEntity | null> {
    return this.em.getRepository(ExperimentSnapshotEntity).findOne({ where: { experimentId }, order: { computedAt: 'DESC', id: 'DESC' } });
  }

  /** Snapshots oldest first, after an id (the API's time series, a page at a time). */
  snapshots(experimentId: string, limit: number, afterId?: number): Promise<ExperimentSnapshotEntity[]> {
    const qb = this.em
      .getRepository(ExperimentSnapshotEntity)
      .createQueryBuilder('s')
      .where('s.experiment_id = :experimentId', { experimentId })
      .orderBy('s.id', 'ASC')
      .limit(limit);
    if (afterId !== undefined) qb.andWhere('s.id > :afterId', { afterId });
    return qb.getMany();
  }
}
