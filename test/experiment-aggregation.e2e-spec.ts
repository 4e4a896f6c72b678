import { ExperimentResults, type ExperimentTotals } from '@flagstream/changes';
import type { ExperimentEntity, ExperimentSnapshotEntity, NewExperimentMetric, NewSdkEvent } from '@flagstream/persistence';
import type { ExperimentAnalysis } from '@flagstream/stats';
import { createProject, eventually, startAdmin, type AdminHarness } from './support/admin-harness';
import { rng } from './support/seeded-random';

/**
 * The experiment aggregation against real Postgres: events are written straight into sdk_events
 * (with chosen arrival times), and every total is compared with an independent computation in
 * JavaScript over the same raw events.
 */
const P = '/api/v1/projects/lab';
const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const MIN = 60_000;
const at = (minutes: number) => new Date(T0 + minutes * MIN);

interface RawExposure {
  /** The flag the exposure names (default: the experiment's flag). */
  flag?: string;
  kind: 'exposure';
  unit: string;
  context: string;
  variation: string;
  experiment: string | null;
  occurred: number;
  received: number;
  server: boolean;
}
interface RawMetric {
  kind: 'metric';
  context: string;
  name: string;
  value: number;
  occurred: number;
  received: number;
  server: boolean;
}
type Raw = RawExposure | RawMetric;

const METRICS: NewExperimentMetric[] = [
  { position: 0, key: 'purchased', role: 'primary', kind: 'conversion', event: 'purchase', denominatorEvent: null, windowSeconds: 3600, lowerIsBetter: false },
  { position: 1, key: 'pageviews', role: 'secondary', kind: 'count', event: 'pageview', denominatorEvent: null, windowSeconds: null, lowerIsBetter: false },
  { position: 2, key: 'revenue', role: 'secondary', kind: 'sum', event: 'purchase', denominatorEvent: null, windowSeconds: null, lowerIsBetter: false },
  { position: 3, key: 'latency', role: 'guardrail', kind: 'mean', event: 'latency_ms', denominatorEvent: null, windowSeconds: null, lowerIsBetter: true },
  { position: 4, key: 'revenue-per-pageview', role: 'secondary', kind: 'ratio', event: 'purchase', denominatorEvent: 'pageview', windowSeconds: null, lowerIsBetter: false },
];

/** The totals, computed the obvious way from the raw events (no SQL, no increments). */
function expectedTotals(raw: readonly Raw[], x: { key: string; variations: string[]; start: number; stop: number | null; upto: number; serverOnly: boolean }): ExperimentTotals {
  // Exposures are written with the experiment's flag unless they name another (never counted).
  const counted = (e: Raw) => e.received <= x.upto && e.occurred >= x.start && (x.stop === null || e.occurred <= x.stop) && (!x.serverOnly || e.server);
  const units = new Map<string, { variations: Set<string>; first: number }>();
  for (const e of raw) {
    if (e.kind !== 'exposure' || e.experiment !== x.key || e.flag !== undefined || !x.variations.includes(e.variation) || !counted(e)) continue;
    const u = units.get(e.unit) ?? { variations: new Set<string>(), first: Infinity };
    u.variations.add(e.variation);
    u.first = Math.min(u.first, e.occurred);
    units.set(e.unit, u);
  }
  const byVariation: Record<string, number> = Object.fromEntries(x.variations.map((v) => [v, 0]));
  let multiple = 0;
  for (const u of units.values()) {
    if (u.variations.size > 1) multiple++;
    else byVariation[[...u.variations][0]!]!++;
  }
  const metrics = METRICS.map((m) => {
    const perUnit = new Map<string, { x: number; y: number }>();
    for (const e of raw) {
      if (e.kind !== 'metric' || !counted(e)) continue;
      const u = units.get(e.context);
      if (!u || e.occurred < u.first || (m.windowSeconds !== null && e.occurred > u.first + m.windowSeconds * 1000)) continue;
      const s = perUnit.get(e.context) ?? { x: 0, y: 0 };
      if (e.name === m.event) s.x += m.kind === 'conversion' || m.kind === 'count' ? 1 : e.value;
      if (m.kind === 'mean' && e.name === m.event) s.y += 1;
      if (m.kind === 'ratio' && e.name === m.denominatorEvent) s.y += e.value;
      perUnit.set(e.context, s);
    }
    const totals: ExperimentTotals['metrics'][number]['byVariation'] = {};
    for (const v of x.variations) totals[v] = { n: 0, converted: 0, sumX: 0, sumX2: 0, sumY: 0, sumY2: 0, sumXY: 0 };
    for (const [key, u] of units) {
      if (u.variations.size > 1) continue;
      const t = totals[[...u.variations][0]!]!;
      const s = perUnit.get(key) ?? { x: 0, y: 0 };
      t.n++;
      if (s.x > 0) t.converted++;
      t.sumX += s.x;
      t.sumX2 += s.x * s.x;
      t.sumY += s.y;
      t.sumY2 += s.y * s.y;
      t.sumXY += s.x * s.y;
    }
    return { key: m.key, byVariation: totals };
  });
  return { units: { byVariation, multipleExposureUnits: multiple }, metrics };
}


