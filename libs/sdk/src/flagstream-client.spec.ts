import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateHash, type ChangeV1, type ConfigItemSnapshotV1, type FlagSnapshotV1, type PatchMessageV1, type SnapshotMessageV1 } from '@flagstream/protocol';
import { FakeSecretsGateway, FakeTransport } from './fake.transport';
import { FileSnapshotCache } from './node/file-snapshot-cache';
import { FlagstreamSecretsError } from './secrets.store';
import { FlagstreamAuthError, FlagstreamClient, SnapshotCacheError, type SnapshotCache } from './flagstream-client';
import type { ExposureEvent } from './exposure.reporter';
import { Backoff } from './backoff';
import { SseParser } from './sse-parser';
import { FetchSseTransport, StreamHttpError, type StreamEvent } from './transport';

function flag(key: string, on: boolean, version = 1, extra: Partial<FlagSnapshotV1['settings']> = {}): FlagSnapshotV1 {
  return {
    key,
    kind: 'boolean',
    variations: [
      { key: 'on', value: true },
      { key: 'off', value: false },
    ],
    clientVisible: false,
    settings: { on, offVariation: 'off', prerequisites: [], rules: [], defaultServe: { variation: 'on' }, salt: key, ...extra },
    version,
  };
}

function snapshot(revision: number, flags: FlagSnapshotV1[]): SnapshotMessageV1 {
  return { v: 1, environment: 'test', revision, stateHash: stateHash(flags, []), flags, segments: [], configs: [] };
}

/** A patch with the right hash for the state it leads to. */
function patch(revision: number, after: FlagSnapshotV1[], changed: FlagSnapshotV1[]): PatchMessageV1 {
  return { v: 1, revision, stateHash: stateHash(after, []), occurredAt: new Date().toISOString(), changes: changed.map((f) => ({ type: 'flag.upsert' as const, flag: f })) };
}

const ctx = { targetingKey: 'u1' };

/** Polls `check` until it holds (fails after `timeoutMs`). */
async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets `n` rounds of promise reactions run (no macrotask). */
async function microtasks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

/** An in-memory cache that records what it was asked to save. */
class MemoryCache implements SnapshotCache {
  readonly saved: SnapshotMessageV1[] = [];
  constructor(
    public stored: SnapshotMessageV1 | null = null,
    private readonly problem: Error | null = null,
  ) {}
  async load(report?: (error: Error) => void): Promise<SnapshotMessageV1 | null> {
    if (this.problem) report?.(this.problem);
    return this.stored;
  }
  async save(snapshot: SnapshotMessageV1): Promise<void> {
    this.saved.push(snapshot);
    this.stored = snapshot;
  }
}

