import { ErrorCode, OpenFeature, ProviderEvents, ProviderStatus, type EventDetails } from '@openfeature/server-sdk';
import { FlagstreamProvider } from '@flagstream/sdk/openfeature';
import { createProject, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';

const P = '/api/v1/projects/shop';

/** The next event of `type` reported for the OpenFeature client of `domain`; rejects after `timeoutMs`. */
function next(domain: string, type: ProviderEvents, timeoutMs = 8000): Promise<EventDetails | undefined> {
  const client = OpenFeature.getClient(domain);
  return new Promise((resolve, reject) => {
    const handler = (details?: EventDetails) => {
      clearTimeout(timer);
      client.removeHandler(type, handler);
      resolve(details);
    };
    const timer = setTimeout(() => {
      client.removeHandler(type, handler);
      reject(new Error(`no ${type} for ${domain} within ${timeoutMs} ms (status ${client.providerStatus})`));
    }, timeoutMs);
    client.addHandler(type, handler);
  });
}

// Restarting a gateway and waiting for events takes a few seconds on a loaded machine.
jest.setTimeout(30_000);

describe('OpenFeature provider against the real gateway and admin API', () => {
  let h: AdminHarness;
  let api: ApiClient;
  let gw: GatewayHarness;
  let serverKey: string;

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
    await OpenFeature.clearProviders();
    OpenFeature.clearHandlers();
    await gw.close();
    await h.close();
  });

  function provider(sdkKey = serverKey) {
    return new FlagstreamProvider({ sdkKey, baseUrl: gw.url, backoff: { initialMs: 20, maxMs: 200 } });
  }

  it('resolves details for a targeted context, and a toggle arrives as CONFIGURATION_CHANGED', async () => {
    await OpenFeature.setProviderAndWait('toggle', provider());
    const client = OpenFeature.getClient('toggle');
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    const before = await client.getBooleanDetails('checkout', false, { targetingKey: 'u1', country: 'de' });
    expect(before).toEqual({
      flagKey: 'checkout',
      value: true,
      variant: 'on',
      reason: 'TARGETING_MATCH',
      flagMetadata: { ruleId: 'de', revision: expect.any(Number) },
    });
    expect(await client.getBooleanDetails('checkout', true, { targetingKey: 'u1', country: 'fr' })).toMatchObject({ value: false, variant: 'off', reason: 'DEFAULT' });

    const changed = next('toggle', ProviderEvents.ConfigurationChanged);
    await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on: false });
    expect(await changed).toMatchObject({ providerName: 'flagstream', domain: 'toggle', flagsChanged: ['checkout'] });
    const after = await client.getBooleanDetails('checkout', true, { targetingKey: 'u1', country: 'de' });
    expect(after).toMatchObject({ value: false, variant: 'off', reason: 'DISABLED' });
    expect(after.flagMetadata['revision']).toBeGreaterThan(before.flagMetadata['revision'] as number);
    // Back on for the next tests, once the gateway has it.
    const restored = next('toggle', ProviderEvents.ConfigurationChanged);
    await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on: true });
    await restored;
    expect(await client.getBooleanValue('checkout', false, { targetingKey: 'u1', country: 'de' })).toBe(true);
  });

  it('goes STALE when the gateway dies and READY again when one comes back', async () => {
    await OpenFeature.setProviderAndWait('outage', provider());
    const client = OpenFeature.getClient('outage');
    const port = Number(new URL(gw.url).port);
    const stale = next('outage', ProviderEvents.Stale);
    await gw.close();
    await stale;
    expect(client.providerStatus).toBe(ProviderStatus.STALE);
    // The last state still serves.
    expect(await client.getBooleanDetails('checkout', false, { targetingKey: 'u1', country: 'de' })).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    const ready = next('outage', ProviderEvents.Ready);
    gw = await startGateway(h, {}, { port });
    await ready;
    expect(client.providerStatus).toBe(ProviderStatus.READY);
  });

  it('fails initialization with an ERROR event and FATAL status on a revoked key', async () => {
    const created = await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'short' });
    await api.delete(`${P}/environments/staging/sdk-keys/${created.body.id}`);
    const error = next('revoked', ProviderEvents.Error);
    await expect(OpenFeature.setProviderAndWait('revoked', provider(created.body.key))).rejects.toThrow(
      'the gateway refused the SDK key (gateway answered 401: missing or invalid SDK key); not retrying',
    );
    expect(await error).toMatchObject({ providerName: 'flagstream', message: expect.stringContaining('401') });
    const client = OpenFeature.getClient('revoked');
    expect(client.providerStatus).toBe(ProviderStatus.FATAL);
    expect(await client.getBooleanDetails('checkout', true, { targetingKey: 'u1' })).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.PROVIDER_FATAL });
  });
});
