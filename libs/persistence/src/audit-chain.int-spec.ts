import { Store } from './store';
import { createTestDatabase, type TestDatabase } from '@flagstream/testing';

const KEY = 'integration-audit-key-0123456789abcdef';
const actor = { type: 'token' as const, id: 't1', name: 'alice' };

describe('audit chain in Postgres', () => {
  let db: TestDatabase;
  let store: Store;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await Store.connect({ databaseUrl: db.url, auditKey: KEY, poolSize: 4 });
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  async function appendFive(): Promise<void> {
    for (let i = 1; i <= 5; i++) {
      await store.transaction((tx) =>
        tx.audit.append({ actor, action: 'flag.updated', target: { type: 'flag', key: `f${i}` }, project: 'p', before: { on: false }, after: { on: true, token: 'fs_admin_secret' }, requestId: `r${i}` }),
      );
    }
  }

  /** Runs SQL with the append-only triggers switched off, as an attacker with table rights could. */
  async function tamper(sql: string): Promise<void> {
    await db.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    try {
      await db.query(sql);
    } finally {
      await db.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
    }
  }

  beforeEach(async () => {
    await tamper('DELETE FROM audit_events');
    await appendFive();
  });

  it('appends a gap-free chain that verifies, with secrets redacted from payloads', async () => {
    const rows = await db.query<{ seq: string; after: { token: string } }>('SELECT seq, after FROM audit_events ORDER BY seq');
    expect(rows.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5]);
    expect(rows[0].after.token).toBe('[REDACTED]');
    expect(await store.read.audit.verify()).toMatchObject({ ok: true, checked: 5, lastSeq: 5 });
  });

  it('verifies across pages', async () => {
    expect(await store.read.audit.verify(2)).toMatchObject({ ok: true, checked: 5 });
  });

  it('serialises concurrent appends into one chain', async () => {
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        store.transaction((tx) => tx.audit.append({ actor, action: 'x', target: { type: 'flag', key: `c${i}` } })),
      ),
    );
    const verdict = await store.read.audit.verify();
    expect(verdict).toMatchObject({ ok: true, checked: 17, lastSeq: 17 });
  });

  it('rejects UPDATE, DELETE and TRUNCATE through the trigger', async () => {
    await expect(db.query(`UPDATE audit_events SET action = 'x' WHERE seq = 1`)).rejects.toThrow(/append-only: UPDATE/);
    await expect(db.query('DELETE FROM audit_events WHERE seq = 1')).rejects.toThrow(/append-only: DELETE/);
    await expect(db.query('TRUNCATE audit_events')).rejects.toThrow(/append-only: TRUNCATE/);
  });

  it('detects an edited row', async () => {
    await tamper(`UPDATE audit_events SET after = '{"on": false}' WHERE seq = 3`);
    expect(await store.read.audit.verify()).toMatchObject({ ok: false, brokenAt: 3, checked: 2 });
  });

  it('detects a deleted row', async () => {
    await tamper('DELETE FROM audit_events WHERE seq = 2');
    expect(await store.read.audit.verify()).toMatchObject({ ok: false, brokenAt: 2, problem: 'record 2 is missing (next present is 3)' });
  });

  it('detects reordered rows (contents of 2 and 4 swapped)', async () => {
    await tamper(`
      UPDATE audit_events a SET target_key = b.target_key, request_id = b.request_id
      FROM audit_events b WHERE (a.seq, b.seq) IN ((2, 4), (4, 2))`);
    expect(await store.read.audit.verify()).toMatchObject({ ok: false, brokenAt: 2 });
  });

  it('detects a forged row appended with a wrong key', async () => {
    const forger = await Store.connect({ databaseUrl: db.url, auditKey: 'forger-key-forger-key-forger-key-00', poolSize: 1 });
    try {
      await forger.transaction((tx) => tx.audit.append({ actor, action: 'forged', target: { type: 'flag', key: 'x' } }));
    } finally {
      await forger.close();
    }
    expect(await store.read.audit.verify()).toMatchObject({ ok: false, brokenAt: 6 });
  });
});
