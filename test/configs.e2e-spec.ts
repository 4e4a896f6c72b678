import { stateHash, type PatchMessageV1, type SnapshotMessageV1 } from '@flagstream/protocol';
import { FlagstreamClient } from '@flagstream/sdk';
import { createProject, createToken, eventually, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';
import { openSse, type SseClient } from './support/sse-client';

const P = '/api/v1/projects/shop';
const C = `${P}/configs`;

const limitsSchema = {
  type: 'object',
  properties: {
    maxTransfer: { type: 'integer', minimum: 1, maximum: 100000 },
    currency: { type: 'string', enum: ['EUR', 'USD', 'CHF'] },
    endpoint: { type: 'string', format: 'uri' },
  },
  required: ['maxTransfer', 'currency'],
  additionalProperties: false,
};

describe('configuration API', () => {
  let h: AdminHarness;
  let api: ApiClient;

  beforeAll(async () => {
    h = await startAdmin();
    api = h.api(h.ownerToken);
    await createProject(h, 'shop');
    // prod-eu inherits staging here, to have a chain: staging -> staging-eu
    expect((await api.post(`${P}/environments`, { key: 'staging-eu', name: 'Staging EU', parent: 'staging' })).status).toBe(201);
    const created = await api.post(C, { key: 'payments.limits', description: 'transfer limits', schema: limitsSchema, merge: 'merge', default: { maxTransfer: 1000, currency: 'EUR' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ key: 'payments.limits', version: 1, merge: 'merge', default: { maxTransfer: 1000, currency: 'EUR' }, environments: {} });
  });
  afterAll(() => h.close());

  it('creates items, refusing bad keys, schemas and defaults with precise 4xx and storing nothing', async () => {
    expect((await api.post(C, { key: '9bad', schema: true, default: 1 })).status).toBe(400);
    const badSchema = await api.post(C, { key: 'a.b', schema: { type: 'integer', minimun: 1 }, default: 1 });
    expect(badSchema.status).toBe(400);
    expect(badSchema.body.error.details).toEqual([{ path: 'schema', message: 'is not a valid JSON Schema: strict mode: unknown keyword: "minimun"' }]);
    const badDefault = await api.post(C, { key: 'a.b', schema: { type: 'integer', minimum: 1 }, default: 0 });
    expect(badDefault.status).toBe(400);
    expect(badDefault.body.error.details).toEqual([{ path: 'default', message: 'must be >= 1' }]);
    expect((await api.get(`${C}/a.b`)).status).toBe(404);
    expect((await api.post(C, { key: 'payments.limits', schema: true, default: 1 })).status).toBe(409);
    // Secret references: well formed, never in a client-visible item, and a string where the schema looks.
    const malformed = await api.post(C, { key: 'stripe.key', schema: true, default: { api: { $secret: 'Payments Key' }, other: { $secret: 'a', more: 1 } } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.details.map((d: { path: string }) => d.path)).toEqual(['default.api', 'default.other']);
    const visible = await api.post(C, { key: 'stripe.key', schema: true, clientVisible: true, default: { api: { $secret: 'payments/stripe/api-key' } } });
    expect(visible.status).toBe(400);
    expect(visible.body.error.details).toEqual([{ path: 'default.api', message: 'a client-visible item cannot refer to a secret: client SDKs can never read secrets' }]);
    const typed = await api.post(C, { key: 'stripe.port', schema: { type: 'object', properties: { port: { type: 'integer' } } }, default: { port: { $secret: 'payments/port' } } });
    expect(typed.status).toBe(400);
    expect(typed.body.error.details).toEqual([{ path: 'default.port', message: 'must be integer' }]);
    const ok = await api.post(C, { key: 'stripe.key', schema: { type: 'object', properties: { api: { type: 'string' } } }, default: { api: { $secret: 'payments/stripe/api-key' } } });
    expect(ok.status).toBe(201);
    const flip = await api.patch(`${C}/stripe.key`, { clientVisible: true, version: ok.body.version });
    expect(flip.status).toBe(400);
    expect(flip.body.error.details.map((d: { path: string }) => d.path)).toEqual(['clientVisible']);
    // Out of the way of the later tests, which count the project's items.
    expect((await api.delete(`${C}/stripe.key`)).status).toBe(204);
  });

  it('sets environment and tenant layers, resolves through the chain, and explains', async () => {
    expect((await api.put(`${C}/payments.limits/environments/staging`, { value: { maxTransfer: 2000 } })).status).toBe(200);
    const t = await api.put(`${C}/payments.limits/environments/staging-eu/tenants/acme`, { value: { currency: 'CHF' } });
    expect(t.status).toBe(200);
    expect(t.body.environments).toEqual({ staging: { value: { maxTransfer: 2000 }, tenants: {}, rules: [] }, 'staging-eu': { tenants: { acme: { currency: 'CHF' } }, rules: [] } });

    const eu = await api.get(`${P}/environments/staging-eu/configs`);
    expect(eu.body.configs['payments.limits']).toEqual({ value: { maxTransfer: 2000, currency: 'EUR' }, version: 3, source: { scope: 'environment', environment: 'staging' } });
    const acme = await api.get(`${P}/environments/staging-eu/configs?tenant=acme`);
    expect(acme.body.configs['payments.limits'].value).toEqual({ maxTransfer: 2000, currency: 'CHF' });
    expect((await api.get(`${P}/environments/development/configs?tenant=acme`)).body.configs['payments.limits'].value).toEqual({ maxTransfer: 1000, currency: 'EUR' });

    const explain = await api.get(`${C}/payments.limits/explain?environment=staging-eu&tenant=acme`);
    expect(explain.status).toBe(200);
    expect(explain.body).toMatchObject({
      chain: ['staging', 'staging-eu'],
      tenant: 'acme',
      value: { maxTransfer: 2000, currency: 'CHF' },
      source: { scope: 'tenant', environment: 'staging-eu', tenant: 'acme', version: 3, author: 'owner (first start)' },
    });
    expect(explain.body.shadowed.map((s: { path: string; layer: { scope: string } }) => `${s.layer.scope}${s.path}`).sort()).toEqual(['default/currency', 'default/maxTransfer']);
    expect(explain.body.summary).toMatch(/^tenant "acme" at environment "staging-eu" supplies the value \(version 3 by owner \(first start\) at .+\); it shadows 2 weaker values$/);
  });

  it('refuses a write that would break an effective value elsewhere, listing each broken pair; nothing stored', async () => {
    // Valid on its own (merge patch), but acme's merged value gets an unknown currency... via the default:
    const before = (await api.get(`${C}/payments.limits`)).body.version;
    const res = await api.put(`${C}/payments.limits/default`, { value: { maxTransfer: 1000, currency: 'EUR', extra: 1 } });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: 'value.extra', message: 'is not allowed by the schema' }]);
    // Layer valid as a patch but breaks the merged values of every pair under staging:
    const schemaOk = await api.patch(`${C}/payments.limits`, { schema: { ...limitsSchema, properties: { ...limitsSchema.properties, maxTransfer: { type: 'integer', maximum: 1500 } } } });
    expect(schemaOk.status).toBe(422);
    expect(schemaOk.body.error.code).toBe('WOULD_BREAK_VALUES');
    expect(schemaOk.body.error.details).toEqual([
      { environment: 'staging', tenant: null, path: 'maxTransfer', message: 'must be <= 1500' },
      { environment: 'staging-eu', tenant: null, path: 'maxTransfer', message: 'must be <= 1500' },
      { environment: 'staging-eu', tenant: 'acme', path: 'maxTransfer', message: 'must be <= 1500' },
    ]);
    expect((await api.get(`${C}/payments.limits`)).body.version).toBe(before);
  });

  it('keeps immutable versions: history, a state at a version, diff, rollback (a new version), point-in-time reads', async () => {
    const history = await api.get(`${C}/payments.limits/versions`);
    expect(history.body.items.map((v: { version: number; action: string }) => [v.version, v.action])).toEqual([
      [3, 'value.set'],
      [2, 'value.set'],
      [1, 'created'],
    ]);
    const beforeChange = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    expect((await api.put(`${C}/payments.limits/environments/staging`, { value: { maxTransfer: 3000 } })).status).toBe(200);

    const diff = await api.get(`${C}/payments.limits/diff?from=3&to=4`);
    expect(diff.body.changes).toEqual([{ kind: 'layer', address: { scope: 'environment', environment: 'staging' }, before: { value: { maxTransfer: 2000 } }, after: { value: { maxTransfer: 3000 } } }]);
    expect((await api.get(`${C}/payments.limits/versions/2`)).body.environments).toEqual({ staging: { value: { maxTransfer: 2000 }, tenants: {}, rules: [] } });

    const past = await api.get(`${P}/environments/staging/configs?at=${encodeURIComponent(beforeChange)}`);
    expect(past.body.configs['payments.limits'].value).toEqual({ maxTransfer: 2000, currency: 'EUR' });
    expect((await api.get(`${P}/environments/staging/configs`)).body.configs['payments.limits'].value).toEqual({ maxTransfer: 3000, currency: 'EUR' });

    const rb = await api.post(`${C}/payments.limits/rollback`, { to: 3 });
    expect(rb.status).toBe(201);
    expect(rb.body.version).toBe(5);
    expect(rb.body.environments).toEqual({ staging: { value: { maxTransfer: 2000 }, tenants: {}, rules: [] }, 'staging-eu': { tenants: { acme: { currency: 'CHF' } }, rules: [] } });
    const latest = (await api.get(`${C}/payments.limits/versions?limit=1`)).body.items[0];
    expect(latest).toMatchObject({ version: 5, action: 'rollback to 3', author: 'owner (first start)' });
    const audit = await api.get('/api/v1/audit?project=shop&limit=1');
    expect(audit.body.items[0]).toMatchObject({ action: 'config.rolled-back', target: { type: 'config', key: 'payments.limits' } });
    expect((await api.post(`${C}/payments.limits/rollback`, { to: 9 })).status).toBe(400);
  });

  it('detects stale versions', async () => {
    const current = (await api.get(`${C}/payments.limits`)).body.version;
    const stale = await api.put(`${C}/payments.limits/environments/development`, { value: { maxTransfer: 10 }, version: current - 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('VERSION_CONFLICT');
    const ok = await api.put(`${C}/payments.limits/environments/development`, { value: { maxTransfer: 10 }, version: current });
    expect(ok.status).toBe(200);
  });

  it('applies targeted overrides by context and validates their clauses', async () => {
    const bad = await api.put(`${C}/payments.limits/environments/staging/rules`, { rules: [{ id: 'vip', clauses: [{ attribute: 'tier', operator: 'nope', values: [] }], value: { maxTransfer: 9000 } }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toMatch(/^rules\[0\]\.clauses\[0\]/);
    const ok = await api.put(`${C}/payments.limits/environments/staging/rules`, { rules: [{ id: 'vip', clauses: [{ attribute: 'tier', operator: 'in', values: ['vip'] }], value: { maxTransfer: 9000 } }] });
    expect(ok.status).toBe(200);
    const ctx = Buffer.from(JSON.stringify({ targetingKey: 'u1', tier: 'vip' })).toString('base64url');
    const vip = await api.get(`${C}/payments.limits/explain?environment=staging-eu&context=${ctx}`);
    expect(vip.body.value).toEqual({ maxTransfer: 9000, currency: 'EUR' });
    expect(vip.body.source).toMatchObject({ scope: 'targeted', ruleId: 'vip' });
    expect((await api.get(`${C}/payments.limits/explain?environment=staging-eu&context=@@`)).status).toBe(400);
  });

  it('exports and imports an environment as YAML and JSON, all or nothing', async () => {
    const yaml = await api.get(`${P}/environments/staging-eu/configs/export?format=yaml`);
    expect(yaml.status).toBe(200);
    expect(yaml.headers['content-type']).toMatch(/^application\/yaml/);
    expect(yaml.text).toContain('payments.limits:');
    expect(yaml.text).toContain('acme:');

    const edited = yaml.text.replace('currency: CHF', 'currency: USD');
    const imported = await api.post(`${P}/environments/staging-eu/configs/import`, { format: 'yaml', content: edited });
    expect(imported.status).toBe(201);
    expect(imported.body.imported).toEqual([{ key: 'payments.limits', version: expect.any(Number), changed: true }]);
    expect((await api.get(`${P}/environments/staging-eu/configs?tenant=acme`)).body.configs['payments.limits'].value.currency).toBe('USD');

    const broken = await api.post(`${P}/environments/staging-eu/configs/import`, {
      format: 'json',
      document: { configs: { 'payments.limits': { tenants: { acme: { currency: 'GBP' } } }, 'no.such': { value: 1 } } },
    });
    // A merged item's tenant layer is a patch: what breaks is acme's merged value in staging-eu.
    expect(broken.status).toBe(422);
    expect(broken.body.error.details).toEqual([
      { environment: 'staging-eu', tenant: 'acme', path: 'currency', message: 'config item "payments.limits": must be equal to one of the allowed values' },
      // ... also where staging's targeted rule "vip" applies on top.
      { environment: 'staging-eu', tenant: 'acme', rules: ['vip'], path: 'currency', message: 'config item "payments.limits": must be equal to one of the allowed values' },
      { path: 'configs["no.such"]', message: 'config item "no.such" does not exist in project "shop"; create it (with its schema) first' },
    ]);
    expect((await api.get(`${P}/environments/staging-eu/configs?tenant=acme`)).body.configs['payments.limits'].value.currency).toBe('USD');
    expect((await api.post(`${P}/environments/staging-eu/configs/import`, { format: 'yaml', content: 'configs: [' })).status).toBe(400);
  });

  it('needs the owner role when a change reaches a protected environment, and viewers only read', async () => {
    const editor = h.api(await createToken(h, 'editor'));
    const viewer = h.api(await createToken(h, 'viewer'));
    expect((await viewer.get(`${C}/payments.limits`)).status).toBe(200);
    expect((await viewer.put(`${C}/payments.limits/environments/staging`, { value: { maxTransfer: 5 } })).status).toBe(403);
    expect((await editor.put(`${C}/payments.limits/environments/staging`, { value: { maxTransfer: 5 } })).status).toBe(200);
    // The default reaches production (protected): editors are refused, owners allowed.
    const refused = await editor.put(`${C}/payments.limits/default`, { value: { maxTransfer: 999, currency: 'EUR' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe('environment "production" is protected: this change alters its configuration, which needs the owner role');
    expect((await api.put(`${C}/payments.limits/default`, { value: { maxTransfer: 999, currency: 'EUR' } })).status).toBe(200);
  });

  it('deletes an item (history stays) and re-creating the key continues its history', async () => {
    expect((await api.post(C, { key: 'temp.item', schema: { type: 'string' }, default: 'a' })).status).toBe(201);
    expect((await api.delete(`${C}/temp.item`)).status).toBe(204);
    expect((await api.get(`${C}/temp.item`)).status).toBe(404);
    expect((await api.get(`${C}/temp.item/versions`)).body.items.map((v: { action: string }) => v.action)).toEqual(['deleted', 'created']);
    const again = await api.post(C, { key: 'temp.item', schema: { type: 'string' }, default: 'b' });
    expect(again.status).toBe(201);
    expect(again.body.version).toBe(3);
  });
});

describe('configuration delivery and environment inheritance', () => {
  let h: AdminHarness;
  let api: ApiClient;
  let gw: GatewayHarness;
  let serverKey: string;
  const streams: SseClient[] = [];

  beforeAll(async () => {
    h = await startAdmin();
    api = h.api(h.ownerToken);
    await createProject(h, 'shop');
    expect((await api.post(`${P}/environments`, { key: 'staging-eu', name: 'Staging EU', parent: 'staging' })).status).toBe(201);
    expect((await api.post(C, { key: 'timeouts.http', schema: { type: 'integer', minimum: 100, maximum: 5000 }, default: 1000 })).status).toBe(201);
    expect((await api.put(`${C}/timeouts.http/environments/staging`, { value: 2000 })).status).toBe(200);
    serverKey = (await api.post(`${P}/environments/staging-eu/sdk-keys`, { kind: 'server', name: 'svc' })).body.key;
    gw = await startGateway(h);
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await gw.close();
    await h.close();
  });

  it('streams config items with the layers of the chain in snapshots and patches, with matching state hashes', async () => {
    const s = await openSse(`${gw.url}/sdk/v1/stream`, { Authorization: `Bearer ${serverKey}` });
    streams.push(s);
    const snapshot = JSON.parse((await s.next((e) => e.event === 'snapshot')).data) as SnapshotMessageV1;
    expect(snapshot.configs).toEqual([
      {
        key: 'timeouts.http',
        version: 2,
        merge: 'replace',
        clientVisible: false,
        tenantAttribute: 'tenantId',
        chain: ['staging', 'staging-eu'],
        layers: [
          { scope: 'default', value: 1000, version: 1 },
          { scope: 'environment', environment: 'staging', value: 2000, version: 2 },
        ],
      },
    ]);
    expect(snapshot.stateHash).toBe(stateHash(snapshot.flags, snapshot.segments, snapshot.configs));
    // development's layer is not part of staging-eu's chain: no patch for staging-eu.
    expect((await api.put(`${C}/timeouts.http/environments/development`, { value: 300 })).status).toBe(200);
    expect((await api.put(`${C}/timeouts.http/environments/staging/tenants/acme`, { value: 4000 })).status).toBe(200);
    const patch = JSON.parse((await s.next((e) => e.event === 'patch')).data) as PatchMessageV1;
    expect(patch.revision).toBe(snapshot.revision + 1);
    expect(patch.changes).toEqual([
      {
        type: 'config.upsert',
        config: expect.objectContaining({ key: 'timeouts.http', version: 4, layers: expect.arrayContaining([{ scope: 'tenant', environment: 'staging', tenant: 'acme', value: 4000, version: 4 }]) }),
      },
    ]);
    // A client applying the patch holds exactly what a new gateway loads from Postgres.
    const second = await startGateway(h);
    try {
      const fresh = await openSse(`${second.url}/sdk/v1/stream`, { Authorization: `Bearer ${serverKey}` });
      streams.push(fresh);
      const again = JSON.parse((await fresh.next((e) => e.event === 'snapshot')).data) as SnapshotMessageV1;
      fresh.close();
      expect(again.revision).toBe(patch.revision);
      expect(again.stateHash).toBe(patch.stateHash);
    } finally {
      await second.close();
    }
  });

  it('serves config items over OFREP as object flags, per tenant, to client keys only when client-visible', async () => {
    const ofrep = (key: string, sdkKey: string, context: object) =>
      fetch(`${gw.url}/ofrep/v1/evaluate/flags/${key}`, { method: 'POST', headers: { Authorization: `Bearer ${sdkKey}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ context }) });
    const acme = await ofrep('timeouts.http', serverKey, { targetingKey: 'u1', tenantId: 'acme' });
    expect(acme.status).toBe(200);
    expect(await acme.json()).toEqual({
      key: 'timeouts.http',
      value: 4000,
      reason: 'TARGETING_MATCH',
      metadata: { config: true, configVersion: expect.any(Number), source: 'tenant', sourceEnvironment: 'staging', sourceTenant: 'acme' },
    });
    expect(await (await ofrep('timeouts.http', serverKey, { tenantId: 'globex' })).json()).toMatchObject({ value: 2000, reason: 'STATIC' });
    const clientKey = (await api.post(`${P}/environments/staging-eu/sdk-keys`, { kind: 'client', name: 'web' })).body.key as string;
    expect((await ofrep('timeouts.http', clientKey, {})).status).toBe(404);
    expect((await api.patch(`${C}/timeouts.http`, { clientVisible: true })).status).toBe(200);
    await eventually(async () => (await ofrep('timeouts.http', clientKey, {})).status === 200);
    const bulk = await fetch(`${gw.url}/ofrep/v1/evaluate/flags`, { method: 'POST', headers: { Authorization: `Bearer ${clientKey}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ context: { tenantId: 'acme' } }) });
    expect(((await bulk.json()) as { flags: Array<{ key: string; value: unknown }> }).flags).toEqual([expect.objectContaining({ key: 'timeouts.http', value: 4000 })]);
  });

  it('a service using the SDK sees a tenant override change live for that tenant only', async () => {
    const stagingKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc-staging' })).body.key as string;
    const client = new FlagstreamClient({ sdkKey: stagingKey, baseUrl: gw.url, backoff: { initialMs: 20, maxMs: 200 } });
    try {
      await client.ready();
      const acme = { targetingKey: 'u1', tenantId: 'acme' };
      const globex = { targetingKey: 'u2', tenantId: 'globex' };
      expect(client.config('timeouts.http', acme, 0)).toBe(4000);
      expect(client.config('timeouts.http', globex, 0)).toBe(2000);
      const acmeChanges: Array<[unknown, unknown]> = [];
      const globexChanges: Array<[unknown, unknown]> = [];
      client.onConfigChange('timeouts.http', acme, (v, p) => acmeChanges.push([v, p]));
      client.onConfigChange('timeouts.http', globex, (v, p) => globexChanges.push([v, p]));
      const at = Date.now();
      expect((await api.put(`${C}/timeouts.http/environments/staging/tenants/acme`, { value: 4500 })).status).toBe(200);
      await eventually(async () => acmeChanges.length === 1);
      expect(Date.now() - at).toBeLessThan(2000);
      expect(acmeChanges).toEqual([[4500, 4000]]);
      expect(client.configDetail('timeouts.http', acme, 0)).toMatchObject({ value: 4500, reason: 'TARGETING_MATCH', source: { scope: 'tenant', tenant: 'acme' } });
      expect(client.config('timeouts.http', globex, 0)).toBe(2000);
      expect(globexChanges).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('gives a new environment the configuration of its chain in its first revision', async () => {
    expect((await api.post(`${P}/environments`, { key: 'staging-us', name: 'Staging US', parent: 'staging' })).status).toBe(201);
    const key = (await api.post(`${P}/environments/staging-us/sdk-keys`, { kind: 'server', name: 'us' })).body.key;
    const s = await openSse(`${gw.url}/sdk/v1/stream`, { Authorization: `Bearer ${key}` });
    streams.push(s);
    const snapshot = JSON.parse((await s.next((e) => e.event === 'snapshot')).data) as SnapshotMessageV1;
    expect(snapshot.revision).toBe(1);
    expect(snapshot.configs?.map((c) => [c.key, c.chain])).toEqual([['timeouts.http', ['staging', 'staging-us']]]);
  });

  it('lets the project choose the tenant attribute, and streams it to SDKs', async () => {
    const stagingKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc-org' })).body.key as string;
    const client = new FlagstreamClient({ sdkKey: stagingKey, baseUrl: gw.url, backoff: { initialMs: 20, maxMs: 200 } });
    try {
      await client.ready();
      const byOrg = { targetingKey: 'u1', org: 'acme' };
      expect(client.config('timeouts.http', byOrg, 0)).toBe(2000);
      const bad = await api.patch(P, { tenantAttribute: 'org.id', version: 1 });
      expect(bad.status).toBe(400);
      const version = (await api.get(P)).body.version as number;
      const patched = await api.patch(P, { tenantAttribute: 'org', version });
      expect(patched.status).toBe(200);
      expect(patched.body.tenantAttribute).toBe('org');
      await eventually(async () => client.config<number>('timeouts.http', byOrg, 0) !== 2000);
      expect(client.configDetail('timeouts.http', byOrg, 0)).toMatchObject({ reason: 'TARGETING_MATCH', source: { tenant: 'acme' } });
      const ctx = Buffer.from(JSON.stringify(byOrg)).toString('base64url');
      expect((await api.get(`${C}/timeouts.http/explain?environment=staging&context=${ctx}`)).body).toMatchObject({ tenant: 'acme', source: { scope: 'tenant' } });
      expect((await api.patch(P, { tenantAttribute: 'tenantId', version: patched.body.version })).status).toBe(200);
    } finally {
      await client.close();
    }
  });

  it('re-validates and re-streams configuration when an environment changes parent', async () => {
    // development has 300; staging-eu under development would keep 300... fine; but a schema-valid
    // value can still break: tighten with an item whose development value only fits there.
    expect((await api.post(C, { key: 'pool.size', schema: { type: 'integer', maximum: 10 }, merge: 'replace', default: 5 })).status).toBe(201);
    expect((await api.put(`${C}/pool.size/environments/staging-eu/tenants/acme`, { value: 7 })).status).toBe(200);
    const moved = await api.patch(`${P}/environments/staging-eu`, { parent: 'development', version: 1 });
    expect(moved.status).toBe(200);
    const eu = await api.get(`${P}/environments/staging-eu/configs`);
    expect(eu.body.chain).toEqual(['development', 'staging-eu']);
    expect(eu.body.configs['timeouts.http'].value).toBe(300);
    const detached = await api.patch(`${P}/environments/staging-eu`, { parent: null, version: moved.body.version });
    expect(detached.status).toBe(200);
    expect((await api.get(`${P}/environments/staging-eu/configs`)).body.configs['timeouts.http'].value).toBe(1000);
    const cycle = await api.patch(`${P}/environments/staging`, { parent: 'staging-eu', version: 1 });
    expect(cycle.status).toBe(200); // staging-eu no longer inherits staging: no cycle
    const now = (await api.get(`${P}/environments/staging-eu`)).body.version;
    const cyclic = await api.patch(`${P}/environments/staging-eu`, { parent: 'staging', version: now });
    expect(cyclic.status).toBe(400);
    expect(cyclic.body.error.details).toEqual([{ path: 'parent', message: '"staging" inherits from "staging-eu"' }]);
  });
});
