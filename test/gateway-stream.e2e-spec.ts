import { stateHash, type EvaluatedPatchMessageV1, type EvaluatedSnapshotMessageV1, type FlagSnapshotV1, type PatchMessageV1, type SegmentSnapshotV1, type SnapshotMessageV1 } from '@flagstream/protocol';
import { createProject, eventually, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';
import { openSse, type SseClient } from './support/sse-client';

const P = '/api/v1/projects/shop';

/** Applies patches to a snapshot the way an SDK must, and checks the state hash after each. */
class LocalState {
  revision: number;
  flags = new Map<string, FlagSnapshotV1>();
  segments = new Map<string, SegmentSnapshotV1>();
  constructor(s: SnapshotMessageV1) {
    this.revision = s.revision;
    for (const f of s.flags) this.flags.set(f.key, f);
    for (const g of s.segments) this.segments.set(g.key, g);
    expect(this.hash()).toBe(s.stateHash);
  }
  apply(p: PatchMessageV1): void {
    expect(p.revision).toBe(this.revision + 1);
    for (const c of p.changes) {
      if (c.type === 'flag.upsert') this.flags.set(c.flag.key, c.flag);
      if (c.type === 'flag.delete') this.flags.delete(c.key);
      if (c.type === 'segment.upsert') this.segments.set(c.segment.key, c.segment);
      if (c.type === 'segment.delete') this.segments.delete(c.key);
    }
    this.revision = p.revision;
    expect(this.hash()).toBe(p.stateHash);
  }
  hash(): string {
    return stateHash([...this.flags.values()], [...this.segments.values()]);
  }
}

describe('gateway SSE streams', () => {
  let h: AdminHarness;
  let api: ApiClient;
  let gw: GatewayHarness;
  let serverKey: string;
  let clientKey: string;
  const open: SseClient[] = [];

  async function sse(path: string, headers: Record<string, string> = {}, base = gw.url): Promise<SseClient> {
    const c = await openSse(`${base}${path}`, headers);
    open.push(c);
    return c;
  }
  const parse = <T>(e: { data: string }) => JSON.parse(e.data) as T;

  beforeAll(async () => {
    h = await startAdmin();
    api = h.api(h.ownerToken);
    await createProject(h, 'shop');
    await api.post(`${P}/flags`, { key: 'checkout', kind: 'boolean', clientVisible: true });
    await api.post(`${P}/flags`, { key: 'internal', kind: 'boolean' });
    await api.put(`${P}/flags/checkout/environments/staging`, {
      on: true, offVariation: 'off', prerequisites: [], version: 1,
      rules: [{ id: 'de', clauses: [{ attribute: 'country', operator: 'in', values: ['de'] }], serve: { variation: 'on' } }],
      defaultServe: { variation: 'off' },
    });
    serverKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' })).body.key;
    clientKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'client', name: 'web' })).body.key;
    gw = await startGateway(h);
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await gw.close();
    await h.close();
  });

  it('sends a verifiable snapshot, then one patch per revision, with proxy-safe headers', async () => {
    const c = await sse('/sdk/v1/stream', { Authorization: `Bearer ${serverKey}` });
    expect(c.status).toBe(200);
    expect(c.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(c.headers.get('cache-control')).toContain('no-cache');
    expect(c.headers.get('x-accel-buffering')).toBe('no');
    const first = await c.next();
    expect(first.event).toBe('snapshot');
    const snap = parse<SnapshotMessageV1>(first);
    expect(first.id).toBe(String(snap.revision));
    expect(snap.flags.map((f) => f.key)).toEqual(['checkout', 'internal']);
    const local = new LocalState(snap);

    await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on: false });
    const patchEvent = await c.next((e) => e.event === 'patch');
    expect(patchEvent.id).toBe(String(snap.revision + 1));
    const patch = parse<PatchMessageV1>(patchEvent);
    expect(patch.changes).toEqual([{ type: 'flag.upsert', flag: expect.objectContaining({ key: 'checkout', settings: expect.objectContaining({ on: false }) }) }]);
    local.apply(patch);
  });

  it('accepts the bare key, and refuses bad keys and client keys without leaking detail', async () => {
    const bare = await sse('/sdk/v1/stream', { Authorization: serverKey });
    expect((await bare.next()).event).toBe('snapshot');
    for (const headers of [{}, { Authorization: 'Bearer fs_server_nope' }, { Authorization: 'Bearer ' + 'x'.repeat(500) }] as Array<Record<string, string>>) {
      const res = await fetch(`${gw.url}/sdk/v1/stream`, { headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { message: string } }).error.message).toBe('missing or invalid SDK key');
    }
    const client = await fetch(`${gw.url}/sdk/v1/stream`, { headers: { Authorization: `Bearer ${clientKey}` } });
    expect(client.status).toBe(403);
  });

  it('resumes from Last-Event-ID with exactly the missed revisions, or a snapshot when it cannot', async () => {
    const c = await sse('/sdk/v1/stream', { Authorization: `Bearer ${serverKey}` });
    const snap = parse<SnapshotMessageV1>(await c.next());
    c.close();
    await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on: true });
    await api.post(`${P}/flags/internal/environments/staging/toggle`, { on: true });
    // Wait until the gateway has both, then resume.
    await eventually(async () => gw.runtime.hubs.all().some((hub) => hub.environment === 'staging' && hub.revision === snap.revision + 2));
    const resumed = await sse('/sdk/v1/stream', { Authorization: `Bearer ${serverKey}`, 'Last-Event-ID': String(snap.revision) });
    const a = await resumed.next();
    const b = await resumed.next(() => true, 5000, 1);
    expect([a.event, a.id, b.event, b.id]).toEqual(['patch', String(snap.revision + 1), 'patch', String(snap.revision + 2)]);
    const local = new LocalState(snap);
    local.apply(parse<PatchMessageV1>(a));
    local.apply(parse<PatchMessageV1>(b));

    for (const bad of ['garbage', '99999999', '-1']) {
      const fresh = await sse('/sdk/v1/stream', { Authorization: `Bearer ${serverKey}`, 'Last-Event-ID': bad });
      const e = await fresh.next();
      expect([e.event, e.id]).toEqual(['snapshot', String(snap.revision + 2)]);
    }
  });

  it('closes an open stream within a second of its key being revoked', async () => {
    const created = await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'short-lived' });
    const c = await sse('/sdk/v1/stream', { Authorization: `Bearer ${created.body.key}` });
    await c.next();
    const revokedAt = Date.now();
    expect((await api.delete(`${P}/environments/staging/sdk-keys/${created.body.id}`)).status).toBe(204);
    await c.ended;
    expect(Date.now() - revokedAt).toBeLessThan(1500);
    const again = await fetch(`${gw.url}/sdk/v1/stream`, { headers: { Authorization: `Bearer ${created.body.key}` } });
    expect(again.status).toBe(401);
  });

  it('sends client keys values of client-visible flags only, and only what changed for their context', async () => {
    const context = Buffer.from(JSON.stringify({ targetingKey: 'u1', country: 'de' })).toString('base64url');
    const c = await sse(`/sdk/v1/stream/evaluated?key=${clientKey}&context=${context}`);
    expect(c.status).toBe(200);
    const first = await c.next();
    expect(first.data).not.toContain('rules');
    const snap = parse<EvaluatedSnapshotMessageV1>(first);
    expect(snap.flags).toEqual({ checkout: { value: true, variant: 'on', reason: 'TARGETING_MATCH' } });

    // A server-only flag changes: this client hears nothing.
    await api.post(`${P}/flags/internal/environments/staging/toggle`, { on: false });
    // The client-visible flag is killed: its value changes for this context.
    await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on: false });
    const patchEvent = await c.next((e) => e.event === 'patch');
    const patch = parse<EvaluatedPatchMessageV1>(patchEvent);
    expect(patch).toEqual({ v: 1, revision: Number(patchEvent.id), flags: { checkout: { value: false, variant: 'off', reason: 'DISABLED' } }, removed: [] });
    expect(c.events.filter((e) => e.event === 'patch')).toHaveLength(1);
  });

  it('refuses a bad context with 400', async () => {
    for (const context of ['not-base64!', Buffer.from('[1,2]').toString('base64url'), Buffer.from('{bad').toString('base64url')]) {
      const res = await fetch(`${gw.url}/sdk/v1/stream/evaluated?key=${clientKey}&context=${context}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { details: Array<{ path: string }> } };
      expect(body.error.details[0].path).toBe('context');
    }
  });

  it('catches up from Postgres when a change never reaches Redis', async () => {
    const c = await sse('/sdk/v1/stream', { Authorization: `Bearer ${serverKey}` });
    const snap = parse<SnapshotMessageV1>(await c.next());
    // A change committed while its event was lost (Redis restarted before the gateway read it).
    await h.db.query(`
      WITH env AS (SELECT e.id FROM environments e JOIN projects p ON p.id = e.project_id WHERE p.key = 'shop' AND e.key = 'staging')
      UPDATE flag_environments SET "on" = NOT "on", version = version + 1 WHERE environment_id = (SELECT id FROM env)
        AND flag_id = (SELECT id FROM flags WHERE key = 'internal')`);
    await h.db.query(`UPDATE environments SET revision = revision + 1 WHERE key = 'staging'`);
    const fresh = await c.next((e) => e.event === 'snapshot' && Number(e.id) === snap.revision + 1, 5000, 1);
    const next = parse<SnapshotMessageV1>(fresh);
    expect(next.stateHash).not.toBe(snap.stateHash);
    new LocalState(next);
  });

  it('limits streams per key (429), sends heartbeats, takes acks, and exposes metrics', async () => {
    const small = await startGateway(h, { maxConnectionsPerKey: 2, heartbeatMs: 100 });
    try {
      const a = await sse('/sdk/v1/stream', { Authorization: `Bearer ${serverKey}` }, small.url);
      const b = await sse('/sdk/v1/stream', { Authorization: `Bearer ${serverKey}` }, small.url);
      const snap = parse<SnapshotMessageV1>(await a.next());
      await b.next();
      const third = await fetch(`${small.url}/sdk/v1/stream`, { headers: { Authorization: `Bearer ${serverKey}` } });
      expect(third.status).toBe(429);
      expect(((await third.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_REQUESTS');
      await eventually(async () => a.comments >= 2);

      const current = (await api.get(`${P}/flags/internal/environments/staging`)).body.on as boolean;
      await api.post(`${P}/flags/internal/environments/staging/toggle`, { on: !current });
      const patch = await a.next((e) => e.event === 'patch');
      expect(Number(patch.id)).toBe(snap.revision + 1);
      const ack = await fetch(`${small.url}/sdk/v1/ack`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${serverKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ revision: Number(patch.id) }),
      });
      expect(ack.status).toBe(204);
      const badAck = await fetch(`${small.url}/sdk/v1/ack`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${serverKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ revision: 'x' }),
      });
      expect(badAck.status).toBe(400);

      const metrics = await (await fetch(`${small.url}/metrics`)).text();
      expect(metrics).toMatch(/flagstream_gateway_connections\{transport="sse",app="gateway"\} 2/);
      expect(metrics).toMatch(/flagstream_gateway_propagation_seconds_count\{app="gateway"\} 1/);
      expect(metrics).toContain('flagstream_gateway_apply_lag_seconds_bucket');
      expect(metrics).toMatch(/flagstream_gateway_messages_total\{transport="sse",kind="snapshot",app="gateway"\} \d+/);
    } finally {
      await small.close();
    }
  });

  it('serves identical streams from two gateways', async () => {
    const gw2 = await startGateway(h);
    try {
      const a = await sse('/sdk/v1/stream', { Authorization: `Bearer ${serverKey}` });
      const b = await sse('/sdk/v1/stream', { Authorization: `Bearer ${serverKey}` }, gw2.url);
      const [sa, sb] = [await a.next(), await b.next()];
      expect(sa.data).toBe(sb.data);
      for (let i = 0; i < 5; i++) await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on: i % 2 === 0 });
      const last = Number(sa.id) + 5;
      await a.next((e) => Number(e.id) === last);
      await b.next((e) => Number(e.id) === last);
      expect(b.events.map((e) => [e.id, e.event, e.data])).toEqual(a.events.map((e) => [e.id, e.event, e.data]));
    } finally {
      await gw2.close();
    }
  });
});
