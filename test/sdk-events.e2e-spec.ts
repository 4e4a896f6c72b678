/**
 * The gateway's event intake (`POST /sdk/v1/events`, docs/protocol.md) against real Postgres: what
 * lands in `sdk_events` and in which daily partition, batching across requests, refusals (400,
 * 401, 413, 429) with nothing half-stored, retries through a database failure, the flush on
 * shutdown, exposures delivered end to end by a real `FlagstreamClient`, and experiment
 * exposures (`experiment`, `unit`) stored in `experiment_key` and `unit_key`.
 */
import { Client } from 'pg';
import { FlagstreamClient, gatewayExposureSender, gatewayMetricSender } from '@flagstream/sdk';
import { FlagstreamBrowserClient } from '@flagstream/sdk/client';
import { createProject, eventually, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';

const P = '/api/v1/projects/shop';
const DAY = 86_400_000;

interface Answer {
  status: number;
  headers: Headers;
  body: { accepted?: number; error?: { code: string; message: string; details: Array<{ path: string; message: string }>; requestId?: string } } | null;
}

describe('SDK events: POST /sdk/v1/events', () => {
  let h: AdminHarness;
  let api: ApiClient;
  let gw: GatewayHarness;
  let environmentId: string;
  let serverKey: string;
  let serverKeyId: string;
  let clientKey: string;

  beforeAll(async () => {
    h = await startAdmin();
    api = h.api(h.ownerToken);
    await createProject(h, 'shop');
    await api.post(`${P}/flags`, { key: 'checkout', kind: 'boolean' });
    await api.put(`${P}/flags/checkout/environments/staging`, {
      on: true, offVariation: 'off', prerequisites: [], version: 1,
      rules: [{ id: 'de', clauses: [{ attribute: 'country', operator: 'in', values: ['de'] }], serve: { variation: 'on' } }],
      defaultServe: { variation: 'off' },
    });
    environmentId = (await api.get(`${P}/environments/staging`)).body.id;
    const server = await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' });
    serverKey = server.body.key;
    serverKeyId = server.body.id;
    clientKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'client', name: 'web' })).body.key;
    gw = await startGateway(h);
  });
  afterAll(async () => {
    await gw.close();
    await h.close();
  }, 30_000);

  async function post(body: unknown, options: { key?: string | null; g?: GatewayHarness; headers?: Record<string, string> } = {}): Promise<Answer> {
    const key = options.key === undefined ? serverKey : options.key;
    const res = await fetch(`${(options.g ?? gw).url}/sdk/v1/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(key === null ? {} : { Authorization: `Bearer ${key}` }), ...options.headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Answer['body']) : null };
  }

  /** One series of the gateway's /metrics (labels besides `app`); 0 when absent. */
  async function metric(g: GatewayHarness, name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(`${g.url}/metrics`)).text();
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    for (const line of text.split('\n')) {
      const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const have = (m[2] ?? '').split(',');
      if (wanted.every((w) => have.includes(w))) return Number(m[3]);
    }
    return 0;
  }

  const exposure = (contextKey: string, timestamp: number | string = Date.now(), extra: Record<string, unknown> = {}) => ({ kind: 'exposure', flag: 'checkout', variation: 'on', contextKey, timestamp, ...extra });
  const measure = (contextKey: string, value: number, timestamp: number | string = Date.now()) => ({ kind: 'metric', name: 'checkout.errors', value, contextKey, timestamp });
  const many = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => exposure(`${prefix}-${i}`));

  async function rowsOf(contextKeys: string[]): Promise<Array<Record<string, unknown>>> {
    return h.db.query(
      `SELECT tableoid::regclass::text AS part, environment_id, kind, flag_key, variation, metric_name, metric_value, context_key, occurred_at, received_at, sdk_key_id
       FROM sdk_events WHERE context_key = ANY($1) ORDER BY context_key`,
      [contextKeys],
    );
  }

  async function countLike(prefix: string): Promise<number> {
    const rows = await h.db.query<{ n: string }>(`SELECT count(*) AS n FROM sdk_events WHERE context_key LIKE $1`, [`${prefix}-%`]);
    return Number(rows[0].n);
  }

  const partitionOf = (at: number) => `sdk_events_${new Date(at).toISOString().slice(0, 10).replace(/-/g, '')}`;

  it('stores an accepted batch with every column, each event in the partition of its UTC day', async () => {
    const now = Date.now();
    const later = now + 23 * 3600_000;
    const before = new Date(now - 1000);
    const res = await post({ v: 1, events: [exposure('store-a', now), measure('store-b', 2.5, new Date(later).toISOString()), exposure('store-c', new Date(now - 2 * DAY).toISOString(), { reason: 'TARGETING_MATCH' })] });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 3 });
    const rows = await eventually(async () => {
      const r = await rowsOf(['store-a', 'store-b', 'store-c']);
      return r.length === 3 ? r : undefined;
    });
    const common = { environment_id: environmentId, sdk_key_id: serverKeyId };
    expect(rows).toEqual([
      { ...common, part: partitionOf(now), kind: 'exposure', flag_key: 'checkout', variation: 'on', metric_name: null, metric_value: null, context_key: 'store-a', occurred_at: new Date(now), received_at: expect.any(Date) },
      { ...common, part: partitionOf(later), kind: 'metric', flag_key: null, variation: null, metric_name: 'checkout.errors', metric_value: 2.5, context_key: 'store-b', occurred_at: new Date(later), received_at: expect.any(Date) },
      // Two days ago has no partition of its own (the gateway prepares today and tomorrow): the default one keeps it.
      { ...common, part: 'sdk_events_default', kind: 'exposure', flag_key: 'checkout', variation: 'on', metric_name: null, metric_value: null, context_key: 'store-c', occurred_at: new Date(now - 2 * DAY), received_at: expect.any(Date) },
    ]);
    for (const r of rows) {
      expect((r.received_at as Date).getTime()).toBeGreaterThanOrEqual(before.getTime());
      expect((r.received_at as Date).getTime()).toBeLessThanOrEqual(Date.now());
    }
    expect(await metric(gw, 'flagstream_gateway_events_accepted_total', { kind: 'exposure' })).toBeGreaterThanOrEqual(2);
    expect(await metric(gw, 'flagstream_gateway_events_accepted_total', { kind: 'metric' })).toBeGreaterThanOrEqual(1);
  });

  it('takes client keys too, and bodies above the gateway-wide 64 KiB limit up to 512 KiB', async () => {
    const events = Array.from({ length: 1000 }, (_, i) => exposure(`big-${String(i).padStart(4, '0')}-${'x'.repeat(240)}`));
    const body = JSON.stringify({ events });
    expect(body.length).toBeGreaterThan(256 * 1024);
    const res = await post(body, { key: clientKey });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 1000 });
    await eventually(async () => (await countLike('big')) === 1000);
  });

  it('writes many small requests in few INSERTs', async () => {
    const g = await startGateway(h, { eventsFlushMs: 1000 });
    try {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => post({ events: many(`burst${i}`, 10) }, { g })));
      expect(results.map((r) => r.status)).toEqual(Array(40).fill(202));
      await eventually(async () => (await h.db.query<{ n: string }>(`SELECT count(*) AS n FROM sdk_events WHERE context_key LIKE 'burst%'`))[0].n === '400', 5000);
      const inserts = await metric(g, 'flagstream_gateway_events_flush_duration_seconds_count', { outcome: 'written' });
      expect(inserts).toBeGreaterThanOrEqual(1);
      expect(inserts).toBeLessThanOrEqual(3);
    } finally {
      await g.close();
    }
  });

  it('writes a full batch at once, keeps the rest until the interval, and flushes what is queued on shutdown', async () => {
    const g = await startGateway(h, { eventsBatchSize: 100, eventsFlushMs: 60_000 });
    let closed = false;
    try {
      for (let i = 0; i < 5; i++) expect((await post({ events: many(`full${i}`, 50) }, { g })).status).toBe(202);
      await eventually(async () => (await metric(g, 'flagstream_gateway_events_flush_duration_seconds_count', { outcome: 'written' })) === 2);
      const stored = await h.db.query<{ n: string }>(`SELECT count(*) AS n FROM sdk_events WHERE context_key LIKE 'full%'`);
      expect(stored[0].n).toBe('200');
      expect(await metric(g, 'flagstream_gateway_events_queue_depth')).toBe(50);
      await g.close();
      closed = true;
      const after = await h.db.query<{ n: string }>(`SELECT count(*) AS n FROM sdk_events WHERE context_key LIKE 'full%'`);
      expect(after[0].n).toBe('250');
    } finally {
      if (!closed) await g.close();
    }
  });

  it('refuses a batch with any bad event whole, naming each problem by its path', async () => {
    const rejectedBefore = await metric(gw, 'flagstream_gateway_events_rejected_total', { reason: 'invalid' });
    const res = await post({
      events: [
        exposure('refused-ok'),
        { kind: 'metric', name: '9lives', value: 'many', contextKey: '', timestamp: Date.now() },
        { kind: 'exposure', flag: 'Checkout', contextKey: 'refused-x', timestamp: 'yesterday' },
        { kind: 'click', contextKey: 'refused-y', timestamp: Date.now() },
        measure('refused-z', 1, Date.now() + 25 * 3600_000),
        exposure('refused-w', new Date(Date.now() - 31 * DAY).toISOString()),
        exposure('refused-v', '2026-02-30T10:00:00Z'),
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body?.error?.code).toBe('VALIDATION_FAILED');
    expect(res.body?.error?.message).toContain('the batch was refused whole');
    // The time window is checked once the structure is right, so the structural problems come first.
    expect(res.body?.error?.details).toEqual([
      { path: 'events[1].name', message: 'must match ^[A-Za-z][A-Za-z0-9_.:-]{0,127}$' },
      { path: 'events[1].value', message: 'must be number' },
      { path: 'events[1].contextKey', message: 'must NOT have fewer than 1 characters' },
      { path: 'events[2].variation', message: 'is required' },
      { path: 'events[2].flag', message: 'must match ^[a-z0-9][a-z0-9_.-]{0,63}$' },
      { path: 'events[2].timestamp', message: 'must be milliseconds since the Unix epoch (a number) or an ISO 8601 date-time with a time zone' },
      { path: 'events[3].kind', message: 'must be "exposure" or "metric"' },
    ]);
    const timing = await post({ events: [exposure('refused-ok'), measure('refused-z', 1, Date.now() + 25 * 3600_000), exposure('refused-w', new Date(Date.now() - 31 * DAY).toISOString()), exposure('refused-v', '2026-02-30T10:00:00Z')] });
    expect(timing.status).toBe(400);
    expect(timing.body?.error?.details).toEqual([
      { path: 'events[1].timestamp', message: 'is more than 24 hours in the future' },
      { path: 'events[2].timestamp', message: 'is more than 30 days in the past' },
      { path: 'events[3].timestamp', message: 'is not a real date and time' },
    ]);
    // Nothing of either batch was queued: a later batch is stored, the refused events are not.
    expect((await post({ events: [exposure('refused-marker')] })).status).toBe(202);
    await eventually(async () => (await rowsOf(['refused-marker'])).length === 1);
    expect(await rowsOf(['refused-ok', 'refused-z', 'refused-w', 'refused-v'])).toEqual([]);
    expect(await metric(gw, 'flagstream_gateway_events_rejected_total', { reason: 'invalid' })).toBe(rejectedBefore + 11);
  });

  it('refuses bodies that are not a batch, too many events, too many bytes, and NUL characters', async () => {
    const cases: Array<[unknown, number, string, Array<{ path: string; message: string }>?]> = [
      [{ events: [] }, 400, 'VALIDATION_FAILED', [{ path: 'events', message: 'must NOT have fewer than 1 items' }]],
      [{ v: 2, events: [exposure('shape')] }, 400, 'VALIDATION_FAILED', [{ path: 'v', message: 'must be 1' }]],
      [[exposure('shape')], 400, 'VALIDATION_FAILED', [{ path: '', message: 'must be object' }]],
      [{ events: many('count', 1001) }, 400, 'VALIDATION_FAILED', [{ path: 'events', message: 'must NOT have more than 1000 items' }]],
      [{ events: [exposure('nul\u0000key')] }, 400, 'VALIDATION_FAILED', [{ path: 'events[0].contextKey', message: 'must not contain the NUL character (U+0000)' }]],
      ['{"events": [', 400, 'BAD_REQUEST'],
      [JSON.stringify({ events: [exposure('large')], padding: 'x'.repeat(512 * 1024) }), 413, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [body, status, code, details] of cases) {
      const res = await post(body);
      expect([res.status, res.body?.error?.code]).toEqual([status, code]);
      if (details) expect(res.body?.error?.details).toEqual(details);
      // Refused bodies still go through the request pipeline: logged, with a request id.
      expect(res.headers.get('x-request-id')).toBe(res.body?.error?.requestId);
    }
    const large = await post(JSON.stringify({ events: [exposure('large')], padding: 'x'.repeat(512 * 1024) }));
    expect(large.body?.error?.message).toBe('request body is larger than the limit of 524288 bytes');
    const text = await fetch(`${gw.url}/sdk/v1/events`, { method: 'POST', headers: { Authorization: `Bearer ${serverKey}`, 'Content-Type': 'text/plain' }, body: JSON.stringify({ events: [exposure('text')] }) });
    expect(text.status).toBe(400);
    const body = JSON.stringify({ events: [exposure('media')] });
    const latin1 = await post(body, { headers: { 'Content-Type': 'application/json; charset=iso-8859-1' } });
    expect([latin1.status, latin1.body?.error?.code, latin1.body?.error?.message]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE', 'unsupported charset "ISO-8859-1"']);
    const gzip = await post(body, { headers: { 'Content-Encoding': 'gzip' } });
    expect([gzip.status, gzip.body?.error?.message]).toEqual([415, 'unsupported content encoding "gzip"']);
    expect((await post(body, { headers: { 'Content-Type': 'application/json; charset=UTF-8' } })).status).toBe(202);
  });

  it('answers 401 to a missing, unknown or revoked key', async () => {
    const created = await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'revoked' });
    await api.delete(`${P}/environments/staging/sdk-keys/${created.body.id}`);
    for (const key of [null, 'fs_server_not-a-key', created.body.key as string]) {
      const res = await post({ events: [exposure('unauthenticated')] }, { key });
      expect([res.status, res.body?.error?.code, res.body?.error?.message]).toEqual([401, 'UNAUTHENTICATED', 'missing or invalid SDK key']);
    }
    // The key is also taken from X-API-Key.
    expect((await post({ events: [exposure('api-key-header')] }, { key: null, headers: { 'X-API-Key': serverKey } })).status).toBe(202);
  });

  it('answers 429 with Retry-After to a batch larger than the whole queue, and queues one that fits', async () => {
    const g = await startGateway(h, { eventsQueueSize: 5 });
    try {
      const res = await post({ events: many('tiny', 6) }, { g });
      expect([res.status, res.body?.error?.code, res.headers.get('retry-after')]).toEqual([429, 'TOO_MANY_REQUESTS', '1']);
      expect(res.body?.error?.message).toContain('larger than the gateway\'s event queue (5)');
      expect((await post({ events: many('tiny', 5) }, { g })).status).toBe(202);
      await eventually(async () => (await countLike('tiny')) === 5);
      expect(await metric(g, 'flagstream_gateway_events_rejected_total', { reason: 'overloaded' })).toBe(6);
    } finally {
      await g.close();
    }
  });

  it('applies backpressure while inserts are stalled: a full queue refuses whole batches, then drains', async () => {
    const g = await startGateway(h, { eventsQueueSize: 20, eventsFlushMs: 20 });
    const locker = new Client({ connectionString: h.db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE sdk_events IN ACCESS EXCLUSIVE MODE');
      for (let i = 0; i < 4; i++) expect((await post({ events: many(`stall${i}`, 5) }, { g })).status).toBe(202);
      const refused = await post({ events: many('stall-refused', 1) }, { g });
      expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '1']);
      expect(refused.body?.error?.message).toContain('nothing of this batch was accepted');
      expect(await metric(g, 'flagstream_gateway_events_queue_depth')).toBe(20);
      await locker.query('ROLLBACK');
      await eventually(async () => (await countLike('stall0')) + (await countLike('stall1')) + (await countLike('stall2')) + (await countLike('stall3')) === 20);
      expect(await countLike('stall-refused')).toBe(0);
      await eventually(async () => (await post({ events: many('stall-after', 5) }, { g })).status === 202);
      await eventually(async () => (await countLike('stall-after')) >= 5);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
      await g.close();
    }
  });

  it('keeps events queued through a database failure and stores them once it is over, dropping none', async () => {
    const g = await startGateway(h, { eventsFlushMs: 20 });
    try {
      expect((await post({ events: many('outage-warm', 1) }, { g })).status).toBe(202);
      await eventually(async () => (await countLike('outage-warm')) === 1);
      await h.db.query('ALTER TABLE sdk_events RENAME TO sdk_events_away');
      try {
        expect((await post({ events: many('down', 7) }, { g })).status).toBe(202);
        await eventually(async () => (await metric(g, 'flagstream_gateway_events_flush_duration_seconds_count', { outcome: 'retry' })) >= 1);
        expect(await metric(g, 'flagstream_gateway_events_queue_depth')).toBe(7);
      } finally {
        await h.db.query('ALTER TABLE sdk_events_away RENAME TO sdk_events');
      }
      await eventually(async () => (await countLike('down')) === 7);
      expect(await metric(g, 'flagstream_gateway_events_dropped_total')).toBe(0);
    } finally {
      await g.close();
    }
  });

  it('rate-limits event batches per key, apart from the OFREP budget', async () => {
    const g = await startGateway(h, { requestsPerSecondPerKey: 2 });
    try {
      const statuses = [];
      let limited: Answer | undefined;
      for (let i = 0; i < 3; i++) {
        const res = await post({ events: many(`rate${i}`, 2) }, { g });
        statuses.push(res.status);
        if (res.status === 429) limited = res;
      }
      expect(statuses).toEqual([202, 202, 429]);
      expect(limited?.headers.get('retry-after')).toBe('1');
      expect(await metric(g, 'flagstream_gateway_events_rejected_total', { reason: 'rate_limited' })).toBe(2);
      const ofrep = await fetch(`${g.url}/ofrep/v1/evaluate/flags/checkout`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${serverKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ context: { targetingKey: 'u1' } }),
      });
      expect(ofrep.status).toBe(200);
    } finally {
      await g.close();
    }
  });

  it('receives the exposures of a real FlagstreamClient through gatewayExposureSender, and metrics through gatewayMetricSender', async () => {
    const skipped: string[] = [];
    const client = new FlagstreamClient({
      sdkKey: serverKey,
      baseUrl: gw.url,
      exposures: { send: gatewayExposureSender({ baseUrl: gw.url, sdkKey: serverKey, onSkipped: (_e, reason) => skipped.push(reason) }), flushIntervalMs: 50 },
    });
    try {
      await client.ready();
      expect(client.boolean('checkout', { targetingKey: 'sdk-de', country: 'de' }, false)).toBe(true);
      expect(client.boolean('checkout', { targetingKey: 'sdk-fr', country: 'fr' }, true)).toBe(false);
      expect(client.boolean('checkout', { country: 'de' }, false)).toBe(true);
    } finally {
      await client.close();
    }
    expect(client.droppedExposures).toBe(0);
    expect(skipped).toEqual(['no contextKey']);
    const rows = await eventually(async () => {
      const r = await rowsOf(['sdk-de', 'sdk-fr']);
      return r.length === 2 ? r : undefined;
    });
    expect(rows.map((r) => [r.context_key, r.kind, r.flag_key, r.variation, r.sdk_key_id])).toEqual([
      ['sdk-de', 'exposure', 'checkout', 'on', serverKeyId],
      ['sdk-fr', 'exposure', 'checkout', 'off', serverKeyId],
    ]);

    await gatewayMetricSender({ baseUrl: gw.url, sdkKey: clientKey })([{ name: 'checkout.errors', value: 1, contextKey: 'sdk-metric', timestamp: Date.now() - 5000 }]);
    const metricRows = await eventually(async () => {
      const r = await rowsOf(['sdk-metric']);
      return r.length ? r : undefined;
    });
    expect(metricRows).toEqual([expect.objectContaining({ kind: 'metric', metric_name: 'checkout.errors', metric_value: 1, flag_key: null })]);
  });
  async function experimentRowsOf(prefix: string): Promise<Array<{ context_key: string; kind: string; variation: string | null; experiment_key: string | null; unit_key: string | null }>> {
    return h.db.query(`SELECT context_key, kind, variation, experiment_key, unit_key FROM sdk_events WHERE context_key LIKE $1 ORDER BY context_key`, [`${prefix}-%`]);
  }

  it('stores the experiment and unit of exposures, and refuses a bad experiment key or a unit without one', async () => {
    const res = await post({
      events: [
        exposure('xp-a', Date.now(), { experiment: 'checkout-2026', unit: 'tenant-7' }),
        exposure('xp-b', Date.now(), { experiment: 'checkout-2026' }),
        exposure('xp-c'),
        // Metric events have no experiment: a field of that name is ignored, like any unknown one.
        { ...measure('xp-d', 1), experiment: 'checkout-2026', unit: 'tenant-7' },
      ],
    });
    expect([res.status, res.body]).toEqual([202, { accepted: 4 }]);
    expect(await eventually(async () => ((await experimentRowsOf('xp')).length === 4 ? experimentRowsOf('xp') : undefined))).toEqual([
      { context_key: 'xp-a', kind: 'exposure', variation: 'on', experiment_key: 'checkout-2026', unit_key: 'tenant-7' },
      { context_key: 'xp-b', kind: 'exposure', variation: 'on', experiment_key: 'checkout-2026', unit_key: null },
      { context_key: 'xp-c', kind: 'exposure', variation: 'on', experiment_key: null, unit_key: null },
      { context_key: 'xp-d', kind: 'metric', variation: null, experiment_key: null, unit_key: null },
    ]);

    const bad = await post({
      events: [
        exposure('xp-bad-1', Date.now(), { experiment: 'Checkout 2026' }),
        exposure('xp-bad-2', Date.now(), { unit: 'tenant-7' }),
        exposure('xp-bad-3', Date.now(), { experiment: 'checkout-2026', unit: 'u'.repeat(257) }),
      ],
    });
    expect([bad.status, bad.body?.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(bad.body?.error?.details).toEqual([
      { path: 'events[0].experiment', message: 'must match ^[a-z0-9][a-z0-9_.-]{0,63}$' },
      { path: 'events[1].experiment', message: 'is required with "unit"' },
      { path: 'events[2].unit', message: 'must NOT have more than 256 characters' },
    ]);
    expect((await post({ events: [exposure('xp-marker')] })).status).toBe(202);
    await eventually(async () => (await rowsOf(['xp-marker'])).length === 1);
    expect(await experimentRowsOf('xp-bad')).toEqual([]);
  });

  it('marks exposures of units in an experiment end to end: flag rollout, server SDK, gateway, sdk_events, browser client', async () => {
    await api.post(`${P}/flags`, { key: 'pricing', kind: 'boolean', clientVisible: true });
    const untrackedOutside = await api.put(`${P}/flags/pricing/environments/staging`, {
      on: true, offVariation: 'off', prerequisites: [], version: 1, rules: [],
      defaultServe: { rollout: { variations: [{ variation: 'on', weight: 50_000 }, { variation: 'off', weight: 50_000, untracked: true }] } },
    });
    expect(untrackedOutside.status).toBe(400);
    expect(untrackedOutside.body.error.details).toEqual([
      { path: 'defaultServe.rollout.variations[1].untracked', message: 'only a rollout that runs an experiment ("experiment") can have untracked slices' },
    ]);
    const put = await api.put(`${P}/flags/pricing/environments/staging`, {
      on: true, offVariation: 'off', prerequisites: [], version: 1,
      // Tenants are the unit of one experiment; everyone else is in another, by targetingKey.
      rules: [{ id: 'tenants', clauses: [{ attribute: 'tenant.id', operator: 'exists', values: [] }], serve: { rollout: { experiment: 'tenant-pricing', bucketBy: 'tenant.id', variations: [{ variation: 'on', weight: 40_000 }, { variation: 'off', weight: 30_000 }, { variation: 'off', weight: 30_000, untracked: true }] } } }],
      defaultServe: { rollout: { experiment: 'user-pricing', variations: [{ variation: 'on', weight: 30_000 }, { variation: 'off', weight: 30_000 }, { variation: 'off', weight: 40_000, untracked: true }] } },
    });
    expect(put.status).toBe(200);

    const client = new FlagstreamClient({ sdkKey: serverKey, baseUrl: gw.url, exposures: { send: gatewayExposureSender({ baseUrl: gw.url, sdkKey: serverKey }), flushIntervalMs: 50 } });
    const contexts: Array<Record<string, unknown>> = [
      ...Array.from({ length: 12 }, (_, i) => ({ targetingKey: `xpe-user-${String(i).padStart(2, '0')}` })),
      ...Array.from({ length: 12 }, (_, i) => ({ targetingKey: `xpe-tenant-${String(i).padStart(2, '0')}`, tenant: { id: i % 2 ? `t${i}` : 1000 + i } })),
    ];
    let details: Array<ReturnType<FlagstreamClient['booleanDetail']>> = [];
    try {
      await client.ready();
      await eventually(async () => client.booleanDetail('pricing', { targetingKey: 'warmup' }, false).reason === 'SPLIT');
      details = contexts.map((context) => client.booleanDetail('pricing', context, false));
    } finally {
      await client.close();
    }
    expect(client.droppedExposures).toBe(0);
    // Both experiments have units inside and outside their coverage among these contexts.
    const inside = (from: number, to: number) => details.slice(from, to).map((d) => d.experiment !== undefined);
    expect(inside(0, 12)).toContain(true);
    expect(inside(0, 12)).toContain(false);
    expect(inside(12, 24)).toContain(true);
    expect(inside(12, 24)).toContain(false);
    const expected = contexts.map((context, i) => {
      const d = details[i]!;
      const tenant = (context.tenant as { id?: unknown } | undefined)?.id;
      expect(d).toMatchObject(i < 12 ? { reason: 'SPLIT' } : { reason: 'SPLIT', ruleId: 'tenants' });
      expect(d.experimentUnit).toBe(i >= 12 && d.experiment !== undefined ? 'tenant.id' : undefined);
      if (d.experiment === undefined) expect(d.variation).toBe('off');
      return {
        context_key: context.targetingKey,
        kind: 'exposure',
        variation: d.variation,
        experiment_key: d.experiment === undefined ? null : i < 12 ? 'user-pricing' : 'tenant-pricing',
        unit_key: d.experiment !== undefined && i >= 12 ? String(tenant) : null,
      };
    });
    // Tenant contexts sort first ("xpe-tenant-" < "xpe-user-").
    expect(await eventually(async () => ((await experimentRowsOf('xpe')).length === 24 ? experimentRowsOf('xpe') : undefined))).toEqual([...expected.slice(12), ...expected.slice(0, 12)]);

    // A browser client hears the same marker from the gateway's evaluated stream.
    const tracked = contexts.find((_c, i) => i >= 12 && details[i]!.experiment !== undefined)!;
    const untracked = contexts.find((_c, i) => i >= 12 && details[i]!.experiment === undefined)!;
    for (const context of [tracked, untracked]) {
      const browser = new FlagstreamBrowserClient({ sdkKey: clientKey, baseUrl: gw.url, context, storage: null });
      try {
        await browser.ready();
        const server = details[contexts.indexOf(context)]!;
        const { ruleId: _ruleId, ...withoutRule } = server;
        expect(browser.booleanDetail('pricing', false)).toEqual(withoutRule);
      } finally {
        await browser.close();
      }
    }
  });
});
