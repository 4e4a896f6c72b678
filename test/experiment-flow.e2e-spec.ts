import { FlagstreamClient, gatewayExposureSender, gatewayMetricSender, type MetricEvent } from '@flagstream/sdk';
import { createProject, createToken, eventually, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';
import { startSchedulingAdmin, startWorker, type SchedulingAdminHarness, type WorkerHarness } from './support/worker-harness';
import { rng } from './support/seeded-random';

/**
 * An experiment end to end, with every real part: the admin API starts it (writing the flag's
 * rollout), the server SDK evaluates users through the gateway's stream and reports exposures and
 * purchases to the gateway's event intake, the worker aggregates on its schedule, and the results
 * route reads out the planted uplift. Counts are compared with what the SDK itself saw.
 */
const P = '/api/v1/projects/shop';
const X = `${P}/experiments`;
const USERS = Array.from({ length: 2400 }, (_, i) => `user-${i}`);


describe('an experiment from the SDK to the results', () => {
  let h: SchedulingAdminHarness;
  let api: ApiClient;
  let viewer: ApiClient;
  let gw: GatewayHarness;
  let worker: WorkerHarness;
  let client: FlagstreamClient;
  let sendMetrics: (batch: MetricEvent[]) => Promise<void>;
  let sendForged: (batch: MetricEvent[]) => Promise<void>;

  beforeAll(async () => {
    h = await startSchedulingAdmin();
    api = h.api(h.ownerToken);
    viewer = h.api(await createToken(h, 'viewer'));
    await createProject(h, 'shop');
    expect((await api.post(`${P}/flags`, { key: 'checkout', kind: 'boolean' })).status).toBe(201);
    expect((await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on: true })).status).toBe(200);
    const sdkKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' })).body.key as string;
    const clientKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'client', name: 'web' })).body.key as string;
    gw = await startGateway(h);
    worker = await startWorker(h, { experimentIntervalMs: 300 });
    client = new FlagstreamClient({
      sdkKey,
      baseUrl: gw.url,
      backoff: { initialMs: 20, maxMs: 200 },
      exposures: { send: gatewayExposureSender({ baseUrl: gw.url, sdkKey }), flushIntervalMs: 50, batchSize: 500, maxQueue: 100_000 },
    });
    sendMetrics = gatewayMetricSender({ baseUrl: gw.url, sdkKey });
    sendForged = gatewayMetricSender({ baseUrl: gw.url, sdkKey: clientKey });
    await client.ready();
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await worker?.close();
    await gw?.close();
    await h?.close();
  }, 30_000);

  const metricRows = async () => Number((await h.db.query<{ n: string }>(`SELECT count(*) AS n FROM sdk_events WHERE kind = 'metric'`))[0]!.n);

  it('counts the units the SDK put in, reads out a planted uplift, snapshots on schedule, and ships the winner', async () => {
    const created = await api.post(X, {
      key: 'green-button',
      name: 'Green checkout button',
      hypothesis: 'a green button sells more',
      environment: 'staging',
      flag: 'checkout',
      control: 'off',
      variations: [
        { variation: 'off', weight: 1 },
        { variation: 'on', weight: 1 },
      ],
      coverage: 0.5,
      eventSources: 'server',
      metrics: [
        { key: 'purchased', role: 'primary', kind: 'conversion', event: 'purchase', windowSeconds: 3600 },
        { key: 'revenue', role: 'secondary', kind: 'sum', event: 'purchase' },
        { key: 'latency', role: 'guardrail', kind: 'mean', event: 'latency_ms', lowerIsBetter: true },
      ],
    });
    expect(created.status).toBe(201);
    expect((await api.post(`${X}/green-button/start`)).status).toBe(200);
    await eventually(async () => client.booleanDetail('checkout', { targetingKey: 'probe' }, false).reason === 'SPLIT', 5000);

    // The service: evaluate each user once (or twice), then report a purchase for some and a latency for all.
    const random = rng(7);
    const seen = { off: new Set<string>(), on: new Set<string>() };
    let outside = 0;
    const metrics: MetricEvent[] = [];
    const forged: MetricEvent[] = [];
    const purchases = { off: 0, on: 0 };
    for (const user of USERS) {
      const detail = client.booleanDetail('checkout', { targetingKey: user }, false);
      if (random() < 0.3) client.booleanDetail('checkout', { targetingKey: user }, false); // a second exposure: still one unit
      if (detail.experiment !== 'green-button') {
        outside++;
        expect(detail.value).toBe(false); // outside coverage: control, untracked
        continue;
      }
      const variation = detail.variation as 'off' | 'on';
      seen[variation].add(user);
      // Planted: 10% buy under control, 20% under the green button.
      if (random() < (variation === 'on' ? 0.2 : 0.1)) {
        purchases[variation]++;
        metrics.push({ name: 'purchase', value: 40, contextKey: user });
      }
      metrics.push({ name: 'latency_ms', value: 100 + Math.round(random() * 20), contextKey: user });
      // Someone with the public client key claims purchases for control users: not counted.
      if (variation === 'off') forged.push({ name: 'purchase', value: 1000, contextKey: user });
    }
    // About half the users are outside the 50% coverage; the split inside is about even.
    expect(outside).toBeGreaterThan(USERS.length * 0.4);
    expect(outside).toBeLessThan(USERS.length * 0.6);
    await sendMetrics(metrics);
    await sendForged(forged);
    const exposures = await eventually(async () => {
      const [row] = await h.db.query<{ units: string; n: string }>(`SELECT count(DISTINCT context_key) AS units, count(*) AS n FROM sdk_events WHERE experiment_key = 'green-button'`);
      return Number(row!.units) === seen.off.size + seen.on.size && Number(row!.n);
    }, 10_000);
    expect(exposures).toBeGreaterThan(seen.off.size + seen.on.size); // second exposures arrived too
    await eventually(async () => (await metricRows()) === metrics.length + forged.length, 10_000);

    // On demand, as an editor would: every unit the SDK put in, none it left out, none forged.
    // The worker aggregates every 300 ms: while it holds the experiment, on-demand runs answer 409.
    // Another test file's open transaction can hold the (cluster-wide) horizon back for a moment:
    // results may be late, never wrong, so ask until every unit is in (more would never match).
    const expectedUnits = { byVariation: { off: seen.off.size, on: seen.on.size }, multipleExposureUnits: 0 };
    const now = await eventually(async () => {
      const res = await api.post(`${X}/green-button/results`);
      if (res.status === 409) {
        expect(res.body.error.message).toMatch(/another aggregation/);
        return null;
      }
      expect(res.status).toBe(201);
      const units = res.body.units as typeof expectedUnits;
      expect(units.byVariation.off).toBeLessThanOrEqual(seen.off.size);
      expect(units.byVariation.on).toBeLessThanOrEqual(seen.on.size);
      const primary = (res.body.metrics as Array<{ control: { value: number }; treatments: Array<{ value: number }> }>)[0];
      const allIn = JSON.stringify(units) === JSON.stringify(expectedUnits) && primary?.control.value === purchases.off / seen.off.size && primary.treatments[0]?.value === purchases.on / seen.on.size;
      return allIn && res;
    }, 10_000);
    expect(now.body.units).toEqual(expectedUnits);
    const [purchased, revenue, latency] = now.body.metrics as Array<{ key: string; control: { units: number; value: number }; treatments: Array<{ variation: string; value: number; verdict: string; pValue: number; chanceToBeatControl: number; relative: { estimate: number; lower: number; upper: number } }> }>;
    expect(purchased!.key).toBe('purchased');
    expect(purchased!.control).toEqual({ units: seen.off.size, value: purchases.off / seen.off.size });
    expect(purchased!.treatments[0]!.value).toBeCloseTo(purchases.on / seen.on.size, 12);
    expect(purchased!.treatments[0]!.verdict).toBe('better');
    expect(purchased!.treatments[0]!.pValue).toBeLessThan(0.01);
    expect(purchased!.treatments[0]!.chanceToBeatControl).toBeGreaterThan(0.99);
    expect(purchased!.treatments[0]!.relative.lower).toBeGreaterThan(0);
    // Revenue per user: 40 per purchase, the forged 1,000s left out.
    expect(revenue!.control.value).toBeCloseTo((40 * purchases.off) / seen.off.size, 9);
    expect(latency!.treatments[0]!.verdict).toBe('inconclusive');
    expect(now.body.health.sampleRatioMismatch.mismatch).toBe(false);
    expect(now.body.experiment).toMatchObject({ status: 'running', eventSources: 'server', coverage: 0.5 });
    expect(now.body.progress.units).toBe(seen.off.size + seen.on.size);
    expect(now.body.progress.primaryMinimumDetectableEffect.absolute).toBeGreaterThan(0);

    // The worker snapshots on its schedule too; viewers read the latest and the history.
    await eventually(async () => {
      const history = await viewer.get(`${X}/green-button/results/history`);
      return history.status === 200 && (history.body.items as unknown[]).length >= 2;
    }, 10_000);
    const triggers = await h.db.query<{ trigger: string }>(`SELECT trigger FROM experiment_snapshots ORDER BY id`);
    expect(triggers.map((t) => t.trigger)).toContain('schedule');
    const latest = await viewer.get(`${X}/green-button/results`);
    expect(latest.status).toBe(200);
    expect(latest.body.units).toEqual(now.body.units);
    expect((await viewer.post(`${X}/green-button/results`)).status).toBe(403);

    // Ship the winner: everyone gets the green button, and the SDK sees it live.
    expect((await api.post(`${X}/green-button/stop`, { action: 'variation', variation: 'on', reason: 'green won' })).status).toBe(200);
    await eventually(async () => client.booleanDetail('checkout', { targetingKey: 'probe' }, false).value === true, 5000);
    for (const user of USERS.slice(0, 200)) {
      const detail = client.booleanDetail('checkout', { targetingKey: user }, false);
      expect([detail.value, detail.experiment]).toEqual([true, undefined]);
    }
    const audit = await api.get(`/api/v1/audit?project=shop&targetType=experiment&limit=200`);
    const actions = (audit.body.items as Array<{ action: string }>).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['experiment.created', 'experiment.started', 'experiment.aggregated', 'experiment.stopped']));
  }, 60_000);
});
