import type { Server } from 'node:http';
import { FlagstreamAuthError, FlagstreamBrowserClient, type FlagstreamBrowserClientOptions, type StorageLike } from '@flagstream/sdk/client';
import { FlagstreamWebProvider } from '@flagstream/sdk/openfeature-web';
import { OpenFeature, ProviderEvents, type EventDetails } from '@openfeature/web-sdk';
import { createProject, eventually, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';

const P = '/api/v1/projects/shop';

/** Web Storage in memory, as a page's localStorage would behave. */
class MemoryStorage implements StorageLike {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

describe('SDK client mode (browser) against the real gateway and admin API', () => {
  let h: AdminHarness;
  let api: ApiClient;
  let gw: GatewayHarness;
  let clientKey: string;
  const clients: FlagstreamBrowserClient[] = [];

  beforeAll(async () => {
    h = await startAdmin();
    api = h.api(h.ownerToken);
    await createProject(h, 'shop');
    await api.post(`${P}/flags`, { key: 'banner', kind: 'boolean', clientVisible: true });
    await api.put(`${P}/flags/banner/environments/staging`, {
      on: true, offVariation: 'off', prerequisites: [], version: 1,
      rules: [{ id: 'pro', clauses: [{ attribute: 'plan', operator: 'in', values: ['pro'] }], serve: { variation: 'on' } }],
      defaultServe: { variation: 'off' },
    });
    await api.post(`${P}/flags`, { key: 'internal', kind: 'boolean' });
    await api.put(`${P}/flags/internal/environments/staging`, {
      on: true, offVariation: 'off', prerequisites: [], version: 1, rules: [], defaultServe: { variation: 'on' },
    });
    clientKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'client', name: 'web' })).body.key;
    expect(clientKey).toMatch(/^fs_client_/);
    gw = await startGateway(h);
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await OpenFeature.clearProviders();
    // Node's fetch (undici) may leave a spare socket open after an aborted request; the server
    // would wait for its keep-alive timeout (4 s) before it could close.
    (gw.app.getHttpServer() as Server).closeAllConnections();
    await gw.close();
    await h.close();
  }, 15_000);

  function client(context: Record<string, unknown>, extra: Partial<FlagstreamBrowserClientOptions> = {}) {
    const c = new FlagstreamBrowserClient({ sdkKey: clientKey, baseUrl: gw.url, context, storage: new MemoryStorage(), backoff: { initialMs: 20, maxMs: 200 }, ...extra });
    clients.push(c);
    return c;
  }

  async function toggle(flag: string, on: boolean): Promise<void> {
    const res = await api.post(`${P}/flags/${flag}/environments/staging/toggle`, { on });
    expect(res.status).toBe(200);
  }

  it('is ready with the values for its context, and sees a toggle live as a change', async () => {
    const c = client({ targetingKey: 'u1', plan: 'pro' });
    await c.ready();
    expect(c.booleanDetail('banner', false)).toEqual({ value: true, variation: 'on', reason: 'TARGETING_MATCH' });
    const changed = new Promise<string[]>((resolve) => c.on('change', resolve));
    const values: Array<[unknown, unknown]> = [];
    c.onValueChange('banner', (value, previous) => values.push([value, previous]));
    const at = Date.now();
    await toggle('banner', false);
    expect(await changed).toEqual(['banner']);
    expect(Date.now() - at).toBeLessThan(2000);
    expect(c.booleanDetail('banner', true)).toEqual({ value: false, variation: 'off', reason: 'DISABLED' });
    expect(values).toEqual([[false, true]]);
    // It acknowledged the revision: the admin API reports it.
    const revision = c.revision;
    const report = await eventually(async () => {
      const res = await api.get(`${P}/environments/staging/revisions/${revision}/propagation`);
      return res.status === 200 && res.body.acknowledged >= 1 ? res.body : undefined;
    });
    expect(report.connected).toBeGreaterThanOrEqual(1);
    await toggle('banner', true);
    await eventually(async () => c.boolean('banner', false));
  });

  it('switches context with identify(), and back again from its cache', async () => {
    const c = client({ targetingKey: 'u1', plan: 'pro' });
    await c.ready();
    expect(c.boolean('banner', false)).toBe(true);
    await c.identify({ targetingKey: 'u2', plan: 'free' });
    expect(c.context).toEqual({ targetingKey: 'u2', plan: 'free' });
    expect(c.booleanDetail('banner', true)).toEqual({ value: false, variation: 'off', reason: 'DEFAULT' });
    // Back to the first context: resolved from the cache before the stream answers, then live.
    const connected = new Promise<void>((resolve) => c.on('connected', resolve));
    await c.identify({ plan: 'pro', targetingKey: 'u1' });
    expect(c.boolean('banner', false)).toBe(true);
    await connected;
    const changed = new Promise<string[]>((resolve) => c.on('change', resolve));
    await toggle('banner', false);
    expect(await changed).toEqual(['banner']);
    expect(c.boolean('banner', true)).toBe(false);
    await toggle('banner', true);
    await eventually(async () => c.boolean('banner', false));
  });

  it('starts a second page instantly from the values the first one cached', async () => {
    const storage = new MemoryStorage();
    const first = client({ targetingKey: 'u9', plan: 'pro' }, { storage });
    await first.ready();
    await first.close();
    const second = client({ targetingKey: 'u9', plan: 'pro' }, { storage });
    expect(second.isReady).toBe(true);
    expect(second.boolean('banner', false)).toBe(true);
    expect(second.revision).toBe(first.revision);
  });

  it('cannot see a flag that is not client-visible, until it is made visible', async () => {
    const c = client({ targetingKey: 'u1', plan: 'pro' });
    await c.ready();
    expect(Object.keys(c.allFlags())).toEqual(['banner']);
    expect(c.booleanDetail('internal', false)).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    const version = (await api.get(`${P}/flags/internal`)).body.version as number;
    const changed = new Promise<string[]>((resolve) => c.on('change', resolve));
    expect((await api.patch(`${P}/flags/internal`, { clientVisible: true, version })).status).toBe(200);
    expect(await changed).toEqual(['internal']);
    expect(c.booleanDetail('internal', false)).toEqual({ value: true, variation: 'on', reason: 'STATIC' });
    const hidden = new Promise<string[]>((resolve) => c.on('change', resolve));
    expect((await api.patch(`${P}/flags/internal`, { clientVisible: false, version: version + 1 })).status).toBe(200);
    expect(await hidden).toEqual(['internal']);
    expect(c.booleanDetail('internal', false).errorCode).toBe('FLAG_NOT_FOUND');
  });

  it('stops with a clear error when its key is revoked', async () => {
    const created = await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'client', name: 'short-lived' });
    const c = client({ targetingKey: 'u1', plan: 'pro' }, { sdkKey: created.body.key });
    await c.ready();
    const fatal = new Promise<[Error, boolean]>((resolve) => c.on('error', (e, isFatal) => isFatal && resolve([e, isFatal])));
    expect((await api.delete(`${P}/environments/staging/sdk-keys/${created.body.id}`)).status).toBe(204);
    const [error] = await fatal;
    expect(error).toBeInstanceOf(FlagstreamAuthError);
    expect(error.message).toBe('the gateway refused the SDK key (gateway answered 401: missing or invalid SDK key); not retrying');
    // The last values stay; a new client with that key does not start.
    expect(c.boolean('banner', false)).toBe(true);
    const late = client({ targetingKey: 'u1' }, { sdkKey: created.body.key });
    await expect(late.ready(3000)).rejects.toThrow('the gateway refused the SDK key (gateway answered 401: missing or invalid SDK key); not retrying');
  });

  it('drives the OpenFeature web provider: values, CONFIGURATION_CHANGED on a flip, and a context change', async () => {
    const provider = new FlagstreamWebProvider({ sdkKey: clientKey, baseUrl: gw.url, storage: new MemoryStorage(), backoff: { initialMs: 20, maxMs: 200 } });
    await OpenFeature.setProviderAndWait('web-e2e', provider, { targetingKey: 'u1', plan: 'pro' });
    const of = OpenFeature.getClient('web-e2e');
    expect(of.getBooleanDetails('banner', false)).toMatchObject({ value: true, variant: 'on', reason: 'TARGETING_MATCH' });
    expect(of.getBooleanDetails('internal', true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });

    const changed = new Promise<EventDetails | undefined>((resolve) => of.addHandler(ProviderEvents.ConfigurationChanged, resolve));
    await toggle('banner', false);
    expect(await changed).toMatchObject({ flagsChanged: ['banner'], providerName: 'flagstream-web' });
    expect(of.getBooleanValue('banner', true)).toBe(false);
    await toggle('banner', true);
    await eventually(async () => of.getBooleanValue('banner', false));

    await OpenFeature.setContext('web-e2e', { targetingKey: 'u2', plan: 'free' });
    expect(of.getBooleanDetails('banner', true)).toMatchObject({ value: false, variant: 'off', reason: 'DEFAULT' });
    // OpenFeature lets the provider go: it closes the client it created.
    await OpenFeature.clearProviders();
    await expect(provider.client!.identify({ targetingKey: 'u3' })).rejects.toThrow('Flagstream client closed');
  });
});
