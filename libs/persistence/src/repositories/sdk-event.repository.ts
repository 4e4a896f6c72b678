import type { EntityManager } from 'typeorm';
import { SDK_EVENT_LIMITS } from '@flagstream/protocol';

/** What every stored SDK event carries: who sent it, for which unit, and when. */
interface NewSdkEventBase {
  environmentId: string;
  /** The SDK key that sent it. */
  sdkKeyId: string;
  /** The context's `targetingKey`. */
  contextKey: string;
  /** When it happened, by the SDK's clock. */
  occurredAt: Date;
  /** When the gateway accepted it (replaced by the write time when `insertBatch` is given `stampedAt`). */
  receivedAt: Date;
}

/**
 * The `received_at` stored for an event written at `stampedAt`: the write time, capped at
 * `occurred_at` + 30 days (the table's CHECK; an event almost 30 days old on arrival keeps a valid
 * row, looking a little older than it is).
 */
export function receivedAtFor(occurredAt: number, stampedAt: number): number {
  return Math.min(stampedAt, occurredAt + SDK_EVENT_LIMITS.maxPastMs);
}

/** One row for `sdk_events`: an exposure or a metric observation. */
export type NewSdkEvent =
  | (NewSdkEventBase & {
      kind: 'exposure';
      flag: string;
      variation: string;
      /** The experiment the exposure put its unit into (`experiment_key`); absent outside experiments. */
      experiment?: string;
      /** Only with `experiment`: the unit when it is not `contextKey` (`unit_key`). */
      unit?: string;
    })
  | (NewSdkEventBase & { kind: 'metric'; name: string; value: number });

/** What a guardrail compares: exposures of one flag, split by variation, and one metric's events. */
export interface ExposureSampleQuery {
  environmentId: string;
  flag: string;
  /** Units exposed to it form the treatment group; units exposed only to others form the control group. */
  treatment: string;
  metric: string;
  /** Events at or after this time and at or before `until` count. */
  since: Date;
  until: Date;
  /** `server`: only events sent with server SDK keys (client keys are public); `all`: any key. */
  sources?: 'server' | 'all';
}

/** One group's totals: units, units that sent the metric at least once, and the per-unit sums. */
export interface GroupTotals {
  units: number;
  unitsWithEvents: number;
  /** Sum over units of each unit's metric total (units without events add 0). */
  sum: number;
  /** Sum over units of the square of each unit's metric total. */
  sumOfSquares: number;
}

export interface ExposureSample {
  treatment: GroupTotals;
  control: GroupTotals;
  /** Units exposed to both the treatment and another variation in the period: left out of both groups. */
  mixedUnits: number;
}

/** SQLSTATE classes meaning "this data will never be accepted": data exceptions and constraint violations. */
const PERMANENT_SQLSTATE = /^(22|23)/;

/** True when Postgres refused rows for what they hold (retrying the same rows cannot succeed). */
export function isPermanentWriteError(e: unknown): boolean {
  const err = e as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = err?.code ?? err?.driverError?.code;
  return typeof code === 'string' && PERMANENT_SQLSTATE.test(code);
}

/**
 * The append-only, day-partitioned `sdk_events` table (migration 1764300000000): batched inserts,
 * and the partitions they land in.
 */
