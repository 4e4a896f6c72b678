import { stateHash, type FlagSnapshotV1, type PatchMessageV1, type SnapshotMessageV1 } from '@flagstream/protocol';
import { ErrorCode, OpenFeature, ProviderEvents, ProviderStatus, type EventDetails } from '@openfeature/server-sdk';
import { FakeTransport } from '../fake.transport';
import { FlagstreamClient, type FlagstreamClientOptions } from '../flagstream-client';
import { FlagstreamProvider } from './flagstream.provider';

type Settings = FlagSnapshotV1['settings'];

function flag(key: string, kind: FlagSnapshotV1['kind'], variations: Record<string, unknown>, settings: Partial<Settings>, version = 1): FlagSnapshotV1 {
  const keys = Object.keys(variations);
  return {
    key,
    kind,
    variations: keys.map((k) => ({ key: k, value: variations[k] })),
    clientVisible: false,
    settings: { on: true, offVariation: keys[keys.length - 1]!, prerequisites: [], rules: [], defaultServe: { variation: keys[0]! }, salt: key, ...settings },
    version,
  };
}

const onOff = { on: true, off: false };

function checkout(on: boolean, version = 1): FlagSnapshotV1 {
  return flag(
    'checkout',
    'boolean',
    onOff,
    {
      on,
      rules: [
        { id: 'de', clauses: [{ attribute: 'country', operator: 'in', values: ['de'] }], serve: { variation: 'on' } },
        { id: 'enterprise', clauses: [{ attribute: 'tenant.plan', operator: 'equals', values: ['enterprise'] }], serve: { variation: 'on' } },
        { id: 'early', clauses: [{ attribute: 'signedUpAt', operator: 'before', values: ['2024-01-01'] }], serve: { variation: 'on' } },
      ],
      defaultServe: { variation: 'off' },
    },
    version,
  );
}

const FLAGS: FlagSnapshotV1[] = [
  checkout(true),
  flag('banner', 'string', { blue: 'blue', red: 'red' }, {}),
  flag('limit', 'number', { big: 100, small: 10 }, { defaultServe: { rollout: { variations: [{ variation: 'big', weight: 100_000 }, { variation: 'small', weight: 0 }] } } }),
  flag('layout', 'json', { wide: { columns: 3, nav: ['home', 'cart'] }, narrow: { columns: 1, nav: [] } }, {}),
  flag('broken', 'boolean', onOff, { defaultServe: { variation: 'nope' } }),
];

function snapshot(revision: number, flags: FlagSnapshotV1[]): SnapshotMessageV1 {
  return { v: 1, environment: 'test', revision, stateHash: stateHash(flags, []), flags, segments: [] };
}

function patch(revision: number, after: FlagSnapshotV1[], changed: FlagSnapshotV1[]): PatchMessageV1 {
  return { v: 1, revision, stateHash: stateHash(after, []), occurredAt: new Date().toISOString(), changes: changed.map((f) => ({ type: 'flag.upsert' as const, flag: f })) };
}

