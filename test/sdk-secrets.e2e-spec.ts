import { FlagstreamClient, FlagstreamSecretsError, type FlagstreamClientOptions } from '@flagstream/sdk';
import { SocketIoTransport } from '@flagstream/sdk/socket-io';
import { createProject, eventually, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';

const P = '/api/v1/projects/shop';
const S = (env: string) => `${P}/environments/${env}/secrets`;
const STRIPE = 'payments/stripe/api-key';
/** Every plaintext this file writes: none may appear in an audit record. */
const VALUES = { stripe1: 'sk_live_sdkE2eFirst_7731', stripe2: 'sk_live_sdkE2eSecond_9902', db: 'pg-sdk-e2e-password-4410', billing: 'billing-sdk-e2e-token-5521' };

describe('SDK secrets against the real admin API and gateway', () => {
  let h: AdminHarness;
  let owner: ApiClient;
  let gw: GatewayHarness;
  /** A server key granted `payments/**` in staging, a server key with no grant, a client key. */
  const keys = { granted: { id: '', key: '' }, ungranted: { id: '', key: '' }, client: { id: '', key: '' } };
  const clients: FlagstreamClient[] = [];
  const gateways: GatewayHarness[] = [];

  beforeAll(async () => {
    h = await startAdmin();
    owner = h.api(h.ownerToken);
    await createProject(h, 'shop');
    const put = async (path: string, value: string) => expect((await owner.put(`${S('staging')}/${path}`, { value })).status).toBe(200);
    await put(STRIPE, VALUES.stripe1);
    await put('payments/db/password', VALUES.db);
    await put('billing/api-token', VALUES.billing);
    for (const [name, kind] of [['granted', 'server'], ['ungranted', 'server'], ['client', 'client']] as const) {
      const res = await owner.post(`${P}/environments/staging/sdk-keys`, { kind, name });
      expect(res.status).toBe(201);
      keys[name] = { id: res.body.id, key: res.body.key };
    }
    const policy = await owner.post(`${P}/secret-policies`, { subject: { type: 'sdk-key', id: keys.granted.id }, paths: ['payments/**'], environments: ['staging'] });
    expect(policy.status).toBe(201);
    gw = await startGateway(h);
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    for (const g of [...gateways, gw]) await g?.close();
    await h?.close();
  }, 30_000);

  function client(sdkKey: string, extra: Partial<FlagstreamClientOptions> = {}): FlagstreamClient {
    const c = new FlagstreamClient({ sdkKey, baseUrl: gw.url, secrets: true, backoff: { initialMs: 20, maxMs: 200 }, ...extra });
    clients.push(c);
    return c;
  }

  it('serves a granted secret from memory, and a new version reaches the client live over SSE and socket.io', async () => {
    const sse = client(keys.granted.key);
    const socket = client(keys.granted.key, { transport: new SocketIoTransport({ baseUrl: gw.url, sdkKey: keys.granted.key }) });
    await Promise.all([sse.ready(), socket.ready()]);
    for (const c of [sse, socket]) {
      expect(c.secret(STRIPE)).toBe(VALUES.stripe1);
      expect(c.secretDetail(STRIPE)).toEqual({ value: VALUES.stripe1, version: 1, definedIn: 'staging' });
      // Outside the grant: absent.
      expect(c.secretPaths()).toEqual(['payments/db/password', STRIPE]);
      expect(c.secret('billing/api-token')).toBeUndefined();
    }
    const changed = [sse, socket].map((c) => new Promise<string[]>((resolve) => c.on('secretChange', resolve)));
    const at = Date.now();
    expect((await owner.put(`${S('staging')}/${STRIPE}`, { value: VALUES.stripe2 })).status).toBe(200);
    expect(await Promise.all(changed)).toEqual([[STRIPE], [STRIPE]]);
    expect(Date.now() - at).toBeLessThan(3000);
    for (const c of [sse, socket]) {
      expect(c.secretDetail(STRIPE)).toEqual({ value: VALUES.stripe2, version: 2, definedIn: 'staging' });
      expect(c.secret('payments/db/password')).toBe(VALUES.db);
    }
    // A write outside the grant announces a change too (the stream does not know grants); it changes nothing here.
    const reads = (await auditOf(keys.granted.id)).length;
    expect((await owner.put(`${S('staging')}/billing/api-token`, { value: `${VALUES.billing}-2` })).status).toBe(200);
    await eventually(async () => (await auditOf(keys.granted.id)).length >= reads + 2);
    expect(sse.secret('billing/api-token')).toBeUndefined();
  });

  it('gives a server key without a grant an empty set (ready, nothing held)', async () => {
    const c = client(keys.ungranted.key);
    const paths = new Promise<string[]>((resolve) => c.on('secretChange', resolve));
    await c.ready();
    expect(c.secretPaths()).toEqual([]);
    expect(c.secret(STRIPE)).toBeUndefined();
    const noChange = await Promise.race([paths, new Promise<'none'>((r) => setTimeout(() => r('none'), 200))]);
    expect(noChange).toBe('none');
    const res = await fetch(`${gw.url}/sdk/v1/secrets`, { headers: { Authorization: `Bearer ${keys.ungranted.key}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ v: 1, environment: 'staging', secrets: {} });
  });

  it('refuses a client key with 403', async () => {
    const res = await fetch(`${gw.url}/sdk/v1/secrets`, { headers: { Authorization: `Bearer ${keys.client.key}` } });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: 'FORBIDDEN', message: 'client SDK keys can never read secrets' });
  });

  it('audits each read as secret.revealed by the SDK key, with no value in it', async () => {
    // Two clients read at start, after the PUT, and after the write outside the grant.
    const rows = await auditOf(keys.granted.id);
    expect(rows.length).toBeGreaterThanOrEqual(6);
    for (const row of rows) expect(row).toMatchObject({ actor_type: 'sdk-key', actor_id: keys.granted.id, target_type: 'sdk-key', target_key: keys.granted.id, environment_key: 'staging' });
    // Each record names what was read: the paths and versions (the first reads at version 1, the later ones at 2).
    const reads = rows.map((r) => (r.after as { reads: Array<{ path: string; version: number }> }).reads);
    expect(reads[0].map((x) => x.path)).toEqual(['payments/db/password', 'payments/stripe/api-key']);
    expect(reads[0].find((x) => x.path === 'payments/stripe/api-key')!.version).toBe(1);
    expect(reads[reads.length - 1].find((x) => x.path === 'payments/stripe/api-key')!.version).toBe(2);
    const all = await h.db.query<{ payload: string }>(`SELECT row_to_json(a)::text AS payload FROM audit_events a`);
    expect(all.length).toBeGreaterThan(rows.length);
    for (const r of all) for (const value of Object.values(VALUES)) expect(r.payload).not.toContain(value);
    // Nothing readable, nothing revealed: no record for the key without a grant.
    expect(await auditOf(keys.ungranted.id)).toEqual([]);
  });

  it('resolves {"$secret": path} references in config values for the keys that may read them, live', async () => {
    const created = await owner.post(`${P}/configs`, {
      key: 'payments.gateway',
      schema: { type: 'object', properties: { url: { type: 'string' }, apiKey: { type: 'string' } }, required: ['url', 'apiKey'] },
      default: { url: 'https://api.stripe.example', apiKey: { $secret: 'payments/db/password' } },
    });
    expect(created.status).toBe(201);
    const granted = client(keys.granted.key);
    const ungranted = client(keys.ungranted.key);
    const plain = client(keys.granted.key, { secrets: false });
    await Promise.all([granted.ready(), ungranted.ready(), plain.ready()]);
    await eventually(async () => (granted.configDetail('payments.gateway', {}, null).version ? true : undefined));
    expect(granted.config('payments.gateway', {}, null)).toEqual({ url: 'https://api.stripe.example', apiKey: VALUES.db });
    expect(ungranted.configDetail('payments.gateway', {}, null)).toMatchObject({
      value: null,
      reason: 'ERROR',
      errorMessage: 'config item "payments.gateway" refers to secret "payments/db/password", which this SDK key cannot read (or which does not exist)',
    });
    expect(plain.configDetail('payments.gateway', {}, null)).toMatchObject({ value: null, reason: 'ERROR', errorMessage: 'config item "payments.gateway" refers to secrets: create the client with secrets: true' });
    // The stream itself carries the reference, never the value.
    const snapshot = await fetch(`${gw.url}/sdk/v1/stream`, { headers: { authorization: `Bearer ${keys.granted.key}` }, signal: AbortSignal.timeout(1500) })
      .then(async (res) => {
        // Until the snapshot's config item has arrived (a snapshot may come in several chunks).
        const reader = res.body!.getReader();
        let text = '';
        while (!text.includes('payments.gateway')) {
          const { value, done } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
        await reader.cancel();
        return text;
      })
      .catch(() => '');
    expect(snapshot).toContain('"$secret":"payments/db/password"');
    expect(snapshot).not.toContain(VALUES.db);
    // A new version of the secret reaches the config value live.
    const seen = new Promise<unknown>((resolve) => granted.onConfigChange('payments.gateway', {}, resolve));
    expect((await owner.put(`${S('staging')}/payments/db/password`, { value: 'pg-sdk-e2e-password-rotated' })).status).toBe(200);
    expect(await seen).toEqual({ url: 'https://api.stripe.example', apiKey: 'pg-sdk-e2e-password-rotated' });
  });

  it('rejects ready() saying why when the gateway does not serve secrets', async () => {
    const bare = await startGateway(h);
    gateways.push(bare);
    delete bare.runtime.deps.secrets;
    const c = client(keys.granted.key, { baseUrl: bare.url });
    const fatal: Error[] = [];
    c.on('error', (e, isFatal) => isFatal && fatal.push(e));
    const error = await c.ready().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlagstreamSecretsError);
    expect(error).toMatchObject({
      status: 503,
      message: 'the gateway does not serve secrets (gateway answered 503: this gateway does not serve secrets: it needs FLAGSTREAM_AUDIT_KEY and FLAGSTREAM_KEK (docs/secrets.md))',
    });
    expect(fatal).toEqual([error]);
  });

  it('waits out a rate limit (429, Retry-After) and then reads', async () => {
    const slow = await startGateway(h, { requestsPerSecondPerKey: 1 });
    gateways.push(slow);
    // Two clients of one key start together: one read fits the budget, the other is told to wait.
    const pair = [client(keys.granted.key, { baseUrl: slow.url }), client(keys.granted.key, { baseUrl: slow.url })];
    const errors: string[] = [];
    for (const c of pair) c.on('error', (e) => errors.push(e.message));
    await Promise.all(pair.map((c) => c.ready(5000)));
    expect(errors).toContain('the gateway rate-limited reading secrets (gateway answered 429: rate limit exceeded for this SDK key; retry later)');
    for (const c of pair) expect(c.secret(STRIPE)).toBe(VALUES.stripe2);
  });

  type AuditRow = { actor_type: string; actor_id: string; target_type: string; target_key: string; environment_key: string; after: unknown };

  /** The `secret.revealed` records of one SDK key, oldest first. */
  async function auditOf(keyId: string): Promise<AuditRow[]> {
    return h.db.query<AuditRow>(`SELECT actor_type, actor_id, target_type, target_key, environment_key, after FROM audit_events WHERE action = 'secret.revealed' AND actor_id = $1 ORDER BY seq`, [keyId]);
  }
});
