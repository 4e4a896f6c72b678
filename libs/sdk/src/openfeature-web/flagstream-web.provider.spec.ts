import type { EvaluatedFlagV1 } from '@flagstream/protocol';
import { ErrorCode, OpenFeature, ProviderEvents, ProviderStatus, type Client, type EventDetails } from '@openfeature/web-sdk';
import { FakeEvaluatedStreamTransport } from '../client/fake-evaluated-stream.transport';
import { FlagstreamBrowserClient } from '../client/flagstream-browser-client';
import { FlagstreamWebProvider, type FlagstreamWebClientOptions } from './flagstream-web.provider';

const on: EvaluatedFlagV1 = { value: true, variant: 'on', reason: 'TARGETING_MATCH' };
const off: EvaluatedFlagV1 = { value: false, variant: 'off', reason: 'DISABLED' };
const u1 = { targetingKey: 'u1', plan: 'pro' };
const u2 = { targetingKey: 'u2', plan: 'free' };

const snapshot = (revision: number, flags: Record<string, EvaluatedFlagV1>) => ({ v: 1, revision, flags });
const patch = (revision: number, flags: Record<string, EvaluatedFlagV1>, removed: string[] = []) => ({ v: 1, revision, flags, removed });

/** Every event of `types` the OpenFeature client sees, in order. */
function recordEvents(client: Client, types: ProviderEvents[]): Array<[ProviderEvents, EventDetails | undefined]> {
  const seen: Array<[ProviderEvents, EventDetails | undefined]> = [];
  for (const type of types) client.addHandler(type, (details) => void seen.push([type, details]));
  return seen;
}

function nextEvent(client: Client, type: ProviderEvents): Promise<EventDetails | undefined> {
  return new Promise((resolve) => {
    const handler = (details?: EventDetails) => {
      client.removeHandler(type, handler);
      resolve(details);
    };
    client.addHandler(type, handler);
  });
}

