import type { EvaluatedFlagV1, EvaluatedPatchMessageV1, EvaluatedSnapshotMessageV1, EvaluationReason } from '@flagstream/protocol';
import { FakeEvaluatedStreamTransport } from './fake-evaluated-stream.transport';
import { FlagstreamAuthError, FlagstreamBrowserClient, type FlagstreamBrowserClientOptions } from './flagstream-browser-client';
import { MAX_CACHED_CONTEXTS, type StorageLike } from './value.cache';

function flag(value: unknown, variant?: string, reason: EvaluationReason = 'TARGETING_MATCH'): EvaluatedFlagV1 {
  return variant === undefined ? { value, reason } : { value, variant, reason };
}
const on = flag(true, 'on');
const off = flag(false, 'off', 'DISABLED');

function snapshot(revision: number, flags: Record<string, EvaluatedFlagV1>): EvaluatedSnapshotMessageV1 {
  return { v: 1, revision, flags };
}
function patch(revision: number, flags: Record<string, EvaluatedFlagV1>, removed: string[] = []): EvaluatedPatchMessageV1 {
  return { v: 1, revision, flags, removed };
}

/** An in-memory Web Storage stand-in that can be made to fail like a full or disabled one. */
class MemoryStorage implements StorageLike {
  readonly items = new Map<string, string>();
  failWrites: Error | null = null;
  failReads: Error | null = null;
  getItem(key: string): string | null {
    if (this.failReads) throw this.failReads;
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    if (this.failWrites) throw this.failWrites;
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  entries(): string[] {
    return [...this.items.keys()].filter((k) => !k.endsWith(':contexts'));
  }
}

/** Polls `check` until it holds (or fails after 2 s). */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const SDK_KEY = 'fs_client_abcdef0123456789secretpart';
const u1 = { targetingKey: 'u1', plan: 'pro' };
const u2 = { targetingKey: 'u2', plan: 'free' };

describe('FlagstreamBrowserClient', () => {
  let transport: FakeEvaluatedStreamTransport;
  let storage: MemoryStorage;
  const clients: FlagstreamBrowserClient[] = [];

  beforeEach(() => {
    transport = new FakeEvaluatedStreamTransport();
    storage = new MemoryStorage();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    jest.restoreAllMocks();
  });

  function start(extra: Partial<FlagstreamBrowserClientOptions> = {}, t: FakeEvaluatedStreamTransport = transport): FlagstreamBrowserClient {
    const c = new FlagstreamBrowserClient({ sdkKey: SDK_KEY, baseUrl: 'https://gw.test', context: u1, transport: t, storage, backoff: { initialMs: 5, maxMs: 20 }, ...extra });
    clients.push(c);
    return c;
  }

  /** A client that received `flags` at `revision` on its first connection. */
  async function started(flags: Record<string, EvaluatedFlagV1>, revision = 1, extra: Partial<FlagstreamBrowserClientOptions> = {}) {
    const client = start(extra);
    const conn = await transport.connection(0);
    conn.send('snapshot', revision, snapshot(revision, flags));
    await client.ready();
    return { client, conn };
  }

  function record(client: FlagstreamBrowserClient) {
    const changes: string[][] = [];
    const errors: Array<[string, boolean]> = [];
    client.on('change', (keys) => changes.push(keys));
    client.on('error', (e, fatal) => errors.push([e.message, fatal]));
    return { changes, errors };
  }

  it('returns defaults with PROVIDER_NOT_READY (never throws) before it has values', () => {
    const client = start();
    expect(client.isReady).toBe(false);
    expect(client.booleanDetail('a', true)).toEqual({ value: true, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY', errorMessage: 'the client has no flag values yet' });
    expect(client.string('a', 'x')).toBe('x');
    expect(client.allFlags()).toEqual({});
  });

  it('streams for its context, applies the snapshot and then patches, acknowledging each revision', async () => {
    const client = start();
    const revisions: number[] = [];
    client.on('revision', (r) => revisions.push(r));
    const conn = await transport.connection(0);
    expect(conn.context).toEqual(u1);
    expect(conn.lastEventId).toBeUndefined();
    conn.send('snapshot', 4, snapshot(4, { a: on, b: flag('blue', 'blue', 'DEFAULT') }));
    await client.ready();
    expect(client.isReady).toBe(true);
    expect(client.revision).toBe(4);
    expect(client.booleanDetail('a', false)).toEqual({ value: true, variation: 'on', reason: 'TARGETING_MATCH' });
    expect(client.string('b', 'x')).toBe('blue');
    // The evaluated stream skips revisions that change nothing for this context: 5 and 6 never come.
    conn.send('patch', 7, patch(7, { a: off }));
    expect(client.booleanDetail('a', true)).toEqual({ value: false, variation: 'off', reason: 'DISABLED' });
    expect(client.revision).toBe(7);
    expect(revisions).toEqual([4, 7]);
    await until(() => transport.acks.length >= 2);
    expect(transport.acks).toEqual([4, 7]);
    expect(client.allFlags()).toEqual({ a: off, b: flag('blue', 'blue', 'DEFAULT') });
  });

  it('ignores patches that are not newer than its revision', async () => {
    const { client, conn } = await started({ a: on }, 5);
    const { changes } = record(client);
    conn.send('patch', 5, patch(5, { a: off }));
    conn.send('patch', 3, patch(3, { a: off }));
    expect(client.boolean('a', false)).toBe(true);
    expect(client.revision).toBe(5);
    conn.send('patch', 6, patch(6, { a: off }));
    conn.send('patch', 6, patch(6, { a: on }));
    expect(client.boolean('a', true)).toBe(false);
    expect(changes).toEqual([['a']]);
    await until(() => transport.acks.length >= 2);
    expect(transport.acks).toEqual([5, 6]);
  });

  it('ignores a patch that comes before any snapshot on its connection', async () => {
    const client = start();
    const conn = await transport.connection(0);
    conn.send('patch', 9, patch(9, { a: on }));
    expect(client.isReady).toBe(false);
    expect(client.booleanDetail('a', false).errorCode).toBe('PROVIDER_NOT_READY');
  });

  it('removes flags the patch lists as removed, and reports them as changed', async () => {
    const { client, conn } = await started({ a: on, b: on });
    const { changes } = record(client);
    conn.send('patch', 2, patch(2, {}, ['b', 'never-had']));
    expect(changes).toEqual([['b']]);
    expect(client.booleanDetail('b', false)).toEqual({
      value: false,
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
      errorMessage: 'flag "b" is not known to this client (missing, archived or not client-visible)',
    });
    expect(Object.keys(client.allFlags())).toEqual(['a']);
  });

  it('checks the value type against the getter, and passes on the gateway\'s evaluation errors', async () => {
    const { client } = await started({
      bool: on,
      str: flag('x', 'x'),
      num: flag(42, 'n'),
      obj: flag({ color: 'red' }, 'red'),
      list: flag([1, 2], 'l'),
      broken: { value: null, reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING' },
    });
    expect(client.number('num', 0)).toBe(42);
    expect(client.json('obj', {})).toEqual({ color: 'red' });
    expect(client.json('list', [])).toEqual([1, 2]);
    expect(client.json('num', 0)).toBe(42);
    expect(client.stringDetail('bool', 'd')).toEqual({ value: 'd', reason: 'ERROR', errorCode: 'TYPE_MISMATCH', errorMessage: 'flag "bool" has a value of type boolean, not string' });
    expect(client.booleanDetail('str', false)).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    expect(client.numberDetail('obj', 7)).toEqual({ value: 7, reason: 'ERROR', errorCode: 'TYPE_MISMATCH', errorMessage: 'flag "obj" has a value of type object, not number' });
    expect(client.booleanDetail('list', true)).toMatchObject({ value: true, errorCode: 'TYPE_MISMATCH', errorMessage: 'flag "list" has a value of type array, not boolean' });
    expect(client.booleanDetail('broken', true)).toEqual({ value: true, reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING', errorMessage: 'the gateway could not evaluate flag "broken"' });
  });

  it('reports a change only when a value, variant or reason really changed', async () => {
    const { client, conn } = await started({ a: on, b: off, c: flag(1, 'one') });
    const { changes } = record(client);
    // The same values again (a reconnect's snapshot, a patch that repeats a value): nothing changed.
    conn.send('snapshot', 2, snapshot(2, { a: on, b: off, c: flag(1, 'one') }));
    conn.send('patch', 3, patch(3, { a: on }));
    expect(changes).toEqual([]);
    conn.send('patch', 4, patch(4, { a: on, c: flag(1, 'one', 'SPLIT') }));
    expect(changes).toEqual([['c']]);
    conn.send('snapshot', 5, snapshot(5, { a: off, c: flag(1, 'one', 'SPLIT'), d: on }));
    expect(changes).toEqual([['c'], ['a', 'b', 'd']]);
  });

  it('passes on the experiment marker of the gateway\'s evaluation, and reports a move into an experiment as a change', async () => {
    const outside = flag(false, 'off', 'SPLIT');
    const inside: EvaluatedFlagV1 = { ...outside, experiment: 'checkout-2026', experimentUnit: 'tenant.id' };
    const { client, conn } = await started({ a: inside, b: outside });
    expect(client.booleanDetail('a', true)).toEqual({ value: false, variation: 'off', reason: 'SPLIT', experiment: 'checkout-2026', experimentUnit: 'tenant.id' });
    expect(client.booleanDetail('b', true)).toEqual({ value: false, variation: 'off', reason: 'SPLIT' });
    const { changes } = record(client);
    conn.send('patch', 2, patch(2, { a: outside, b: { ...outside, experiment: 'checkout-2026' } }));
    expect(changes).toEqual([['a', 'b']]);
    expect(client.booleanDetail('a', true)).toEqual({ value: false, variation: 'off', reason: 'SPLIT' });
    expect(client.booleanDetail('b', true).experiment).toBe('checkout-2026');
  });

  it('calls a value listener only when that flag\'s value changes', async () => {
    const { client, conn } = await started({ a: on, b: on });
    const seen: Array<[unknown, unknown]> = [];
    const stop = client.onValueChange<boolean>('a', (value, previous) => seen.push([value, previous]));
    conn.send('patch', 2, patch(2, { b: off }));
    conn.send('patch', 3, patch(3, { a: flag(true, 'on', 'SPLIT') }));
    expect(seen).toEqual([]);
    conn.send('patch', 4, patch(4, { a: off }));
    conn.send('patch', 5, patch(5, {}, ['a']));
    expect(seen).toEqual([
      [false, true],
      [undefined, false],
    ]);
    stop();
    conn.send('patch', 6, patch(6, { a: on }));
    expect(seen).toHaveLength(2);
  });

  it('reconnects after the stream ends, reports disconnected/connected, and is not taken back by an older snapshot', async () => {
    const { client, conn } = await started({ a: on }, 10);
    const events: string[] = [];
    client.on('disconnected', (e) => events.push(`disconnected:${e === null ? 'null' : e.message}`));
    client.on('connected', () => events.push('connected'));
    conn.end();
    const second = await transport.connection(1);
    expect(second.context).toEqual(u1);
    expect(second.lastEventId).toBe('10');
    expect(events).toEqual(['disconnected:null', 'connected']);
    // A gateway that is behind: its snapshot is ignored, and its later patches apply once newer.
    second.send('snapshot', 8, snapshot(8, { a: off }));
    expect(client.boolean('a', false)).toBe(true);
    second.send('patch', 9, patch(9, { a: off }));
    expect(client.boolean('a', false)).toBe(true);
    second.send('patch', 11, patch(11, { a: off }));
    expect(client.boolean('a', true)).toBe(false);
    second.fail(503);
    await transport.connection(2);
    expect(events).toEqual(['disconnected:null', 'connected', 'disconnected:failed with 503', 'connected']);
  });

  it('retries failures with exponential backoff and full jitter', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.999);
    transport.refuseWith = [503, 502];
    const client = start({ backoff: { initialMs: 100, maxMs: 1000 } });
    const { errors } = record(client);
    await transport.attempts(3);
    const [first, second, third] = transport.openedAt;
    // Delays of at most 100 ms, then 200 ms; with random() = 0.999 that is 99 ms and 199 ms.
    expect(second - first).toBeGreaterThanOrEqual(95);
    expect(third - second).toBeGreaterThanOrEqual(195);
    expect(errors).toEqual([
      ['refused with 503', false],
      ['refused with 502', false],
    ]);
    const conn = await transport.connection(0);
    conn.send('snapshot', 1, snapshot(1, { a: on }));
    await client.ready();
    expect(client.boolean('a', false)).toBe(true);
  });

  it.each([401, 403])('stops on %i with a clear error instead of retrying', async (status) => {
    transport.refuseWith = [status];
    const client = start();
    const { errors } = record(client);
    const ready = client.ready(1000);
    await expect(ready).rejects.toBeInstanceOf(FlagstreamAuthError);
    await expect(ready).rejects.toThrow(`the gateway refused the SDK key (refused with ${status}); not retrying`);
    await new Promise((r) => setTimeout(r, 50));
    expect(transport.openedAt).toHaveLength(1);
    expect(errors).toEqual([[`the gateway refused the SDK key (refused with ${status}); not retrying`, true]]);
    await expect(client.ready()).rejects.toBeInstanceOf(FlagstreamAuthError);
    await expect(client.identify(u2)).rejects.toBeInstanceOf(FlagstreamAuthError);
    expect(client.boolean('a', true)).toBe(true);
  });

  it('stops retrying a context the gateway refuses (400) until identify() gives another', async () => {
    transport.refuseWith = [400];
    const client = start();
    await expect(client.ready(1000)).rejects.toThrow('the gateway refused the context (refused with 400); call identify() with a valid one');
    await new Promise((r) => setTimeout(r, 50));
    expect(transport.openedAt).toHaveLength(1);
    const identified = client.identify(u2);
    const conn = await transport.connection(0);
    expect(conn.context).toEqual(u2);
    conn.send('snapshot', 1, snapshot(1, { a: on }));
    await identified;
    expect(client.boolean('a', false)).toBe(true);
  });

  it('reconnects after a message it cannot read', async () => {
    const { client, conn } = await started({ a: on }, 2);
    const { errors } = record(client);
    conn.sendRaw('patch', '{"v":1,"revision":3,"flags":null}');
    expect(errors).toEqual([['malformed patch: {"v":1,"revision":3,"flags":null}', false]]);
    expect(conn.aborted).toBe(true);
    const second = await transport.connection(1);
    second.send('snapshot', 3, snapshot(3, { a: off }));
    expect(client.boolean('a', true)).toBe(false);
  });

  describe('identify()', () => {
    it('switches to the new context\'s values and drops messages of the old connection', async () => {
      const { client, conn } = await started({ a: on, b: on }, 3);
      const { changes } = record(client);
      const identified = client.identify(u2);
      expect(client.context).toEqual(u2);
      expect(client.isReady).toBe(false);
      expect(conn.aborted).toBe(true);
      // Until the new values arrive the old ones are served, never mixed with the new ones.
      expect(client.boolean('a', false)).toBe(true);
      conn.send('patch', 4, patch(4, { a: off, z: on }));
      conn.send('snapshot', 5, snapshot(5, { c: on }));
      expect(client.allFlags()).toEqual({ a: on, b: on });
      const second = await transport.connection(1);
      expect(second.context).toEqual(u2);
      expect(second.lastEventId).toBeUndefined();
      second.send('snapshot', 4, snapshot(4, { a: off, c: on }));
      await identified;
      expect(client.isReady).toBe(true);
      expect(client.allFlags()).toEqual({ a: off, c: on });
      expect(client.revision).toBe(4);
      expect(changes).toEqual([['a', 'b', 'c']]);
      // The old connection keeps talking: still dropped.
      conn.send('patch', 9, patch(9, { a: on }));
      expect(client.boolean('a', true)).toBe(false);
    });

    it('resolves at once from the cache of the new context, then refreshes live', async () => {
      const { client, conn } = await started({ a: on }, 3);
      const toU2 = client.identify(u2);
      const second = await transport.connection(1);
      second.send('snapshot', 4, snapshot(4, { a: off }));
      await toU2;
      expect(client.boolean('a', true)).toBe(false);
      // Back to u1: its values are cached from the first connection.
      const back = client.identify({ plan: 'pro', targetingKey: 'u1' });
      expect(client.isReady).toBe(true);
      await back;
      expect(client.boolean('a', false)).toBe(true);
      expect(client.revision).toBe(3);
      const third = await transport.connection(2);
      expect(third.context).toEqual(u1);
      third.send('snapshot', 6, snapshot(6, { a: flag(true, 'on', 'SPLIT') }));
      expect(client.booleanDetail('a', false)).toEqual({ value: true, variation: 'on', reason: 'SPLIT' });
      expect(conn.aborted).toBe(true);
    });

    it('settles an earlier identify() with a later one', async () => {
      const { client } = await started({ a: on });
      const first = client.identify(u2);
      const second = client.identify({ targetingKey: 'u3' });
      // Both calls came before the old connection wound down: one new connection, for the last context.
      const conn = await transport.connection(1);
      expect(conn.context).toEqual({ targetingKey: 'u3' });
      conn.send('snapshot', 2, snapshot(2, { a: off }));
      await Promise.all([first, second]);
      expect(client.boolean('a', true)).toBe(false);
    });

    it('does not reconnect for the same context, in any attribute order', async () => {
      const { client } = await started({ a: on });
      await client.identify({ plan: 'pro', targetingKey: 'u1' });
      await new Promise((r) => setTimeout(r, 20));
      expect(transport.connections).toHaveLength(1);
    });

    it('rejects after its timeout, and the client keeps trying', async () => {
      const { client } = await started({ a: on });
      await expect(client.identify(u2, 30)).rejects.toThrow('Flagstream client not ready after 30 ms');
      const conn = await transport.connection(1);
      conn.send('snapshot', 2, snapshot(2, { a: off }));
      await client.ready();
      expect(client.boolean('a', true)).toBe(false);
    });

    it('rejects a context that is not a JSON object', async () => {
      const { client } = await started({ a: on });
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(client.identify(cyclic)).rejects.toThrow(TypeError);
      expect(client.context).toEqual(u1);
    });
  });

  describe('the storage cache', () => {
    it('makes a client ready at once from the values cached for the same context', async () => {
      const first = start();
      (await transport.connection(0)).send('snapshot', 7, snapshot(7, { a: on, s: flag('x', 'x') }));
      await first.ready();
      await first.close();

      const other = new FakeEvaluatedStreamTransport();
      const client = start({ context: { plan: 'pro', targetingKey: 'u1' } }, other);
      expect(client.isReady).toBe(true);
      expect(client.revision).toBe(7);
      expect(client.string('s', 'd')).toBe('x');
      await client.ready(0);
      // The cache is refreshed live, without resuming from the cached revision.
      const conn = await other.connection(0);
      expect(conn.lastEventId).toBeUndefined();
      conn.send('snapshot', 6, snapshot(6, { a: off }));
      expect(client.boolean('a', true)).toBe(false);
      expect(client.revision).toBe(6);
    });

    it('stores values, revision, a context fingerprint and the time: not the key or the context', async () => {
      const before = Date.now();
      await started({ a: on }, 7);
      const keys = storage.entries();
      expect(keys).toHaveLength(1);
      const text = storage.items.get(keys[0])!;
      const entry = JSON.parse(text) as Record<string, unknown>;
      expect(Object.keys(entry).sort()).toEqual(['fingerprint', 'flags', 'revision', 'savedAt', 'v']);
      expect(entry).toMatchObject({ v: 1, revision: 7, flags: { a: on } });
      expect(entry.savedAt).toBeGreaterThanOrEqual(before);
      const everything = [...storage.items].flat().join('\n');
      for (const secret of [SDK_KEY, 'secretpart', 'u1', 'pro', 'gw.test']) expect(everything).not.toContain(secret);
    });

    it('does not use the values of another context, key or gateway', async () => {
      const first = start();
      (await transport.connection(0)).send('snapshot', 7, snapshot(7, { a: on }));
      await first.ready();
      for (const extra of [{ context: u2 }, { sdkKey: 'fs_client_zzzzzz0123456789' }, { baseUrl: 'https://other.test' }]) {
        const client = start(extra, new FakeEvaluatedStreamTransport());
        expect(client.isReady).toBe(false);
        expect(client.booleanDetail('a', false).errorCode).toBe('PROVIDER_NOT_READY');
      }
    });

    it('ignores a corrupt entry', async () => {
      const first = start();
      (await transport.connection(0)).send('snapshot', 7, snapshot(7, { a: on }));
      await first.ready();
      const [key] = storage.entries();
      for (const bad of ['{not json', '{"v":1}', JSON.stringify({ v: 2, fingerprint: 'x', revision: 1, savedAt: 1, flags: {} }), JSON.stringify({ ...JSON.parse(storage.items.get(key)!), fingerprint: 'another' })]) {
        storage.items.set(key, bad);
        const client = start({}, new FakeEvaluatedStreamTransport());
        expect(client.isReady).toBe(false);
        expect(storage.items.has(key)).toBe(false);
      }
    });

    it('reports storage failures as non-fatal errors and keeps working', async () => {
      storage.failWrites = new Error('QuotaExceededError: the quota has been exceeded');
      const client = start();
      const { errors } = record(client);
      const conn = await transport.connection(0);
      conn.send('snapshot', 1, snapshot(1, { a: on }));
      await client.ready();
      expect(client.boolean('a', false)).toBe(true);
      await Promise.resolve();
      expect(errors).toEqual([['could not write the flag cache: QuotaExceededError: the quota has been exceeded', false]]);

      storage.failReads = new Error('SecurityError: storage is disabled');
      const errorsAtStart: string[] = [];
      const transport2 = new FakeEvaluatedStreamTransport();
      // Reported a turn later: a listener added right after the constructor hears about the first read.
      const second = start({}, transport2);
      second.on('error', (e) => errorsAtStart.push(e.message));
      const identified = second.identify(u2);
      await Promise.resolve();
      expect(errorsAtStart).toEqual(['could not read the flag cache: SecurityError: storage is disabled', 'could not read the flag cache: SecurityError: storage is disabled']);
      (await transport2.connection(1)).send('snapshot', 1, snapshot(1, { a: off }));
      await identified;
      expect(second.boolean('a', true)).toBe(false);
    });

    it('does not cache an entry over the size limit', async () => {
      const client = start();
      const { errors } = record(client);
      (await transport.connection(0)).send('snapshot', 1, snapshot(1, { big: flag('x'.repeat(1_000_000), 'big') }));
      await client.ready();
      expect(client.string('big', '').length).toBe(1_000_000);
      expect(storage.entries()).toHaveLength(0);
      await Promise.resolve();
      expect(errors).toEqual([[expect.stringMatching(/^not caching flag values: 1000\d{3} characters is over the 1000000 limit$/), false]]);
      const fresh = start({}, new FakeEvaluatedStreamTransport());
      expect(fresh.isReady).toBe(false);
    });

    it(`keeps the last ${MAX_CACHED_CONTEXTS} contexts`, async () => {
      const client = start();
      for (let i = 0; i <= MAX_CACHED_CONTEXTS; i++) {
        const identified = i === 0 ? client.ready() : client.identify({ targetingKey: `user-${i}` });
        (await transport.connection(i)).send('snapshot', 1, snapshot(1, { n: flag(i, `v${i}`) }));
        await identified;
      }
      expect(storage.entries()).toHaveLength(MAX_CACHED_CONTEXTS);
      // The first context (u1) was dropped; the last ones are there.
      expect(start({}, new FakeEvaluatedStreamTransport()).isReady).toBe(false);
      expect(start({ context: { targetingKey: 'user-1' } }, new FakeEvaluatedStreamTransport()).number('n', -1)).toBe(1);
    });

    it('can be turned off', async () => {
      await started({ a: on }, 1, { storage: null });
      expect(storage.items.size).toBe(0);
    });
  });

  it('close() rejects pending waits, stops reconnecting and silences events', async () => {
    const client = start();
    const conn = await transport.connection(0);
    const pending = client.ready(5000);
    const seen: string[] = [];
    client.on('change', () => seen.push('change'));
    await client.close();
    await expect(pending).rejects.toThrow('Flagstream client closed');
    expect(conn.aborted).toBe(true);
    conn.send('snapshot', 1, snapshot(1, { a: on }));
    expect(seen).toEqual([]);
    expect(client.booleanDetail('a', false).errorCode).toBe('PROVIDER_NOT_READY');
    await new Promise((r) => setTimeout(r, 30));
    expect(transport.connections).toHaveLength(1);
    await expect(client.identify(u2)).rejects.toThrow('Flagstream client closed');
    await expect(client.ready()).rejects.toThrow('Flagstream client closed');
  });

  it('does not acknowledge when told not to', async () => {
    const { conn } = await started({ a: on }, 1, { acknowledge: false });
    conn.send('patch', 2, patch(2, { a: off }));
    await new Promise((r) => setTimeout(r, 20));
    expect(transport.acks).toEqual([]);
  });
});