describe('FlagstreamClient', () => {
  let transport: FakeTransport;
  let client: FlagstreamClient;

  beforeEach(() => {
    transport = new FakeTransport();
  });
  afterEach(async () => {
    await client?.close();
  });

  function start(extra: Partial<ConstructorParameters<typeof FlagstreamClient>[0]> = {}) {
    client = new FlagstreamClient({ sdkKey: 'k', baseUrl: 'http://x', transport, backoff: { initialMs: 5, maxMs: 20 }, ...extra });
    return client;
  }

  it('returns defaults (never throws) before it is ready', () => {
    start();
    expect(client.booleanDetail('a', ctx, true)).toEqual({ value: true, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY', errorMessage: 'the client has no flags yet' });
    expect(client.string('a', ctx, 'd')).toBe('d');
  });

  it('applies a snapshot and patches in order, evaluates locally, acknowledges each revision', async () => {
    start();
    const c = await transport.connection(0);
    expect(c.lastEventId).toBeUndefined();
    c.send('snapshot', 5, snapshot(5, [flag('a', false)]));
    await client.ready();
    expect(client.booleanDetail('a', ctx, true)).toEqual({ value: false, variation: 'off', reason: 'DISABLED' });
    const changes: string[][] = [];
    client.on('change', (keys) => changes.push(keys));
    c.send('patch', 6, patch(6, [flag('a', true, 2)], [flag('a', true, 2)]));
    expect(client.boolean('a', ctx, false)).toBe(true);
    expect(client.revision).toBe(6);
    expect(changes).toEqual([['a']]);
    expect(transport.acks).toEqual([5, 6]);
    // A duplicate is ignored.
    c.send('patch', 6, patch(6, [flag('a', false, 3)], [flag('a', false, 3)]));
    expect(client.boolean('a', ctx, false)).toBe(true);
  });

  it('reconnects with its revision on a gap, and takes a fresh snapshot on a hash mismatch', async () => {
    start();
    const c0 = await transport.connection(0);
    c0.send('snapshot', 5, snapshot(5, [flag('a', false)]));
    await client.ready();
    c0.send('patch', 7, patch(7, [flag('a', true, 2)], [flag('a', true, 2)]));
    expect(c0.aborted).toBe(true);
    const c1 = await transport.connection(1);
    expect(c1.lastEventId).toBe('5');
    expect(client.boolean('a', ctx, true)).toBe(false);

    const bad = patch(6, [flag('a', true, 2)], [flag('a', true, 2)]);
    c1.send('patch', 6, { ...bad, stateHash: 'not-the-hash' });
    expect(c1.aborted).toBe(true);
    const c2 = await transport.connection(2);
    expect(c2.lastEventId).toBeUndefined();
    c2.send('snapshot', 6, snapshot(6, [flag('a', true, 2)]));
    expect(client.boolean('a', ctx, false)).toBe(true);
  });

  it('resumes after a dropped connection with the last revision', async () => {
    start();
    const c0 = await transport.connection(0);
    c0.send('snapshot', 9, snapshot(9, [flag('a', false)]));
    c0.end();
    const c1 = await transport.connection(1);
    expect(c1.lastEventId).toBe('9');
  });

  it('stops on 401/403 with a clear error instead of retrying', async () => {
    transport.refuseWith = [401];
    start();
    const errors: Array<[string, boolean]> = [];
    client.on('error', (e, fatal) => errors.push([e.message, fatal]));
    await expect(client.ready(1000)).rejects.toBeInstanceOf(FlagstreamAuthError);
    await new Promise((r) => setTimeout(r, 50));
    expect(transport.connections).toHaveLength(0);
    expect(errors).toEqual([['the gateway refused the SDK key (refused with 401); not retrying', true]]);
  });

  it('retries other failures with backoff', async () => {
    transport.refuseWith = [503, 502];
    start();
    const c = await transport.connection(0);
    c.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    await client.ready();
    expect(client.boolean('a', ctx, false)).toBe(true);
  });

  it('starts offline from a bootstrap snapshot, then resumes from its revision', async () => {
    start({ bootstrap: snapshot(3, [flag('a', true)]) });
    expect(client.isReady).toBe(true);
    expect(client.boolean('a', ctx, false)).toBe(true);
    const c = await transport.connection(0);
    expect(c.lastEventId).toBe('3');
  });

  it('calls a value listener only when the value for its context changes', async () => {
    start();
    const c = await transport.connection(0);
    const rule = { id: 'de', clauses: [{ attribute: 'country', operator: 'in' as const, values: ['de'] }], serve: { variation: 'off' } };
    c.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    await client.ready();
    const seen: Array<[unknown, unknown]> = [];
    client.onValueChange('a', { targetingKey: 'u1', country: 'fr' }, (v, prev) => seen.push([v, prev]));
    // A rule for another country: the flag changed, this context's value did not.
    c.send('patch', 2, patch(2, [flag('a', true, 2, { rules: [rule] })], [flag('a', true, 2, { rules: [rule] })]));
    expect(seen).toEqual([]);
    c.send('patch', 3, patch(3, [flag('a', false, 3, { rules: [rule] })], [flag('a', false, 3, { rules: [rule] })]));
    expect(seen).toEqual([[false, true]]);
  });
});

describe('FlagstreamClient messages and connection events', () => {
  let transport: FakeTransport;
  let client: FlagstreamClient;

  beforeEach(() => {
    transport = new FakeTransport();
  });
  afterEach(async () => {
    await client?.close();
  });

  function start(extra: Partial<ConstructorParameters<typeof FlagstreamClient>[0]> = {}) {
    client = new FlagstreamClient({ sdkKey: 'k', baseUrl: 'http://x', transport, backoff: { initialMs: 5, maxMs: 20 }, ...extra });
    return client;
  }

  it('rejects a message of another version or shape with an error, then resyncs from a fresh snapshot', async () => {
    start();
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.message));
    const c0 = await transport.connection(0);
    c0.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    await client.ready();
    c0.send('patch', 2, { v: 2, revision: 2 });
    expect(c0.aborted).toBe(true);
    const c1 = await transport.connection(1);
    expect(c1.lastEventId).toBeUndefined();
    c1.send('snapshot', 1, { ...snapshot(1, [flag('a', true)]), flags: 'nope' });
    const c2 = await transport.connection(2);
    expect(errors).toEqual(['unsupported patch message (v 2); resyncing', 'malformed snapshot message; resyncing']);
    expect(c2.lastEventId).toBeUndefined();
    // The state in doubt was kept for getters meanwhile.
    expect(client.boolean('a', ctx, false)).toBe(true);
  });

  it('emits connected when a stream opens and disconnected once per loss, not per failed retry', async () => {
    start();
    const events: Array<string> = [];
    client.on('connected', () => events.push('connected'));
    client.on('disconnected', (e) => events.push(`disconnected:${e ? e.message : 'null'}`));
    const c0 = await transport.connection(0);
    expect(events).toEqual(['connected']);
    c0.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    transport.refuseWith = [503, 502];
    c0.break(new Error('socket hang up'));
    const c1 = await transport.connection(1);
    expect(events).toEqual(['connected', 'disconnected:socket hang up', 'connected']);
    // The client kept serving its state while it was disconnected.
    expect(client.boolean('a', ctx, false)).toBe(true);
    c1.end();
    await transport.connection(2);
    expect(events).toEqual(['connected', 'disconnected:socket hang up', 'connected', 'disconnected:null', 'connected']);
  });

  it('reports the first failed attempt as disconnected, and a refused key as disconnected then a fatal error', async () => {
    transport.refuseWith = [503, 403];
    start();
    const events: string[] = [];
    client.on('connected', () => events.push('connected'));
    client.on('disconnected', (e) => events.push(`disconnected:${e?.message}`));
    client.on('error', (e, fatal) => events.push(`error:${e.message}:${fatal}`));
    await expect(client.ready(1000)).rejects.toBeInstanceOf(FlagstreamAuthError);
    expect(events).toEqual([
      'error:refused with 503:false',
      'disconnected:refused with 503',
      'error:the gateway refused the SDK key (refused with 403); not retrying:true',
    ]);
  });

  it('a reconnect to resume after a gap is immediate and reported as disconnected(null)', async () => {
    start({ backoff: { initialMs: 60_000, maxMs: 60_000 } });
    const lost: Array<Error | null> = [];
    client.on('disconnected', (e) => lost.push(e));
    const c0 = await transport.connection(0);
    c0.send('snapshot', 4, snapshot(4, [flag('a', true)]));
    c0.send('patch', 6, patch(6, [flag('a', false, 2)], [flag('a', false, 2)]));
    // With a one-minute backoff, only an immediate reconnect opens in time.
    const c1 = await transport.connection(1, 500);
    expect(c1.lastEventId).toBe('4');
    expect(lost).toEqual([null]);
  });
});

describe('FetchSseTransport', () => {
  function sseResponse(chunks: string[], status = 200): Response {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        controller.close();
      },
    });
    return new Response(body, { status, headers: { 'Content-Type': 'text/event-stream' } });
  }

  it('parses snapshot and patch events into objects, skips other events, and sends Last-Event-ID', async () => {
    const seen: Array<[string, Record<string, string>]> = [];
    const fetchImpl = (async (url: string, init: RequestInit) => {
      seen.push([url, init.headers as Record<string, string>]);
      return sseResponse(['retry: 10\n\nid: 3\nevent: snapshot\ndata: {"v":1,', '"revision":3}\n\n: ping\n\nevent: message\ndata: {}\n\nid: 4\nevent: patch\ndata: {"v":1,"revision":4}\n\n']);
    }) as unknown as typeof fetch;
    const t = new FetchSseTransport({ baseUrl: 'http://gw/', sdkKey: 'key', fetch: fetchImpl });
    const messages: Array<[StreamEvent, unknown]> = [];
    let opened = 0;
    await t.open({ lastEventId: '2', signal: new AbortController().signal, onOpen: () => opened++, onMessage: (e, m) => messages.push([e, m]) });
    expect(opened).toBe(1);
    expect(seen).toEqual([['http://gw/sdk/v1/stream', { Accept: 'text/event-stream', Authorization: 'Bearer key', 'Last-Event-ID': '2' }]]);
    expect(messages).toEqual([
      ['snapshot', { v: 1, revision: 3 }],
      ['patch', { v: 1, revision: 4 }],
    ]);
  });

  it('fails on an event whose data is not JSON, and on an HTTP error with the gateway message', async () => {
    const t = new FetchSseTransport({ baseUrl: 'http://gw', sdkKey: 'key', fetch: (async () => sseResponse(['id: 3\nevent: patch\ndata: {oops\n\n'])) as unknown as typeof fetch });
    const options = { signal: new AbortController().signal, onOpen: () => undefined, onMessage: () => undefined };
    await expect(t.open(options)).rejects.toThrow('the gateway sent a patch that is not JSON (id 3)');
    const refused = new FetchSseTransport({
      baseUrl: 'http://gw',
      sdkKey: 'key',
      fetch: (async () => new Response(JSON.stringify({ error: { message: 'missing or invalid SDK key' } }), { status: 401 })) as unknown as typeof fetch,
    });
    const error = await refused.open(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamHttpError);
    expect(error).toMatchObject({ status: 401, message: 'gateway answered 401: missing or invalid SDK key' });
  });
});