describe('FlagstreamWebProvider', () => {
  let transport: FakeEvaluatedStreamTransport;
  let options: FlagstreamWebClientOptions;

  beforeEach(() => {
    transport = new FakeEvaluatedStreamTransport();
    options = { sdkKey: 'fs_client_test', baseUrl: 'https://gw.test', transport, storage: null, backoff: { initialMs: 5, maxMs: 20 } };
  });
  afterEach(async () => {
    await OpenFeature.clearProviders();
    await OpenFeature.clearContexts();
  });

  /** Registers a provider with OpenFeature for `context` and gives it `flags` at revision 1. */
  async function registered(flags: Record<string, EvaluatedFlagV1>, context: Record<string, string> = u1) {
    const provider = new FlagstreamWebProvider(options);
    const set = OpenFeature.setProviderAndWait(provider, context);
    const conn = await transport.connection(0);
    conn.send('snapshot', 1, snapshot(1, flags));
    await set;
    return { provider, conn, client: OpenFeature.getClient() };
  }

  it('resolves values for the OpenFeature context, with OpenFeature reasons and error codes', async () => {
    const { provider, conn, client } = await registered({
      flag: on,
      color: { value: 'blue', variant: 'blue', reason: 'SPLIT', experiment: 'colors', experimentUnit: 'tenant.id' },
      limit: { value: 10, variant: 'ten', reason: 'DEFAULT' },
      config: { value: { a: 1 }, variant: 'v1', reason: 'STATIC' },
      broken: { value: null, reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING' },
    });
    expect(provider.metadata.name).toBe('flagstream-web');
    expect(provider.runsOn).toBe('client');
    expect(conn.context).toEqual(u1);
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    expect(client.getBooleanDetails('flag', false)).toEqual({ flagKey: 'flag', value: true, variant: 'on', reason: 'TARGETING_MATCH', flagMetadata: { revision: 1 } });
    expect(client.getStringDetails('color', 'red')).toMatchObject({ value: 'blue', variant: 'blue', reason: 'SPLIT' });
    expect(client.getStringDetails('color', 'red').flagMetadata).toEqual({ revision: 1, experiment: 'colors', experimentUnit: 'tenant.id' });
    expect(client.getNumberDetails('limit', 0)).toMatchObject({ value: 10, reason: 'DEFAULT' });
    expect(client.getObjectDetails('config', {})).toMatchObject({ value: { a: 1 }, reason: 'STATIC' });
    expect(client.getBooleanDetails('missing', true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.FLAG_NOT_FOUND });
    expect(client.getNumberDetails('flag', 3)).toMatchObject({ value: 3, reason: 'ERROR', errorCode: ErrorCode.TYPE_MISMATCH, errorMessage: 'flag "flag" has a value of type boolean, not number' });
    expect(client.getBooleanDetails('broken', true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.TARGETING_KEY_MISSING });
  });

  it('reports a live change as CONFIGURATION_CHANGED with the changed keys (and nothing while initialising)', async () => {
    const provider = new FlagstreamWebProvider(options);
    const client = OpenFeature.getClient();
    const seen = recordEvents(client, [ProviderEvents.ConfigurationChanged]);
    const set = OpenFeature.setProviderAndWait(provider, u1);
    const conn = await transport.connection(0);
    conn.send('snapshot', 1, snapshot(1, { a: on, b: on }));
    await set;
    const changed = nextEvent(client, ProviderEvents.ConfigurationChanged);
    conn.send('patch', 3, patch(3, { a: off }, ['b']));
    expect(await changed).toMatchObject({ flagsChanged: ['a', 'b'], metadata: { revision: 3 }, providerName: 'flagstream-web' });
    expect(seen).toHaveLength(1);
    expect(client.getBooleanValue('a', true)).toBe(false);
  });

  it('identify()s on a context change: RECONCILING, then CONTEXT_CHANGED, with the new context\'s values', async () => {
    const { provider, conn, client } = await registered({ a: on });
    const seen = recordEvents(client, [ProviderEvents.Reconciling, ProviderEvents.ContextChanged, ProviderEvents.ConfigurationChanged]);
    const changing = OpenFeature.setContext(u2);
    expect(client.providerStatus).toBe(ProviderStatus.RECONCILING);
    const second = await transport.connection(1);
    expect(second.context).toEqual(u2);
    expect(conn.aborted).toBe(true);
    second.send('snapshot', 2, snapshot(2, { a: off }));
    await changing;
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    expect(provider.client!.context).toEqual(u2);
    expect(client.getBooleanDetails('a', true)).toMatchObject({ value: false, variant: 'off', reason: 'DISABLED' });
    // The switch itself is CONTEXT_CHANGED, not a configuration change.
    expect(seen.map(([type]) => type)).toEqual([ProviderEvents.Reconciling, ProviderEvents.ContextChanged]);
  });

  it('goes STALE when the stream drops and READY when it is back', async () => {
    const { conn, client } = await registered({ a: on });
    const stale = nextEvent(client, ProviderEvents.Stale);
    conn.end();
    expect(await stale).toMatchObject({ message: 'lost the stream; serving the last values while reconnecting' });
    expect(client.providerStatus).toBe(ProviderStatus.STALE);
    expect(client.getBooleanValue('a', false)).toBe(true);
    const ready = nextEvent(client, ProviderEvents.Ready);
    await transport.connection(1);
    await ready;
    expect(client.providerStatus).toBe(ProviderStatus.READY);
  });

  it('is FATAL when the key is refused at start', async () => {
    transport.refuseWith = [401];
    const provider = new FlagstreamWebProvider(options);
    await expect(OpenFeature.setProviderAndWait(provider, u1)).rejects.toThrow('the gateway refused the SDK key (refused with 401); not retrying');
    const client = OpenFeature.getClient();
    expect(client.providerStatus).toBe(ProviderStatus.FATAL);
    expect(client.getBooleanDetails('a', true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.PROVIDER_FATAL });
  });

  it('emits ERROR with PROVIDER_FATAL when the key is revoked later', async () => {
    const { conn, client } = await registered({ a: on });
    const error = nextEvent(client, ProviderEvents.Error);
    conn.fail(401);
    expect(await error).toMatchObject({ errorCode: ErrorCode.PROVIDER_FATAL, message: 'the gateway refused the SDK key (failed with 401); not retrying' });
    expect(client.providerStatus).toBe(ProviderStatus.FATAL);
  });

  it('is in ERROR after an initialisation timeout, and READY when the values come', async () => {
    const provider = new FlagstreamWebProvider(options, { readyTimeoutMs: 30 });
    await expect(OpenFeature.setProviderAndWait(provider, u1)).rejects.toThrow('Flagstream client not ready after 30 ms');
    const client = OpenFeature.getClient();
    expect(client.providerStatus).toBe(ProviderStatus.ERROR);
    const seen = recordEvents(client, [ProviderEvents.ConfigurationChanged]);
    const ready = nextEvent(client, ProviderEvents.Ready);
    (await transport.connection(0)).send('snapshot', 1, snapshot(1, { a: on }));
    expect(await ready).toMatchObject({ message: 'flag values arrived after the timeout' });
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    expect(client.getBooleanValue('a', false)).toBe(true);
    expect(seen).toEqual([]);
  });

  it('borrows an existing client: switches it to OpenFeature\'s context and leaves it open on close', async () => {
    const browser = new FlagstreamBrowserClient({ ...options, context: { targetingKey: 'someone-else' } });
    try {
      const provider = new FlagstreamWebProvider(browser);
      expect(provider.client).toBe(browser);
      const set = OpenFeature.setProviderAndWait(provider, u1);
      const conn = await transport.connection(1);
      expect(conn.context).toEqual(u1);
      conn.send('snapshot', 1, snapshot(1, { a: on }));
      await set;
      expect(OpenFeature.getClient().getBooleanValue('a', false)).toBe(true);
      await OpenFeature.clearProviders();
      expect(conn.aborted).toBe(false);
      expect(browser.boolean('a', false)).toBe(true);
    } finally {
      await browser.close();
    }
  });

  it('closes the client it created when OpenFeature lets it go', async () => {
    const { provider, conn } = await registered({ a: on });
    await OpenFeature.clearProviders();
    expect(conn.aborted).toBe(true);
    await expect(provider.client!.identify(u2)).rejects.toThrow('Flagstream client closed');
    await new Promise((r) => setTimeout(r, 30));
    expect(transport.connections).toHaveLength(1);
  });
});
