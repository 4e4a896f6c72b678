import { FakeSecretsGateway } from './fake.transport';
import { SecretsStore, type FlagstreamSecretsError, type SecretsStoreOptions } from './secrets.store';

/** Polls `check` until it holds (fails after `timeoutMs`). */
async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('SecretsStore', () => {
  let gateway: FakeSecretsGateway;
  let store: SecretsStore;
  let reads: string[][];
  let errors: Array<[FlagstreamSecretsError, boolean]>;

  beforeEach(() => {
    gateway = new FakeSecretsGateway();
    gateway.secrets = { 'db/password': { version: 3, value: 'pg-secret-value', definedIn: 'production' } };
    reads = [];
    errors = [];
  });
  afterEach(async () => {
    await store?.close();
  });

  function start(extra: Partial<SecretsStoreOptions> = {}): SecretsStore {
    store = new SecretsStore({
      baseUrl: 'http://gw',
      sdkKey: 'fs_server_k',
      fetch: gateway.fetch,
      backoff: { initialMs: 5, maxMs: 20 },
      onRead: (changed) => reads.push(changed),
      onError: (e, retrying) => errors.push([e, retrying]),
      ...extra,
    });
    return store;
  }
  const messages = () => errors.map(([e, retrying]) => [e.status, e.message, retrying]);

  it('honours Retry-After on a 429 rather than its own (short) backoff', async () => {
    gateway.answers = [{ status: 429, body: { error: { code: 'TOO_MANY_REQUESTS', message: 'rate limit exceeded' } }, headers: { 'Retry-After': '1' } }];
    start().refresh();
    await until(() => gateway.requests.length === 1);
    const first = Date.now();
    await until(() => reads.length === 1, 3000);
    expect(Date.now() - first).toBeGreaterThanOrEqual(950);
    expect(gateway.requests).toHaveLength(2);
    expect(messages()).toEqual([[429, 'the gateway rate-limited reading secrets (gateway answered 429: rate limit exceeded)', true]]);
    expect(store.value('db/password')).toBe('pg-secret-value');
  });

  it('aborts a read that takes longer than timeoutMs, and retries it', async () => {
    gateway.holding = true;
    const onError = (e: FlagstreamSecretsError, retrying: boolean) => {
      errors.push([e, retrying]);
      gateway.holding = false;
    };
    start({ timeoutMs: 30, onError }).refresh();
    await until(() => reads.length === 1);
    expect(gateway.requests[0]!.signal.aborted).toBe(true);
    expect(messages()).toEqual([[undefined, 'reading secrets failed: no answer within 30 ms', true]]);
    expect(store.loaded).toBe(true);
  });

  it('never quotes a body in its errors (it may hold values), and retries a garbled one', async () => {
    const value = 'sk_live_must_not_leak_42';
    gateway.answers = [
      { status: 200, body: `{"v":1,"secrets":{"a":{"version":1,"value":"${value}"` },
      { status: 200, body: { v: 1, environment: 'test', secrets: { a: { version: '1', value, definedIn: 'test' } } } },
      { status: 200, body: [value] },
      { status: 200, body: { v: 1, environment: 'test', secrets: value } },
      { status: 500, body: `upstream said ${value}` },
    ];
    start().refresh();
    await until(() => reads.length === 1);
    expect(messages()).toEqual([
      [200, 'the gateway sent a secrets body that is not JSON', true],
      [200, 'the gateway sent a secrets body that has an entry that is not { version, value, definedIn }', true],
      [200, 'the gateway sent a secrets body that is not an object', true],
      [200, 'the gateway sent a secrets body that has no secrets object', true],
      [500, 'reading secrets failed (gateway answered 500)', true],
    ]);
    for (const [e] of errors) expect(`${e.message} ${e.stack ?? ''}`).not.toContain(value);
    expect(store.paths()).toEqual(['db/password']);
  });

  it.each([
    ['a 401', { status: 401, body: { error: { code: 'UNAUTHENTICATED', message: 'missing or invalid SDK key' } } }, 401, 'the gateway refused the SDK key when reading secrets (gateway answered 401: missing or invalid SDK key)'],
    ['a 404 (a gateway older than secrets)', { status: 404, body: { error: { code: 'NOT_FOUND', message: 'Cannot GET /sdk/v1/secrets' } } }, 404, 'the gateway does not serve secrets; it may predate them (gateway answered 404: Cannot GET /sdk/v1/secrets)'],
    ['a body of another version', { status: 200, body: { v: 2, environment: 'test', secrets: {} } }, 200, 'the gateway sent secrets in version 2; this SDK reads version 1'],
  ])('does not retry %s (retrying cannot fix it), until asked again', async (_label, answer, status, message) => {
    gateway.answers = [answer];
    start().refresh();
    await until(() => errors.length === 1);
    await new Promise((r) => setTimeout(r, 40));
    expect(messages()).toEqual([[status, message, false]]);
    expect(gateway.requests).toHaveLength(1);
    expect(store.loaded).toBe(false);
    store.refresh();
    await until(() => reads.length === 1);
    expect(reads).toEqual([['db/password']]);
  });

  it('close() during a retry wait ends it at once, with no further read', async () => {
    gateway.answers = [new Error('socket hang up')];
    start({ backoff: { initialMs: 60_000, maxMs: 60_000 } }).refresh();
    await until(() => errors.length === 1);
    const began = Date.now();
    await store.close();
    expect(Date.now() - began).toBeLessThan(500);
    store.refresh();
    await new Promise((r) => setTimeout(r, 20));
    expect(gateway.requests).toHaveLength(1);
    expect(reads).toEqual([]);
  });
});
