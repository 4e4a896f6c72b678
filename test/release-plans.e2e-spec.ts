import { FlagstreamClient } from '@flagstream/sdk';
import { createProject, createToken, eventually, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';
import { startSchedulingAdmin, startWorker, type SchedulingAdminHarness, type WorkerHarness } from './support/worker-harness';

const P = '/api/v1/projects/shop';
const R = `${P}/release-plans`;
const USERS = Array.from({ length: 4000 }, (_, i) => `user-${i}`);

interface Transition {
  action: string;
  from: number;
  to: number;
  status: string;
  actor: { type: string; id: string; name: string };
  revision: number | null;
}

interface Plan {
  id: string;
  control: string;
  treatment: string;
  status: string;
  currentMilestone: number;
  nextTransitionAt: string | null;
  remainingBakeMs: number | null;
  settingsBefore: Record<string, unknown> | null;
  version: number;
  history: Transition[];
}

describe('release plans: gradual rollouts applied through the change pipeline', () => {
  let h: SchedulingAdminHarness;
  let api: ApiClient;
  let editor: ApiClient;
  let gw: GatewayHarness;
  let worker: WorkerHarness;
  /** A second worker on the same queue: steps must still apply once each. */
  let second: WorkerHarness;
  let client: FlagstreamClient;

  const get = async (id: string) => (await api.get(`${R}/${id}`)).body as Plan;
  const included = (flag: string) => new Set(USERS.filter((u) => client.boolean(flag, { targetingKey: u }, false)));

  async function flag(key: string): Promise<void> {
    expect((await api.post(`${P}/flags`, { key, kind: 'boolean' })).status).toBe(201);
  }

  async function plan(body: Record<string, unknown>, as: ApiClient = api): Promise<Plan> {
    const res = await as.post(R, { environment: 'staging', ...body });
    if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body as Plan;
  }

  async function act(id: string, action: string, as: ApiClient = api): Promise<Plan> {
    const res = await as.post(`${R}/${id}/${action}`);
    if (res.status !== 200) throw new Error(`${action}: expected 200, got ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body as Plan;
  }

  beforeAll(async () => {
    h = await startSchedulingAdmin();
    api = h.api(h.ownerToken);
    editor = h.api(await createToken(h, 'editor'));
    await createProject(h, 'shop');
    for (const key of ['auto', 'sticky', 'pausing', 'checks']) await flag(key);
    const key = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' })).body.key as string;
    gw = await startGateway(h);
    worker = await startWorker(h);
    second = await startWorker(h);
    client = new FlagstreamClient({ sdkKey: key, baseUrl: gw.url, backoff: { initialMs: 20, maxMs: 200 } });
    await client.ready();
  });

  afterAll(async () => {
    await client?.close();
    await worker?.close();
    await second?.close();
    await gw?.close();
    await h?.close();
  }, 30_000);

  it('advances by itself through 1% -> 5% -> 25% -> 100% with 1 s bakes, as the scheduler, one revision per step, once with two workers', async () => {
    const created = await plan(
      { flag: 'auto', milestones: [1, 5, 25, 100].map((percentage) => ({ percentage, bakeSeconds: 1 })), reason: 'launch' },
      editor,
    );
    expect(created).toMatchObject({ status: 'draft', currentMilestone: -1, version: 1, nextTransitionAt: null, settingsBefore: null, flag: 'auto', control: 'off', treatment: 'on' });
    const started = await act(created.id, 'start', editor);
    expect(started).toMatchObject({ status: 'running', currentMilestone: 0, version: 2 });
    expect(Date.parse(started.nextTransitionAt!) - Date.now()).toBeGreaterThan(0);
    expect(started.settingsBefore).toMatchObject({ on: false, defaultServe: { variation: 'on' }, salt: 'auto' });
    // The admin enqueued the next step with its deterministic id.
    expect(await (await h.planQueue.queue.getJob(`plan-${created.id}-m1-v2`))?.getState()).toBe('delayed');

    const done = await eventually(async () => {
      const p = await get(created.id);
      return p.status === 'completed' ? p : undefined;
    }, 15_000);
    expect(done.currentMilestone).toBe(3);
    expect(done.nextTransitionAt).toBeNull();
    expect(done.history.map((t) => [t.action, t.from, t.to, t.status, t.actor.id])).toEqual([
      ['created', -1, -1, 'draft', expect.any(String)],
      ['started', -1, 0, 'running', expect.any(String)],
      ['advanced-by-scheduler', 0, 1, 'running', 'scheduler'],
      ['advanced-by-scheduler', 1, 2, 'running', 'scheduler'],
      ['advanced-by-scheduler', 2, 3, 'completed', 'scheduler'],
    ]);
    const revisions = done.history.slice(1).map((t) => t.revision!);
    for (let i = 1; i < revisions.length; i++) expect(revisions[i]).toBeGreaterThan(revisions[i - 1]);
    const settings = (await api.get(`${P}/flags/auto/environments/staging`)).body;
    expect(settings).toMatchObject({ on: true, salt: 'auto', rules: [], defaultServe: { rollout: { variations: [{ variation: 'on', weight: 100_000 }, { variation: 'off', weight: 0 }] } } });
    // Each step is an ordinary audited settings change; the timed ones by the scheduler.
    const audit = await h.db.query<{ actor_id: string; actor_name: string; reason: string | null }>(
      `SELECT actor_id, actor_name, reason FROM audit_events WHERE target_key = 'auto' AND action = 'flag.settings.updated' ORDER BY seq`,
    );
    expect(audit.map((a) => a.actor_name)).toEqual(['editor', 'scheduler', 'scheduler', 'scheduler']);
    expect(audit[1].reason).toBe(`release plan ${created.id} (editor): milestone 2`);
    await eventually(async () => (client.boolean('auto', { targetingKey: 'anyone' }, false) ? true : undefined));
  }, 30_000);

  it('keeps users included at 5% included at 25% (sticky bucketing, seen through the SDK), and a manual gate waits for advance', async () => {
    const created = await plan({ flag: 'sticky', milestones: [{ percentage: 5, manual: true }, { percentage: 25, manual: true }, { percentage: 100, manual: true }] });
    const before = (await api.get(`${P}/flags/sticky/environments/staging`)).body;
    const started = await act(created.id, 'start');
    expect(started).toMatchObject({ status: 'running', currentMilestone: 0, nextTransitionAt: null });
    const at5 = await eventually(async () => {
      const s = included('sticky');
      return s.size > 0 ? s : undefined;
    });
    expect(at5.size).toBeGreaterThan(USERS.length * 0.035);
    expect(at5.size).toBeLessThan(USERS.length * 0.065);
    // A manual gate schedules nothing: the sweep finds no timed transition and no job exists.
    await worker.runtime.sweep();
    expect((await h.planQueue.queue.getJobs(['delayed', 'waiting', 'active'])).filter((j) => j.id?.startsWith(`plan-${created.id}-`))).toEqual([]);
    expect(await get(created.id)).toMatchObject({ status: 'running', currentMilestone: 0 });

    const advanced = await act(created.id, 'advance', editor);
    expect(advanced).toMatchObject({ status: 'running', currentMilestone: 1 });
    expect(advanced.history.at(-1)).toMatchObject({ action: 'advanced', from: 0, to: 1, actor: { type: 'token', name: 'editor' }, revision: expect.any(Number) });
    const at25 = await eventually(async () => {
      const s = included('sticky');
      return s.size > at5.size * 2 ? s : undefined;
    });
    expect(at25.size).toBeGreaterThan(USERS.length * 0.22);
    expect(at25.size).toBeLessThan(USERS.length * 0.28);
    expect([...at5].filter((u) => !at25.has(u))).toEqual([]);

    // Abort puts back the exact settings from before the plan, through the write path.
    const aborted = await act(created.id, 'abort');
    expect(aborted).toMatchObject({ status: 'aborted', nextTransitionAt: null });
    const after = (await api.get(`${P}/flags/sticky/environments/staging`)).body;
    const { version: _v1, updatedAt: _u1, ...restored } = after;
    const { version: _v2, updatedAt: _u2, ...original } = before;
    expect(restored).toEqual(original);
    expect(aborted.settingsBefore).toEqual(original);
    await eventually(async () => (included('sticky').size === 0 ? true : undefined));
    expect((await api.post(`${R}/${created.id}/advance`)).status).toBe(409);
  }, 30_000);

  it('pauses (keeping the bake time left) and resumes with it under a new job', async () => {
    const created = await plan({ flag: 'pausing', milestones: [{ percentage: 10, bakeSeconds: 60 }, { percentage: 50, bakeSeconds: 1 }, { percentage: 100, bakeSeconds: 1 }] });
    const started = await act(created.id, 'start');
    expect(await h.planQueue.queue.getJob(`plan-${created.id}-m1-v2`)).toBeDefined();
    const paused = await act(created.id, 'pause', editor);
    expect(paused).toMatchObject({ status: 'paused', currentMilestone: 0, nextTransitionAt: null, version: 3 });
    expect(paused.remainingBakeMs).toBeGreaterThan(55_000);
    expect(paused.remainingBakeMs).toBeLessThanOrEqual(60_000);
    expect(await h.planQueue.queue.getJob(`plan-${created.id}-m1-v2`)).toBeUndefined();
    await worker.runtime.sweep();
    expect(await h.planQueue.queue.getJob(`plan-${created.id}-m3-v3`)).toBeUndefined();
    expect((await api.post(`${R}/${created.id}/pause`)).status).toBe(409);

    const t0 = Date.now();
    const resumed = await act(created.id, 'resume');
    expect(resumed).toMatchObject({ status: 'running', currentMilestone: 0, remainingBakeMs: null, version: 4 });
    const left = Date.parse(resumed.nextTransitionAt!) - t0;
    expect(left).toBeGreaterThan(paused.remainingBakeMs! - 1000);
    expect(left).toBeLessThanOrEqual(paused.remainingBakeMs! + 1000);
    expect(await (await h.planQueue.queue.getJob(`plan-${created.id}-m1-v4`))?.getState()).toBe('delayed');
    // A job lost with Redis comes back from Postgres at the next sweep, at the same time.
    await h.planQueue.queue.remove(`plan-${created.id}-m1-v4`);
    expect((await worker.runtime.sweep()).plans).toBeGreaterThanOrEqual(1);
    const again = await h.planQueue.queue.getJob(`plan-${created.id}-m1-v4`);
    expect(await again?.getState()).toBe('delayed');
    expect(again!.timestamp + again!.opts.delay!).toBeGreaterThanOrEqual(Date.parse(resumed.nextTransitionAt!) - 50);
    expect(Date.parse(started.nextTransitionAt!)).toBeLessThan(Date.parse(resumed.nextTransitionAt!));
    // Advancing now skips the rest of the bake; the remaining 1 s bakes run by themselves.
    expect(await act(created.id, 'advance')).toMatchObject({ currentMilestone: 1 });
    const done = await eventually(async () => {
      const p = await get(created.id);
      return p.status === 'completed' ? p : undefined;
    }, 10_000);
    expect(done.history.map((t) => t.action)).toEqual(['created', 'started', 'paused', 'resumed', 'advanced', 'advanced-by-scheduler']);
    // The history is append-only.
    await expect(h.db.query(`UPDATE release_plan_transitions SET action = 'x' WHERE plan_id = $1`, [created.id])).rejects.toThrow('release_plan_transitions is append-only');
  }, 20_000);

  it('pauses a plan whose timed step became invalid, without retrying it', async () => {
    const variations = ['a', 'b', 'c'].map((key) => ({ key, value: key }));
    expect((await api.post(`${P}/flags`, { key: 'theme', kind: 'string', variations })).status).toBe(201);
    const created = await plan({
      flag: 'theme',
      treatment: 'c',
      milestones: [{ weights: [{ variation: 'a', weight: 50_000 }, { variation: 'b', weight: 50_000 }], bakeSeconds: 1 }, { percentage: 50, bakeSeconds: 1 }],
    });
    expect(created.control).toBe('a');
    await act(created.id, 'start');
    // The treatment disappears before the timed step that would serve it.
    const version = (await api.get(`${P}/flags/theme`)).body.version as number;
    const patched = await api.patch(`${P}/flags/theme`, { variations: variations.slice(0, 2) }).set('If-Match', `"${version}"`);
    expect(patched.status).toBe(200);
    const paused = await eventually(async () => {
      const p = await get(created.id);
      return p.status === 'paused' ? p : undefined;
    }, 10_000);
    expect(paused).toMatchObject({ currentMilestone: 0, nextTransitionAt: null });
    expect(paused.history.at(-1)).toMatchObject({ action: 'paused-on-failure', actor: { id: 'scheduler' } });
    const [audit] = await h.db.query<{ action: string; actor_id: string }>(`SELECT action, actor_id FROM audit_events WHERE target_key = $1 ORDER BY seq DESC LIMIT 1`, [created.id]);
    expect(audit).toEqual({ action: 'release_plan.paused-on-failure', actor_id: 'scheduler' });
    const job = await h.planQueue.queue.getJob(`plan-${created.id}-m1-v2`);
    expect(await job?.getState()).toBe('failed');
    expect(job?.attemptsMade).toBe(1);
    expect((await api.get(`${P}/flags/theme/environments/staging`)).body.defaultServe.rollout.variations).toEqual([{ variation: 'a', weight: 50_000 }, { variation: 'b', weight: 50_000 }]);
  }, 20_000);

  it('refuses bad plans with 400 and precise paths, a second active plan with 409, and editors in a protected environment', async () => {
    const bad = async (body: Record<string, unknown>) => {
      const res = await api.post(R, { environment: 'staging', flag: 'checks', ...body });
      expect(res.status).toBe(400);
      return (res.body.error.details as Array<{ path: string }>).map((d) => d.path);
    };
    expect(await bad({ milestones: [] })).toEqual(['milestones']);
    expect(await bad({ milestones: Array.from({ length: 21 }, (_, i) => ({ percentage: i + 1, bakeSeconds: 1 })) })).toEqual(['milestones']);
    expect(await bad({ milestones: [{ percentage: 5, bakeSeconds: 1 }, { percentage: 5, bakeSeconds: 1 }] })).toEqual(['milestones.1.percentage']);
    expect(await bad({ milestones: [{ percentage: 0, bakeSeconds: 1 }] })).toEqual(['milestones.0.percentage']);
    expect(await bad({ milestones: [{ percentage: 101, bakeSeconds: 1 }] })).toEqual(['milestones.0.percentage']);
    expect(await bad({ milestones: [{ weights: [{ variation: 'on', weight: 50_000 }, { variation: 'off', weight: 49_999 }], bakeSeconds: 1 }] })).toEqual(['milestones.0.weights']);
    expect(await bad({ milestones: [{ weights: [{ variation: 'on', weight: 50_000 }, { variation: 'maybe', weight: 50_000 }], bakeSeconds: 1 }] })).toEqual(['milestones.0.weights.1.variation']);
    expect(await bad({ milestones: [{ percentage: 5 }] })).toEqual(['milestones.0']);
    expect(await bad({ milestones: [{ percentage: 5, bakeSeconds: 1, manual: true }] })).toEqual(['milestones.0']);
    expect(await bad({ milestones: [{ percentage: 5, weights: [{ variation: 'on', weight: 100_000 }], bakeSeconds: 1 }] })).toEqual(['milestones.0']);
    expect(await bad({ treatment: 'maybe', milestones: [{ percentage: 5, bakeSeconds: 1 }] })).toEqual(['treatment']);
    expect((await api.post(R, { environment: 'staging', flag: 'ghost', milestones: [{ percentage: 5, bakeSeconds: 1 }] })).status).toBe(404);
    expect((await api.post(`${R}/not-a-uuid/start`)).status).toBe(400);

    const first = await plan({ flag: 'checks', milestones: [{ weights: [{ variation: 'on', weight: 20_000 }, { variation: 'off', weight: 80_000 }], manual: true }] });
    const second = await api.post(R, { environment: 'staging', flag: 'checks', milestones: [{ percentage: 5, bakeSeconds: 1 }] });
    expect(second.status).toBe(409);
    expect(second.body.error.message).toBe('flag "checks" already has an active release plan in environment "staging"');
    expect((await api.post(`${R}/${first.id}/resume`)).status).toBe(409);
    // Another environment is free.
    expect((await api.post(R, { environment: 'development', flag: 'checks', milestones: [{ percentage: 5, bakeSeconds: 1 }] })).status).toBe(201);
    // A single weights milestone completes at once and serves those weights.
    expect(await act(first.id, 'start')).toMatchObject({ status: 'completed', currentMilestone: 0 });
    expect((await api.get(`${P}/flags/checks/environments/staging`)).body.defaultServe).toEqual({ rollout: { variations: [{ variation: 'on', weight: 20_000 }, { variation: 'off', weight: 80_000 }] } });

    const refused = await editor.post(R, { environment: 'production', flag: 'checks', milestones: [{ percentage: 5, bakeSeconds: 1 }] });
    expect(refused.status).toBe(403);
    expect((await api.get(`${R}?flag=checks`)).body.items.map((p: Plan) => p.status)).toEqual(['completed', 'draft']);
  });
});
