import { io, type Socket } from 'socket.io-client';
import { receiptKeys, type EvaluatedSnapshotMessageV1, type PatchMessageV1, type SnapshotMessageV1 } from '@flagstream/protocol';
import { createProject, eventually, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';

const P = '/api/v1/projects/shop';

interface Received {
  event: string;
  payload: unknown;
}

function connect(url: string, auth: Record<string, unknown>): { socket: Socket; got: Received[]; next(match: (r: Received) => boolean, timeoutMs?: number): Promise<Received> } {
  const socket = io(`${url}/sdk`, { auth, transports: ['websocket'], reconnection: false });
  const got: Received[] = [];
  socket.onAny((event: string, payload: unknown) => got.push({ event, payload }));
  return {
    socket,
    got,
    next: (match, timeoutMs = 5000) => eventually(async () => got.find(match), timeoutMs),
  };
}

describe('gateway socket.io namespace /sdk', () => {
  let h: AdminHarness;
  let api: ApiClient;
  let gw: GatewayHarness;
  let serverKey: string;
  let clientKey: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    h = await startAdmin();
    api = h.api(h.ownerToken);
    await createProject(h, 'shop');
    await api.post(`${P}/flags`, { key: 'checkout', kind: 'boolean', clientVisible: true });
    await api.post(`${P}/flags`, { key: 'internal', kind: 'boolean' });
    serverKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' })).body.key;
    clientKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'client', name: 'web' })).body.key;
    gw = await startGateway(h);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await gw.close();
    await h.close();
  });

  function open(auth: Record<string, unknown>) {
    const c = connect(gw.url, auth);
    sockets.push(c.socket);
    return c;
  }

  it('sends server keys a snapshot, then patches, and resumes from the handshake revision', async () => {
    const a = open({ key: serverKey });
    const snap = (await a.next((r) => r.event === 'snapshot')).payload as SnapshotMessageV1;
    expect(snap.flags.map((f) => f.key)).toEqual(['checkout', 'internal']);
    await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on: true });
    const patch = (await a.next((r) => r.event === 'patch')).payload as PatchMessageV1;
    expect(patch.revision).toBe(snap.revision + 1);
    a.socket.disconnect();

    await api.post(`${P}/flags/internal/environments/staging/toggle`, { on: true });
    await api.post(`${P}/flags/internal/environments/staging/toggle`, { on: false });
    await eventually(async () => gw.runtime.hubs.all().some((hub) => hub.environment === 'staging' && hub.revision === snap.revision + 3));
    const b = open({ key: serverKey, revision: snap.revision + 1 });
    await b.next((r) => r.event === 'patch' && (r.payload as PatchMessageV1).revision === snap.revision + 3);
    expect(b.got.map((r) => [r.event, (r.payload as PatchMessageV1).revision])).toEqual([
      ['patch', snap.revision + 2],
      ['patch', snap.revision + 3],
    ]);
  });

  it('sends client keys evaluated values of client-visible flags, never rules', async () => {
    const c = open({ key: clientKey, context: { targetingKey: 'u1' } });
    const snap = await c.next((r) => r.event === 'snapshot');
    expect(JSON.stringify(snap.payload)).not.toContain('rules');
    expect(Object.keys((snap.payload as EvaluatedSnapshotMessageV1).flags)).toEqual(['checkout']);
  });

  it('refuses a bad key with a failure event and a disconnect', async () => {
    const c = open({ key: 'fs_server_nope' });
    const failure = await c.next((r) => r.event === 'failure');
    expect(failure.payload).toEqual({ status: 401, code: 'UNAUTHENTICATED', message: 'missing or invalid SDK key' });
    await eventually(async () => c.socket.disconnected);
  });

  it('counts acknowledgements as propagation receipts', async () => {
    const a = open({ key: serverKey });
    const snap = (await a.next((r) => r.event === 'snapshot')).payload as SnapshotMessageV1;
    await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on: false });
    const patch = (await a.next((r) => r.event === 'patch')).payload as PatchMessageV1;
    a.socket.emit('ack', { revision: patch.revision });
    const envId = gw.runtime.hubs.all().find((hub) => hub.environment === 'staging')!.environmentId;
    const keys = receiptKeys(h.prefix, envId, patch.revision);
    const counts = await eventually(async () => {
      const c = await h.redis.hgetall(keys.counts);
      return Number(c.acknowledged) >= 1 ? c : undefined;
    });
    expect(Number(counts.connected)).toBeGreaterThanOrEqual(1);
    const latencies = (await h.redis.lrange(keys.latencies, 0, -1)).map(Number);
    expect(latencies).toHaveLength(Number(counts.acknowledged));
    expect(latencies.every((ms) => ms >= 0 && ms < 5000)).toBe(true);
    expect(snap.revision).toBe(patch.revision - 1);

    const report = await eventually(async () => {
      const res = await api.get(`${P}/environments/staging/revisions/${patch.revision}/propagation`);
      return res.status === 200 && res.body.acknowledged >= 1 ? res.body : undefined;
    });
    expect(report).toMatchObject({ revision: patch.revision, acknowledged: Number(counts.acknowledged) });
    expect(report.summary).toMatch(new RegExp(`^revision ${patch.revision} reached [0-9.]+% of [0-9,]+ SDKs; p50 \\d+ ms, p99 \\d+ ms after commit$`));
    expect((await api.get(`${P}/environments/staging/revisions/999999/propagation`)).status).toBe(404);
  });

  it('disconnects a socket within a second of its key being revoked', async () => {
    const created = await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'short-lived' });
    const c = open({ key: created.body.key });
    await c.next((r) => r.event === 'snapshot');
    const at = Date.now();
    await api.delete(`${P}/environments/staging/sdk-keys/${created.body.id}`);
    await eventually(async () => c.socket.disconnected, 1500);
    expect(Date.now() - at).toBeLessThan(1500);
  });
});