describe('FlagstreamClient snapshot cache', () => {
  let transport: FakeTransport;
  let client: FlagstreamClient;

  beforeEach(() => {
    transport = new FakeTransport();
  });
  afterEach(async () => {
    await client?.close();
  });

  function start(extra: Partial<ConstructorParameters<typeof FlagstreamClient>[0]> = {}) {
    client = new FlagstreamClient({ sdkKey: 'k', baseUrl: 'http://x', transport, backoff: { initialMs: 5, maxMs: 20 }, ...extra });
    return client;
  }

  it('is ready from the cache before the network answers, then resumes from its revision', async () => {
    const cache = new MemoryCache(snapshot(7, [flag('a', false)]));
    start({ cache });
    await client.ready(1000);
    expect(client.revision).toBe(7);
    expect(client.booleanDetail('a', ctx, true)).toEqual({ value: false, variation: 'off', reason: 'DISABLED' });
    const c = await transport.connection(0);
    expect(c.lastEventId).toBe('7');
    // Loading the cache is not a revision from the gateway: nothing to acknowledge or save.
    expect(transport.acks).toEqual([]);
    expect(cache.saved).toEqual([]);
  });

  it('reports an unusable cache as a non-fatal error and starts from the network', async () => {
    const cache = new MemoryCache(null, new Error('snapshot cache /x is corrupt (not JSON); ignoring it'));
    const errors: Array<[string, boolean]> = [];
    start({ cache });
    client.on('error', (e, fatal) => errors.push([e.message, fatal]));
    const c = await transport.connection(0);
    expect(errors).toEqual([['snapshot cache /x is corrupt (not JSON); ignoring it', false]]);
    expect(c.lastEventId).toBeUndefined();
    expect(client.isReady).toBe(false);
  });

  it('saves a snapshot from the gateway at once, and its state after patches at most once per interval', async () => {
    const cache = new MemoryCache();
    start({ cache, cacheSaveIntervalMs: 100 });
    const c = await transport.connection(0);
    const s5 = snapshot(5, [flag('a', false)]);
    c.send('snapshot', 5, s5);
    await until(() => cache.saved.length === 1);
    expect(cache.saved[0]).toEqual(s5);
    const a = [flag('a', true, 2), flag('a', false, 3), flag('a', true, 4)];
    const b = flag('b', true);
    c.send('patch', 6, patch(6, [a[0]], [a[0]]));
    c.send('patch', 7, patch(7, [a[1]], [a[1]]));
    c.send('patch', 8, patch(8, [a[2], b], [a[2], b]));
    await new Promise((r) => setTimeout(r, 30));
    expect(cache.saved).toHaveLength(1);
    await until(() => cache.saved.length === 2);
    // The current state, as a snapshot the cache can load and verify.
    expect(cache.saved[1]).toEqual(snapshot(8, [a[2], b]));
    await new Promise((r) => setTimeout(r, 150));
    expect(cache.saved).toHaveLength(2);
  });

  it('flushes a pending save on close()', async () => {
    const cache = new MemoryCache();
    start({ cache, cacheSaveIntervalMs: 60_000 });
    const c = await transport.connection(0);
    c.send('snapshot', 1, snapshot(1, [flag('a', false)]));
    c.send('patch', 2, patch(2, [flag('a', true, 2)], [flag('a', true, 2)]));
    await client.close();
    expect(cache.saved.map((x) => x.revision)).toEqual([1, 2]);
    expect(cache.saved[1]).toEqual(snapshot(2, [flag('a', true, 2)]));
  });

  it('does not save a state in doubt (after a hash mismatch) and reports a failed save as non-fatal', async () => {
    const cache = new MemoryCache();
    let failNext = true;
    const flaky: SnapshotCache = {
      load: () => cache.load(),
      save: async (snap) => {
        if (failNext) {
          failNext = false;
          throw new Error('disk full');
        }
        await cache.save(snap);
      },
    };
    start({ cache: flaky, cacheSaveIntervalMs: 60_000 });
    const errors: Array<[string, boolean]> = [];
    client.on('error', (e, fatal) => errors.push([e.message, fatal]));
    const c0 = await transport.connection(0);
    c0.send('snapshot', 1, snapshot(1, [flag('a', false)]));
    await until(() => errors.length === 1);
    expect(errors).toEqual([['disk full', false]]);
    c0.send('patch', 2, { ...patch(2, [flag('a', true, 2)], [flag('a', true, 2)]), stateHash: 'wrong' });
    await transport.connection(1);
    await client.close();
    expect(cache.saved).toEqual([]);
  });
});