function closeTotals(actual: ExperimentTotals, expected: ExperimentTotals): void {
  expect(actual.units).toEqual(expected.units);
  expect(actual.metrics.map((m) => m.key)).toEqual(expected.metrics.map((m) => m.key));
  actual.metrics.forEach((m, i) => {
    for (const [variation, t] of Object.entries(expected.metrics[i]!.byVariation)) {
      const a = m.byVariation[variation]!;
      expect({ metric: m.key, variation, n: a.n, converted: a.converted }).toEqual({ metric: m.key, variation, n: t.n, converted: t.converted });
      for (const k of ['sumX', 'sumX2', 'sumY', 'sumY2', 'sumXY'] as const) expect(a[k]).toBeCloseTo(t[k], 6);
    }
  });
}

describe('experiment aggregation (SQL over sdk_events, incremental from a watermark)', () => {
  let h: AdminHarness;
  let environmentId: string;
  let projectId: string;
  let serverKeyId: string;
  let clientKeyId: string;

  beforeAll(async () => {
    h = await startAdmin({ jobQueues: false });
    const api = h.api(h.ownerToken);
    await createProject(h, 'lab');
    expect((await api.post(`${P}/flags`, { key: 'checkout', kind: 'boolean' })).status).toBe(201);
    expect((await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' })).status).toBe(201);
    expect((await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'client', name: 'web' })).status).toBe(201);
    const [row] = await h.db.query<{ project: string; environment: string; flag: string }>(
      `SELECT p.id AS project, e.id AS environment, f.id AS flag FROM projects p JOIN environments e ON e.project_id = p.id AND e.key = 'staging' JOIN flags f ON f.project_id = p.id AND f.key = 'checkout' WHERE p.key = 'lab'`,
    );
    ({ project: projectId, environment: environmentId } = row!);
    const keys = await h.db.query<{ id: string; kind: string }>(`SELECT id, kind FROM sdk_keys WHERE environment_id = $1`, [environmentId]);
    serverKeyId = keys.find((k) => k.kind === 'server')!.id;
    clientKeyId = keys.find((k) => k.kind === 'client')!.id;
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A flag of its own per experiment: one experiment runs per flag and environment. */
  async function flagFor(key: string): Promise<string> {
    expect((await h.api(h.ownerToken).post(`${P}/flags`, { key: `f-${key}`, kind: 'boolean' })).status).toBe(201);
    const [row] = await h.db.query<{ id: string }>(`SELECT id FROM flags WHERE project_id = $1 AND key = $2`, [projectId, `f-${key}`]);
    return row!.id;
  }

  async function createRunning(key: string, options: { eventSources?: 'all' | 'server'; stoppedAt?: Date } = {}): Promise<ExperimentEntity> {
    const flagId = await flagFor(key);
    return h.store.transaction(async (tx) => {
      const x = await tx.experiments.insert(
        {
          projectId,
          environmentId,
          flagId,
          flagKey: `f-${key}`,
          key,
          name: key,
          hypothesis: null,
          controlVariation: 'off',
          variations: [
            { variation: 'off', weight: 1 },
            { variation: 'on', weight: 1 },
          ],
          coverage: 1,
          unitAttribute: 'targetingKey',
          ruleId: null,
          eventSources: options.eventSources ?? 'all',
          alpha: 0.05,
          createdBy: { type: 'system', id: 'test', name: 'test' },
        },
        METRICS,
      );
      x.status = options.stoppedAt ? 'stopped' : 'running';
      x.startedAt = at(0);
      x.stoppedAt = options.stoppedAt ?? null;
      x.settingsBefore = {} as ExperimentEntity['settingsBefore'];
      return tx.experiments.save(x);
    });
  }

  async function write(raw: readonly Raw[], flag: string): Promise<void> {
    const rows: NewSdkEvent[] = raw.map((e) =>
      e.kind === 'exposure'
        ? {
            kind: 'exposure',
            environmentId,
            sdkKeyId: e.server ? serverKeyId : clientKeyId,
            flag: e.flag ?? flag,
            variation: e.variation,
            contextKey: e.context,
            occurredAt: new Date(e.occurred),
            receivedAt: new Date(e.received),
            ...(e.experiment ? { experiment: e.experiment } : {}),
            ...(e.experiment && e.unit !== e.context ? { unit: e.unit } : {}),
          }
        : { kind: 'metric', environmentId, sdkKeyId: e.server ? serverKeyId : clientKeyId, name: e.name, value: e.value, contextKey: e.context, occurredAt: new Date(e.occurred), receivedAt: new Date(e.received) },
    );
    for (let i = 0; i < rows.length; i += 5000) await h.store.read.sdkEvents.insertBatch(rows.slice(i, i + 5000));
  }

  const aggregator = (now: Date) => new ExperimentResults(h.store, { settleSeconds: 3600, now: () => now });

  /**
   * Aggregates until the experiment's transaction horizon has passed every row written so far:
   * the horizon is cluster-wide, so another test file's open transaction can hold it back for a
   * moment (results are late then, never wrong). Returns the snapshots made.
   */
  async function aggregateAll(x: ExperimentEntity, now: Date, trigger: 'schedule' | 'manual' = 'schedule'): Promise<ExperimentSnapshotEntity[]> {
    const [row] = await h.db.query<{ xid: string | null }>('SELECT max(txid)::text AS xid FROM sdk_events');
    const target = Number(row?.xid ?? 0);
    const made: ExperimentSnapshotEntity[] = [];
    for (let i = 0; i < 400; i++) {
      const snapshot = await aggregator(now).aggregate(x.id, trigger);
      if (snapshot) made.push(snapshot);
      const fresh = await h.store.read.experiments.findById(x.id);
      if (fresh?.watermarkXid != null && fresh.watermarkXid > target) return made;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('the transaction horizon did not pass the rows written');
  }

  it('counts first exposures, excludes units seen in two variations, and applies windows, the stop and the experiment marker', async () => {
    const x = await createRunning('rules');
    const exp = (unit: string, variation: string, occurred: number, extra: Partial<RawExposure> = {}): RawExposure => ({
      kind: 'exposure', unit, context: unit, variation, experiment: 'rules', occurred: T0 + occurred * MIN, received: T0 + occurred * MIN + 1000, server: true, ...extra,
    });
    const metric = (context: string, name: string, value: number, occurred: number): RawMetric => ({ kind: 'metric', context, name, value, occurred: T0 + occurred * MIN, received: T0 + occurred * MIN + 1000, server: true });
    const raw: Raw[] = [
      exp('a', 'on', 1),
      exp('a', 'on', 5), // a second exposure of the same unit: still one unit
      exp('b', 'off', 2),
      exp('c', 'on', 3),
      exp('c', 'off', 4), // c saw both: excluded and reported
      exp('d', 'on', 2, { experiment: null }), // outside coverage: served, not counted
      exp('e', 'on', 2, { experiment: 'another' }),
      exp('g', 'on', 2, { flag: 'f-random' }), // the right key on another flag (a copied rollout): not counted
      exp('f', 'on', -5), // before the start
      metric('a', 'purchase', 30, 10), // inside a's 1-hour conversion window
      metric('a', 'purchase', 20, 120), // after the window: revenue (no window) counts it, conversion does not
      metric('b', 'purchase', 50, 1), // before b's first exposure: never counts
      metric('b', 'pageview', 1, 3),
      metric('b', 'pageview', 1, 4),
      metric('b', 'latency_ms', 100, 5),
      metric('b', 'latency_ms', 300, 6),
      metric('c', 'purchase', 99, 10), // c is excluded
      metric('d', 'purchase', 99, 10), // d never entered
    ];
    await write(raw, 'f-rules');
    const made = await aggregateAll(x, at(200), 'manual');
    const snapshot = made[made.length - 1]!;
    const totals = snapshot.totals as unknown as ExperimentTotals;
    expect(totals.units).toEqual({ byVariation: { off: 1, on: 1 }, multipleExposureUnits: 1 });
    const [purchased, pageviews, revenue, latency, ratio] = totals.metrics;
    expect(purchased!.byVariation.on).toMatchObject({ n: 1, converted: 1 });
    expect(purchased!.byVariation.off).toMatchObject({ n: 1, converted: 0 });
    expect(revenue!.byVariation.on).toMatchObject({ sumX: 50, sumX2: 2500 });
    expect(pageviews!.byVariation.off).toMatchObject({ sumX: 2, sumX2: 4 });
    expect(latency!.byVariation.off).toMatchObject({ sumX: 400, sumY: 2, sumXY: 800 });
    expect(ratio!.byVariation.off).toMatchObject({ sumX: 0, sumY: 2 });
    expect(ratio!.byVariation.on).toMatchObject({ sumX: 50, sumY: 0 });
    closeTotals(totals, expectedTotals(raw, { key: 'rules', variations: ['off', 'on'], start: T0, stop: null, upto: T0 + 200 * MIN, serverOnly: false }));
    // Two units are not enough for statistics: the snapshot says so instead of computing them.
    expect(snapshot.analysis).toBeNull();
    // 3 units upserted from exposures; 7 metric events of exposed units (c's too: excluded later).
    expect(made.reduce((n, s) => n + s.eventsRead, 0)).toBe(3 + 7);
  });

  it('gives the same totals incrementally as in one full pass, on a seeded random stream, counting each event once', async () => {
    const x = await createRunning('random');
    const random = rng(42);
    const raw: Raw[] = [];
    for (let i = 0; i < 3000; i++) {
      const unit = `u${Math.floor(random() * 1200)}`;
      const occurred = T0 + Math.floor(random() * 600) * MIN;
      // Arrival up to 20 minutes late, so arrival order differs from occurrence order.
      const received = occurred + Math.floor(random() * 20 * MIN);
      if (random() < 0.45) {
        const variation = random() < 0.02 ? 'maybe' : random() < 0.5 ? 'on' : 'off';
        // Units stay in their bucket except a few that flip (propagation races).
        const sticky = Number(unit.slice(1)) % 2 ? 'on' : 'off';
        raw.push({ kind: 'exposure', unit, context: unit, variation: random() < 0.97 ? sticky : variation, experiment: random() < 0.9 ? 'random' : null, occurred, received, server: random() < 0.8 });
      } else {
        const name = ['purchase', 'pageview', 'latency_ms'][Math.floor(random() * 3)]!;
        raw.push({ kind: 'metric', context: unit, name, value: Math.round(random() * 1000) / 10, occurred, received, server: random() < 0.8 });
      }
    }
    // A metric event may arrive before the unit's exposure (another SDK batch), but not more than
    // the look-back (10 minutes) before it: keep this stream within that promise.
    const firstExposureArrival = new Map<string, number>();
    for (const e of raw) if (e.kind === 'exposure') firstExposureArrival.set(e.unit, Math.min(firstExposureArrival.get(e.unit) ?? Infinity, e.received));
    let early = 0;
    for (const e of raw) {
      const arrival = e.kind === 'metric' ? firstExposureArrival.get(e.context) : undefined;
      if (arrival === undefined) continue;
      e.received = Math.max(e.received, arrival - 9 * MIN);
      if (e.received < arrival) early++;
    }
    // The stream does exercise the look-back: many metric events arrive before their unit's exposure.
    expect(early).toBeGreaterThan(100);
    // Events are written in arrival order, an aggregation after every 10 minutes of arrivals: many
    // metric events are written (and read) before their unit's exposure.
    raw.sort((a, b) => a.received - b.received);
    const cuts = Array.from({ length: 70 }, (_, i) => 10 * (i + 1));
    let eventsRead = 0;
    let written = 0;
    for (const minute of cuts) {
      const upto = raw.findIndex((e) => e.received > T0 + minute * MIN);
      const end = upto === -1 ? raw.length : upto;
      await write(raw.slice(written, end), 'f-random');
      written = end;
      const steps = await aggregateAll(x, at(minute));
      const snapshot = steps[steps.length - 1]!;
      eventsRead += steps.reduce((n, s) => n + s.eventsRead, 0);
      closeTotals(snapshot.totals as unknown as ExperimentTotals, expectedTotals(raw, { key: 'random', variations: ['off', 'on'], start: T0, stop: null, upto: T0 + minute * MIN, serverOnly: false }));
    }
    const incremental = (await h.store.read.experiments.latestSnapshot(x.id))!;
    // Running again with nothing new reads nothing and changes nothing.
    const again = (await aggregator(at(700)).aggregate(x.id, 'manual'))!;
    expect(again.eventsRead).toBe(0);
    expect(again.totals).toEqual(incremental.totals);
    // A full pass from scratch agrees with the sum of the increments.
    await h.store.transaction((tx) => tx.experiments.resetAggregation(x.id));
    const fullSteps = await aggregateAll(x, at(700), 'manual');
    const full = { ...fullSteps[fullSteps.length - 1]!, eventsRead: fullSteps.reduce((n, s) => n + s.eventsRead, 0) };
    closeTotals(full.totals as unknown as ExperimentTotals, incremental.totals as unknown as ExperimentTotals);
    expect(eventsRead).toBeGreaterThanOrEqual(full.eventsRead);
    // With enough units per variation the statistics are computed and stored with the totals.
    const analysis = full.analysis as unknown as ExperimentAnalysis;
    expect(analysis.metrics.map((m) => m.key)).toEqual(['purchased', 'pageviews', 'revenue', 'latency', 'revenue-per-pageview']);
    expect(analysis.health.multipleExposures.units).toBe((full.totals as unknown as ExperimentTotals).units.multipleExposureUnits);
    expect(analysis.metrics[0]!.treatments[0]!.variation).toBe('on');
  }, 60_000);

  it('reads an insert that commits after an aggregation (with an earlier arrival time) in the next one, once', async () => {
    const x = await createRunning('late-commit');
    const exposure = (unit: string, minute: number) =>
      `INSERT INTO sdk_events (environment_id, kind, flag_key, variation, context_key, occurred_at, received_at, sdk_key_id, experiment_key)
       VALUES ('${environmentId}', 'exposure', 'f-late-commit', 'on', '${unit}', '${at(minute).toISOString()}', '${at(minute).toISOString()}', '${serverKeyId}', 'late-commit')`;
    await write([{ kind: 'exposure', unit: 'early', context: 'early', variation: 'off', experiment: 'late-commit', occurred: T0 + MIN, received: T0 + MIN, server: true }], 'f-late-commit');
    await aggregateAll(x, at(4));
    // A gateway insert in flight: stamped (received_at) before the next aggregation, committed after it.
    await h.db.query('BEGIN');
    await h.db.query(exposure('slow', 2));
    const first = (await aggregator(at(5)).aggregate(x.id, 'schedule'))!;
    expect((first.totals as unknown as ExperimentTotals).units.byVariation).toEqual({ off: 1, on: 0 });
    await h.db.query('COMMIT');
    const second = (await aggregateAll(x, at(6))).pop()!;
    expect((second.totals as unknown as ExperimentTotals).units.byVariation).toEqual({ off: 1, on: 1 });
    const third = (await aggregator(at(7)).aggregate(x.id, 'schedule'))!;
    expect(third.eventsRead).toBe(0);
    expect((third.totals as unknown as ExperimentTotals).units.byVariation).toEqual({ off: 1, on: 1 });
  });

  it('counts only server keys when the experiment says so, and units other than the targeting key', async () => {
    const x = await createRunning('sources', { eventSources: 'server' });
    const raw: Raw[] = [
      { kind: 'exposure', unit: 'tenant-1', context: 'user-1', variation: 'on', experiment: 'sources', occurred: T0 + MIN, received: T0 + MIN, server: true },
      { kind: 'exposure', unit: 'tenant-1', context: 'user-2', variation: 'on', experiment: 'sources', occurred: T0 + 2 * MIN, received: T0 + 2 * MIN, server: true },
      { kind: 'exposure', unit: 'tenant-2', context: 'user-3', variation: 'off', experiment: 'sources', occurred: T0 + MIN, received: T0 + MIN, server: true },
      { kind: 'exposure', unit: 'tenant-3', context: 'user-4', variation: 'off', experiment: 'sources', occurred: T0 + MIN, received: T0 + MIN, server: false },
      // Metrics of a tenant-unit experiment are reported with the tenant as contextKey.
      { kind: 'metric', context: 'tenant-1', name: 'pageview', value: 1, occurred: T0 + 3 * MIN, received: T0 + 3 * MIN, server: true },
      { kind: 'metric', context: 'tenant-2', name: 'pageview', value: 1, occurred: T0 + 3 * MIN, received: T0 + 3 * MIN, server: false },
    ];
    await write(raw, 'f-sources');
    const totals = (await aggregateAll(x, at(10), 'manual')).pop()!.totals as unknown as ExperimentTotals;
    expect(totals.units).toEqual({ byVariation: { off: 1, on: 1 }, multipleExposureUnits: 0 });
    expect(totals.metrics[1]!.byVariation).toMatchObject({ on: { n: 1, sumX: 1 }, off: { n: 1, sumX: 0 } });
    closeTotals(totals, expectedTotals(raw, { key: 'sources', variations: ['off', 'on'], start: T0, stop: null, upto: T0 + 10 * MIN, serverOnly: true }));
  });

  it('keeps counting late events of a stopped experiment during the settle time, then leaves it alone', async () => {
    const x = await createRunning('stopped', { stoppedAt: at(30) });
    const raw: Raw[] = [
      { kind: 'exposure', unit: 'a', context: 'a', variation: 'on', experiment: 'stopped', occurred: T0 + 10 * MIN, received: T0 + 50 * MIN, server: true },
      { kind: 'exposure', unit: 'b', context: 'b', variation: 'off', experiment: 'stopped', occurred: T0 + 40 * MIN, received: T0 + 41 * MIN, server: true },
      { kind: 'exposure', unit: 'c', context: 'c', variation: 'off', experiment: 'stopped', occurred: T0 + 20 * MIN, received: T0 + 200 * MIN, server: true },
    ];
    await write(raw, 'f-stopped');
    const last = (await aggregateAll(x, at(300))).pop()!;
    // a arrived late but within the hour after the stop; b occurred after the stop; c arrived too late.
    expect((last.totals as unknown as ExperimentTotals).units).toEqual({ byVariation: { off: 0, on: 1 }, multipleExposureUnits: 0 });
    expect(last.watermark.toISOString()).toBe(at(300).toISOString());
    // Past the settle time (and its margin) it is done once its horizon passes the inserts that had begun.
    await eventually(async () => {
      await aggregator(at(300)).aggregate(x.id, 'schedule');
      return !(await h.store.read.experiments.listDue(100)).some((d) => d.key === 'stopped');
    });
    expect((await h.store.read.experiments.listDue(100)).map((d) => d.key)).toEqual(expect.arrayContaining(['rules', 'random', 'sources']));
  });

  it('applies each window once when aggregations race (the row lock), metric sums included', async () => {
    const x = await createRunning('race');
    const raw: Raw[] = [];
    // Units of their own: metric events belong to a unit in the environment, so another test's
    // page views of a unit named alike would count here too (rightly).
    for (let i = 0; i < 40; i++) {
      raw.push({ kind: 'exposure', unit: `racer-${i}`, context: `racer-${i}`, variation: i % 2 ? 'on' : 'off', experiment: 'race', occurred: T0 + MIN, received: T0 + MIN, server: true });
      raw.push({ kind: 'metric', context: `racer-${i}`, name: 'pageview', value: 1, occurred: T0 + 2 * MIN, received: T0 + 2 * MIN, server: true });
    }
    await write(raw, 'f-race');
    const results = aggregator(at(10));
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => results.aggregate(x.id, 'manual')));
    expect(outcomes.some((o) => o !== null)).toBe(true);
    const totals = (await aggregateAll(x, at(10))).pop()!.totals as unknown as ExperimentTotals;
    expect(totals.units.byVariation).toEqual({ off: 20, on: 20 });
    // A window applied twice would double the page views of some units.
    expect(totals.metrics[1]!.byVariation).toMatchObject({ off: { n: 20, sumX: 20, sumX2: 20 }, on: { n: 20, sumX: 20, sumX2: 20 } });
  });

  it('does not lose events while a long transaction elsewhere holds the horizon for longer than the look-back', async () => {
    const x = await createRunning('stuck');
    await h.db.query('BEGIN');
    await h.db.query('SELECT pg_current_xact_id()'); // an open transaction with an id: the horizon stops at it
    try {
      await write([{ kind: 'exposure', unit: 'held', context: 'held', variation: 'on', experiment: 'stuck', occurred: T0 + MIN, received: T0 + MIN, server: true }], 'f-stuck');
      for (const minute of [2, 20, 40, 60]) {
        const snapshot = (await aggregator(at(minute)).aggregate(x.id, 'schedule'))!;
        expect((snapshot.totals as unknown as ExperimentTotals).units.byVariation).toEqual({ off: 0, on: 0 });
      }
    } finally {
      await h.db.query('COMMIT');
    }
    // An hour later the horizon moves: the exposure, stamped at minute 1, is read.
    const after = (await aggregateAll(x, at(80))).pop()!;
    expect((after.totals as unknown as ExperimentTotals).units.byVariation).toEqual({ off: 0, on: 1 });
  });

  it('refuses to aggregate a draft (409) and an unknown id (404)', async () => {
    const flagId = await flagFor('draft');
    const draft = await h.store.transaction((tx) =>
      tx.experiments.insert(
        { projectId, environmentId, flagId, flagKey: 'checkout', key: 'draft', name: 'draft', hypothesis: null, controlVariation: 'off', variations: [{ variation: 'off', weight: 1 }, { variation: 'on', weight: 1 }], coverage: 1, unitAttribute: 'targetingKey', ruleId: null, eventSources: 'all', alpha: 0.05, createdBy: { type: 'system', id: 't', name: 't' } },
        METRICS,
      ),
    );
    await expect(aggregator(at(10)).aggregate(draft.id, 'manual')).rejects.toMatchObject({ status: 409 });
    await expect(aggregator(at(10)).aggregate('00000000-0000-4000-8000-000000000000', 'manual')).rejects.toMatchObject({ status: 404 });
  });
});
