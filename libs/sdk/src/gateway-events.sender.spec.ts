import type { ExposureEvent } from './exposure.reporter';
import { GatewayEventsError, gatewayExposureSender, gatewayMetricSender, type MetricEvent } from './gateway-events.sender';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: { v: number; events: Array<Record<string, unknown>> };
  bytes: number;
}

type Reply = { status: number; body?: unknown; retryAfter?: string } | Error | 'hang';

/** A fetch that records requests and answers from a script (then 202). */
function fakeFetch(script: Reply[] = []) {
  const calls: Call[] = [];
  const impl = (async (input: string | URL | Request, init?: RequestInit) => {
    const body = String(init?.body);
    calls.push({
      url: String(input),
      method: init?.method ?? 'GET',
      headers: init?.headers as Record<string, string>,
      body: JSON.parse(body) as Call['body'],
      bytes: Buffer.byteLength(body),
    });
    const reply = script.shift() ?? { status: 202, body: { accepted: (JSON.parse(body) as Call['body']).events.length } };
    if (reply === 'hang') {
      return new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    }
    if (reply instanceof Error) throw reply;
    return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), {
      status: reply.status,
      headers: reply.retryAfter ? { 'Retry-After': reply.retryAfter } : {},
    });
  }) as typeof fetch;
  return { calls, impl };
}

const NOW = Date.now();
const exposure = (contextKey: string | undefined, extra: Partial<ExposureEvent> = {}): ExposureEvent => ({ flag: 'checkout', variation: 'on', contextKey, reason: 'TARGETING_MATCH', ruleId: 'de', timestamp: NOW, ...extra });
const refusal = (status: number, message: string, details: unknown[] = []) => ({ status, body: { error: { code: 'X', message, details } } });

