import type { EntityManager } from 'typeorm';

/** What every stored SDK event carries: who sent it, for which unit, and when. */
interface NewSdkEventBase {
  environmentId: string;
  /** The SDK key that sent it. */
  sdkKeyId: string;
  /** The context's `targetingKey`. */
  contextKey: string;
  /** When it happened, by the SDK's clock. */
  occurredAt: Date;
  /** When the gateway accepted it. */
  receivedAt: Date;
}

/** One row for `sdk_events`: an exposure or a metric observation. */
export type NewSdkEvent =
  | (NewSdkEventBase & { kind: 'exposure'; flag: string; variation: string })
  | (NewSdkEventBase & { kind: 'metric'; name: string; value: number });

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
   */
  async insertBatch(events: readonly NewSdkEvent[]): Promise<number> {
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
      cols.receivedAt.push(e.receivedAt.toISOString());
      cols.sdkKeyId.push(e.sdkKeyId);
    }
    await this.em.query(
      `INSERT INTO sdk_events (environment_id, kind, flag_key, variation, metric_name, metric_value, context_key, occurred_at, received_at, sdk_key_id)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::uuid[])`,
      [cols.environmentId, cols.kind, cols.flag, cols.variation, cols.name, cols.value, cols.contextKey, cols.occurredAt, cols.receivedAt, cols.sdkKeyId],
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
