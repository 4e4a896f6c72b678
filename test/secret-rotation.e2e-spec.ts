import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FlagstreamClient } from '@flagstream/sdk';
import { createProject, createToken, eventually, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';
import { startWorker, type WorkerHarness } from './support/worker-harness';

const P = '/api/v1/projects/shop';
const S = `${P}/environments/staging/secrets`;
const R = `${P}/environments/staging/secret-rotations`;
const ALERT_SECRET = 'alert-secret-0123456789abcdef0123456789abcdef';
const HMAC_SECRET = 'rotator-hmac-0123456789abcdef0123456789';

interface Hit {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local HTTP receiver that records requests and answers with `reply`. */
async function receiver(reply: (hit: Hit) => { status: number; body?: unknown }): Promise<{ server: Server; url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const hit = { headers: req.headers, body };
      hits.push(hit);
      const out = reply(hit);
      res.writeHead(out.status, { 'content-type': 'application/json' }).end(out.body === undefined ? '' : JSON.stringify(out.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

describe('secret rotation: policies, the worker pass, rotators, grace, alerts, compliance report', () => {
  let h: AdminHarness;
  let owner: ApiClient;
  let worker: WorkerHarness;
  let second: WorkerHarness;
  let gw: GatewayHarness;
  let alerts: Awaited<ReturnType<typeof receiver>>;
  let minter: Awaited<ReturnType<typeof receiver>>;
  let failing = false;
  let sdkKey: string;

  const alertsOf = (type: string) => alerts.hits.filter((a) => a.headers['flagstream-event-type'] === type).map((a) => JSON.parse(a.body) as { id: string; summary: string; data: Record<string, unknown> });
  const secret = async (path: string) => (await owner.get(`${S}/${path}`)).body as { currentVersion: number; versions: Array<{ createdBy: { id: string }; reason: string | null }> };
  const reveal = async (path: string) => (await owner.post(`${S}/${path}:reveal`)).body as { value: string; version: number };

  beforeAll(async () => {
    alerts = await receiver(() => ({ status: 204 }));
    minter = await receiver(() => (failing ? { status: 500, body: { error: 'mint service down' } } : { status: 200, body: { value: `minted-${minter.hits.length}` } }));
    h = await startAdmin();
    owner = h.api(h.ownerToken);
    await createProject(h, 'shop');
    const settings = { rotationIntervalMs: 200, alerts: { webhook: { url: `${alerts.url}/alerts`, secret: ALERT_SECRET, timeoutMs: 2000 }, policy: { attempts: 2, backoffMs: 50 } } };
    // Two workers: a due rotation is applied once.
    worker = await startWorker(h, settings);
    second = await startWorker(h, settings);
    gw = await startGateway(h);
    expect((await owner.post(`${P}/secret-policies`, { subject: { type: 'role', role: 'owner' }, paths: ['**'], environments: '*' })).status).toBe(201);
    const key = (await owner.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' })).body as { id: string; key: string };
    sdkKey = key.key;
    expect((await owner.post(`${P}/secret-policies`, { subject: { type: 'sdk-key', id: key.id }, paths: ['api/**'], environments: ['staging'] })).status).toBe(201);
    for (const [path, value] of [['api/token', 'initial-token-value'], ['db/password', 'initial-db-password'], ['rotator/hmac', HMAC_SECRET]]) {
      expect((await owner.put(`${S}/${path}`, { value })).status).toBe(200);
    }
  }, 30_000);

  afterAll(async () => {
    await worker?.close();
    await second?.close();
    await gw?.close();
    await h?.close();
    await new Promise((r) => alerts?.server.close(r));
    await new Promise((r) => minter?.server.close(r));
  }, 30_000);

  it('rotates a random token once when due, keeps the old value served through the grace period, and the SDK endpoint sees both', async () => {
    const set = await owner.put(`${R}/api/token`, { intervalSeconds: 3600, graceSeconds: 600, rotator: 'random-token', config: { bytes: 16, encoding: 'hex', prefix: 'tok_' } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ path: 'api/token', environment: 'staging', rotator: 'random-token', status: 'ok', lastRotatedAt: null, consecutiveFailures: 0 });
    expect(Date.parse(set.body.nextRotationAt) - Date.now()).toBeGreaterThan(3590_000);

    expect((await owner.post(`${R}/api/token`)).status).toBe(202);
    await eventually(async () => ((await secret('api/token')).currentVersion === 2 ? true : undefined), 10_000);
    await new Promise((r) => setTimeout(r, 600));
    const s = await secret('api/token');
    expect(s.currentVersion).toBe(2);
    expect(s.versions[1]).toMatchObject({ createdBy: { id: 'scheduler' }, reason: 'rotation of api/token (random-token)' });
    const now = await reveal('api/token');
    expect(now.value).toMatch(/^tok_[0-9a-f]{32}$/);

    const report = (await owner.get(`${P}/secret-rotations`)).body as { items: Array<Record<string, unknown>> };
    const policy = report.items.find((i) => i.path === 'api/token')!;
    expect(policy).toMatchObject({ previousVersion: 1, consecutiveFailures: 0, status: 'ok' });
    expect(Date.parse(String(policy.graceUntil)) - Date.now()).toBeGreaterThan(590_000);
    expect(Date.parse(String(policy.nextRotationAt)) - Date.now()).toBeGreaterThan(3590_000);

    const res = await fetch(`${gw.url}/sdk/v1/secrets`, { headers: { authorization: `Bearer ${sdkKey}` } });
    const body = (await res.json()) as { secrets: Record<string, { version: number; value: string; previous?: { version: number; value: string } }> };
    expect(body.secrets['api/token']).toMatchObject({ version: 2, value: now.value, previous: { version: 1, value: 'initial-token-value' } });
    // The SDK holds both too, for consumers that verify credentials during the grace period.
    const sdk = new FlagstreamClient({ sdkKey, baseUrl: gw.url, secrets: true, backoff: { initialMs: 20, maxMs: 200 } });
    try {
      await sdk.ready();
      expect(sdk.secretDetail('api/token')).toEqual({ value: now.value, version: 2, definedIn: 'staging', previous: { version: 1, value: 'initial-token-value', until: policy.graceUntil } });
    } finally {
      await sdk.close();
    }
  }, 20_000);

  it('mints through a signed webhook, and alerts after three failures in a row', async () => {
    const set = await owner.put(`${R}/db/password`, { intervalSeconds: 86_400, rotator: 'webhook', config: { url: `${minter.url}/mint`, signingSecretPath: 'rotator/hmac' } });
    expect(set.status).toBe(200);
    expect((await owner.post(`${R}/db/password`)).status).toBe(202);
    await eventually(async () => ((await secret('db/password')).currentVersion === 2 ? true : undefined), 10_000);
    expect((await reveal('db/password')).value).toBe('minted-1');
    const hit = minter.hits[0];
    const [t, v1] = String(hit.headers['flagstream-signature']).split(',');
    expect(v1).toBe(`v1=${createHmac('sha256', HMAC_SECRET).update(`${t.slice(2)}.${hit.body}`).digest('hex')}`);
    expect(JSON.parse(hit.body)).toMatchObject({ type: 'secret.rotate', project: 'shop', environment: 'staging', path: 'db/password', currentVersion: 1 });

    failing = true;
    for (let i = 1; i <= 3; i++) {
      expect((await owner.post(`${R}/db/password`)).status).toBe(202);
      await eventually(async () => {
        const p = ((await owner.get(`${P}/secret-rotations`)).body.items as Array<{ path: string; consecutiveFailures: number }>).find((x) => x.path === 'db/password')!;
        return p.consecutiveFailures === i ? true : undefined;
      }, 10_000);
    }
    const report = (await owner.get(`${P}/secret-rotations`)).body as { failing: number; items: Array<{ path: string; status: string; lastError: string }> };
    expect(report.failing).toBe(1);
    expect(report.items[0]).toMatchObject({ path: 'db/password', status: 'failing', lastError: expect.stringContaining('answered 500') });
    const failed = await eventually(async () => alertsOf('secret.rotation_failed')[0], 5000);
    expect(failed.summary).toBe(`Rotation of secret "db/password" in "staging" failed 3 times in a row: ${report.items[0].lastError}`);
    expect((await secret('db/password')).currentVersion).toBe(2);
    failing = false;
  }, 30_000);

  it('sends one "rotation due" notice per cycle', async () => {
    expect((await owner.put(`${S}/api/notified`, { value: 'x-initial' })).status).toBe(200);
    expect((await owner.put(`${R}/api/notified`, { intervalSeconds: 3600, notifyBeforeSeconds: 3599, rotator: 'random-token' })).status).toBe(200);
    const notice = await eventually(async () => alertsOf('secret.rotation_due').find((a) => a.data.path === 'api/notified'), 5000);
    expect(notice.summary).toMatch(/^Secret "api\/notified" in "staging" is due for rotation at /);
    await new Promise((r) => setTimeout(r, 800));
    expect(alertsOf('secret.rotation_due').filter((a) => a.data.path === 'api/notified')).toHaveLength(1);
    expect((await secret('api/notified')).currentVersion).toBe(1);
  }, 15_000);

  it('schedules the maintenance passes (secret rotations, signing keys, certificates, rewrap) once, however many workers start', async () => {
    const schedulers = await worker.runtime.maintenanceQueue.getJobSchedulers();
    expect(schedulers.map((j) => [j.key, j.name, j.every]).sort()).toEqual([
      ['certificates-every', 'certificates', 200],
      ['kek-rewrap-every', 'rewrap', 200],
      ['secret-rotations-every', 'rotate-secrets', 200],
      ['signing-keys-every', 'rotate-signing-keys', 200],
    ]);
    // Signing key passes ran and completed (nothing due in this project).
    const done = await worker.runtime.maintenanceQueue.getCompleted(0, 200);
    expect(done.some((j) => j.name === 'rotate-signing-keys' && (j.returnvalue as { failures: unknown[] }).failures.length === 0)).toBe(true);
  });

  it('refuses bad policies with 400, unknown secrets with 404, and viewers with 403', async () => {
    const bad = await owner.put(`${R}/api/token`, { intervalSeconds: 30, rotator: 'webhook', config: { url: 'ftp://x' } });
    expect(bad.status).toBe(400);
    const paths = (bad.body.error.details as Array<{ path: string }>).map((d) => d.path);
    expect(paths).toContain('intervalSeconds');
    const combos = await owner.put(`${R}/api/token`, { intervalSeconds: 600, rotator: 'webhook', config: { url: 'ftp://x' } });
    expect((combos.body.error.details as Array<{ path: string }>).map((d) => d.path)).toEqual(['config.url', 'config.signingSecretPath']);
    // The webhook rotator signs with another secret of this environment that the caller may read.
    const webhook = (signingSecretPath: string) => ({ intervalSeconds: 600, rotator: 'webhook', config: { url: `${minter.url}/mint`, signingSecretPath } });
    const same = await owner.put(`${R}/db/password`, webhook('db/password'));
    expect(same.body.error.details).toEqual([{ path: 'config.signingSecretPath', message: 'must be another secret than the one rotated' }]);
    const elsewhere = await owner.put(`${R}/db/password`, webhook('not/here'));
    expect(elsewhere.body.error.details).toEqual([{ path: 'config.signingSecretPath', message: 'secret "not/here" is not defined in environment "staging" itself' }]);
    const editor = h.api(await createToken(h, 'editor'));
    const refused = await editor.put(`${R}/db/password`, webhook('rotator/hmac'));
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe('no secret policy lets this editor token read "rotator/hmac" in environment "staging": it cannot make the rotator sign with it');
    expect((await owner.put(`${R}/no/such`, { intervalSeconds: 600, rotator: 'random-token' })).status).toBe(404);
    expect((await owner.post(`${R}/no/such`)).status).toBe(404);
    expect((await owner.delete(`${R}/no/such`)).status).toBe(404);
    const viewer = h.api(await createToken(h, 'viewer'));
    expect((await viewer.put(`${R}/api/token`, { intervalSeconds: 600, rotator: 'random-token' })).status).toBe(403);
    expect((await viewer.get(`${P}/secret-rotations`)).status).toBe(200);
    expect((await owner.delete(`${R}/api/notified`)).status).toBe(204);
    expect(((await owner.get(`${P}/secret-rotations`)).body.items as Array<{ path: string }>).map((i) => i.path)).not.toContain('api/notified');
  }, 15_000);
});
