import { FlagstreamClient } from '@flagstream/sdk';
import { createProject, createToken, eventually, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';
import { startSchedulingAdmin, startWorker, type SchedulingAdminHarness, type WorkerHarness } from './support/worker-harness';

const P = '/api/v1/projects/shop';
const S = `${P}/scheduled-changes`;

interface AuditRow {
  action: string;
  actor_type: string;
  actor_id: string;
  actor_name: string;
  target_key: string;
  environment_key: string | null;
  reason: string | null;
}

describe('scheduled changes: applied by the worker through the change pipeline', () => {
  let h: SchedulingAdminHarness;
  let api: ApiClient;
  let editor: ApiClient;
  let gw: GatewayHarness;
  let client: FlagstreamClient;
  const workers: WorkerHarness[] = [];
  const user = { targetingKey: 'u1' };

  const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
  const revisionOf = async (env: string) => (await api.get(`${P}/environments/${env}`)).body.revision as number;
  const queue = () => h.scheduleQueue.queue;

  async function schedule(body: Record<string, unknown>, as: ApiClient = api) {
    const res = await as.post(S, body);
    if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body as { id: string; version: number; runAt: string; conflicts: Array<{ id: string }> };
  }

  async function settled(id: string, status = 'applied', timeoutMs = 8000) {
    return eventually(async () => {
      const res = await api.get(`${S}/${id}`);
      return res.body.status === status ? (res.body as { revision: number | null; error: { code: string; message: string } | null; appliedAt: string | null }) : undefined;
    }, timeoutMs);
  }

  async function auditOf(targetKey: string, action?: string): Promise<AuditRow[]> {
    return h.db.query<AuditRow>(
      `SELECT action, actor_type, actor_id, actor_name, target_key, environment_key, reason FROM audit_events
        WHERE target_key = $1 AND ($2::text IS NULL OR action = $2) ORDER BY seq`,
      [targetKey, action ?? null],
    );
  }

  async function flag(key: string): Promise<void> {
    const res = await api.post(`${P}/flags`, { key, kind: 'boolean' });
    if (res.status !== 201) throw new Error(`flag creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  }

  beforeAll(async () => {
    h = await startSchedulingAdmin();
    api = h.api(h.ownerToken);
    editor = h.api(await createToken(h, 'editor'));
    await createProject(h, 'shop');
    for (const key of ['checkout', 'banner', 'search']) await flag(key);
    expect((await api.post(`${P}/segments`, { key: 'testers', included: ['u1'] })).status).toBe(201);
    expect((await api.post(`${P}/configs`, { key: 'payments.limit', schema: { type: 'integer', minimum: 1 }, default: 100 })).status).toBe(201);
    const key = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' })).body.key as string;
    gw = await startGateway(h);
    workers.push(await startWorker(h));
    client = new FlagstreamClient({ sdkKey: key, baseUrl: gw.url, backoff: { initialMs: 20, maxMs: 200 } });
    await client.ready();
  });

  afterAll(async () => {
    await client?.close();
    for (const w of workers) await w.close();
    await gw?.close();
    await h?.close();
  }, 30_000);

  it('applies a toggle at its time, as the scheduler, audited with the creator, and the SDK sees it', async () => {
    const before = await revisionOf('staging');
    const changed = new Promise<number>((resolve) => client.on('change', () => resolve(Date.now())));
    const created = await editor.post(S, { environment: 'staging', runAt: inMs(800), change: { type: 'flag.toggle', flag: 'checkout', on: true }, reason: 'launch' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({
      project: 'shop',
      environment: 'staging',
      change: { type: 'flag.toggle', flag: 'checkout', on: true },
      status: 'pending',
      version: 1,
      createdBy: { type: 'token', name: 'editor' },
      reason: 'launch',
      appliedAt: null,
      revision: null,
      error: null,
      conflicts: [],
    });
    // The admin enqueued a delayed job with the deterministic id.
    const job = await queue().getJob(`sched-${id}-v1`);
    expect(await job?.getState()).toBe('delayed');
    expect(client.boolean('checkout', user, false)).toBe(false);

    const at = await changed;
    expect(at).toBeGreaterThanOrEqual(Date.parse(created.body.runAt as string) - 100);
    expect(client.boolean('checkout', user, false)).toBe(true);
    const applied = await settled(id);
    expect(applied.revision).toBe(before + 1);
    expect(await revisionOf('staging')).toBe(before + 1);
    expect(await auditOf('checkout', 'flag.turned_on')).toEqual([
      { action: 'flag.turned_on', actor_type: 'system', actor_id: 'scheduler', actor_name: 'scheduler', target_key: 'checkout', environment_key: 'staging', reason: `scheduled change ${id} (editor): launch` },
    ]);
    expect(await auditOf(id)).toEqual([expect.objectContaining({ action: 'schedule.created', actor_type: 'token', actor_name: 'editor', environment_key: 'staging' })]);
    // The worker's metrics count the job.
    const duration = await workers[0].registry.getSingleMetric('flagstream_worker_job_duration_seconds')!.get();
    expect(duration.values.find((v) => (v as { metricName?: string }).metricName === 'flagstream_worker_job_duration_seconds_count' && v.labels.queue === 'scheduled-changes' && v.labels.outcome === 'applied')?.value).toBe(1);
    const depth = await workers[0].registry.getSingleMetric('flagstream_worker_queue_jobs')!.get();
    expect(depth.values.filter((v) => v.labels.queue === 'scheduled-changes').map((v) => [v.labels.state, v.value]).sort()).toEqual([['active', 0], ['delayed', 0], ['failed', 0], ['waiting', 0]]);
  });

  it('applies settings writes and config values (environment value and tenant override) the same way', async () => {
    const settings = {
      on: true,
      offVariation: 'off',
      prerequisites: [],
      rules: [{ id: 'testers', clauses: [{ operator: 'inSegment', values: ['testers'] }], serve: { variation: 'on' } }],
      defaultServe: { variation: 'off' },
    };
    const runAt = inMs(700);
    const a = await schedule({ environment: 'staging', runAt, change: { type: 'flag.settings', flag: 'banner', settings } });
    const b = await schedule({ environment: 'staging', runAt, change: { type: 'config.set', config: 'payments.limit', tenant: 'acme', value: 7 } });
    const c = await schedule({ environment: 'development', runAt, change: { type: 'config.set', config: 'payments.limit', value: 5 } });
    const d = await schedule({ environment: 'development', runAt: inMs(60_000), change: { type: 'config.remove', config: 'payments.limit' } });
    for (const s of [a, b, c]) expect((await settled(s.id)).revision).toEqual(expect.any(Number));
    await eventually(async () => client.boolean('banner', { targetingKey: 'u1' }, false));
    expect(client.boolean('banner', { targetingKey: 'u2' }, true)).toBe(false);
    const config = (await api.get(`${P}/configs/payments.limit`)).body;
    expect(config.environments).toMatchObject({ staging: { tenants: { acme: 7 } }, development: { value: 5 } });
    // Both are due at once: either may apply first.
    const configAudit = (await auditOf('payments.limit', 'config.value.set')).map((r) => [r.actor_id, r.reason]);
    expect(configAudit).toHaveLength(2);
    expect(configAudit).toEqual(
      expect.arrayContaining([
        ['scheduler', `scheduled change ${b.id} (owner (first start))`],
        ['scheduler', `scheduled change ${c.id} (owner (first start))`],
      ]),
    );
    // Removing the development value, rescheduled to now-ish, applies too.
    const moved = await api.patch(`${S}/${d.id}`, { runAt: inMs(300), version: 1 });
    expect(moved.status).toBe(200);
    await settled(d.id);
    expect((await api.get(`${P}/configs/payments.limit`)).body.environments.development).toBeUndefined();
  });

  it('reschedules and cancels pending changes, with versions; applied or cancelled ones answer 409', async () => {
    const revision = await revisionOf('staging');
    const s = await schedule({ environment: 'staging', runAt: inMs(3_600_000), change: { type: 'flag.toggle', flag: 'search', on: true } });
    expect((await api.patch(`${S}/${s.id}`, { runAt: inMs(7_200_000) })).status).toBe(428);
    const stale = await api.patch(`${S}/${s.id}`, { runAt: inMs(7_200_000), version: 2 });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('VERSION_CONFLICT');
    const past = await api.patch(`${S}/${s.id}`, { runAt: new Date(Date.now() - 1000).toISOString(), version: 1 });
    expect(past.status).toBe(400);
    expect(past.body.error.details[0].path).toBe('runAt');

    const runAt = inMs(7_200_000);
    const moved = await api.raw().patch(`${S}/${s.id}`).set('Authorization', `Bearer ${h.ownerToken}`).set('If-Match', '"1"').send({ runAt });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ version: 2, status: 'pending', runAt, conflicts: [] });
    expect(await queue().getJob(`sched-${s.id}-v1`)).toBeUndefined();
    const job = await queue().getJob(`sched-${s.id}-v2`);
    expect(await job?.getState()).toBe('delayed');
    expect(job!.timestamp + job!.delay).toBeGreaterThanOrEqual(Date.parse(runAt) - 1000);

    const staleCancel = await api.post(`${S}/${s.id}/cancel`, { version: 1 });
    expect(staleCancel.status).toBe(409);
    expect(staleCancel.body.error.code).toBe('VERSION_CONFLICT');
    const cancelled = await api.post(`${S}/${s.id}/cancel`, { version: 2 });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', version: 3 });
    expect(await queue().getJob(`sched-${s.id}-v2`)).toBeUndefined();
    const again = await api.post(`${S}/${s.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'CONFLICT', message: `scheduled change ${s.id} is cancelled; only a pending change can be cancelled` });
    expect((await api.patch(`${S}/${s.id}`, { runAt: inMs(60_000), version: 3 })).status).toBe(409);

    const applied = (await api.get(`${S}?status=applied&flag=checkout`)).body.items[0] as { id: string };
    const late = await api.post(`${S}/${applied.id}/cancel`);
    expect(late.status).toBe(409);
    expect(late.body.error.message).toBe(`scheduled change ${applied.id} is applied; only a pending change can be cancelled`);
    expect((await auditOf(s.id)).map((r) => r.action)).toEqual(['schedule.created', 'schedule.rescheduled', 'schedule.cancelled']);
    // Scheduling writes audit records but stream nothing.
    expect(await revisionOf('staging')).toBe(revision);
  });

  it('lists with filters and pages, and reports conflicting pending changes of the same target', async () => {
    const first = await schedule({ environment: 'production', runAt: inMs(3_600_000), change: { type: 'flag.toggle', flag: 'search', on: true } });
    const second = await schedule({ environment: 'production', runAt: inMs(1_800_000), change: { type: 'flag.settings', flag: 'search', settings: { on: false, offVariation: 'off', prerequisites: [], rules: [], defaultServe: { variation: 'on' } } } });
    expect(second.conflicts).toEqual([{ id: first.id, runAt: first.runAt, change: { type: 'flag.toggle', flag: 'search', on: true } }]);
    const elsewhere = await schedule({ environment: 'development', runAt: inMs(3_600_000), change: { type: 'flag.toggle', flag: 'search', on: true } });
    expect(elsewhere.conflicts).toEqual([]);
    const tenantA = await schedule({ environment: 'production', runAt: inMs(3_600_000), change: { type: 'config.set', config: 'payments.limit', tenant: 'acme', value: 3 } });
    const tenantB = await schedule({ environment: 'production', runAt: inMs(3_600_000), change: { type: 'config.remove', config: 'payments.limit', tenant: 'acme' } });
    expect(tenantB.conflicts.map((c) => c.id)).toEqual([tenantA.id]);
    const envValue = await schedule({ environment: 'production', runAt: inMs(3_600_000), change: { type: 'config.set', config: 'payments.limit', value: 3 } });
    expect(envValue.conflicts).toEqual([]);
    // Rescheduling reports them too.
    const moved = await api.patch(`${S}/${first.id}`, { runAt: inMs(900_000), version: 1 });
    expect(moved.body.conflicts.map((c: { id: string }) => c.id)).toEqual([second.id]);

    const production = await api.get(`${S}?environment=production&status=pending&flag=search`);
    expect(production.body.items.map((s: { id: string }) => s.id)).toEqual([first.id, second.id]);
    const page1 = await api.get(`${S}?status=pending&limit=2`);
    expect(page1.body.items).toHaveLength(2);
    const page2 = await api.get(`${S}?status=pending&limit=2&cursor=${page1.body.nextCursor as string}`);
    expect(page2.body.items[0].runAt >= page1.body.items[1].runAt).toBe(true);
    expect(page2.body.items.map((s: { id: string }) => s.id)).not.toContain(page1.body.items[1].id);
    expect((await api.get(`${S}?cursor=bogus`)).status).toBe(400);
    expect((await api.get(`${S}?flag=search&config=payments.limit`)).status).toBe(400);
    expect((await api.get(`${S}?status=done`)).status).toBe(400);
    for (const s of [first, second, elsewhere, tenantA, tenantB, envValue]) await api.post(`${S}/${s.id}/cancel`);
  });

  it('validates a change at creation as the manual write would, with paths into the request', async () => {
    const ok = { environment: 'staging', runAt: inMs(60_000), change: { type: 'flag.toggle', flag: 'search', on: true } };
    const cases: Array<[Record<string, unknown>, number, string | undefined]> = [
      [{ ...ok, runAt: new Date(Date.now() - 1000).toISOString() }, 400, 'runAt'],
      [{ ...ok, runAt: new Date(Date.now() + 367 * 24 * 3600 * 1000).toISOString() }, 400, 'runAt'],
      [{ ...ok, runAt: 'tomorrow' }, 400, 'runAt'],
      [{ ...ok, runAt: '2030-01-01T09:00:00' }, 400, 'runAt'],
      [{ ...ok, change: { type: 'flag.delete', flag: 'search' } }, 400, 'change.type'],
      [{ ...ok, change: { type: 'flag.toggle', flag: 'search' } }, 400, 'change.on'],
      [{ ...ok, change: { type: 'flag.toggle', flag: 'search', on: true, extra: 1 } }, 400, 'change.extra'],
      [{ ...ok, change: { type: 'flag.settings', flag: 'search', settings: { on: true } } }, 400, 'change.settings.offVariation'],
      [
        { ...ok, change: { type: 'flag.settings', flag: 'search', settings: { on: true, offVariation: 'off', prerequisites: [], rules: [{ id: 'r', clauses: [{ operator: 'inSegment', values: ['ghosts'] }], serve: { variation: 'on' } }], defaultServe: { variation: 'off' } } } },
        400,
        'change.settings.rules[0].clauses[0].values[0]',
      ],
      [{ ...ok, change: { type: 'flag.settings', flag: 'search', settings: { on: true, offVariation: 'off', prerequisites: [], rules: [], defaultServe: { variation: 'off' }, version: 9 } } }, 409, 'change.settings.version'],
      [{ ...ok, change: { type: 'config.set', config: 'payments.limit', value: 0 } }, 400, 'change.value'],
      [{ ...ok, change: { type: 'config.set', config: '9bad', value: 1 } }, 400, 'change.config'],
      [{ ...ok, change: { type: 'config.remove', config: 'payments.limit', tenant: 'a\u0001b' } }, 400, 'change.tenant'],
      [{ ...ok, reason: '' }, 400, 'reason'],
      [{ ...ok, change: { type: 'flag.toggle', flag: 'ghost', on: true } }, 404, undefined],
      [{ ...ok, change: { type: 'config.set', config: 'ghost.item', value: 1 } }, 404, undefined],
      [{ ...ok, environment: 'qa' }, 404, undefined],
    ];
    const before = (await api.get(`${S}?limit=200`)).body.items.length as number;
    for (const [body, status, path] of cases) {
      const res = await api.post(S, body);
      expect({ body, status: res.status }).toEqual({ body, status });
      if (path) expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    const refused = await editor.post(S, { ...ok, environment: 'production' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe('environment "production" is protected: scheduling changes there needs the owner role');
    expect((await api.get(`${S}?limit=200`)).body.items).toHaveLength(before);
    expect((await api.get(`${S}/00000000-0000-0000-0000-000000000000`)).status).toBe(404);
    expect((await api.get(`${S}/not-a-uuid`)).status).toBe(400);
  });

  it('marks a change that the current state makes invalid as failed, audited, and does not retry it', async () => {
    await api.post(`${P}/segments`, { key: 'doomed', included: ['u9'] });
    const settings = { on: true, offVariation: 'off', prerequisites: [], rules: [{ id: 'r', clauses: [{ operator: 'inSegment', values: ['doomed'] }], serve: { variation: 'on' } }], defaultServe: { variation: 'off' } };
    const s = await schedule({ environment: 'staging', runAt: inMs(700), change: { type: 'flag.settings', flag: 'search', settings } });
    expect((await api.delete(`${P}/segments/doomed`)).status).toBe(204);
    const before = await revisionOf('staging');
    const failed = await settled(s.id, 'failed');
    expect(failed.error).toEqual({ code: 'VALIDATION_FAILED', message: 'flag settings are not valid', details: [{ path: 'change.settings.rules[0].clauses[0].values[0]', message: 'unknown segment "doomed"' }] });
    expect(failed.revision).toBeNull();
    const job = await eventually(async () => {
      const j = await queue().getJob(`sched-${s.id}-v1`);
      return j && (await j.getState()) === 'failed' ? j : undefined;
    });
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe(`scheduled change ${s.id} cannot be applied: flag settings are not valid`);
    expect(await revisionOf('staging')).toBe(before);
    expect((await auditOf(s.id)).map((r) => [r.action, r.actor_id])).toEqual([
      ['schedule.created', expect.any(String)],
      ['schedule.failed', 'scheduler'],
    ]);
    expect((await api.get(`${S}?status=failed`)).body.items.map((i: { id: string }) => i.id)).toEqual([s.id]);
    // A sweep does not bring it back: it is no longer pending.
    expect((await workers[0].runtime.sweep()).retried).toBe(0);
  });

  it('retries a job that fails on a transient error (the database refusing) and applies it once', async () => {
    await flag('transient');
    const s = await schedule({ environment: 'staging', runAt: inMs(500), change: { type: 'flag.toggle', flag: 'transient', on: true } });
    const failuresBefore = await transientFailures(workers[0]);
    // The worker's queries fail until the table is back, like a database that is away.
    await h.db.query('ALTER TABLE scheduled_changes RENAME TO scheduled_changes_away');
    try {
      await eventually(async () => (await transientFailures(workers[0])) >= failuresBefore + 2, 8000);
    } finally {
      await h.db.query('ALTER TABLE scheduled_changes_away RENAME TO scheduled_changes');
    }
    await settled(s.id);
    const job = await queue().getJob(`sched-${s.id}-v1`);
    expect(job!.attemptsMade).toBeGreaterThanOrEqual(2);
    expect(await auditOf('transient', 'flag.turned_on')).toHaveLength(1);
  });

  it('rebuilds pending jobs from Postgres when Redis lost them, and applies each once', async () => {
    await workers[0].close();
    for (const key of ['lost-a', 'lost-b']) await flag(key);
    const before = await revisionOf('staging');
    const a = await schedule({ environment: 'staging', runAt: inMs(600), change: { type: 'flag.toggle', flag: 'lost-a', on: true } });
    const b = await schedule({ environment: 'staging', runAt: inMs(600), change: { type: 'flag.toggle', flag: 'lost-b', on: true } });
    // Redis loses the queue's data.
    const keys = await h.redis.keys(`${h.prefix}scheduled-changes:*`);
    expect(keys.length).toBeGreaterThan(0);
    await h.redis.del(...keys);
    expect(await queue().getJob(`sched-${a.id}-v1`)).toBeUndefined();
    expect(await queue().getJobCounts('delayed', 'waiting')).toMatchObject({ delayed: 0, waiting: 0 });

    const restarted = await startWorker(h);
    workers.push(restarted);
    expect(await queue().getJob(`sched-${a.id}-v1`)).toBeDefined();
    await settled(a.id);
    await settled(b.id);
    expect(await revisionOf('staging')).toBe(before + 2);
    // The same job again, and a duplicate under another id, change nothing.
    await restarted.runtime.sweep();
    await queue().add('apply', { id: a.id, version: 1 }, { jobId: `dup-${a.id}` });
    await eventually(async () => (await queue().getJob(`dup-${a.id}`))?.isCompleted());
    expect((await queue().getJob(`dup-${a.id}`))?.returnvalue).toEqual({ status: 'skipped', reason: 'not-pending' });
    expect(await auditOf('lost-a', 'flag.turned_on')).toHaveLength(1);
    expect(await auditOf('lost-b', 'flag.turned_on')).toHaveLength(1);
    expect(await revisionOf('staging')).toBe(before + 2);
  });

  it('two workers at once apply each change exactly once, even with every job queued twice', async () => {
    workers.push(await startWorker(h));
    const keys = ['race-a', 'race-b', 'race-c', 'race-d'];
    for (const key of keys) await flag(key);
    const before = await revisionOf('development');
    const runAt = inMs(700);
    const ids: string[] = [];
    for (const key of keys) ids.push((await schedule({ environment: 'development', runAt, change: { type: 'flag.toggle', flag: key, on: true } })).id);
    await queue().addBulk(ids.map((id) => ({ name: 'apply', data: { id, version: 1 }, opts: { jobId: `dup-${id}`, delay: Math.max(0, Date.parse(runAt) - Date.now()) } })));
    for (const id of ids) await settled(id);
    const jobIds = ids.flatMap((id) => [`sched-${id}-v1`, `dup-${id}`]);
    const results = await eventually(async () => {
      const jobs = await Promise.all(jobIds.map((j) => queue().getJob(j)));
      return jobs.every((j) => j?.finishedOn) ? jobs.map((j) => (j!.returnvalue as { status: string }).status) : undefined;
    });
    // Each change: one job applied it, the other found it applied.
    expect(results.filter((r) => r === 'applied')).toHaveLength(keys.length);
    expect(results.filter((r) => r === 'skipped')).toHaveLength(keys.length);
    for (const key of keys) expect(await auditOf(key, 'flag.turned_on')).toHaveLength(1);
    expect(await revisionOf('development')).toBe(before + keys.length);
    const revisions = await Promise.all(ids.map(async (id) => (await api.get(`${S}/${id}`)).body.revision as number));
    expect(new Set(revisions).size).toBe(keys.length);
  });

  it('a graceful close (SIGTERM) lets the running job finish before it resolves', async () => {
    await flag('closing');
    const s = await schedule({ environment: 'staging', runAt: inMs(400), change: { type: 'flag.toggle', flag: 'closing', on: true } });
    // Hold the audit lock every write takes first: the job blocks inside its transaction.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const held = new Promise<void>((resolve) => (locked = resolve));
    const holder = h.store.transaction(async (tx) => {
      await tx.audit.lock();
      locked();
      await gate;
    });
    await held;
    await eventually(async () => (await queue().getActiveCount()) === 1, 5000);
    let closed = false;
    const closing = Promise.all(workers.map((w) => w.close())).then(() => {
      closed = true;
    });
    await eventually(async () => !workers.some((w) => w.runtime.running));
    expect(closed).toBe(false);
    expect(await queue().getActiveCount()).toBe(1);
    release();
    await holder;
    await closing;
    expect((await api.get(`${S}/${s.id}`)).body.status).toBe('applied');
    expect(await auditOf('closing', 'flag.turned_on')).toHaveLength(1);
    expect(await queue().getActiveCount()).toBe(0);
  });
});

async function transientFailures(w: WorkerHarness): Promise<number> {
  const metric = await w.registry.getSingleMetric('flagstream_worker_job_failures_total')?.get();
  return metric?.values.find((v) => v.labels.queue === 'scheduled-changes' && v.labels.reason === 'transient')?.value ?? 0;
}