describe('FlagstreamClient exposures', () => {
  let transport: FakeTransport;
  let client: FlagstreamClient;

  beforeEach(() => {
    transport = new FakeTransport();
  });
  afterEach(async () => {
    await client?.close();
  });

  it('reports evaluations of existing flags (not errors, not value listeners) in batches, and flushes on close', async () => {
    const batches: ExposureEvent[][] = [];
    const rule = { id: 'de', clauses: [{ attribute: 'country', operator: 'in' as const, values: ['de'] }], serve: { variation: 'off' } };
    client = new FlagstreamClient({
      sdkKey: 'k',
      baseUrl: 'http://x',
      transport,
      bootstrap: snapshot(1, [flag('a', true, 1, { rules: [rule] })]),
      exposures: { send: (b) => void batches.push(b), batchSize: 2, flushIntervalMs: 60_000 },
    });
    client.onValueChange('a', ctx, () => undefined);
    const before = Date.now();
    expect(client.boolean('a', { targetingKey: 'u1', country: 'de' }, true)).toBe(false);
    expect(client.string('a', ctx, 'x')).toBe('x'); // TYPE_MISMATCH: not an exposure
    expect(client.boolean('missing', ctx, true)).toBe(true); // FLAG_NOT_FOUND: not an exposure
    expect(client.booleanDetail('a', { country: 'fr' }, false).value).toBe(true);
    expect(client.boolean('a', { targetingKey: 42 }, false)).toBe(true);
    await until(() => batches.length === 1);
    expect(batches[0]).toEqual([
      { flag: 'a', variation: 'off', contextKey: 'u1', reason: 'TARGETING_MATCH', ruleId: 'de', timestamp: expect.any(Number) },
      { flag: 'a', variation: 'on', reason: 'DEFAULT', timestamp: expect.any(Number) },
    ]);
    expect(batches[0][0].timestamp).toBeGreaterThanOrEqual(before);
    await client.close();
    expect(batches).toHaveLength(2);
    expect(batches[1]).toEqual([{ flag: 'a', variation: 'on', reason: 'DEFAULT', timestamp: expect.any(Number) }]);
    expect(client.droppedExposures).toBe(0);
  });

  it('marks exposures of units put into an experiment with its key, and its unit when that is not the targetingKey', async () => {
    const batches: ExposureEvent[][] = [];
    const orgs = {
      id: 'orgs',
      clauses: [{ attribute: 'org', operator: 'exists' as const, values: [] }],
      serve: { rollout: { experiment: 'org-test', bucketBy: 'org.id', variations: [{ variation: 'on', weight: 100_000 }] } },
    };
    const users = { rollout: { experiment: 'user-test', variations: [{ variation: 'off', weight: 100_000 }] } };
    const outside = { rollout: { experiment: 'user-test', variations: [{ variation: 'on', weight: 0 }, { variation: 'off', weight: 100_000, untracked: true }] } };
    client = new FlagstreamClient({
      sdkKey: 'k',
      baseUrl: 'http://x',
      transport,
      bootstrap: snapshot(1, [flag('a', true, 1, { rules: [orgs], defaultServe: users }), flag('b', true, 1, { defaultServe: outside })]),
      exposures: { send: (b) => void batches.push(b), flushIntervalMs: 60_000 },
    });
    expect(client.booleanDetail('a', { targetingKey: 'u1', org: { id: 'acme' } }, false)).toEqual({
      value: true,
      variation: 'on',
      reason: 'SPLIT',
      ruleId: 'orgs',
      experiment: 'org-test',
      experimentUnit: 'org.id',
    });
    expect(client.boolean('a', { targetingKey: 'u2', org: { id: 42 } }, false)).toBe(true);
    expect(client.booleanDetail('a', { targetingKey: 'u3' }, true)).toEqual({ value: false, variation: 'off', reason: 'SPLIT', experiment: 'user-test' });
    expect(client.booleanDetail('b', { targetingKey: 'u4' }, true)).toEqual({ value: false, variation: 'off', reason: 'SPLIT' });
    // No unit to bucket by: an error, which is no exposure at all.
    expect(client.booleanDetail('a', { targetingKey: 'u5', org: {} }, true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING' });
    await client.close();
    const at = { timestamp: expect.any(Number) };
    expect(batches).toEqual([
      [
        { flag: 'a', variation: 'on', contextKey: 'u1', reason: 'SPLIT', ruleId: 'orgs', experiment: 'org-test', unit: 'acme', ...at },
        { flag: 'a', variation: 'on', contextKey: 'u2', reason: 'SPLIT', ruleId: 'orgs', experiment: 'org-test', unit: '42', ...at },
        { flag: 'a', variation: 'off', contextKey: 'u3', reason: 'SPLIT', experiment: 'user-test', ...at },
        { flag: 'b', variation: 'off', contextKey: 'u4', reason: 'SPLIT', ...at },
      ],
    ]);
    expect(batches[0]!.map((e) => 'unit' in e)).toEqual([true, true, false, false]);
    expect(batches[0]!.map((e) => 'experiment' in e)).toEqual([true, true, true, false]);
  });

  it('drops and counts exposures beyond maxQueue without blocking the getter, and reports failed sends as non-fatal errors', async () => {
    client = new FlagstreamClient({
      sdkKey: 'k',
      baseUrl: 'http://x',
      transport,
      bootstrap: snapshot(1, [flag('a', true)]),
      exposures: {
        send: () => {
          throw new Error('collector down');
        },
        batchSize: 1000,
        maxQueue: 3,
        flushIntervalMs: 60_000,
      },
    });
    const errors: Array<[string, boolean]> = [];
    client.on('error', (e, fatal) => errors.push([e.message, fatal]));
    for (let i = 0; i < 5; i++) expect(client.boolean('a', ctx, false)).toBe(true);
    expect(client.droppedExposures).toBe(2);
    await client.close();
    expect(errors).toEqual([['exposure send failed; dropped a batch of 3: collector down', false]]);
    expect(client.droppedExposures).toBe(5);
  });
});

describe('FlagstreamClient handles', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('leaves no timer behind after close(), with a cache, exposures and a pending save', async () => {
    jest.useFakeTimers();
    const transport = new FakeTransport();
    const cache = new MemoryCache();
    const c = new FlagstreamClient({ sdkKey: 'k', baseUrl: 'http://x', transport, cache, exposures: { send: () => undefined } });
    // Let the loop load the cache and open the connection (microtasks only: no timer involved).
    for (let i = 0; i < 10 && transport.connections.length === 0; i++) await Promise.resolve();
    const conn = transport.connections[0];
    conn.send('snapshot', 1, snapshot(1, [flag('a', false)]));
    conn.send('patch', 2, patch(2, [flag('a', true, 2)], [flag('a', true, 2)]));
    expect(c.boolean('a', ctx, false)).toBe(true);
    expect(jest.getTimerCount()).toBe(2); // the debounced save and the exposure interval
    await c.close();
    expect(conn.aborted).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
    expect(cache.saved.map((x) => x.revision)).toEqual([1, 2]);
  });
});

describe('Backoff', () => {
  it('grows exponentially with full jitter, capped, and resets after a healthy connection', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, resetAfterMs: 5000 }, () => 0.999);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([99, 199, 399, 799, 999]);
    b.connectionLasted(1000);
    expect(b.next()).toBe(999);
    b.connectionLasted(5000);
    expect(b.next()).toBe(99);
    expect(new Backoff({ initialMs: 100 }, () => 0).next()).toBe(0);
  });
});

describe('SseParser', () => {
  it('parses events split across chunks, comments, retry, multi-line data and CRLF', () => {
    const p = new SseParser();
    expect(p.push('retry: 2000\n\nid: 4\nevent: snap')).toEqual([]);
    expect(p.push('shot\ndata: {"a":\ndata: 1}\n\n: ping\n\r\nid: 5\r\ndata: x\r\n\r\n')).toEqual([
      { id: '4', event: 'snapshot', data: '{"a":\n1}' },
      { id: '5', event: 'message', data: 'x' },
    ]);
    expect(p.retryMs).toBe(2000);
    expect(p.comments).toBe(1);
  });
});

