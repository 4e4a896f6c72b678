import { UnrecoverableError, type Job } from 'bullmq';
import { Registry } from 'prom-client';
import { createLogger } from '@flagstream/server';
import type { AlertEvent } from './alert-event';
import { AlertDeliverer, type FetchLike } from './alert.deliverer';
import { AlertMetrics } from './alert.metrics';
import { verifyWebhookSignature } from './webhook-signature';

const SECRET = 'unit-secret-0123456789abcdef0123456789abcdef';
const URL = 'https://hooks.example.com/services/T0/B0/path-token?key=query-token';
const NOW = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
const EVENT: AlertEvent = {
  id: 'guardrail-4f1c2d-v3',
  type: 'release_plan.guardrail_breached',
  occurredAt: '2030-01-02T03:04:05.000Z',
  project: 'shop',
  environment: 'prod',
  summary: 'Release plan "checkout-v2" was rolled back: error rate 4.1% > 2%.',
  data: { releasePlan: '4f1c2d', errorRate: 0.041 },
};

interface Call {
  url: string;
  init: RequestInit;
}

function job(attemptsMade = 0, attempts = 10): Job<AlertEvent> {
  return { id: EVENT.id, data: EVENT, attemptsMade, opts: { attempts } } as unknown as Job<AlertEvent>;
}

describe('AlertDeliverer', () => {
  let registry: Registry;
  let metrics: AlertMetrics;
  let lines: string[];
  let calls: Call[];

  function deliverer(answer: (call: Call) => Promise<Response>, timeoutMs = 5000): AlertDeliverer {
    const fetch: FetchLike = (url, init) => {
      const call = { url, init };
      calls.push(call);
      return answer(call);
    };
    const logger = createLogger('worker-test', 'debug', { write: (line: string) => void lines.push(line) });
    return new AlertDeliverer({ url: URL, secret: SECRET, timeoutMs }, metrics, logger, { fetch, now: () => NOW });
  }

  async function outcomes(): Promise<Record<string, number>> {
    const metric = await registry.getSingleMetric('flagstream_worker_alert_deliveries_total')!.get();
    return Object.fromEntries(metric.values.map((v) => [String(v.labels.outcome), v.value]));
  }

  function logs(): Array<Record<string, unknown>> {
    return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  beforeEach(() => {
    registry = new Registry();
    metrics = new AlertMetrics(registry);
    lines = [];
    calls = [];
  });

  it('POSTs the event as JSON with its headers and a signature of the exact body', async () => {
    const result = await deliverer(async () => new Response('ok', { status: 200 })).process(job(2));
    expect(result).toEqual({ status: 200, attempt: 3, ms: expect.any(Number) });
    expect(calls).toHaveLength(1);
    const { url, init } = calls[0];
    expect(url).toBe(URL);
    expect(init.method).toBe('POST');
    expect(init.redirect).toBe('manual');
    expect(init.signal).toBeInstanceOf(AbortSignal);
    expect(JSON.parse(init.body as string)).toEqual(EVENT);
    const headers = init.headers as Record<string, string>;
    expect(headers).toEqual({
      'content-type': 'application/json',
      'user-agent': 'flagstream-worker',
      'flagstream-event-id': 'guardrail-4f1c2d-v3',
      'flagstream-event-type': 'release_plan.guardrail_breached',
      'flagstream-delivery-attempt': '3',
      'flagstream-signature': expect.stringMatching(/^t=1893553445,v1=[0-9a-f]{64}$/),
    });
    expect(verifyWebhookSignature(SECRET, headers['flagstream-signature'], init.body as string, { now: NOW })).toBe(true);
    expect(await outcomes()).toEqual({ delivered: 1, retry: 0, refused: 0 });
    expect(logs()).toEqual([expect.objectContaining({ level: 30, msg: 'alert delivered', alert: EVENT.id, status: 200, attempt: 3, target: 'https://hooks.example.com' })]);
  });

  it.each([200, 201, 202, 204, 299])('counts %i as delivered', async (status) => {
    await expect(deliverer(async () => new Response(null, { status })).process(job())).resolves.toMatchObject({ status });
    expect(await outcomes()).toEqual({ delivered: 1, retry: 0, refused: 0 });
  });

  it.each([408, 429, 500, 502, 503, 504])('throws a retryable error on %i', async (status) => {
    const error = await deliverer(async () => new Response('busy', { status })).process(job()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe(`alert receiver answered ${status}`);
    expect(await outcomes()).toEqual({ delivered: 0, retry: 1, refused: 0 });
    expect(logs()).toEqual([expect.objectContaining({ level: 40, msg: 'alert delivery failed; it will be retried', status, responseBody: 'busy', attempt: 1 })]);
  });

  it.each([400, 401, 403, 404, 410, 413, 422, 301, 302, 307])('refuses without retry on %i', async (status) => {
    const answer = status < 400 ? new Response(null, { status, headers: { location: 'https://elsewhere.example.com/' } }) : new Response('no', { status });
    const error = await deliverer(async () => answer).process(job()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toMatch(new RegExp(`^alert receiver refused the delivery with ${status}`));
    expect(await outcomes()).toEqual({ delivered: 0, retry: 0, refused: 1 });
    expect(logs()).toEqual([expect.objectContaining({ level: 50, msg: 'alert refused by the receiver; it will not be retried', status })]);
  });

  it('retries network errors, naming their cause', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
    const error = await deliverer(async () => {
      throw new TypeError('fetch failed', { cause: refused });
    })
      .process(job())
      .catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe('alert delivery failed: network error: ECONNREFUSED');
    expect(await outcomes()).toEqual({ delivered: 0, retry: 1, refused: 0 });
  });

  it('gives up on a receiver that does not answer within the timeout, and retries', async () => {
    const hang = ({ init }: Call) =>
      new Promise<Response>((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason as Error)));
    const started = Date.now();
    const error = await deliverer(hang, 50).process(job()).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe('alert delivery failed: no answer within 50 ms');
    expect(await outcomes()).toEqual({ delivered: 0, retry: 1, refused: 0 });
  });

  it('logs the last failing attempt as an error', async () => {
    await expect(deliverer(async () => new Response('down', { status: 503 })).process(job(9, 10))).rejects.toThrow('alert receiver answered 503');
    expect(logs()).toEqual([expect.objectContaining({ level: 50, msg: 'alert delivery failed on its last attempt; the job stays failed for 7 days', attempt: 10 })]);
  });

  it('logs at most 200 characters of a response body, and never the secret or the URL path', async () => {
    const long = `${'é'.repeat(150)}${'x'.repeat(100_000)}`;
    await expect(deliverer(async () => new Response(long, { status: 500 })).process(job())).rejects.toThrow('alert receiver answered 500');
    await expect(deliverer(async () => new Response(long, { status: 400 })).process(job())).rejects.toThrow(UnrecoverableError);
    const bodies = logs().map((l) => l.responseBody);
    expect(bodies).toEqual([`${'é'.repeat(150)}${'x'.repeat(50)}`, `${'é'.repeat(150)}${'x'.repeat(50)}`]);
    const all = lines.join('\n');
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain('path-token');
    expect(all).not.toContain('query-token');
  });
});
