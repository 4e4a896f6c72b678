import { stateHash, type FlagSnapshotV1, type PatchMessageV1, type SnapshotMessageV1 } from '@flagstream/protocol';
import { FakeTransport } from './fake.transport';
import { FlagstreamAuthError, FlagstreamClient } from './flagstream-client';
import { Backoff } from './backoff';
import { SseParser } from './sse-parser';

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
  return { v: 1, environment: 'test', revision, stateHash: stateHash(flags, []), flags, segments: [] };
}

/** A patch with the right hash for the state it leads to. */
function patch(revision: number, after: FlagSnapshotV1[], changed: FlagSnapshotV1[]): PatchMessageV1 {
  return { v: 1, revision, stateHash: stateHash(after, []), occurredAt: new Date().toISOString(), changes: changed.map((f) => ({ type: 'flag.upsert' as const, flag: f })) };
}

const ctx = { targetingKey: 'u1' };

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