describe('FlagstreamClient config items', () => {
  const limits = (version: number, acme: unknown): ConfigItemSnapshotV1 => ({
    key: 'payments.limits',
    version,
    merge: 'replace',
    clientVisible: false,
    tenantAttribute: 'tenantId',
    chain: ['staging'],
    layers: [
      { scope: 'default', value: 100, version: 1 },
      { scope: 'environment', environment: 'staging', value: 200, version: 2 },
      ...(acme === undefined ? [] : [{ scope: 'tenant' as const, environment: 'staging', tenant: 'acme', value: acme, version }]),
    ],
  });
  let transport: FakeTransport;
  let client: FlagstreamClient;
  beforeEach(() => {
    transport = new FakeTransport();
    client = new FlagstreamClient({ sdkKey: 'k', baseUrl: 'http://x', transport, backoff: { initialMs: 5, maxMs: 20 } });
  });
  afterEach(() => client.close());

  it('resolves config values locally per tenant, reports where they came from, and follows patches', async () => {
    expect(client.configDetail('payments.limits', {}, 0)).toEqual({ value: 0, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY', errorMessage: 'the client has no state yet' });
    const c = await transport.connection(0);
    const first = limits(2, undefined);
    c.send('snapshot', 3, { v: 1, environment: 'staging', revision: 3, stateHash: stateHash([], [], [first]), flags: [], segments: [], configs: [first] });
    await client.ready();
    expect(client.config('payments.limits', { tenantId: 'acme' }, 0)).toBe(200);
    expect(client.configDetail('payments.limits', {}, 0)).toEqual({ value: 200, reason: 'STATIC', version: 2, source: { scope: 'environment', environment: 'staging' } });
    expect(client.configDetail('nope', {}, 7)).toEqual({ value: 7, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: 'config item "nope" was not found' });

    const seen: string[][] = [];
    client.on('configChange', (keys) => seen.push(keys));
    const acme: Array<[unknown, unknown]> = [];
    const globex: Array<[unknown, unknown]> = [];
    client.onConfigChange('payments.limits', { tenantId: 'acme' }, (v, p) => acme.push([v, p]));
    client.onConfigChange('payments.limits', { tenantId: 'globex' }, (v, p) => globex.push([v, p]));
    const next = limits(3, 500);
    c.send('patch', 4, { v: 1, revision: 4, stateHash: stateHash([], [], [next]), occurredAt: new Date().toISOString(), changes: [{ type: 'config.upsert', config: next }] });
    expect(client.revision).toBe(4);
    expect(seen).toEqual([['payments.limits']]);
    expect(client.configDetail('payments.limits', { tenantId: 'acme' }, 0)).toEqual({ value: 500, reason: 'TARGETING_MATCH', version: 3, source: { scope: 'tenant', environment: 'staging', tenant: 'acme' } });
    expect(acme).toEqual([[500, 200]]);
    expect(globex).toEqual([]);
    c.send('patch', 5, { v: 1, revision: 5, stateHash: stateHash([], [], []), occurredAt: new Date().toISOString(), changes: [{ type: 'config.delete', key: 'payments.limits' }] });
    expect(client.config('payments.limits', { tenantId: 'acme' }, -1)).toBe(-1);
    expect(acme).toEqual([[500, 200], [undefined, 500]]);
    // No resync happened: the hashes (configs included) matched all along.
    expect(transport.connections).toHaveLength(1);
  });
});

describe('FlagstreamClient state hash checks and offline start', () => {
  let transport: FakeTransport;
  let client: FlagstreamClient;

  beforeEach(() => {
    transport = new FakeTransport();
  });
  afterEach(async () => {
    await client?.close();
    jest.restoreAllMocks();
  });

  function start(extra: Partial<ConstructorParameters<typeof FlagstreamClient>[0]> = {}) {
    client = new FlagstreamClient({ sdkKey: 'k', baseUrl: 'http://x', transport, backoff: { initialMs: 5, maxMs: 20 }, ...extra });
    return client;
  }

  /** A snapshot whose contents were changed after its state hash was computed. */
  function tampered(revision: number): SnapshotMessageV1 {
    return { ...snapshot(revision, [flag('a', true)]), flags: [flag('a', false)] };
  }
  const claimedAndActual = (s: SnapshotMessageV1) => `it says ${s.stateHash}, its contents hash to ${stateHash(s.flags, s.segments, s.configs)}`;

  it('never serves a cached snapshot whose contents do not match its state hash', async () => {
    const bad = tampered(7);
    const cache = new MemoryCache(bad);
    start({ cache });
    const errors: Array<[Error, boolean]> = [];
    client.on('error', (e, fatal) => errors.push([e, fatal]));
    const ready = client.ready(2000);
    const c = await transport.connection(0);
    expect(client.isReady).toBe(false);
    expect(client.revision).toBe(0);
    expect(client.booleanDetail('a', ctx, true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY' });
    expect(c.lastEventId).toBeUndefined();
    expect(errors.map(([e, fatal]) => [e.name, e.message, fatal])).toEqual([
      ['SnapshotCacheError', `snapshot cache does not match its state hash (${claimedAndActual(bad)}); ignoring it`, false],
    ]);
    expect(errors[0]![0]).toBeInstanceOf(SnapshotCacheError);
    // Ready only once the gateway's (good) snapshot arrives.
    c.send('snapshot', 8, snapshot(8, [flag('a', true, 2)]));
    await ready;
    expect(client.boolean('a', ctx, false)).toBe(true);
  });

  it('names the cache in its errors, and refuses a cached value that is not a snapshot', async () => {
    const cache = Object.assign(new MemoryCache({ v: 1, environment: 'e', revision: 1, stateHash: 'x', flags: [{ kind: 'boolean' }], segments: [] } as unknown as SnapshotMessageV1), {
      path: 'redis://cache/flags',
    });
    start({ cache });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    await transport.connection(0);
    expect(errors.map((e) => [e.name, e.message, (e as SnapshotCacheError).path])).toEqual([
      ['SnapshotCacheError', 'malformed snapshot cache redis://cache/flags; ignoring it', 'redis://cache/flags'],
    ]);
    expect(client.isReady).toBe(false);
  });

  it('never serves a bootstrap snapshot whose contents do not match its state hash', async () => {
    const bad = tampered(3);
    start({ bootstrap: bad });
    // Reported once the caller can listen (right after construction).
    const errors: Array<[string, boolean]> = [];
    client.on('error', (e, fatal) => errors.push([e.message, fatal]));
    expect(client.isReady).toBe(false);
    expect(client.boolean('a', ctx, true)).toBe(true);
    const c = await transport.connection(0);
    expect(c.lastEventId).toBeUndefined();
    expect(errors).toEqual([[`bootstrap snapshot does not match its state hash (${claimedAndActual(bad)}); ignoring it`, false]]);
  });

  it('refuses a snapshot from the gateway whose contents do not match its state hash: keeps its state, reports it, resyncs', async () => {
    start();
    const errors: Array<[string, boolean]> = [];
    client.on('error', (e, fatal) => errors.push([e.message, fatal]));
    const changes: string[][] = [];
    client.on('change', (keys) => changes.push(keys));
    const c0 = await transport.connection(0);
    const bad = tampered(4);
    c0.send('snapshot', 4, bad);
    // Not ready from a state that does not check out.
    expect(client.isReady).toBe(false);
    expect(c0.aborted).toBe(true);
    const c1 = await transport.connection(1);
    expect(c1.lastEventId).toBeUndefined();
    c1.send('snapshot', 5, snapshot(5, [flag('a', true)]));
    await client.ready();
    const bad6 = tampered(6);
    c1.send('snapshot', 6, bad6);
    expect(c1.aborted).toBe(true);
    expect(client.revision).toBe(5);
    expect(client.boolean('a', ctx, false)).toBe(true);
    const c2 = await transport.connection(2);
    expect(c2.lastEventId).toBeUndefined();
    expect(errors).toEqual([
      [`state hash mismatch in the snapshot at revision 4 (${claimedAndActual(bad)}); resyncing`, false],
      [`state hash mismatch in the snapshot at revision 6 (${claimedAndActual(bad6)}); resyncing`, false],
    ]);
    expect(changes).toEqual([['a']]);
    expect(transport.acks).toEqual([5]);
  });

  it('serves the first evaluations from the cache before the stream opens, then resumes', async () => {
    const cache = new MemoryCache(snapshot(7, [flag('a', false)]));
    start({ cache });
    await client.ready(1000);
    expect(client.booleanDetail('a', ctx, true)).toEqual({ value: false, variation: 'off', reason: 'DISABLED' });
    // Still nothing opened, however many promise hops the caller takes: the stream waits for the next macrotask.
    await microtasks(50);
    expect(transport.connections).toHaveLength(0);
    const c = await transport.connection(0);
    expect(c.lastEventId).toBe('7');
  });

  it('serves the first evaluations from a bootstrap snapshot before the stream opens, then resumes', async () => {
    start({ bootstrap: snapshot(3, [flag('a', true)]) });
    await client.ready();
    expect(client.boolean('a', ctx, false)).toBe(true);
    await microtasks(50);
    expect(transport.connections).toHaveLength(0);
    expect((await transport.connection(0)).lastEventId).toBe('3');
  });

  it('opens the stream at once when there is no state to serve', async () => {
    start();
    await microtasks(10);
    expect(transport.connections).toHaveLength(1);
  });

  it('creates no timeout timer for ready() when the cache serves the state at once, and still times out without one', async () => {
    const setTimer = jest.spyOn(globalThis, 'setTimeout');
    start({ cache: new MemoryCache(snapshot(1, [flag('a', true)])) });
    await client.ready(4321);
    await transport.connection(0);
    expect(setTimer.mock.calls.filter(([, ms]) => typeof ms === 'number' && ms > 4000)).toEqual([]);
    await client.close();

    transport = new FakeTransport();
    start({ cache: new MemoryCache(null) });
    const began = Date.now();
    await expect(client.ready(40)).rejects.toThrow('Flagstream client not ready after 40 ms');
    expect(Date.now() - began).toBeGreaterThanOrEqual(35);
  });

  it('reports the flags and config items that differ between two snapshots (from the item hashes)', async () => {
    const item = (key: string, value: number): ConfigItemSnapshotV1 => ({
      key,
      version: value,
      merge: 'replace',
      clientVisible: false,
      tenantAttribute: 'tenantId',
      chain: ['test'],
      layers: [{ scope: 'default', value, version: value }],
    });
    const withConfigs = (revision: number, flags: FlagSnapshotV1[], configs: ConfigItemSnapshotV1[]): SnapshotMessageV1 => ({
      ...snapshot(revision, flags),
      stateHash: stateHash(flags, [], configs),
      configs,
    });
    start();
    const changes: string[][] = [];
    const configChanges: string[][] = [];
    client.on('change', (keys) => changes.push(keys));
    client.on('configChange', (keys) => configChanges.push(keys));
    const c = await transport.connection(0);
    c.send('snapshot', 1, withConfigs(1, [flag('a', true), flag('b', true), flag('d', true)], [item('x', 1), item('y', 1)]));
    c.send('snapshot', 2, withConfigs(2, [flag('a', false, 2), flag('b', true), flag('c', true)], [item('x', 2), item('y', 1)]));
    expect(changes).toEqual([
      ['a', 'b', 'd'],
      ['a', 'c', 'd'],
    ]);
    expect(configChanges).toEqual([['x', 'y'], ['x']]);
    expect(client.boolean('d', ctx, false)).toBe(false);
    expect(client.config('x', {}, 0)).toBe(2);
  });
});

describe('FlagstreamClient secrets', () => {
  let transport: FakeTransport;
  let gateway: FakeSecretsGateway;
  let client: FlagstreamClient;
  const STRIPE = 'payments/stripe/api-key';
  const STRIPE_V1 = 'sk_live_first_0123456789';
  const STRIPE_V2 = 'sk_live_second_9876543210';

  beforeEach(() => {
    transport = new FakeTransport();
    gateway = new FakeSecretsGateway();
    gateway.secrets = {
      [STRIPE]: { version: 1, value: STRIPE_V1, definedIn: 'test' },
      'payments/db/password': { version: 4, value: 'pg-pass-1', definedIn: 'production' },
    };
  });
  afterEach(async () => {
    await client?.close();
  });

  function start(extra: Partial<ConstructorParameters<typeof FlagstreamClient>[0]> = {}) {
    client = new FlagstreamClient({ sdkKey: 'fs_server_k', baseUrl: 'http://gw/', transport, fetch: gateway.fetch, secrets: true, backoff: { initialMs: 5, maxMs: 20 }, ...extra });
    return client;
  }

  /** A patch of flag `a` (state unchanged) carrying these changes: what the gateway sends for a secret change. */
  function notice(revision: number, ...paths: string[]): PatchMessageV1 {
    const changes: ChangeV1[] = paths.map((path) => ({ type: 'secret.changed', path }));
    return { v: 1, revision, stateHash: stateHash([flag('a', true)], []), occurredAt: new Date().toISOString(), changes };
  }

  /** Records the events in order, as text. */
  function record(): string[] {
    const events: string[] = [];
    client.on('ready', () => events.push('ready'));
    client.on('change', (keys) => events.push(`change:${keys.join(',')}`));
    client.on('secretChange', (paths) => events.push(`secretChange:${paths.join(',')}`));
    client.on('error', (e, fatal) => events.push(`error:${e.message}:${fatal}`));
    return events;
  }

  it('reads the secrets once the stream opens; ready() waits for both; getters serve them from memory', async () => {
    gateway.holding = true;
    start();
    const events = record();
    let ready = false;
    void client.ready().then(() => (ready = true));
    const c = await transport.connection(0);
    c.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    await until(() => gateway.waiting === 1);
    await new Promise((r) => setTimeout(r, 20));
    // Flags are there, the secrets are not: not ready yet.
    expect(ready).toBe(false);
    expect(client.isReady).toBe(false);
    expect(client.boolean('a', ctx, false)).toBe(true);
    expect(client.secret(STRIPE)).toBeUndefined();
    expect(client.secretPaths()).toEqual([]);
    gateway.release();
    await client.ready();
    expect(client.isReady).toBe(true);
    expect(gateway.requests.map((r) => [r.url, r.headers])).toEqual([['http://gw/sdk/v1/secrets', { Accept: 'application/json', Authorization: 'Bearer fs_server_k' }]]);
    expect(client.secret(STRIPE)).toBe(STRIPE_V1);
    expect(client.secretDetail('payments/db/password')).toEqual({ value: 'pg-pass-1', version: 4, definedIn: 'production' });
    expect(client.secretPaths()).toEqual(['payments/db/password', STRIPE]);
    expect(client.secret('payments/other')).toBeUndefined();
    expect(client.secretDetail('payments/other')).toBeUndefined();
    // A copy: changing it changes nothing held.
    const detail = client.secretDetail(STRIPE)!;
    detail.value = 'changed';
    expect(client.secret(STRIPE)).toBe(STRIPE_V1);
    // The first state's flags before `ready` (secrets were still missing), then the first read's paths.
    expect(events).toEqual(['change:a', 'ready', `secretChange:payments/db/password,${STRIPE}`]);
  });

  it('reads again on a secret.changed notice and reports the paths that changed, appeared or disappeared', async () => {
    gateway.secrets['payments/same'] = { version: 2, value: 'same', definedIn: 'test' };
    gateway.secrets['payments/moved'] = { version: 1, value: 'parent', definedIn: 'production' };
    start();
    const c = await transport.connection(0);
    c.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    await client.ready();
    const events = record();
    gateway.secrets = {
      [STRIPE]: { version: 2, value: STRIPE_V2, definedIn: 'test' },
      'payments/same': { version: 2, value: 'same', definedIn: 'test' },
      // Defined in the key's own environment now, with the same version number as the parent's.
      'payments/moved': { version: 1, value: 'own', definedIn: 'test' },
      'payments/new': { version: 1, value: 'new', definedIn: 'test' },
    };
    c.send('patch', 2, notice(2, STRIPE));
    await until(() => events.length === 1);
    expect(events).toEqual([`secretChange:payments/db/password,payments/moved,payments/new,${STRIPE}`]);
    expect(client.secretDetail(STRIPE)).toEqual({ value: STRIPE_V2, version: 2, definedIn: 'test' });
    expect(client.secret('payments/db/password')).toBeUndefined();
    expect(client.secret('payments/moved')).toBe('own');
    expect(gateway.requests).toHaveLength(2);
    // A notice is not a state change: no flag change, no resync, and the revision was applied and acknowledged.
    expect(client.revision).toBe(2);
    expect(transport.acks).toEqual([1, 2]);
    expect(transport.connections).toHaveLength(1);
    // A read that finds nothing new reports nothing.
    c.send('patch', 3, notice(3, STRIPE));
    await until(() => gateway.requests.length === 3);
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toHaveLength(1);
  });

  it('coalesces notices: one read at a time, and notices during a read make exactly one more', async () => {
    start();
    const c = await transport.connection(0);
    c.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    await client.ready();
    const changes: string[][] = [];
    client.on('secretChange', (paths) => changes.push(paths));
    gateway.holding = true;
    c.send('patch', 2, notice(2, STRIPE));
    await until(() => gateway.waiting === 1);
    gateway.secrets[STRIPE] = { version: 2, value: STRIPE_V2, definedIn: 'test' };
    c.send('patch', 3, notice(3, STRIPE));
    c.send('patch', 4, notice(4, 'payments/db/password', STRIPE));
    await new Promise((r) => setTimeout(r, 20));
    // Still the one read in flight.
    expect(gateway.requests).toHaveLength(2);
    gateway.release();
    await until(() => gateway.waiting === 1);
    expect(gateway.requests).toHaveLength(3);
    gateway.release();
    await until(() => changes.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(gateway.requests).toHaveLength(3);
    expect(changes).toEqual([[STRIPE]]);
    expect(client.secret(STRIPE)).toBe(STRIPE_V2);
  });

  it('reads again after each reconnect, and on a snapshot within a connection (notices may have been missed)', async () => {
    start();
    const c0 = await transport.connection(0);
    c0.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    await client.ready();
    expect(gateway.requests).toHaveLength(1);
    gateway.secrets[STRIPE] = { version: 2, value: STRIPE_V2, definedIn: 'test' };
    c0.end();
    const c1 = await transport.connection(1);
    expect(c1.lastEventId).toBe('1');
    await until(() => client.secret(STRIPE) === STRIPE_V2);
    expect(gateway.requests).toHaveLength(2);
    // A snapshot first on a connection is covered by the read at open; a later one is not.
    c0.end();
    c1.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    await new Promise((r) => setTimeout(r, 20));
    expect(gateway.requests).toHaveLength(2);
    c1.send('snapshot', 2, snapshot(2, [flag('a', true)]));
    await until(() => gateway.requests.length === 3);
  });

  it.each([
    [403, { error: { code: 'FORBIDDEN', message: 'client SDK keys can never read secrets' } }, 'this SDK key cannot read secrets: only server keys can (gateway answered 403: client SDK keys can never read secrets)'],
    [503, { error: { code: 'UNAVAILABLE', message: 'this gateway does not serve secrets' } }, 'the gateway does not serve secrets (gateway answered 503: this gateway does not serve secrets)'],
  ])('a %i on the first read rejects ready() with a fatal error saying why, and stops the client', async (status, body, message) => {
    gateway.answers = [{ status, body }];
    gateway.holding = true;
    start();
    const events = record();
    const c = await transport.connection(0);
    c.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    gateway.release();
    const error = await client.ready(1000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlagstreamSecretsError);
    expect(error).toMatchObject({ status, message });
    expect(events).toEqual(['change:a', `error:${message}:true`]);
    expect(c.aborted).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    // No retry of either the read or the stream; later ready() calls reject the same way; flags still answer.
    expect(gateway.requests).toHaveLength(1);
    expect(transport.connections).toHaveLength(1);
    await expect(client.ready()).rejects.toBe(error);
    expect(client.isReady).toBe(false);
    expect(client.boolean('a', ctx, false)).toBe(true);
  });

  it('retries passing failures of the first read (network, 5xx, 429, a proxy 503) with backoff, each a non-fatal error', async () => {
    gateway.answers = [
      new Error('connect ECONNREFUSED 127.0.0.1:4001'),
      { status: 502, body: '<html>bad gateway</html>' },
      { status: 503, body: 'upstream unavailable' },
      { status: 429, body: { error: { code: 'TOO_MANY_REQUESTS', message: 'rate limit exceeded for this SDK key; retry later' } }, headers: { 'Retry-After': '0' } },
    ];
    start();
    const events = record();
    const c = await transport.connection(0);
    c.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    await client.ready(2000);
    expect(gateway.requests).toHaveLength(5);
    // (The first read may fail before the snapshot arrives: the flags' change is left out.)
    expect(events.filter((e) => e !== 'change:a')).toEqual([
      'error:reading secrets failed: connect ECONNREFUSED 127.0.0.1:4001:false',
      'error:reading secrets failed (gateway answered 502):false',
      'error:reading secrets failed (gateway answered 503):false',
      'error:the gateway rate-limited reading secrets (gateway answered 429: rate limit exceeded for this SDK key; retry later):false',
      'ready',
      `secretChange:payments/db/password,${STRIPE}`,
    ]);
    expect(client.secret(STRIPE)).toBe(STRIPE_V1);
  });

  it('keeps the secrets it holds when a read after ready fails (non-fatal error), and retries passing failures', async () => {
    start();
    const c = await transport.connection(0);
    c.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    await client.ready();
    const events = record();
    gateway.secrets[STRIPE] = { version: 2, value: STRIPE_V2, definedIn: 'test' };
    gateway.answers = [{ status: 500, body: { error: { code: 'INTERNAL', message: 'internal error; quote error id r1 when reporting it' } } }];
    gateway.holding = true;
    c.send('patch', 2, notice(2, STRIPE));
    await until(() => gateway.waiting === 1);
    gateway.release();
    await until(() => events.length === 1);
    expect(client.secret(STRIPE)).toBe(STRIPE_V1);
    gateway.holding = false;
    gateway.release();
    await until(() => events.length === 2);
    expect(events).toEqual(['error:reading secrets failed (gateway answered 500: internal error; quote error id r1 when reporting it):false', `secretChange:${STRIPE}`]);
    expect(client.secret(STRIPE)).toBe(STRIPE_V2);

    // A refusal after ready is not fatal either: the secrets stay, the stream goes on, the next notice reads again.
    gateway.answers = [{ status: 503, body: { error: { code: 'UNAVAILABLE', message: 'this gateway does not serve secrets' } } }];
    c.send('patch', 3, notice(3, STRIPE));
    await until(() => events.length === 3);
    expect(events[2]).toBe('error:the gateway does not serve secrets (gateway answered 503: this gateway does not serve secrets):false');
    expect(client.secret(STRIPE)).toBe(STRIPE_V2);
    expect(c.aborted).toBe(false);
    gateway.secrets[STRIPE] = { version: 3, value: 'sk_live_third', definedIn: 'test' };
    c.send('patch', 4, notice(4, STRIPE));
    await until(() => client.secret(STRIPE) === 'sk_live_third');
    expect(gateway.requests).toHaveLength(5);
  });

  it('never writes a secret, value or path, to the snapshot cache; a cached start still waits for the read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flagstream-secrets-'));
    try {
      const file = join(dir, 'flags.json');
      start({ cache: new FileSnapshotCache(file), cacheSaveIntervalMs: 10 });
      const c = await transport.connection(0);
      c.send('snapshot', 1, snapshot(1, [flag('a', true)]));
      await client.ready();
      gateway.secrets[STRIPE] = { version: 2, value: STRIPE_V2, definedIn: 'test' };
      c.send('patch', 2, notice(2, STRIPE));
      await until(() => client.secret(STRIPE) === STRIPE_V2);
      await client.close();
      const text = await readFile(file, 'utf8');
      // The cache was written (the state after the notice), and holds nothing of the secrets.
      expect(JSON.parse(text)).toMatchObject({ revision: 2, flags: [{ key: 'a' }] });
      for (const needle of [STRIPE_V1, STRIPE_V2, 'pg-pass-1', STRIPE, 'payments/', 'secret']) expect(text).not.toContain(needle);

      // Next start: flags from the cache at once, but ready() only after the gateway served the secrets.
      transport = new FakeTransport();
      gateway.holding = true;
      start({ cache: new FileSnapshotCache(file) });
      await until(() => gateway.waiting === 1);
      expect(client.boolean('a', ctx, false)).toBe(true);
      expect(client.isReady).toBe(false);
      expect(client.secret(STRIPE)).toBeUndefined();
      gateway.release();
      await client.ready();
      expect(client.secret(STRIPE)).toBe(STRIPE_V2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('close() aborts a read in flight and rejects ready()', async () => {
    gateway.holding = true;
    start();
    const ready = client.ready(5000);
    const c = await transport.connection(0);
    c.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    await until(() => gateway.waiting === 1);
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.message));
    await client.close();
    expect(gateway.requests[0]!.signal.aborted).toBe(true);
    await expect(ready).rejects.toThrow('Flagstream client closed');
    expect(errors).toEqual([]);
    expect(client.secret(STRIPE)).toBeUndefined();
  });

  it('says what it is waiting for when ready() times out with flags but no secrets', async () => {
    gateway.holding = true;
    start();
    const c = await transport.connection(0);
    c.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    await expect(client.ready(50)).rejects.toThrow('Flagstream client not ready after 50 ms (it has flags, but has not read the secrets yet)');
  });

  it('reads no secrets without the option (notices are ignored; getters answer nothing)', async () => {
    start({ secrets: false });
    const c = await transport.connection(0);
    c.send('snapshot', 1, snapshot(1, [flag('a', true)]));
    await client.ready();
    c.send('patch', 2, notice(2, STRIPE));
    await new Promise((r) => setTimeout(r, 20));
    expect(client.revision).toBe(2);
    expect(gateway.requests).toEqual([]);
    expect(client.secret(STRIPE)).toBeUndefined();
    expect(client.secretDetail(STRIPE)).toBeUndefined();
    expect(client.secretPaths()).toEqual([]);
  });
});
