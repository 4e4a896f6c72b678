import { FlagstreamClient } from '@flagstream/sdk';
import { createProject, createToken, eventually, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';

const P = '/api/v1/projects/shop';

describe('kill switch for many flags', () => {
  let h: AdminHarness;
  let api: ApiClient;
  let gw: GatewayHarness;
  let client: FlagstreamClient;

  beforeAll(async () => {
    h = await startAdmin();
    api = h.api(h.ownerToken);
    await createProject(h, 'shop');
    for (const [key, tags] of [['pay-a', ['payments']], ['pay-b', ['payments', 'beta']], ['search', ['beta']]] as const) {
      expect((await api.post(`${P}/flags`, { key, kind: 'boolean', tags })).status).toBe(201);
      for (const env of ['staging', 'production']) expect((await api.post(`${P}/flags/${key}/environments/${env}/toggle`, { on: true })).status).toBe(200);
    }
    const key = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' })).body.key as string;
    gw = await startGateway(h);
    client = new FlagstreamClient({ sdkKey: key, baseUrl: gw.url, backoff: { initialMs: 20, maxMs: 200 } });
    await client.ready();
  });
  afterAll(async () => {
    await client.close();
    await gw.close();
    await h.close();
  });

  it('turns off every flag with a tag in every environment at once, reports revisions, and the SDK sees it', async () => {
    expect(client.boolean('pay-a', { targetingKey: 'u' }, false)).toBe(true);
    const before = (await api.get(`${P}/environments/staging`)).body.revision as number;
    const changed = new Promise<string[]>((resolve) => client.on('change', resolve));
    const res = await api.post(`${P}/kill-switch`, { tag: 'payments', environments: 'all' });
    expect(res.status).toBe(200);
    const staging = res.body.environments.find((e: { environment: string }) => e.environment === 'staging');
    expect(staging).toEqual({ environment: 'staging', revision: before + 1, propagation: `/api/v1/projects/shop/environments/staging/revisions/${before + 1}/propagation` });
    expect(res.body.killed).toEqual(
      expect.arrayContaining([
        { flag: 'pay-a', environment: 'staging', revision: before + 1 },
        { flag: 'pay-b', environment: 'staging', revision: before + 1 },
        { flag: 'pay-a', environment: 'production', revision: expect.any(Number) },
        { flag: 'pay-b', environment: 'production', revision: expect.any(Number) },
      ]),
    );
    expect(res.body.killed).toHaveLength(4);
    expect(res.body.alreadyOff).toEqual(expect.arrayContaining([{ flag: 'pay-a', environment: 'development' }]));
    // One revision per environment carries both flags.
    expect((await changed).sort()).toEqual(['pay-a', 'pay-b']);
    expect(client.boolean('pay-a', { targetingKey: 'u' }, true)).toBe(false);
    expect(client.boolean('search', { targetingKey: 'u' }, false)).toBe(true);
    // The propagation report of that revision shows the SDK's acknowledgement.
    const report = await eventually(async () => {
      const r = await api.get(staging.propagation);
      return r.status === 200 && r.body.acknowledged >= 1 ? r.body : undefined;
    });
    expect(report.revision).toBe(before + 1);
    const audit = await api.get('/api/v1/audit?project=shop&limit=1');
    expect(audit.body.items[0]).toMatchObject({ action: 'flag.killed', target: { type: 'tag', key: 'payments' } });
  });

  it('is idempotent: a repeat changes nothing, writes no audit record and no revision', async () => {
    const revision = (await api.get(`${P}/environments/staging`)).body.revision as number;
    const auditBefore = (await api.get('/api/v1/audit?project=shop&limit=1')).body.items[0].seq;
    const res = await api.post(`${P}/kill-switch`, { flags: ['pay-a'], environments: ['staging'] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ killed: [], alreadyOff: [{ flag: 'pay-a', environment: 'staging' }], environments: [{ environment: 'staging', revision: null, propagation: null }], cancelledSchedules: [], pausedPlans: [] });
    expect((await api.get(`${P}/environments/staging`)).body.revision).toBe(revision);
    expect((await api.get('/api/v1/audit?project=shop&limit=1')).body.items[0].seq).toBe(auditBefore);
  });

  it('refuses bad requests precisely and needs an owner for protected environments', async () => {
    const both = await api.post(`${P}/kill-switch`, { flags: ['search'], tag: 'beta', environments: 'all' });
    expect(both.status).toBe(400);
    expect((await api.post(`${P}/kill-switch`, { environments: 'all' })).status).toBe(400);
    const noEnv = await api.post(`${P}/kill-switch`, { flags: ['search'] });
    expect(noEnv.status).toBe(400);
    expect(noEnv.body.error.details[0].path).toBe('environments');
    const unknown = await api.post(`${P}/kill-switch`, { flags: ['search', 'ghost'], environments: ['staging'] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toBe('no flag "ghost" in project "shop"');
    expect((await api.post(`${P}/kill-switch`, { tag: 'nothing', environments: ['staging'] })).status).toBe(404);
    expect((await api.post(`${P}/kill-switch`, { flags: ['search'], environments: ['qa'] })).status).toBe(404);
    const editor = h.api(await createToken(h, 'editor'));
    const refused = await editor.post(`${P}/kill-switch`, { tag: 'beta', environments: 'all' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe('environment "production" is protected: turning flags off there needs the owner role');
    expect(client.boolean('search', { targetingKey: 'u' }, false)).toBe(true);
    const ok = await editor.post(`${P}/kill-switch`, { tag: 'beta', environments: ['staging'] });
    expect(ok.status).toBe(200);
    expect(ok.body.killed).toEqual([{ flag: 'search', environment: 'staging', revision: expect.any(Number) }]);
  });

  it('bypasses scheduled changes: cancels the pending ones of the killed flags in those environments, in the same write', async () => {
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const schedule = async (flag: string, environment: string) => {
      const res = await api.post(`${P}/scheduled-changes`, { environment, runAt, change: { type: 'flag.toggle', flag, on: true } });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    const doomed = await schedule('pay-b', 'staging');
    const otherEnv = await schedule('pay-b', 'development');
    const otherFlag = await schedule('search', 'staging');
    const settings = await api.post(`${P}/scheduled-changes`, {
      environment: 'staging',
      runAt,
      change: { type: 'flag.settings', flag: 'pay-a', settings: { on: true, offVariation: 'off', prerequisites: [], rules: [], defaultServe: { variation: 'on' } } },
    });
    expect(settings.status).toBe(201);
    const auditBefore = (await api.get('/api/v1/audit?project=shop&limit=1')).body.items[0].seq as number;

    // Both flags are already off in staging: nothing to turn off, but the schedules that would turn them on go.
    const res = await api.post(`${P}/kill-switch`, { tag: 'payments', environments: ['staging'] });
    expect(res.status).toBe(200);
    expect(res.body.killed).toEqual([]);
    expect(res.body.cancelledSchedules).toEqual(
      expect.arrayContaining([
        { id: doomed, flag: 'pay-b', environment: 'staging', runAt, change: { type: 'flag.toggle', flag: 'pay-b', on: true } },
        { id: settings.body.id, flag: 'pay-a', environment: 'staging', runAt, change: settings.body.change },
      ]),
    );
    expect(res.body.cancelledSchedules).toHaveLength(2);
    for (const id of [doomed, settings.body.id as string]) expect((await api.get(`${P}/scheduled-changes/${id}`)).body).toMatchObject({ status: 'cancelled', version: 2 });
    for (const id of [otherEnv, otherFlag]) expect((await api.get(`${P}/scheduled-changes/${id}`)).body.status).toBe('pending');
    // One audit record for the kill, naming what it cancelled.
    const audit = (await api.get(`/api/v1/audit?project=shop&limit=1`)).body.items[0];
    expect(audit.seq).toBe(auditBefore + 1);
    expect(audit).toMatchObject({ action: 'flag.killed', after: { killed: [], cancelledSchedules: expect.arrayContaining([{ id: doomed, flag: 'pay-b', environment: 'staging', runAt }]) } });
    // A repeat finds nothing left to cancel.
    expect((await api.post(`${P}/kill-switch`, { tag: 'payments', environments: ['staging'] })).body.cancelledSchedules).toEqual([]);
  });

  it('pauses the running release plans of the killed flags there, in the same write', async () => {
    const plan = await api.post(`${P}/release-plans`, {
      environment: 'development',
      flag: 'pay-a',
      milestones: [
        { percentage: 10, bakeSeconds: 3600 },
        { percentage: 100, bakeSeconds: 1 },
      ],
    });
    expect(plan.status).toBe(201);
    const id = plan.body.id as string;
    expect((await api.post(`${P}/release-plans/${id}/start`)).body).toMatchObject({ status: 'running', currentMilestone: 0, version: 2 });
    const res = await api.post(`${P}/kill-switch`, { flags: ['pay-a'], environments: ['development'] });
    expect(res.status).toBe(200);
    expect(res.body.killed).toEqual([{ flag: 'pay-a', environment: 'development', revision: expect.any(Number) }]);
    expect(res.body.pausedPlans).toEqual([{ id, flag: 'pay-a', environment: 'development', milestone: 0, version: 3 }]);
    const paused = (await api.get(`${P}/release-plans/${id}`)).body;
    expect(paused).toMatchObject({ status: 'paused', currentMilestone: 0, nextTransitionAt: null, version: 3 });
    expect(paused.remainingBakeMs).toBeGreaterThan(3_500_000);
    expect(paused.history.map((t: { action: string }) => t.action)).toEqual(['created', 'started', 'paused-by-kill-switch']);
    const audit = (await api.get(`/api/v1/audit?project=shop&limit=1`)).body.items[0];
    expect(audit).toMatchObject({ action: 'flag.killed', after: { pausedPlans: [{ id, flag: 'pay-a', environment: 'development', milestone: 0, version: 3 }] } });
    // A repeat finds nothing running.
    expect((await api.post(`${P}/kill-switch`, { flags: ['pay-a'], environments: ['development'] })).body.pausedPlans).toEqual([]);
  });
});