export class SdkEventRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Inserts a batch in one statement: one array parameter per column, expanded by `unnest`, so the
   * statement and its plan are the same for every batch size. Returns the rows inserted.
   *
   * `stampedAt` (the gateway's intake passes its write time) replaces each event's `receivedAt`
   * (see {@link receivedAtFor}): experiment aggregation reads by `received_at` from a watermark,
   * and a batch that waited in a queue (or through a database outage) must not be stored as
   * received in the past.
   */
  async insertBatch(events: readonly NewSdkEvent[], options: { stampedAt?: Date } = {}): Promise<number> {
    const stamp = options.stampedAt?.getTime();
    if (!events.length) return 0;
    const cols = {
      environmentId: [] as string[],
      kind: [] as string[],
      flag: [] as Array<string | null>,
      variation: [] as Array<string | null>,
      name: [] as Array<string | null>,
      value: [] as Array<number | null>,
      contextKey: [] as string[],
      occurredAt: [] as string[],
      receivedAt: [] as string[],
      sdkKeyId: [] as string[],
      experiment: [] as Array<string | null>,
      unit: [] as Array<string | null>,
    };
    for (const e of events) {
      cols.environmentId.push(e.environmentId);
      cols.kind.push(e.kind);
      cols.flag.push(e.kind === 'exposure' ? e.flag : null);
      cols.variation.push(e.kind === 'exposure' ? e.variation : null);
      cols.name.push(e.kind === 'metric' ? e.name : null);
      cols.value.push(e.kind === 'metric' ? e.value : null);
      cols.contextKey.push(e.contextKey);
      cols.occurredAt.push(e.occurredAt.toISOString());
      cols.receivedAt.push(stamp === undefined ? e.receivedAt.toISOString() : new Date(receivedAtFor(e.occurredAt.getTime(), stamp)).toISOString());
      cols.sdkKeyId.push(e.sdkKeyId);
      const experiment = e.kind === 'exposure' ? (e.experiment ?? null) : null;
      cols.experiment.push(experiment);
      cols.unit.push(experiment !== null && e.kind === 'exposure' ? (e.unit ?? null) : null);
    }
    await this.em.query(
      `INSERT INTO sdk_events (environment_id, kind, flag_key, variation, metric_name, metric_value, context_key, occurred_at, received_at, sdk_key_id, experiment_key, unit_key)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::uuid[], $11::text[], $12::text[])`,
      [cols.environmentId, cols.kind, cols.flag, cols.variation, cols.name, cols.value, cols.contextKey, cols.occurredAt, cols.receivedAt, cols.sdkKeyId, cols.experiment, cols.unit],
    );
    return events.length;
  }

  /**
   * Creates the daily partitions (UTC days) of `days` days from the day of `from` that do not
   * exist yet; returns how many it created. Idempotent and safe to call concurrently.
   */
  async ensurePartitions(from: Date, days: number): Promise<number> {
    const rows: Array<{ created: number }> = await this.em.query('SELECT sdk_events_ensure_partitions($1::date, $2::integer) AS created', [utcDay(from), days]);
    return rows[0].created;
  }

  /**
   * Per group totals for a guardrail, computed in Postgres: each unit's first exposure to the flag
   * in the period decides from when its metric events count; units that saw the treatment and
   * another variation are counted apart (`mixedUnits`). Two index range scans and a hash join.
   */
  async exposureSample(q: ExposureSampleQuery): Promise<ExposureSample> {
    const rows: Array<{ grp: 'treatment' | 'control' | 'mixed'; units: string; with_events: string; sum: string | null; sum_sq: string | null }> = await this.em.query(
      `WITH units AS (
         SELECT context_key, min(occurred_at) AS first_at,
                bool_or(variation = $3) AS saw_treatment, bool_or(variation <> $3) AS saw_other
         FROM sdk_events
         WHERE environment_id = $1 AND kind = 'exposure' AND flag_key = $2 AND occurred_at >= $5 AND occurred_at <= $6
           AND ($7 = 'all' OR sdk_key_id IN (SELECT id FROM sdk_keys WHERE kind = 'server'))
         GROUP BY context_key
       ), metric AS (
         SELECT context_key, occurred_at, metric_value
         FROM sdk_events
         WHERE environment_id = $1 AND metric_name = $4 AND occurred_at >= $5 AND occurred_at <= $6
           AND ($7 = 'all' OR sdk_key_id IN (SELECT id FROM sdk_keys WHERE kind = 'server'))
       ), per_unit AS (
         SELECT u.context_key, u.saw_treatment, u.saw_other, count(m.context_key) AS events, coalesce(sum(m.metric_value), 0) AS total
         FROM units u LEFT JOIN metric m ON m.context_key = u.context_key AND m.occurred_at >= u.first_at
         GROUP BY u.context_key, u.saw_treatment, u.saw_other
       )
       SELECT CASE WHEN saw_treatment AND saw_other THEN 'mixed' WHEN saw_treatment THEN 'treatment' ELSE 'control' END AS grp,
              count(*) AS units, count(*) FILTER (WHERE events > 0) AS with_events,
              -- numeric: squares of huge values do not overflow (a non-finite result is judged as no data)
              sum(total::numeric)::text AS sum, sum(total::numeric * total::numeric)::text AS sum_sq
       FROM per_unit GROUP BY 1`,
      [q.environmentId, q.flag, q.treatment, q.metric, q.since.toISOString(), q.until.toISOString(), q.sources ?? 'server'],
    );
    const empty = (): GroupTotals => ({ units: 0, unitsWithEvents: 0, sum: 0, sumOfSquares: 0 });
    const out: ExposureSample = { treatment: empty(), control: empty(), mixedUnits: 0 };
    for (const r of rows) {
      if (r.grp === 'mixed') {
        out.mixedUnits = Number(r.units);
        continue;
      }
      out[r.grp] = { units: Number(r.units), unitsWithEvents: Number(r.with_events), sum: Number(r.sum ?? 0), sumOfSquares: Number(r.sum_sq ?? 0) };
    }
    return out;
  }

  /** Drops the daily partitions of days before the UTC day of `day` (retention); returns their names. */
  async dropPartitionsBefore(day: Date): Promise<string[]> {
    const rows: Array<{ name: string }> = await this.em.query('SELECT sdk_events_drop_partitions_before($1::date) AS name', [utcDay(day)]);
    return rows.map((r) => r.name);
  }
}

/** `YYYY-MM-DD` of the UTC day of `at`. */
function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}
