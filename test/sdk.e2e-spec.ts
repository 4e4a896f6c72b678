import { FlagstreamClient } from '@flagstream/sdk';
import { createProject, eventually, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';

const P = '/api/v1/projects/shop';

describe('SDK against the real gateway and admin API', () => {
  let h: AdminHarness;
  let api: ApiClient;
  let gw: GatewayHarness;
  let serverKey: string;
  const clients: FlagstreamClient[] = [];

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
    serverKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' })).body.key;
    gw = await startGateway(h);
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await gw.close();
    await h.close();
  });

  function client(baseUrl = gw.url, sdkKey = serverKey) {
    const c = new FlagstreamClient({ sdkKey, baseUrl, backoff: { initialMs: 20, maxMs: 200 } });
    clients.push(c);
    return c;
  }

  it('evaluates locally after ready() and sees a kill switch within moments', async () => {
    const c = client();
    await c.ready();
    expect(c.booleanDetail('checkout', { targetingKey: 'u1', country: 'de' }, false)).toEqual({ value: true, variation: 'on', reason: 'TARGETING_MATCH', ruleId: 'de' });
    expect(c.boolean('checkout', { targetingKey: 'u1', country: 'fr' }, true)).toBe(false);
    const changed = new Promise<string[]>((resolve) => c.on('change', resolve));
    const at = Date.now();
    await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on: false });
    expect(await changed).toEqual(['checkout']);
    expect(Date.now() - at).toBeLessThan(2000);
    expect(c.booleanDetail('checkout', { targetingKey: 'u1', country: 'de' }, true)).toEqual({ value: false, variation: 'off', reason: 'DISABLED' });
    // It acknowledged the revision: the admin API reports it.
    const revision = c.revision;
    const report = await eventually(async () => {
      const res = await api.get(`${P}/environments/staging/revisions/${revision}/propagation`);
      return res.status === 200 && res.body.acknowledged >= 1 ? res.body : undefined;
    });
    expect(report.connected).toBeGreaterThanOrEqual(1);
  });

  it('converges after the gateway dies, flags change, and a gateway comes back', async () => {
    const port = Number(new URL(gw.url).port);
    const c = client();
    await c.ready();
    await gw.close();
    for (const on of [true, false, true]) await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on });
    const final = (await api.get(`${P}/environments/staging`)).body.revision as number;
    expect(c.revision).toBeLessThan(final);
    gw = await startGateway(h, {}, { port });
    await eventually(async () => c.revision === final, 10_000);
    expect(c.boolean('checkout', { targetingKey: 'u1', country: 'de' }, false)).toBe(true);
  });

  it('stops with a clear error on a revoked key', async () => {
    const created = await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'short' });
    await api.delete(`${P}/environments/staging/sdk-keys/${created.body.id}`);
    const c = client(gw.url, created.body.key);
    await expect(c.ready(3000)).rejects.toThrow('the gateway refused the SDK key (gateway answered 401: missing or invalid SDK key); not retrying');
    expect(c.boolean('checkout', {}, true)).toBe(true);
  });
});
