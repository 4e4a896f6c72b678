import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FlagstreamClient, gatewayExposureSender, gatewayMetricSender, type MetricEvent } from '@flagstream/sdk';
import { createProject, createToken, eventually, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';
import { startSchedulingAdmin, startWorker, type SchedulingAdminHarness, type WorkerHarness } from './support/worker-harness';

const P = '/api/v1/projects/shop';
const R = `${P}/release-plans`;
const SECRET = 'whsec-test-0123456789abcdef0123456789abcdef';
const USERS = Array.from({ length: 1500 }, (_, i) => `user-${i}`);

interface Evaluation {
  status: string;
  treatment: { units: number; value: number | null };
  control: { units: number; value: number | null };
  pValue: number | null;
  reason: string;
}

interface Plan {
  id: string;
  status: string;
  currentMilestone: number;
  version: number;
  guardrails: Array<{ metric: string; lastEvaluation: Evaluation | null; lastEvaluatedAt: string | null }>;
  history: Array<{ action: string; from: number; to: number; status: string; actor: { id: string }; revision: number | null }>;
}

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Guardrails end to end: a simulated service evaluates flags through the SDK, which reports
 * exposures to the gateway, and reports its errors as metric events; the worker judges them and
 * rolls the plan back by itself; the SDK sees the rollback live; an ops webhook gets a signed alert.
 */
describe('guardrails: automatic rollback of release plans', () => {
  let h: SchedulingAdminHarness;
  let api: ApiClient;
  let gw: GatewayHarness;
  let worker: WorkerHarness;
  let second: WorkerHarness;
  /** The simulated service: reports its exposures. */
  let client: FlagstreamClient;
  /** The test's eyes: evaluates without reporting anything (it must not pollute the data). */
  let observer: FlagstreamClient;
  let sendMetrics: (batch: MetricEvent[]) => Promise<void>;
  let hook: Server;
  const deliveries: Delivery[] = [];

  const get = async (id: string) => (await api.get(`${R}/${id}`)).body as Plan;
  const included = (flag: string) => new Set(USERS.filter((u) => observer.boolean(flag, { targetingKey: u }, false)));

  async function plan(body: Record<string, unknown>): Promise<Plan> {
    const res = await api.post(R, { environment: 'staging', ...body });
    if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body as Plan;
  }

  /** The simulated service: every user makes a request; `errorRate(on)` of them fail by variation. */
  async function traffic(flag: string, users: readonly string[], errors: (on: boolean, i: number) => boolean): Promise<void> {
    // The service has what the test's observer has seen (both stream from the same gateway).
    await eventually(async () => (client.revision >= observer.revision ? true : undefined), 5000);
    const batch: MetricEvent[] = [];
    users.forEach((u, i) => {
      const on = client.boolean(flag, { targetingKey: u }, false);
      if (errors(on, i)) batch.push({ name: `${flag}.errors`, value: 1, contextKey: u });
    });
    // Metrics go after the exposures have had their flush interval, so each unit's error follows its first exposure.
    await new Promise((r) => setTimeout(r, 300));
    await sendMetrics(batch);
  }

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        deliveries.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    h = await startSchedulingAdmin();
    api = h.api(h.ownerToken);
    await createProject(h, 'shop');
    for (const key of ['checkout', 'search', 'banner']) expect((await api.post(`${P}/flags`, { key, kind: 'boolean' })).status).toBe(201);
    const sdkKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' })).body.key as string;
    gw = await startGateway(h);
    const alerts = { webhook: { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`, secret: SECRET, timeoutMs: 2000 }, policy: { attempts: 3, backoffMs: 50 } };
    // Two workers: a breach must roll back once and alert once.
    worker = await startWorker(h, { guardrailIntervalMs: 300, alerts });
    second = await startWorker(h, { guardrailIntervalMs: 300, alerts });
    client = new FlagstreamClient({
      sdkKey,
      baseUrl: gw.url,
      backoff: { initialMs: 20, maxMs: 200 },
      exposures: { send: gatewayExposureSender({ baseUrl: gw.url, sdkKey }), flushIntervalMs: 50, batchSize: 500, maxQueue: 100_000 },
    });
    observer = new FlagstreamClient({ sdkKey, baseUrl: gw.url, backoff: { initialMs: 20, maxMs: 200 } });
    sendMetrics = gatewayMetricSender({ baseUrl: gw.url, sdkKey });
    await Promise.all([client.ready(), observer.ready()]);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await observer?.close();
    await worker?.close();
    await second?.close();
    await gw?.close();
    await h?.close();
    await new Promise((resolve) => hook?.close(resolve));
  }, 30_000);

  it('rolls back to the previous milestone by itself when only the new variation errs, and the SDK sees it live', async () => {
    const created = await plan({
      flag: 'checkout',
      milestones: [
        { percentage: 10, bakeSeconds: 1 },
        { percentage: 50, bakeSeconds: 3600 },
        { percentage: 100, manual: true },
      ],
      guardrails: [{ metric: 'checkout.errors', minSampleSize: 100, windowSeconds: 600 }],
    });
    expect(created.guardrails).toEqual([
      {
        metric: 'checkout.errors',
        statistic: 'rate',
        comparison: 'control',
        worseWhen: 'higher',
        threshold: null,
        maxRelativeChange: 0,
        alpha: 0.01,
        windowSeconds: 600,
        minSampleSize: 100,
        rollback: 'previous-milestone',
        eventSources: 'server',
        lastEvaluation: null,
        lastEvaluatedAt: null,
      },
    ]);
    expect((await api.post(`${R}/${created.id}/start`)).status).toBe(200);
    const at10 = await eventually(async () => {
      const s = included('checkout');
      return s.size > 0 && s.size < USERS.length * 0.2 ? s : undefined;
    }, 5000);
    // The 1 s bake ends: 50%.
    await eventually(async () => ((await get(created.id)).currentMilestone === 1 ? true : undefined), 10_000);
    const at50 = await eventually(async () => {
      const s = included('checkout');
      return s.size > USERS.length * 0.4 ? s : undefined;
    }, 5000);
    for (const u of at10) expect(at50.has(u)).toBe(true);

    // Before enough data: no verdict, the plan runs on.
    await traffic('checkout', USERS.slice(0, 20), (on) => on);
    await eventually(async () => ((await get(created.id)).guardrails[0].lastEvaluation?.status === 'insufficient-data' ? true : undefined), 5000);
    expect((await get(created.id)).status).toBe('running');

    // The new checkout fails for 30% of its users; the old one never does.
    await traffic('checkout', USERS, (on, i) => on && i % 10 < 3);
    const rolled = await eventually(async () => {
      const p = await get(created.id);
      return p.status === 'paused' ? p : undefined;
    }, 15_000);
    expect(rolled.currentMilestone).toBe(0);
    const last = rolled.history[rolled.history.length - 1];
    expect(last).toMatchObject({ action: 'rolled-back-by-guardrail', from: 1, to: 0, status: 'paused', actor: { id: 'scheduler' } });
    expect(last.revision).toEqual(expect.any(Number));
    // Once, though two workers evaluate.
    expect(rolled.history.filter((t) => t.action === 'rolled-back-by-guardrail')).toHaveLength(1);
    const evaluation = rolled.guardrails[0].lastEvaluation!;
    expect(evaluation.status).toBe('breached');
    // A pass may judge while the gateway is still writing the metric events: any share counts, as
    // long as only the treatment has errors and it is significant.
    expect(evaluation.treatment.units).toBeGreaterThanOrEqual(100);
    expect(evaluation.treatment.value!).toBeGreaterThan(0);
    expect(evaluation.control.value).toBe(0);
    expect(evaluation.pValue!).toBeLessThan(0.01);

    // The SDK sees 10% again: exactly the users it had at 10% (sticky bucketing both ways).
    const back = await eventually(async () => {
      const s = included('checkout');
      return s.size === at10.size ? s : undefined;
    }, 5000);
    expect([...back].sort()).toEqual([...at10].sort());

    // The audit log says why, as the scheduler.
    const audit = await h.db.query<{ actor_name: string; reason: string }>(
      `SELECT actor_name, reason FROM audit_events WHERE target_key = 'checkout' AND action = 'flag.settings.updated' ORDER BY seq DESC LIMIT 1`,
    );
    expect(audit[0].actor_name).toBe('scheduler');
    expect(audit[0].reason).toMatch(new RegExp(`^guardrail 1 of release plan ${created.id} breached: checkout.errors rate: treatment `));

    // One signed alert at the webhook.
    const delivery = await eventually(async () => deliveries.find((d) => d.headers['flagstream-event-type'] === 'release_plan.guardrail_breached'), 5000);
    const [t, v1] = String(delivery.headers['flagstream-signature']).split(',');
    const timestamp = t.replace(/^t=/, '');
    expect(v1).toBe(`v1=${createHmac('sha256', SECRET).update(`${timestamp}.${delivery.body}`).digest('hex')}`);
    const alert = JSON.parse(delivery.body) as { id: string; project: string; environment: string; summary: string; data: { releasePlan: string; currentMilestone: number } };
    expect(alert).toMatchObject({ project: 'shop', environment: 'staging', data: { releasePlan: created.id, currentMilestone: 0 } });
    expect(alert.summary).toContain('rolled back to milestone 1');
    await new Promise((r) => setTimeout(r, 700));
    expect(deliveries.filter((d) => JSON.parse(d.body).data?.releasePlan === created.id)).toHaveLength(1);

    // Resumed, it judges new data only: the old errors no longer count.
    expect((await api.post(`${R}/${created.id}/resume`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 700));
    const resumed = await get(created.id);
    expect(resumed.status).toBe('running');
    expect(resumed.guardrails[0].lastEvaluation!.status).toBe('insufficient-data');
  }, 60_000);

  it('keeps running when the treatment errs no more than the rest', async () => {
    const created = await plan({ flag: 'search', milestones: [{ percentage: 50, manual: true }, { percentage: 100, manual: true }], guardrails: [{ metric: 'search.errors', minSampleSize: 100 }] });
    expect((await api.post(`${R}/${created.id}/start`)).status).toBe(200);
    await eventually(async () => (included('search').size > USERS.length * 0.4 ? true : undefined), 5000);
    // 5% of every user's requests fail, whatever they get.
    await traffic('search', USERS, (_on, i) => i % 20 === 0);
    const judged = await eventually(async () => {
      const p = await get(created.id);
      const e = p.guardrails[0].lastEvaluation;
      return e && e.treatment.units + e.control.units >= USERS.length * 0.95 ? p : undefined;
    }, 10_000);
    expect(judged.status).toBe('running');
    expect(judged.guardrails[0].lastEvaluation).toMatchObject({ status: 'ok' });
    expect(judged.guardrails[0].lastEvaluation!.pValue!).toBeGreaterThan(0.01);
  }, 30_000);

  it('turns the flag off when the treatment passes an absolute threshold and the guardrail says "off"', async () => {
    const created = await plan({
      flag: 'banner',
      milestones: [{ percentage: 20, manual: true }, { percentage: 100, manual: true }],
      guardrails: [{ metric: 'banner.errors', comparison: 'absolute', threshold: 0.05, minSampleSize: 50, rollback: 'off' }],
    });
    expect((await api.post(`${R}/${created.id}/start`)).status).toBe(200);
    await eventually(async () => (included('banner').size > 0 ? true : undefined), 5000);
    await traffic('banner', USERS, (on, i) => on && i % 5 === 0);
    const rolled = await eventually(async () => {
      const p = await get(created.id);
      return p.status === 'paused' ? p : undefined;
    }, 10_000);
    expect(rolled.currentMilestone).toBe(-1);
    expect((await api.get(`${P}/flags/banner/environments/staging`)).body.on).toBe(false);
    await eventually(async () => (included('banner').size === 0 ? true : undefined), 5000);
    expect(rolled.guardrails[0].lastEvaluation!.reason).toMatch(/past the threshold 5.00%/);
  }, 30_000);

  it('refuses bad guardrails with 400 and the path of each problem', async () => {
    const body = (guardrails: unknown[]) => ({ environment: 'staging', flag: 'search', milestones: [{ percentage: 50, manual: true }], guardrails });
    const paths = (res: { body: { error: { details: Array<{ path: string }> } } }) => res.body.error.details.map((d) => d.path).sort();
    // Field by field (the request's shape)…
    const shape = await api.post(R, body([{ metric: '9bad' }, { metric: 'y', windowSeconds: 5 }, { metric: 'z', rollback: 'later' }]));
    expect(shape.status).toBe(400);
    expect(paths(shape)).toEqual(['guardrails[0].metric', 'guardrails[1].windowSeconds', 'guardrails[2].rollback']);
    // …then the combinations.
    const combos = await api.post(R, body([{ metric: 'errors', comparison: 'absolute' }, { metric: 'x', threshold: 0.1 }, { metric: 'r', comparison: 'absolute', threshold: 2 }]));
    expect(combos.status).toBe(400);
    expect(paths(combos)).toEqual(['guardrails.0.threshold', 'guardrails.1.threshold', 'guardrails.2.threshold']);
    expect((await api.get(`${R}?flag=search&status=draft`)).body.items).toEqual([]);
    const viewer = h.api(await createToken(h, 'viewer'));
    expect((await viewer.post(R, body([{ metric: 'errors' }]))).status).toBe(403);
  }, 15_000);
});