describe('gatewayExposureSender', () => {
  afterEach(() => jest.useRealTimers());

  it('posts exposures in the wire format, leaving out those the gateway would refuse', async () => {
    const { calls, impl } = fakeFetch();
    const skipped: Array<[string | undefined, string]> = [];
    const send = gatewayExposureSender({ baseUrl: 'http://gw.test/', sdkKey: 'fs_server_abc', fetch: impl, onSkipped: (e, reason) => skipped.push([e.contextKey, reason]) });
    await send([
      exposure('u1'),
      exposure(undefined),
      exposure('u2', { variation: undefined }),
      exposure('k'.repeat(257)),
      exposure('u3', { timestamp: NOW - 31 * 86_400_000 }),
      exposure('u4', { flag: 'Not A Slug' }),
      exposure('u5', { variation: 'off' }),
    ]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      url: 'http://gw.test/sdk/v1/events',
      method: 'POST',
      headers: { Authorization: 'Bearer fs_server_abc', 'Content-Type': 'application/json' },
      body: {
        v: 1,
        events: [
          { kind: 'exposure', flag: 'checkout', variation: 'on', contextKey: 'u1', timestamp: NOW },
          { kind: 'exposure', flag: 'checkout', variation: 'off', contextKey: 'u5', timestamp: NOW },
        ],
      },
    });
    expect(skipped).toEqual([
      [undefined, 'no contextKey'],
      ['u2', 'no variation'],
      ['k'.repeat(257), 'the contextKey is longer than 256 characters'],
      ['u3', 'the timestamp is more than 30 days ago'],
      ['u4', 'the flag key is not a slug'],
    ]);
  });

  it('sends the experiment and unit of experiment exposures, and leaves out those the gateway would refuse', async () => {
    const { calls, impl } = fakeFetch();
    const skipped: Array<[string | undefined, string]> = [];
    const send = gatewayExposureSender({ baseUrl: 'http://gw.test', sdkKey: 'fs_server_abc', fetch: impl, onSkipped: (e, reason) => skipped.push([e.contextKey, reason]) });
    await send([
      exposure('u1', { reason: 'SPLIT', experiment: 'checkout-2026', unit: 'tenant-7' }),
      exposure('u2', { reason: 'SPLIT', experiment: 'checkout-2026' }),
      exposure('u3', { reason: 'SPLIT', unit: 'tenant-7' }),
      exposure('u4', { experiment: 'Checkout 2026' }),
      exposure('u5', { experiment: 'checkout-2026', unit: 't'.repeat(257) }),
      exposure('u6', { experiment: 'checkout-2026', unit: '' }),
    ]);
    expect(calls.map((c) => c.body.events)).toEqual([
      [
        { kind: 'exposure', flag: 'checkout', variation: 'on', contextKey: 'u1', timestamp: NOW, experiment: 'checkout-2026', unit: 'tenant-7' },
        { kind: 'exposure', flag: 'checkout', variation: 'on', contextKey: 'u2', timestamp: NOW, experiment: 'checkout-2026' },
        // A unit without an experiment means nothing (and the gateway refuses it): it is not sent.
        { kind: 'exposure', flag: 'checkout', variation: 'on', contextKey: 'u3', timestamp: NOW },
      ],
    ]);
    expect(skipped).toEqual([
      ['u4', 'the experiment key is not a slug'],
      ['u5', 'the experiment unit is empty or longer than 256 characters'],
      ['u6', 'the experiment unit is empty or longer than 256 characters'],
    ]);
  });

  it('sends nothing when nothing is left to send', async () => {
    const { calls, impl } = fakeFetch();
    await gatewayExposureSender({ baseUrl: 'http://gw.test', sdkKey: 'k', fetch: impl })([exposure(undefined)]);
    expect(calls).toEqual([]);
  });

  it('splits a batch into requests of at most 1,000 events and 512 KiB, in order', async () => {
    const { calls, impl } = fakeFetch();
    const send = gatewayExposureSender({ baseUrl: 'http://gw.test', sdkKey: 'k', fetch: impl });
    await send(Array.from({ length: 2500 }, (_, i) => exposure(`u${i}`)));
    expect(calls.map((c) => c.body.events.length)).toEqual([1000, 1000, 500]);
    expect(calls.flatMap((c) => c.body.events.map((e) => e.contextKey))).toEqual(Array.from({ length: 2500 }, (_, i) => `u${i}`));

    calls.length = 0;
    // 256 three-byte characters per key: about 800 bytes an event, so 1,000 would not fit in 512 KiB.
    const wide = Array.from({ length: 1000 }, (_, i) => exposure(`${String(i).padStart(4, '0')}${'€'.repeat(252)}`));
    await send(wide);
    expect(calls.length).toBe(2);
    for (const c of calls) expect(c.bytes).toBeLessThanOrEqual(512 * 1024);
    expect(calls[0].bytes).toBeGreaterThan(500 * 1024);
    expect(calls.flatMap((c) => c.body.events.map((e) => e.contextKey))).toEqual(wide.map((e) => e.contextKey));
  });

  it('retries 429 after its Retry-After (up to maxRetryDelayMs), 5xx and network failures', async () => {
    jest.useFakeTimers();
    const { calls, impl } = fakeFetch([{ ...refusal(429, 'full'), retryAfter: '2' }, { status: 503 }, new TypeError('fetch failed')]);
    const send = gatewayExposureSender({ baseUrl: 'http://gw.test', sdkKey: 'k', fetch: impl, retries: 3, maxRetryDelayMs: 10_000 });
    let done = false;
    const sent = send([exposure('u1')]).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(1999);
    expect(calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(500); // no Retry-After: 250 ms × 2^attempt, here 500 ms
    expect(calls).toHaveLength(3);
    await jest.advanceTimersByTimeAsync(1000); // after the network failure: 1000 ms
    await sent;
    expect(done).toBe(true);
    expect(calls).toHaveLength(4);
    expect(new Set(calls.map((c) => JSON.stringify(c.body))).size).toBe(1);
  });

  it('rejects with the gateway’s reason when it refuses for good or retries run out', async () => {
    const bad = fakeFetch([refusal(400, 'the batch was refused whole: 1 problem; no event of it was stored', [{ path: 'events[0].timestamp', message: 'is more than 24 hours in the future' }])]);
    const refused = await gatewayExposureSender({ baseUrl: 'http://gw.test', sdkKey: 'k', fetch: bad.impl })([exposure('u1')]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GatewayEventsError);
    expect(refused).toMatchObject({
      status: 400,
      message: 'the gateway refused the events (400: the batch was refused whole: 1 problem; no event of it was stored (events[0].timestamp: is more than 24 hours in the future))',
    });
    expect(bad.calls).toHaveLength(1);

    const busy = fakeFetch([{ status: 429, retryAfter: '1' }, { status: 429, retryAfter: '1' }, { status: 429, retryAfter: '1' }]);
    const exhausted = await gatewayExposureSender({ baseUrl: 'http://gw.test', sdkKey: 'k', fetch: busy.impl, retries: 2, maxRetryDelayMs: 1 })([exposure('u1')]).catch((e: unknown) => e);
    expect(exhausted).toMatchObject({ status: 429, message: 'the gateway refused the events (429: no message)' });
    expect(busy.calls).toHaveLength(3);

    const unauthorized = fakeFetch([refusal(401, 'missing or invalid SDK key')]);
    await expect(gatewayExposureSender({ baseUrl: 'http://gw.test', sdkKey: 'k', fetch: unauthorized.impl })([exposure('u1')])).rejects.toMatchObject({ status: 401 });
    expect(unauthorized.calls).toHaveLength(1);
  });

  it('aborts a request that takes longer than timeoutMs', async () => {
    const { calls, impl } = fakeFetch(['hang']);
    const error = await gatewayExposureSender({ baseUrl: 'http://gw.test', sdkKey: 'k', fetch: impl, retries: 0, timeoutMs: 20 })([exposure('u1')]).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: undefined, message: 'sending events to the gateway failed: no answer within 20 ms' });
    expect(calls).toHaveLength(1);
  });

  it('says how much of a split batch was delivered before a refusal', async () => {
    const { calls, impl } = fakeFetch([{ status: 202 }, refusal(403, 'nope')]);
    const error = await gatewayExposureSender({ baseUrl: 'http://gw.test', sdkKey: 'k', fetch: impl })(Array.from({ length: 1500 }, (_, i) => exposure(`u${i}`))).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 403, message: 'the gateway refused the events (403: nope); 1000 of 1500 events had been delivered' });
    expect(calls).toHaveLength(2);
  });
});

