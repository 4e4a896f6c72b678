import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@flagstream/testing';
import { Store } from './store';
import { isPermanentWriteError, type NewSdkEvent } from './repositories/sdk-event.repository';

const DAY = 86_400_000;

describe('sdk_events in Postgres', () => {
  let db: TestDatabase;
  let store: Store;
  const environmentId = randomUUID();
  const sdkKeyId = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await Store.connect({ databaseUrl: db.url, poolSize: 4 });
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  const utcMidnight = (at: number) => Math.floor(at / DAY) * DAY;
  const partitionName = (at: number) => `sdk_events_${new Date(at).toISOString().slice(0, 10).replace(/-/g, '')}`;

  function exposure(occurredAt: Date, contextKey = 'u1', receivedAt = new Date()): NewSdkEvent {
    return { kind: 'exposure', environmentId, sdkKeyId, flag: 'checkout', variation: 'on', contextKey, occurredAt, receivedAt };
  }

  async function partitions(): Promise<string[]> {
    const rows = await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'sdk_events'::regclass ORDER BY 1`,
    );
    return rows.map((r) => r.name);
  }

  it('creates daily partitions ahead, idempotently, and keeps a default partition', async () => {
    const today = utcMidnight(Date.now());
    expect(await partitions()).toEqual(['sdk_events_default']);
    expect(await store.read.sdkEvents.ensurePartitions(new Date(today + 5000), 2)).toBe(2);
    expect(await store.read.sdkEvents.ensurePartitions(new Date(today), 2)).toBe(0);
    expect(await partitions()).toEqual([partitionName(today), partitionName(today + DAY), 'sdk_events_default'].sort());
    const bounds = await db.query<{ bound: string }>(`SELECT pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_class c WHERE c.relname = $1`, [partitionName(today)]);
    const day = new Date(today).toISOString().slice(0, 10);
    const next = new Date(today + DAY).toISOString().slice(0, 10);
    expect(bounds[0].bound).toBe(`FOR VALUES FROM ('${day} 00:00:00+00') TO ('${next} 00:00:00+00')`);
  });

  it('serialises concurrent creators of the same days', async () => {
    const from = new Date(utcMidnight(Date.now()) + 10 * DAY);
    const created = await Promise.all([1, 2, 3, 4].map(() => store.read.sdkEvents.ensurePartitions(from, 3)));
    expect(created.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('inserts a batch in one statement, each row in the partition of its day (others in the default)', async () => {
    const now = Date.now();
    const today = utcMidnight(now);
    await store.read.sdkEvents.ensurePartitions(new Date(today), 2);
    const receivedAt = new Date(now);
    const events: NewSdkEvent[] = [
      exposure(new Date(today + 1000), 'today', receivedAt),
      { kind: 'metric', environmentId, sdkKeyId, name: 'checkout.errors', value: 2.5, contextKey: 'tomorrow', occurredAt: new Date(today + DAY + 1000), receivedAt },
      exposure(new Date(today - 3 * DAY), 'old', receivedAt),
    ];
    expect(await store.read.sdkEvents.insertBatch(events)).toBe(3);
    const rows = await db.query<Record<string, unknown>>(
      `SELECT tableoid::regclass::text AS part, environment_id, kind, flag_key, variation, metric_name, metric_value, context_key, occurred_at, received_at, sdk_key_id
       FROM sdk_events WHERE context_key IN ('today', 'tomorrow', 'old') ORDER BY occurred_at`,
    );
    expect(rows).toEqual([
      { part: 'sdk_events_default', environment_id: environmentId, kind: 'exposure', flag_key: 'checkout', variation: 'on', metric_name: null, metric_value: null, context_key: 'old', occurred_at: new Date(today - 3 * DAY), received_at: receivedAt, sdk_key_id: sdkKeyId },
      { part: partitionName(today), environment_id: environmentId, kind: 'exposure', flag_key: 'checkout', variation: 'on', metric_name: null, metric_value: null, context_key: 'today', occurred_at: new Date(today + 1000), received_at: receivedAt, sdk_key_id: sdkKeyId },
      { part: partitionName(today + DAY), environment_id: environmentId, kind: 'metric', flag_key: null, variation: null, metric_name: 'checkout.errors', metric_value: 2.5, context_key: 'tomorrow', occurred_at: new Date(today + DAY + 1000), received_at: receivedAt, sdk_key_id: sdkKeyId },
    ]);
    expect(await store.read.sdkEvents.insertBatch([])).toBe(0);
  });

  it('is append-only: UPDATE and DELETE are refused on the table and on each partition', async () => {
    await store.read.sdkEvents.insertBatch([exposure(new Date(), 'immutable')]);
    await expect(db.query(`UPDATE sdk_events SET variation = 'off' WHERE context_key = 'immutable'`)).rejects.toThrow('sdk_events is append-only: UPDATE is not allowed');
    await expect(db.query(`DELETE FROM sdk_events WHERE context_key = 'immutable'`)).rejects.toThrow('sdk_events is append-only: DELETE is not allowed');
    await expect(db.query(`DELETE FROM ${partitionName(Date.now())}`)).rejects.toThrow('append-only');
    await expect(db.query(`DELETE FROM sdk_events_default`)).rejects.toThrow('append-only');
    expect(await db.query(`SELECT 1 FROM sdk_events WHERE context_key = 'immutable'`)).toHaveLength(1);
  });

  it('refuses rows that break the table constraints, as permanent errors', async () => {
    const received = new Date();
    const future = exposure(new Date(received.getTime() + 25 * 3600_000), 'future', received);
    const error = await store.read.sdkEvents.insertBatch([future]).catch((e: unknown) => e);
    expect(String(error)).toContain('check constraint');
    expect(isPermanentWriteError(error)).toBe(true);
    expect(isPermanentWriteError(Object.assign(new Error('gone'), { code: '57P01' }))).toBe(false);
    expect(isPermanentWriteError(new Error('ECONNREFUSED'))).toBe(false);
    expect(await db.query(`SELECT 1 FROM sdk_events WHERE context_key = 'future'`)).toHaveLength(0);
  });

  it('leaves a day whose events are already in the default partition there, and creates the others', async () => {
    const stray = utcMidnight(Date.now()) - 5 * DAY;
    await store.read.sdkEvents.insertBatch([exposure(new Date(stray + 60_000), 'stray')]);
    expect(await store.read.sdkEvents.ensurePartitions(new Date(stray - DAY), 3)).toBe(2);
    const names = await partitions();
    expect(names).toContain(partitionName(stray - DAY));
    expect(names).not.toContain(partitionName(stray));
    expect(names).toContain(partitionName(stray + DAY));
    expect(await db.query(`SELECT tableoid::regclass::text AS part FROM sdk_events WHERE context_key = 'stray'`)).toEqual([{ part: 'sdk_events_default' }]);
  });

  it('drops whole days before a date (retention), keeping later days and the default partition', async () => {
    const today = utcMidnight(Date.now());
    const dropped = await store.read.sdkEvents.dropPartitionsBefore(new Date(today));
    expect(dropped).toEqual([partitionName(today - 6 * DAY), partitionName(today - 4 * DAY)]);
    const names = await partitions();
    expect(names).toContain(partitionName(today));
    expect(names).toContain('sdk_events_default');
    expect(names.filter((n) => n < partitionName(today) && n !== 'sdk_events_default')).toEqual([]);
  });

  it('samples a guardrail: first exposure per unit, treatment vs the rest, mixed units apart, and only server keys unless told', async () => {
    const env = randomUUID();
    const key = randomUUID(); // not a server key in sdk_keys (as a public client key's events are not)
    const at = (s: number) => new Date(Date.now() - 60_000 + s * 1000);
    const base = { environmentId: env, sdkKeyId: key, receivedAt: new Date() };
    const events: NewSdkEvent[] = [
      { ...base, kind: 'exposure', flag: 'f', variation: 'on', contextKey: 't1', occurredAt: at(1) },
      { ...base, kind: 'exposure', flag: 'f', variation: 'on', contextKey: 't2', occurredAt: at(1) },
      { ...base, kind: 'exposure', flag: 'f', variation: 'off', contextKey: 'c1', occurredAt: at(1) },
      { ...base, kind: 'exposure', flag: 'f', variation: 'on', contextKey: 'm1', occurredAt: at(1) },
      { ...base, kind: 'exposure', flag: 'f', variation: 'off', contextKey: 'm1', occurredAt: at(2) },
      // t1 errs twice after its exposure; c1 erred before its first exposure only (does not count).
      { ...base, kind: 'metric', name: 'errors', value: 1, contextKey: 't1', occurredAt: at(3) },
      { ...base, kind: 'metric', name: 'errors', value: 2, contextKey: 't1', occurredAt: at(4) },
      { ...base, kind: 'metric', name: 'errors', value: 1, contextKey: 'c1', occurredAt: at(0) },
    ];
    await store.read.sdkEvents.insertBatch(events);
    const q = { environmentId: env, flag: 'f', treatment: 'on', metric: 'errors', since: at(-10), until: new Date() };
    expect(await store.read.sdkEvents.exposureSample({ ...q, sources: 'all' })).toEqual({
      treatment: { units: 2, unitsWithEvents: 1, sum: 3, sumOfSquares: 9 },
      control: { units: 1, unitsWithEvents: 0, sum: 0, sumOfSquares: 0 },
      mixedUnits: 1,
    });
    const none = { units: 0, unitsWithEvents: 0, sum: 0, sumOfSquares: 0 };
    expect(await store.read.sdkEvents.exposureSample(q)).toEqual({ treatment: none, control: none, mixedUnits: 0 });
  });
});
