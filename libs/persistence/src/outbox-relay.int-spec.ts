import { Redis } from 'ioredis';
import { ChangePublisher, ChangeRelay } from '@flagstream/change-feed';
import { CHANGE_EVENT_VERSION, changeStreamKey, type ChangeEventV1 } from '@flagstream/protocol';
import { TEST_REDIS_URL, createTestDatabase, uniqueId, type TestDatabase } from '@flagstream/testing';
import { OutboxDrain } from './outbox-drain';
import { Store } from './store';

describe('outbox relay (Postgres -> Redis streams)', () => {
  let db: TestDatabase;
  let store: Store;
  let redis: Redis;
  let prefix: string;
  let envId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await Store.connect({ databaseUrl: db.url, auditKey: 'k'.repeat(32), poolSize: 4 });
    redis = new Redis(TEST_REDIS_URL);
    prefix = `flagstream-test:${uniqueId()}:`;
    const [p] = await db.query<{ id: string }>(`INSERT INTO projects (key, name) VALUES ('p', 'P') RETURNING id`);
    const [e] = await db.query<{ id: string }>(`INSERT INTO environments (project_id, key, name) VALUES ($1, 'dev', 'Dev') RETURNING id`, [p.id]);
    envId = e.id;
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await store.close();
    await db.drop();
  });

  /** Commits changes the way the admin API does: bump the revision, insert the outbox row. */
  async function commitChanges(n: number): Promise<number[]> {
    const revisions: number[] = [];
    for (let i = 0; i < n; i++) {
      await store.transaction(async (tx) => {
        await tx.environments.lockForChange([envId]);
        const revision = await tx.environments.bumpRevision(envId);
        const event: ChangeEventV1 = {
          v: CHANGE_EVENT_VERSION,
          environmentId: envId,
          project: 'p',
          environment: 'dev',
          revision,
          occurredAt: new Date().toISOString(),
          auditSeq: revision,
          changes: [{ type: 'flag.delete', key: `f${revision}` }],
        };
        await tx.outbox.insert(event);
        revisions.push(revision);
      });
    }
    return revisions;
  }

  async function streamRevisions(): Promise<number[]> {
    const entries = await redis.xrange(changeStreamKey(prefix, envId), '-', '+');
    return entries.map(([id, fields]) => {
      const event = JSON.parse(fields[1]) as ChangeEventV1;
      expect(id).toBe(`${event.revision}-0`);
      return event.revision;
    });
  }

  async function unpublished(): Promise<number> {
    const [r] = await db.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL');
    return Number(r.n);
  }

  const options = { batchSize: 2, pollIntervalMs: 60_000 };

  it('publishes, after a restart, what a process committed but never published', async () => {
    // The "crashed" process committed three changes and died before its relay ran.
    expect(await commitChanges(3)).toEqual([1, 2, 3]);
    expect(await unpublished()).toBe(3);
    expect(await streamRevisions()).toEqual([]);

    // A new process starts: its relay publishes what is pending, in revision order.
    const relay = new ChangeRelay(new OutboxDrain(store), new ChangePublisher(redis, { keyPrefix: prefix, maxLen: 1000 }), options);
    relay.start();
    await relay.stop();
    expect(await relay.drain()).toBe(0);
    expect(await streamRevisions()).toEqual([1, 2, 3]);
    expect(await unpublished()).toBe(0);
  });

  it('re-publishing after a crash between XADD and marking is harmless (at-least-once, idempotent)', async () => {
    await commitChanges(2); // revisions 4 and 5
    const real = new ChangePublisher(redis, { keyPrefix: prefix, maxLen: 1000 });
    // Publishes to Redis, then dies before the outbox rows are marked.
    const dying = { publish: async (events: readonly ChangeEventV1[]) => {
      await real.publish(events);
      throw new Error('process killed');
    } } as unknown as ChangePublisher;
    await expect(new ChangeRelay(new OutboxDrain(store), dying, options).drain()).rejects.toThrow('process killed');
    expect(await unpublished()).toBe(2);
    expect(await streamRevisions()).toEqual([1, 2, 3, 4, 5]);

    expect(await new ChangeRelay(new OutboxDrain(store), real, options).drain()).toBe(2);
    expect(await unpublished()).toBe(0);
    expect(await streamRevisions()).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps revisions gap-free under concurrent writers', async () => {
    await Promise.all([commitChanges(5), commitChanges(5), commitChanges(5)]);
    const rows = await db.query<{ revision: string }>('SELECT revision FROM outbox WHERE environment_id = $1 ORDER BY revision', [envId]);
    expect(rows.map((r) => Number(r.revision))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await new ChangeRelay(new OutboxDrain(store), new ChangePublisher(redis, { keyPrefix: prefix, maxLen: 1000 }), options).drain();
    expect(await streamRevisions()).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('lets only one relay pass run at a time', async () => {
    await commitChanges(1);
    let inside = 0;
    let maxInside = 0;
    const slow = { publish: async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await new Promise((r) => setTimeout(r, 100));
      inside--;
    } } as unknown as ChangePublisher;
    const a = new ChangeRelay(new OutboxDrain(store), slow, options);
    const b = new ChangeRelay(new OutboxDrain(store), slow, options);
    const [na, nb] = await Promise.all([a.drain(), b.drain()]);
    expect(na + nb).toBe(1);
    expect(maxInside).toBe(1);
  });

  it('bounds each stream with MAXLEN', async () => {
    const small = new ChangePublisher(redis, { keyPrefix: `${prefix}small:`, maxLen: 100 });
    const events: ChangeEventV1[] = Array.from({ length: 1000 }, (_, i) => ({
      v: CHANGE_EVENT_VERSION, environmentId: envId, project: 'p', environment: 'dev', revision: i + 1, occurredAt: new Date().toISOString(), auditSeq: 0, changes: [],
    }));
    await small.publish(events);
    const len = await redis.xlen(changeStreamKey(`${prefix}small:`, envId));
    expect(len).toBeLessThan(1000);
    expect(len).toBeGreaterThanOrEqual(100);
  });
});