describe('gatewayMetricSender', () => {
  it('posts metric events, stamping those without a time, and leaves out bad ones', async () => {
    const { calls, impl } = fakeFetch();
    const skipped: string[] = [];
    const send = gatewayMetricSender({ baseUrl: 'http://gw.test', sdkKey: 'k', fetch: impl, onSkipped: (_e, reason) => skipped.push(reason) });
    const before = Date.now();
    const events: MetricEvent[] = [
      { name: 'checkout.errors', value: 1, contextKey: 'u1' },
      { name: 'latency_ms', value: 12.5, contextKey: 'u2', timestamp: NOW - 1000 },
      { name: '5xx', value: 1, contextKey: 'u3' },
      { name: 'errors', value: Number.NaN, contextKey: 'u4' },
      { name: 'errors', value: 1, contextKey: '' },
      { name: 'revenue', value: 1e200, contextKey: 'u5' },
    ];
    await send(events);
    expect(calls).toHaveLength(1);
    const [first, second] = calls[0].body.events;
    expect(first).toEqual({ kind: 'metric', name: 'checkout.errors', value: 1, contextKey: 'u1', timestamp: expect.any(Number) });
    expect(first.timestamp).toBeGreaterThanOrEqual(before);
    expect(second).toEqual({ kind: 'metric', name: 'latency_ms', value: 12.5, contextKey: 'u2', timestamp: NOW - 1000 });
    expect(calls[0].body.events).toHaveLength(2);
    expect(skipped).toEqual(['the metric name must match ^[A-Za-z][A-Za-z0-9_.:-]{0,127}$', 'the value is not a finite number', 'no contextKey', 'the value is beyond ±1e12']);
  });
});
