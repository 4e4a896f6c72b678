import { randomUUID } from 'node:crypto';
import { Store, type NewSdkEvent } from '@flagstream/persistence';
import { createTestDatabase, type TestDatabase } from '@flagstream/testing';
import { PostgresEventWriter } from './sdk-event.intake';

const DAY = 86_400_000;

describe('PostgresEventWriter', () => {
  let db: TestDatabase;
  let store: Store;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await Store.connect({ databaseUrl: db.url, poolSize: 2 });
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  const name = (at: number) => `sdk_events_${new Date(at).toISOString().slice(0, 10).replace(/-/g, '')}`;

  async function partitions(): Promise<string[]> {
    const rows = await db.query<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'sdk_events'::regclass ORDER BY 1`);
    return rows.map((r) => r.name);
  }

  it('prepares today and tomorrow before the first write of each UTC day, and writes into them', async () => {
    // A clock far from the real one, so the days are this test's own.
    let clock = Math.floor(Date.now() / DAY) * DAY + 100 * DAY + 3_600_000;
    const writer = new PostgresEventWriter(store, () => clock);
    const event = (contextKey: string): NewSdkEvent => ({
      kind: 'exposure', environmentId: randomUUID(), sdkKeyId: randomUUID(), flag: 'f', variation: 'on', contextKey, occurredAt: new Date(clock), receivedAt: new Date(clock),
    });
    const day0 = Math.floor(clock / DAY) * DAY;

    await writer.write([event('first')]);
    expect(await partitions()).toEqual([name(day0), name(day0 + DAY), 'sdk_events_default']);
    // Later the same day: nothing more is prepared (a partition dropped meanwhile is not recreated).
    await db.query(`DROP TABLE ${name(day0 + DAY)}`);
    clock += 3_600_000;
    await writer.write([event('same-day')]);
    expect(await partitions()).toEqual([name(day0), 'sdk_events_default']);
    // The next day's first write prepares that day and the one after.
    clock += DAY;
    await writer.write([event('next-day')]);
    expect(await partitions()).toEqual([name(day0), name(day0 + DAY), name(day0 + 2 * DAY), 'sdk_events_default']);
    const rows = await db.query<{ context_key: string; part: string }>(`SELECT context_key, tableoid::regclass::text AS part FROM sdk_events ORDER BY occurred_at`);
    expect(rows).toEqual([
      { context_key: 'first', part: name(day0) },
      { context_key: 'same-day', part: name(day0) },
      { context_key: 'next-day', part: name(day0 + DAY) },
    ]);
  });

  it('stores the write time as received_at, not the time the request came in', async () => {
    const clock = Math.floor(Date.now() / DAY) * DAY + 200 * DAY;
    const writer = new PostgresEventWriter(store, () => clock);
    // Accepted a minute before the write (it waited in the queue).
    await writer.write([{ kind: 'metric', environmentId: randomUUID(), sdkKeyId: randomUUID(), name: 'm', value: 1, contextKey: 'queued', occurredAt: new Date(clock - 90_000), receivedAt: new Date(clock - 60_000) }]);
    const [row] = await db.query<{ received_at: Date }>(`SELECT received_at FROM sdk_events WHERE context_key = 'queued'`);
    expect(row!.received_at.getTime()).toBe(clock);
  });
});