/** Polls `check` until it holds (events are delivered through OpenFeature's async handlers). */
async function until(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

type Recorded = { type: ProviderEvents; details?: EventDetails };

/** Records every provider event OpenFeature reports, in order. */
function recordEvents(): Recorded[] {
  const seen: Recorded[] = [];
  for (const type of [ProviderEvents.Ready, ProviderEvents.Error, ProviderEvents.Stale, ProviderEvents.ConfigurationChanged]) {
    OpenFeature.addHandler(type, (details) => {
      seen.push({ type, details });
    });
  }
  return seen;
}

describe('FlagstreamProvider with the OpenFeature server SDK', () => {
  let transport: FakeTransport;
  const ctx = { targetingKey: 'u1' };

  beforeEach(async () => {
    transport = new FakeTransport();
    await OpenFeature.clearProviders();
    OpenFeature.clearHandlers();
    OpenFeature.setContext({});
  });
  afterEach(async () => {
    await OpenFeature.clearProviders();
    OpenFeature.clearHandlers();
  });

  function options(extra: Partial<FlagstreamClientOptions> = {}): FlagstreamClientOptions {
    return { sdkKey: 'k', baseUrl: 'http://x', transport, backoff: { initialMs: 5, maxMs: 20 }, ...extra };
  }

  /** Registers a provider on its client options and feeds it FLAGS at revision 5. */
  async function ready(flags = FLAGS): Promise<FlagstreamProvider> {
    const provider = new FlagstreamProvider(options());
    const set = OpenFeature.setProviderAndWait(provider);
    (await transport.connection(0)).send('snapshot', 5, snapshot(5, flags));
    await set;
    return provider;
  }

  it('puts the experiment marker of a result into flagMetadata', async () => {
    const experiment = { rollout: { experiment: 'checkout-2026', bucketBy: 'tenant.id', variations: [{ variation: 'on', weight: 100_000 }] } };
    const outside = { rollout: { experiment: 'checkout-2026', variations: [{ variation: 'on', weight: 100_000, untracked: true }] } };
    await ready([flag('pricing', 'boolean', onOff, { defaultServe: experiment }), flag('promo', 'boolean', onOff, { defaultServe: outside })]);
    const client = OpenFeature.getClient();
    expect(await client.getBooleanDetails('pricing', false, { ...ctx, tenant: { id: 't1' } })).toEqual({
      flagKey: 'pricing',
      value: true,
      variant: 'on',
      reason: 'SPLIT',
      flagMetadata: { revision: 5, experiment: 'checkout-2026', experimentUnit: 'tenant.id' },
    });
    expect(await client.getBooleanDetails('promo', false, ctx)).toEqual({ flagKey: 'promo', value: true, variant: 'on', reason: 'SPLIT', flagMetadata: { revision: 5 } });
  });

  it('declares itself a server provider named flagstream', () => {
    const provider = new FlagstreamProvider(options());
    expect(provider.metadata.name).toBe('flagstream');
    expect(provider.runsOn).toBe('server');
    return provider.onClose();
  });

  it('becomes READY on the first snapshot and resolves every type with variant, reason and metadata', async () => {
    const events = recordEvents();
    await ready();
    const client = OpenFeature.getClient();
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    expect(await client.getBooleanDetails('checkout', false, { ...ctx, country: 'de' })).toEqual({
      flagKey: 'checkout',
      value: true,
      variant: 'on',
      reason: 'TARGETING_MATCH',
      flagMetadata: { ruleId: 'de', revision: 5 },
    });
    expect(await client.getBooleanDetails('checkout', true, { ...ctx, country: 'fr' })).toEqual({
      flagKey: 'checkout',
      value: false,
      variant: 'off',
      reason: 'DEFAULT',
      flagMetadata: { revision: 5 },
    });
    expect(await client.getStringDetails('banner', 'none', ctx)).toMatchObject({ value: 'blue', variant: 'blue', reason: 'STATIC' });
    expect(await client.getNumberDetails('limit', 0, ctx)).toMatchObject({ value: 100, variant: 'big', reason: 'SPLIT' });
    expect(await client.getObjectDetails('layout', {}, ctx)).toMatchObject({ value: { columns: 3, nav: ['home', 'cart'] }, variant: 'wide', reason: 'STATIC' });
    // The first state is not reported as a configuration change.
    await new Promise((r) => setTimeout(r, 20));
    expect(events.map((e) => e.type)).toEqual([ProviderEvents.Ready]);
  });

  it('maps DISABLED and each error to OpenFeature codes, returning the default', async () => {
    const provider = await ready([checkout(false), ...FLAGS.slice(1)]);
    const client = OpenFeature.getClient();
    expect(await client.getBooleanDetails('checkout', true, { ...ctx, country: 'de' })).toMatchObject({ value: false, variant: 'off', reason: 'DISABLED' });
    expect(await client.getBooleanDetails('missing', true, ctx)).toEqual({
      flagKey: 'missing',
      value: true,
      reason: 'ERROR',
      errorCode: ErrorCode.FLAG_NOT_FOUND,
      errorMessage: expect.stringContaining('missing'),
      flagMetadata: { revision: 5 },
    });
    expect(await client.getStringDetails('checkout', 'dflt', ctx)).toMatchObject({ value: 'dflt', reason: 'ERROR', errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await client.getNumberDetails('limit', 7, {})).toMatchObject({ value: 7, reason: 'ERROR', errorCode: ErrorCode.TARGETING_KEY_MISSING });
    expect(await client.getBooleanDetails('broken', true, ctx)).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.PARSE_ERROR });
    // OpenFeature never calls a provider that is not ready; called directly, it says so.
    const early = new FlagstreamProvider(options({ transport: new FakeTransport() }));
    expect(await early.resolveBooleanEvaluation('checkout', true, ctx)).toEqual({
      value: true,
      reason: 'ERROR',
      errorCode: ErrorCode.PROVIDER_NOT_READY,
      errorMessage: 'the client has no flags yet',
      flagMetadata: { revision: 0 },
    });
    await early.onClose();
    expect(provider.client.isReady).toBe(true);
  });

  it('passes the merged context through: nested attributes by dot path, Date values as dates', async () => {
    await ready();
    const client = OpenFeature.getClient();
    expect(await client.getBooleanDetails('checkout', false, { ...ctx, tenant: { plan: 'enterprise' } })).toMatchObject({ value: true, flagMetadata: { ruleId: 'enterprise' } });
    expect(await client.getBooleanDetails('checkout', false, { ...ctx, signedUpAt: new Date('2023-06-01T00:00:00Z') })).toMatchObject({ value: true, flagMetadata: { ruleId: 'early' } });
    expect(await client.getBooleanValue('checkout', true, { ...ctx, signedUpAt: new Date('2024-06-01T00:00:00Z') })).toBe(false);
    // The global context is merged in by OpenFeature before the provider sees it.
    OpenFeature.setContext({ country: 'de' });
    expect(await client.getBooleanDetails('checkout', false, ctx)).toMatchObject({ value: true, flagMetadata: { ruleId: 'de' } });
  });

  it('reports a change as CONFIGURATION_CHANGED with the changed keys, and the next evaluation reflects it', async () => {
    await ready();
    const events = recordEvents();
    const changed = new Promise<EventDetails | undefined>((resolve) => OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, resolve));
    const off = checkout(false, 2);
    (await transport.connection(0)).send('patch', 6, patch(6, [off, ...FLAGS.slice(1)], [off]));
    expect(await changed).toMatchObject({ providerName: 'flagstream', flagsChanged: ['checkout'], metadata: { revision: 6 } });
    expect(await OpenFeature.getClient().getBooleanDetails('checkout', true, { ...ctx, country: 'de' })).toMatchObject({ value: false, reason: 'DISABLED', flagMetadata: { revision: 6 } });
    // Registered after READY, the recorder first hears the current status.
    expect(events.map((e) => e.type)).toEqual([ProviderEvents.Ready, ProviderEvents.ConfigurationChanged]);
  });

  it('goes STALE when the stream drops, keeps serving the last state, and is READY again on reconnect', async () => {
    const events = recordEvents();
    await ready();
    const client = OpenFeature.getClient();
    transport.refuseWith = [503];
    (await transport.connection(0)).end();
    await until(() => events.some((e) => e.type === ProviderEvents.Stale), 'STALE');
    await until(() => events.filter((e) => e.type === ProviderEvents.Ready).length === 2, 'READY after STALE');
    expect(events.map((e) => e.type)).toEqual([ProviderEvents.Ready, ProviderEvents.Stale, ProviderEvents.Ready]);
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    const resumed = await transport.connection(1);
    expect(resumed.lastEventId).toBe('5');
    expect(await client.getBooleanValue('checkout', false, { ...ctx, country: 'de' })).toBe(true);
  });

  it('serves the last state with status STALE while the gateway is away', async () => {
    await ready();
    const client = OpenFeature.getClient();
    transport.refuseWith = Array.from({ length: 1000 }, () => 503);
    (await transport.connection(0)).end();
    await until(() => client.providerStatus === ProviderStatus.STALE, 'status STALE');
    expect(await client.getBooleanDetails('checkout', false, { ...ctx, country: 'de' })).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
  });

  it('fails initialization with FATAL when the SDK key is refused', async () => {
    const events = recordEvents();
    transport.refuseWith = [401];
    await expect(OpenFeature.setProviderAndWait(new FlagstreamProvider(options()))).rejects.toThrow('the gateway refused the SDK key (refused with 401); not retrying');
    const client = OpenFeature.getClient();
    expect(client.providerStatus).toBe(ProviderStatus.FATAL);
    expect(events.map((e) => e.type)).toEqual([ProviderEvents.Error]);
    expect(await client.getBooleanDetails('checkout', true, ctx)).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.PROVIDER_FATAL });
  });

  it('reports a key refused after READY as ERROR with PROVIDER_FATAL', async () => {
    await ready();
    const client = OpenFeature.getClient();
    const error = new Promise<EventDetails | undefined>((resolve) => OpenFeature.addHandler(ProviderEvents.Error, resolve));
    (await transport.connection(0)).fail(403);
    expect(await error).toMatchObject({ providerName: 'flagstream', errorCode: ErrorCode.PROVIDER_FATAL, message: expect.stringContaining('403') });
    expect(client.providerStatus).toBe(ProviderStatus.FATAL);
  });

  it('reports ERROR after an initialization timeout, then READY when the state arrives', async () => {
    const events = recordEvents();
    const provider = new FlagstreamProvider(options(), { readyTimeoutMs: 30 });
    await expect(OpenFeature.setProviderAndWait(provider)).rejects.toThrow('not ready after 30 ms');
    const client = OpenFeature.getClient();
    expect(client.providerStatus).toBe(ProviderStatus.ERROR);
    (await transport.connection(0)).send('snapshot', 3, snapshot(3, FLAGS));
    await until(() => client.providerStatus === ProviderStatus.READY, 'status READY');
    expect(events.map((e) => e.type)).toEqual([ProviderEvents.Error, ProviderEvents.Ready]);
    expect(await client.getBooleanValue('checkout', false, { ...ctx, country: 'de' })).toBe(true);
  });

  it('closes a client it created when OpenFeature shuts down', async () => {
    await ready();
    const connection = await transport.connection(0);
    await OpenFeature.close();
    expect(connection.aborted).toBe(true);
  });

  it('borrows a client it was given: onClose leaves it open', async () => {
    const own = new FlagstreamClient(options());
    try {
      (await transport.connection(0)).send('snapshot', 5, snapshot(5, FLAGS));
      await own.ready();
      const events = recordEvents();
      await OpenFeature.setProviderAndWait(new FlagstreamProvider(own));
      expect(await OpenFeature.getClient().getStringValue('banner', 'none', ctx)).toBe('blue');
      await OpenFeature.close();
      expect(transport.connections[0]!.aborted).toBe(false);
      expect(own.string('banner', ctx, 'none')).toBe('blue');
      // Detached: a change no longer reaches OpenFeature.
      const red = flag('banner', 'string', { blue: 'blue', red: 'red' }, { defaultServe: { variation: 'red' } }, 2);
      const changes: string[][] = [];
      own.on('change', (keys) => changes.push(keys));
      transport.connections[0]!.send('patch', 6, patch(6, [FLAGS[0]!, red, ...FLAGS.slice(2)], [red]));
      expect(changes).toEqual([['banner']]);
      expect(events.map((e) => e.type)).toEqual([ProviderEvents.Ready]);
    } finally {
      await own.close();
    }
  });
});
