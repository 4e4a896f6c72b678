import type { Response } from 'supertest';
import type { EnvironmentSnapshotV1, FlagEnvironmentSettingsV1, FlagKind, VariationV1 } from '@flagstream/protocol';
import { compile } from '@flagstream/targeting';
import { createProject, createToken, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';

const P = '/api/v1/projects/shop';
const X = `${P}/experiments`;
const COLOURS: VariationV1[] = ['blue', 'green', 'red'].map((key) => ({ key, value: key }));

interface ExperimentBody {
  id: string;
  key: string;
  status: string;
  version: number;
  rollout: Record<string, unknown>;
  settingsBefore: FlagEnvironmentSettingsV1 | null;
  outcome: Record<string, unknown> | null;
  startedAt: string | null;
  stoppedAt: string | null;
}

describe('experiments: the admin API and the rollout an experiment writes', () => {
  let h: AdminHarness;
  let api: ApiClient;
  let editor: ApiClient;
  let viewer: ApiClient;

  const body = (key: string, flag: string, extra: Record<string, unknown> = {}) => ({
    key,
    name: `Experiment ${key}`,
    environment: 'staging',
    flag,
    control: 'blue',
    variations: [
      { variation: 'blue', weight: 1 },
      { variation: 'green', weight: 1 },
    ],
    metrics: [{ key: 'purchase', role: 'primary', kind: 'conversion', event: 'checkout.completed' }],
    ...extra,
  });

  async function expectStatus(res: { status: number; body: unknown }, status: number) {
    if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body as ExperimentBody & Record<string, unknown>;
  }

  async function flag(key: string, kind: FlagKind = 'string'): Promise<void> {
    await expectStatus(await api.post(`${P}/flags`, kind === 'string' ? { key, kind, variations: COLOURS } : { key, kind }), 201);
  }

  const settings = async (key: string) => (await api.get(`${P}/flags/${key}/environments/staging`)).body as FlagEnvironmentSettingsV1 & { version: number; updatedAt: string };

  /** Replaces a flag's staging settings as an editor would (the current version, everything else given). */
  async function putSettings(key: string, change: (s: FlagEnvironmentSettingsV1) => FlagEnvironmentSettingsV1): Promise<void> {
    const { version, updatedAt: _u, ...current } = await settings(key);
    await expectStatus(await api.put(`${P}/flags/${key}/environments/staging`, { ...change(current), version }), 200);
  }

  const revision = async () => (await api.get(`${P}/environments/staging`)).body.revision as number;

  beforeAll(async () => {
    h = await startAdmin();
    api = h.api(h.ownerToken);
    editor = h.api(await createToken(h, 'editor'));
    viewer = h.api(await createToken(h, 'viewer'));
    await createProject(h, 'shop');
    for (const key of ['button', 'badges', 'planned', 'checks', 'results']) await flag(key);
    await flag('banner', 'boolean');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('creates a draft with the defaults filled in and the rollout it will write', async () => {
    const created = await expectStatus(await editor.post(X, body('colour', 'button', { hypothesis: 'green sells', coverage: 0.3, variations: COLOURS.map((c) => ({ variation: c.key, weight: 1 })) })), 201);
    expect(created).toMatchObject({
      key: 'colour',
      name: 'Experiment colour',
      hypothesis: 'green sells',
      project: 'shop',
      environment: 'staging',
      flag: 'button',
      status: 'draft',
      control: 'blue',
      coverage: 0.3,
      unitAttribute: 'targetingKey',
      rule: null,
      eventSources: 'all',
      alpha: 0.05,
      version: 1,
      startedAt: null,
      stoppedAt: null,
      settingsBefore: null,
      outcome: null,
      createdBy: { type: 'token', name: 'editor' },
      metrics: [{ key: 'purchase', role: 'primary', kind: 'conversion', event: 'checkout.completed', denominatorEvent: null, windowSeconds: null, lowerIsBetter: false }],
    });
    expect(created.rollout).toEqual({
      experiment: 'colour',
      seed: 'experiment:colour',
      variations: [
        { variation: 'blue', weight: 10_000 },
        { variation: 'green', weight: 10_000 },
        { variation: 'red', weight: 10_000 },
        { variation: 'blue', weight: 70_000, untracked: true },
      ],
    });
    expect((await viewer.get(`${X}/colour`)).body).toEqual(created);
    // Creating does not touch the flag.
    expect((await settings('button')).defaultServe).toEqual({ variation: 'blue' });
    const [audit] = await h.db.query<{ action: string; target_type: string; environment_key: string }>(
      `SELECT action, target_type, environment_key FROM audit_events WHERE target_key = 'colour' ORDER BY seq`,
    );
    expect(audit).toEqual({ action: 'experiment.created', target_type: 'experiment', environment_key: 'staging' });
    expect((await api.post(X, body('colour', 'badges'))).status).toBe(409);
  });

  it('refuses bad experiments with 400 listing every problem by path', async () => {
    const bad = async (extra: Record<string, unknown>, flagKey = 'checks') => {
      const res = await api.post(X, body('bad', flagKey, extra));
      expect(res.status).toBe(400);
      return (res.body.error.details as Array<{ path: string }>).map((d) => d.path);
    };
    const metric = { role: 'secondary', kind: 'count', event: 'page.viewed' };
    expect(await bad({ metrics: [{ key: 'a', role: 'primary', kind: 'conversion', event: 'x' }, { ...metric, key: 'b', role: 'primary' }] })).toEqual(['metrics']);
    expect(await bad({ metrics: [{ key: 'a', role: 'primary', kind: 'conversion', event: 'x' }, { ...metric, key: 'b', kind: 'ratio' }] })).toEqual(['metrics[1].denominatorEvent']);
    expect(await bad({ variations: [{ variation: 'blue', weight: 1 }, { variation: 'purple', weight: 1 }] })).toEqual(['variations[1].variation']);
    expect(await bad({ variations: [{ variation: 'blue', weight: 0 }, { variation: 'green', weight: -2 }] })).toEqual(['variations[0].weight', 'variations[1].weight']);
    expect(await bad({ variations: [{ variation: 'blue', weight: 1 }, { variation: 'blue', weight: 1 }] })).toEqual(['variations[1].variation']);
    expect(await bad({ variations: [{ variation: 'green', weight: 1 }, { variation: 'red', weight: 1 }] })).toEqual(['control']);
    expect(await bad({ coverage: 0 })).toEqual(['coverage']);
    expect(await bad({ coverage: 0.5, alpha: 0.5, rule: 'nope', metrics: [] })).toEqual(['rule', 'alpha', 'metrics']);
    expect(await bad({ metrics: [{ key: 'a', role: 'primary', kind: 'sum', event: 'x', windowSeconds: 0, denominatorEvent: 'y' }] })).toEqual(['metrics[0].denominatorEvent', 'metrics[0].windowSeconds']);
    // Types and unknown fields are the DTO's: 400 too, with paths.
    expect(await bad({ surprise: true })).toEqual(['surprise']);
    expect(await bad({ metrics: [{ key: 'a', role: 'boss', kind: 'conversion', event: 'x' }] })).toEqual(['metrics[0].role']);
    const details = (await api.post(X, body('bad', 'checks', { coverage: 0 }))).body.error.details as Array<{ path: string; message: string }>;
    expect(details).toEqual([{ path: 'coverage', message: 'must be more than 0 and at most 1' }]);
    // Unknown environment or flag: 404.
    expect((await api.post(X, body('bad', 'no-such-flag'))).status).toBe(404);
    expect((await api.post(X, { ...body('bad', 'checks'), environment: 'moon' })).status).toBe(404);
    expect((await api.get(`${X}`)).body.items.map((x: { key: string }) => x.key)).toEqual(['colour']);
  });

  it('start writes the rollout into the default serve, audited and streamed; a second experiment on the flag cannot start', async () => {
    await putSettings('button', (s) => ({ ...s, on: true, rules: [{ id: 'beta', clauses: [{ attribute: 'beta', operator: 'equals', values: [true] }], serve: { variation: 'green' } }] }));
    const before = await settings('button');
    const rev = await revision();
    const started = await expectStatus(await editor.post(`${X}/colour/start`), 200);
    expect(started).toMatchObject({ status: 'running', version: 2, stoppedAt: null });
    expect(Date.now() - Date.parse(started.startedAt!)).toBeLessThan(10_000);
    const { version: _v, updatedAt: _u, ...beforeSettings } = before;
    expect(started.settingsBefore).toEqual(beforeSettings);

    const flagView = (await viewer.get(`${P}/flags/button`)).body as { kind: FlagKind; variations: VariationV1[]; environments: Record<string, FlagEnvironmentSettingsV1> };
    const after = flagView.environments.staging;
    expect(after.defaultServe).toEqual({ rollout: started.rollout });
    expect(after.defaultServe.rollout).toMatchObject({ experiment: 'colour', variations: expect.arrayContaining([{ variation: 'blue', weight: 70_000, untracked: true }]) });
    expect(after.rules).toEqual(before.rules);
    expect(after.on).toBe(true);
    // One new revision for SDKs.
    expect(await revision()).toBe(rev + 1);
    const audit = await h.db.query<{ action: string; actor_name: string; reason: string; before: { flagChange: { settings: FlagEnvironmentSettingsV1 } }; after: { flagChange: { flag: string; settings: FlagEnvironmentSettingsV1 } } }>(
      `SELECT action, actor_name, reason, before, after FROM audit_events WHERE target_type = 'experiment' AND target_key = 'colour' ORDER BY seq`,
    );
    expect(audit.map((a) => a.action)).toEqual(['experiment.created', 'experiment.started']);
    expect(audit[1]).toMatchObject({ actor_name: 'editor', reason: 'experiment colour: started', before: { flagChange: { settings: { defaultServe: { variation: 'blue' } } } }, after: { flagChange: { flag: 'button', settings: { defaultServe: { rollout: { experiment: 'colour' } } } } } });

    // What SDKs evaluate: about 30% of units enter, 10% per variation, tagged with the experiment.
    const snapshot: EnvironmentSnapshotV1 = { environment: 'staging', revision: 1, segments: [], flags: [{ key: 'button', kind: flagView.kind, variations: flagView.variations, clientVisible: false, settings: after, version: 1 }] };
    const evaluator = compile(snapshot);
    const counts = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const r = evaluator.evaluate('button', { targetingKey: `user-${i}` });
      const bucket = r.experiment ? `${r.experiment}:${r.variation}` : `untracked:${r.variation}`;
      counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['colour:blue', 'colour:green', 'colour:red', 'untracked:blue']);
    for (const v of ['blue', 'green', 'red']) expect(Math.abs(counts.get(`colour:${v}`)! - 600)).toBeLessThan(120);
    // The rule still wins for beta users: they are not in the experiment.
    expect(evaluator.evaluate('button', { targetingKey: 'user-1', beta: true })).toMatchObject({ variation: 'green', ruleId: 'beta' });
    expect(evaluator.evaluate('button', { targetingKey: 'user-1', beta: true }).experiment).toBeUndefined();

    // A second experiment of the flag in the environment: created, but it cannot start.
    await expectStatus(await api.post(X, body('size', 'button', { variations: [{ variation: 'blue', weight: 1 }, { variation: 'red', weight: 1 }] })), 201);
    const refused = await api.post(`${X}/size/start`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toBe('experiment "colour" is already running on flag "button" in environment "staging"; stop it first');
    expect((await api.post(`${X}/colour/start`)).status).toBe(409);
    expect((await settings('button')).defaultServe).toEqual({ rollout: started.rollout });
  });

  it('stop with restore puts back only the serve from before (edits made meanwhile stay); then the other experiment ships a variation', async () => {
    // An edit while the experiment runs: a new rule, the experiment's serve kept.
    await putSettings('button', (s) => ({ ...s, rules: [...s.rules, { id: 'staff', clauses: [{ attribute: 'staff', operator: 'equals', values: [true] }], serve: { variation: 'red' } }] }));
    const stopped = await expectStatus(await editor.post(`${X}/colour/stop`, { action: 'restore', reason: 'enough data' }), 200);
    expect(stopped).toMatchObject({ status: 'stopped', version: 3, outcome: { action: 'restore', reason: 'enough data' } });
    expect(Date.parse(stopped.stoppedAt!)).toBeGreaterThanOrEqual(Date.parse(stopped.startedAt!));
    const restored = await settings('button');
    expect(restored.defaultServe).toEqual({ variation: 'blue' });
    expect(restored.rules.map((r) => r.id)).toEqual(['beta', 'staff']);
    expect(restored.on).toBe(true);
    const [audit] = await h.db.query<{ action: string; reason: string }>(`SELECT action, reason FROM audit_events WHERE target_key = 'colour' ORDER BY seq DESC LIMIT 1`);
    expect(audit).toEqual({ action: 'experiment.stopped', reason: 'enough data' });
    expect((await api.post(`${X}/colour/stop`, { action: 'restore' })).status).toBe(409);

    // Now the flag is free: the second experiment starts, then ships its winner.
    await expectStatus(await api.post(`${X}/size/start`), 200);
    expect((await settings('button')).defaultServe).toMatchObject({ rollout: { experiment: 'size', variations: [{ variation: 'blue', weight: 50_000 }, { variation: 'red', weight: 50_000 }] } });
    const bad = async (b: Record<string, unknown>) => {
      const res = await api.post(`${X}/size/stop`, b);
      expect(res.status).toBe(400);
      return (res.body.error.details as Array<{ path: string }>).map((d) => d.path);
    };
    expect(await bad({ action: 'variation' })).toEqual(['variation']);
    expect(await bad({ action: 'variation', variation: 'purple' })).toEqual(['variation']);
    expect(await bad({ action: 'restore', variation: 'red' })).toEqual(['variation']);
    expect(await bad({ action: 'ship' })).toEqual(['action']);
    expect(await bad({ action: 'restore', extra: 1 })).toEqual(['extra']);
    const shipped = await expectStatus(await api.post(`${X}/size/stop`, { action: 'variation', variation: 'red' }), 200);
    expect(shipped).toMatchObject({ status: 'stopped', outcome: { action: 'variation', variation: 'red' } });
    const final = await settings('button');
    expect(final.defaultServe).toEqual({ variation: 'red' });
    expect(final.rules.map((r) => r.id)).toEqual(['beta', 'staff']);
    expect((await api.get(`${X}?status=stopped&flag=button`)).body.items.map((x: { key: string }) => x.key)).toEqual(['colour', 'size']);
  });

  it('stop with restore leaves alone a serve someone replaced while it ran (no flag write)', async () => {
    await expectStatus(await api.post(X, body('badge-x', 'badges')), 201);
    await expectStatus(await api.post(`${X}/badge-x/start`), 200);
    const problem = async () => (await expectStatus(await viewer.get(`${X}/badge-x/results`), 200)).assignmentProblem;
    // The flag is off in staging: the experiment's rollout is in place but nobody reaches it.
    expect(await problem()).toBe('the flag is off in "staging": it serves its off variation and records no exposure');
    expect((await api.post(`${P}/flags/badges/environments/staging/toggle`, { on: true })).status).toBe(200);
    expect(await problem()).toBeNull();
    await putSettings('badges', (s) => ({ ...s, defaultServe: { variation: 'red' } }));
    // The results say that no unit is assigned any more, before anyone reads a stale read-out.
    expect(await problem()).toBe('the flag\'s default serve in "staging" no longer runs this experiment (it was replaced): no unit is assigned; stop the experiment');
    const rev = await revision();
    const stopped = await expectStatus(await api.post(`${X}/badge-x/stop`, { action: 'restore' }), 200);
    expect(stopped).toMatchObject({ status: 'stopped', outcome: { action: 'restore' } });
    expect((await settings('badges')).defaultServe).toEqual({ variation: 'red' });
    expect(await revision()).toBe(rev);
    const [audit] = await h.db.query<{ action: string; after: { flagChange?: unknown } }>(`SELECT action, after FROM audit_events WHERE target_key = 'badge-x' ORDER BY seq DESC LIMIT 1`);
    expect(audit.action).toBe('experiment.stopped');
    expect(audit.after.flagChange).toBeUndefined();
    expect(await problem()).toBeNull(); // stopped: nothing to assign any more
  });

  it('takes over a rule\'s serve when given one, bucketing by the unit attribute', async () => {
    await putSettings('banner', (s) => ({ ...s, on: true, rules: [{ id: 'eu', clauses: [{ attribute: 'region', operator: 'equals', values: ['eu'] }], serve: { variation: 'off' } }], defaultServe: { variation: 'on' } }));
    await expectStatus(
      await api.post(X, body('banner-eu', 'banner', { control: 'off', rule: 'eu', unitAttribute: 'account.id', variations: [{ variation: 'off', weight: 3 }, { variation: 'on', weight: 1 }] })),
      201,
    );
    await expectStatus(await api.post(`${X}/banner-eu/start`), 200);
    const running = await settings('banner');
    expect(running.defaultServe).toEqual({ variation: 'on' });
    expect(running.rules[0]!.serve).toEqual({
      rollout: { experiment: 'banner-eu', bucketBy: 'account.id', seed: 'experiment:banner-eu', variations: [{ variation: 'off', weight: 75_000 }, { variation: 'on', weight: 25_000 }] },
    });
    await expectStatus(await api.post(`${X}/banner-eu/stop`, { action: 'restore' }), 200);
    expect((await settings('banner')).rules[0]!.serve).toEqual({ variation: 'off' });
    // A rule that is not there: 400 on create.
    const res = await api.post(X, body('banner-x', 'banner', { control: 'off', rule: 'us', variations: [{ variation: 'off', weight: 1 }, { variation: 'on', weight: 1 }] }));
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: 'rule', message: 'flag "banner" has no rule "us" in this environment' }]);
  });

  it('refuses to start beside an active release plan', async () => {
    await expectStatus(await api.post(`${P}/release-plans`, { environment: 'staging', flag: 'planned', control: 'blue', treatment: 'green', milestones: [{ percentage: 10, manual: true }] }), 201);
    await expectStatus(await api.post(X, body('planned-x', 'planned')), 201);
    const res = await api.post(`${X}/planned-x/start`);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/^flag "planned" has a draft release plan \(.+\) in environment "staging"; complete or abort it first$/);
    expect((await api.get(`${X}/planned-x`)).body).toMatchObject({ status: 'draft', version: 1 });
  });

  it('keeps a release plan from starting while an experiment runs on the flag there', async () => {
    await flag('guarded');
    await expectStatus(await api.post(X, body('guarded-x', 'guarded')), 201);
    await expectStatus(await api.post(`${X}/guarded-x/start`), 200);
    const plan = await expectStatus(await api.post(`${P}/release-plans`, { environment: 'staging', flag: 'guarded', control: 'blue', treatment: 'green', milestones: [{ percentage: 10, manual: true }] }), 201);
    const before = await settings('guarded');
    const res = await api.post(`${P}/release-plans/${plan.id as string}/start`);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toBe('experiment "guarded-x" is running on flag "guarded" in environment "staging"; stop it before starting a release plan');
    // The experiment's rollout is untouched.
    expect((await settings('guarded')).defaultServe).toEqual(before.defaultServe);
    expect(before.defaultServe.rollout?.experiment).toBe('guarded-x');
  });

  it('serves results: none before the first aggregation, fresh ones on demand, and their history', async () => {
    await expectStatus(await api.post(X, body('res', 'results')), 201);
    expect((await api.post(`${X}/res/results`)).status).toBe(409);
    const draft = await expectStatus(await viewer.get(`${X}/res/results`), 200);
    expect(draft).toMatchObject({ experiment: { key: 'res', status: 'draft' }, snapshot: null, units: null, waitingFor: 'the experiment has not started' });
    await expectStatus(await api.post(`${X}/res/start`), 200);
    const waiting = await expectStatus(await viewer.get(`${X}/res/results`), 200);
    expect(waiting).toMatchObject({ snapshot: null, metrics: [] });
    expect(waiting.waitingFor).toEqual(expect.stringContaining('first aggregation'));

    const fresh = await expectStatus(await editor.post(`${X}/res/results`), 201);
    expect(fresh).toMatchObject({ experiment: { key: 'res', status: 'running' }, snapshot: { trigger: 'manual', eventsRead: 0 }, units: { byVariation: { blue: 0, green: 0 }, multipleExposureUnits: 0 } });
    const first = (fresh.snapshot as { id: number }).id;
    expect((await viewer.get(`${X}/res/results`)).body.snapshot.id).toBe(first);
    const [audit] = await h.db.query<{ action: string; actor_name: string }>(`SELECT action, actor_name FROM audit_events WHERE target_key = 'res' ORDER BY seq DESC LIMIT 1`);
    expect(audit).toEqual({ action: 'experiment.aggregated', actor_name: 'editor' });
    const second = ((await expectStatus(await api.post(`${X}/res/results`), 201)).snapshot as { id: number }).id;
    expect(second).toBeGreaterThan(first);

    const page1 = await expectStatus(await viewer.get(`${X}/res/results/history?limit=1`), 200);
    expect(page1).toMatchObject({ items: [{ snapshot: first, units: { blue: 0, green: 0 }, metrics: [] }], nextAfter: first });
    const page2 = await expectStatus(await viewer.get(`${X}/res/results/history?limit=1&after=${first}`), 200);
    expect(page2).toMatchObject({ items: [{ snapshot: second }], nextAfter: null });
    expect((await viewer.get(`${X}/res/results/history?limit=0`)).status).toBe(400);
    const huge = await viewer.get(`${X}/res/results/history?after=1e20`);
    expect([huge.status, huge.body.error.details]).toEqual([400, [{ path: 'after', message: expect.stringMatching(/must not be greater than/) }]]);

    // While another aggregation holds the experiment, an on-demand one answers 409 at once.
    const [{ id }] = await h.db.query<{ id: string }>(`SELECT id FROM experiments WHERE key = 'res'`);
    let answered: Response | undefined;
    await h.store.transaction(async (tx) => {
      expect(await tx.experiments.lockForAggregation(id)).not.toBeNull();
      answered = await api.post(`${X}/res/results`);
    });
    expect(answered!.status).toBe(409);
    expect(answered!.body.error.message).toMatch(/^another aggregation of experiment "res" is running/);
  });

  it('lets viewers read and nothing more; protected environments need the owner', async () => {
    expect((await viewer.get(X)).status).toBe(200);
    expect((await viewer.get(`${X}/colour`)).status).toBe(200);
    expect((await viewer.get(`${X}/colour/results/history`)).status).toBe(200);
    expect((await viewer.post(X, body('viewer-x', 'checks'))).status).toBe(403);
    expect((await viewer.post(`${X}/planned-x/start`)).status).toBe(403);
    expect((await viewer.post(`${X}/res/stop`, { action: 'restore' })).status).toBe(403);
    expect((await viewer.post(`${X}/res/results`)).status).toBe(403);
    expect((await viewer.get(`${X}/nope`)).status).toBe(404);

    const prod = { ...body('prod-x', 'checks'), environment: 'production' };
    const refused = await editor.post(X, prod);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe('environment "production" is protected: experiments there need the owner role');
    await expectStatus(await api.post(X, prod), 201);
    expect((await editor.post(`${X}/prod-x/start`)).status).toBe(403);
    await expectStatus(await api.post(`${X}/prod-x/start`), 200);
    expect((await api.get(`${P}/flags/checks/environments/production`)).body.defaultServe.rollout).toMatchObject({ experiment: 'prod-x' });
  });
});
