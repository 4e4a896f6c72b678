import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { ALERTS_QUEUE, bullPrefix } from '@flagstream/changes';
import { createLogger } from '@flagstream/server';
import { TEST_REDIS_URL, uniqueId } from '@flagstream/testing';
import type { AlertEvent } from './alert-event';
import type { AlertDeliveryResult } from './alert.deliverer';
import type { AlertSettings } from './alert.env';
import { createAlertRuntime, type AlertRuntime } from './alert.runtime';
import { verifyWebhookSignature } from './webhook-signature';

const SECRET = `int-secret-${uniqueId()}-0123456789abcdef0123456789`;
const BACKOFF_MS = 100;
const TIMEOUT_MS = 400;

/** What the receiver answers to one attempt: a status, a status after a delay, or no answer at all. */
type Answer = number | { status: number; afterMs: number } | 'hang';

interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  url: string;
}

/** A webhook receiver on a random local port, answering each event id from its script (then 200). */
class Receiver {
  readonly received = new Map<string, Received[]>();
  private readonly scripts = new Map<string, Answer[]>();
  private readonly hanging: ServerResponse[] = [];
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['flagstream-event-id']);
      const list = this.received.get(id) ?? [];
      list.push({ at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), url: req.url ?? '' });
      this.received.set(id, list);
      const answer = this.scripts.get(id)?.[list.length - 1] ?? 200;
      if (answer === 'hang') return void this.hanging.push(res);
      const { status, afterMs } = typeof answer === 'number' ? { status: answer, afterMs: 0 } : answer;
      // A long body: the worker must log 200 characters of it, no more.
      setTimeout(() => res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? `error ${status} ${'x'.repeat(5000)}` : 'ok'), afterMs);
    });
  });

  script(id: string, answers: Answer[]): void {
    this.scripts.set(id, answers);
  }

  requests(id: string): Received[] {
    return this.received.get(id) ?? [];
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let sequence = 0;
function alertEvent(overrides: Partial<AlertEvent> = {}): AlertEvent {
  sequence++;
  return {
    id: `it-${uniqueId()}-${sequence}`,
    type: 'release_plan.guardrail_breached',
    occurredAt: new Date().toISOString(),
    project: 'shop',
    environment: 'prod',
    summary: `Release plan "checkout-v2" was rolled back (test ${sequence}).`,
    data: { releasePlan: 'a1b2c3', milestone: 2, errorRate: 0.041, threshold: 0.02, note: 'Déploiement annulé' },
    ...overrides,
  };
}

/** Collects pino's JSON lines in memory. */
function memoryLogger() {
  const lines: string[] = [];
  const logger = createLogger('worker-test', 'debug', { write: (line: string) => void lines.push(line) });
  return { logger, lines, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('alert delivery (BullMQ on Redis -> signed webhook)', () => {
  const receiver = new Receiver();
  const registry = new Registry();
  const log = memoryLogger();
  const prefixes: string[] = [];
  let redis: Redis;
  let blockingRedis: Redis;
  let baseUrl: string;
  let webhookUrl: string;
  let runtime: AlertRuntime;

  function settings(overrides: Partial<AlertSettings> = {}): AlertSettings {
    return { webhook: { url: webhookUrl, secret: SECRET, timeoutMs: TIMEOUT_MS }, policy: { attempts: 4, backoffMs: BACKOFF_MS }, ...overrides };
  }

  function startRuntime(s: AlertSettings, logger = log.logger, reg = registry): AlertRuntime {
    const keyPrefix = `flagstream-test:${uniqueId()}:`;
    prefixes.push(keyPrefix);
    const r = createAlertRuntime({ redis, blockingRedis, logger, registry: reg, keyPrefix, settings: s, concurrency: 2 });
    r.start();
    return r;
  }

  async function settled(r: AlertRuntime, id: string, state: 'completed' | 'failed', timeoutMs = 10_000): Promise<Job<AlertEvent, AlertDeliveryResult>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await r.queue.queue.getJob(id);
      const now = job ? await job.getState() : 'missing';
      if (now === state) return job as Job<AlertEvent, AlertDeliveryResult>;
      if (Date.now() > deadline) throw new Error(`job ${id} is ${now}, not ${state}, after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function outcomes(): Promise<Record<string, number>> {
    const metric = await registry.getSingleMetric('flagstream_worker_alert_deliveries_total')!.get();
    return Object.fromEntries(metric.values.map((v) => [String(v.labels.outcome), v.value]));
  }

  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
    blockingRedis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    baseUrl = await receiver.listen();
    // A path and query string, as hosted webhooks have: they carry tokens and must stay out of logs.
    webhookUrl = `${baseUrl}/hooks/flagstream/path-token?key=query-token`;
    runtime = startRuntime(settings());
  });
  afterAll(async () => {
    await runtime.close();
    await receiver.close();
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
    blockingRedis.disconnect();
  });

  it('delivers an alert once, signed, with its headers and the event as the body', async () => {
    const event = alertEvent();
    expect(await runtime.queue.emit(event)).toEqual({ queued: true, jobId: event.id });
    const job = await settled(runtime, event.id, 'completed');
    expect(job.returnvalue).toEqual({ status: 200, attempt: 1, ms: expect.any(Number) });
    expect(job.attemptsMade).toBe(1);

    const [request, ...more] = receiver.requests(event.id);
    expect(more).toEqual([]);
    expect(request.url).toBe('/hooks/flagstream/path-token?key=query-token');
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'flagstream-worker',
      'flagstream-event-id': event.id,
      'flagstream-event-type': 'release_plan.guardrail_breached',
      'flagstream-delivery-attempt': '1',
    });
    expect(JSON.parse(request.body)).toEqual(event);
    const signature = request.headers['flagstream-signature'] as string;
    expect(signature).toMatch(/^t=\d{10},v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(SECRET, signature, request.body, { toleranceSeconds: 60 })).toBe(true);
    expect(verifyWebhookSignature(SECRET, signature, request.body.replace('shop', 'shoq'))).toBe(false);
    expect(verifyWebhookSignature('another-secret-0123456789abcdef0123', signature, request.body)).toBe(false);

    // Emitting the same alert again (a retried guardrail run) queues nothing new: the job id is the event id.
    expect(await runtime.queue.emit(event)).toEqual({ queued: true, jobId: event.id });
    await pause(300);
    expect(receiver.requests(event.id)).toHaveLength(1);
  });

  it('retries 5xx answers with exponential backoff and delivers on the third attempt', async () => {
    const before = await outcomes();
    const event = alertEvent();
    receiver.script(event.id, [500, 503, 200]);
    await runtime.queue.emit(event);
    const job = await settled(runtime, event.id, 'completed');
    expect(job.returnvalue).toMatchObject({ status: 200, attempt: 3 });
    expect(job.attemptsMade).toBe(3);

    const requests = receiver.requests(event.id);
    expect(requests.map((r) => r.headers['flagstream-delivery-attempt'])).toEqual(['1', '2', '3']);
    for (const r of requests) {
      expect(r.body).toBe(requests[0].body);
      expect(verifyWebhookSignature(SECRET, r.headers['flagstream-signature'] as string, r.body, { toleranceSeconds: 60 })).toBe(true);
    }
    // BullMQ's exponential backoff: the first retry waits BACKOFF_MS, the second twice that.
    expect(requests[1].at - requests[0].at).toBeGreaterThanOrEqual(BACKOFF_MS - 5);
    expect(requests[2].at - requests[1].at).toBeGreaterThanOrEqual(2 * BACKOFF_MS - 5);
    const after = await outcomes();
    expect({ delivered: after.delivered - before.delivered, retry: after.retry - before.retry, refused: after.refused - before.refused }).toEqual({ delivered: 1, retry: 2, refused: 0 });
  });

  it('fails the job after exactly one attempt when the receiver answers 400', async () => {
    const event = alertEvent();
    receiver.script(event.id, [400]);
    await runtime.queue.emit(event);
    const job = await settled(runtime, event.id, 'failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe('alert receiver refused the delivery with 400; not retried');
    // Well past the first backoff: still one request.
    await pause(4 * BACKOFF_MS);
    expect(receiver.requests(event.id)).toHaveLength(1);
    expect(await job.getState()).toBe('failed');
  });

  it('retries a receiver that does not answer within the timeout', async () => {
    const event = alertEvent();
    receiver.script(event.id, ['hang', 200]);
    await runtime.queue.emit(event);
    const job = await settled(runtime, event.id, 'completed');
    expect(job.returnvalue).toMatchObject({ status: 200, attempt: 2 });
    const [first, second] = receiver.requests(event.id);
    expect(second.at - first.at).toBeGreaterThanOrEqual(TIMEOUT_MS + BACKOFF_MS - 5);
    expect(log.entries()).toContainEqual(expect.objectContaining({ alert: event.id, attempt: 1, error: `no answer within ${TIMEOUT_MS} ms`, msg: 'alert delivery failed; it will be retried' }));
  });

  it('keeps the secret, the URL path and long response bodies out of the log', async () => {
    const event = alertEvent();
    receiver.script(event.id, [502, 403]);
    await runtime.queue.emit(event);
    const job = await settled(runtime, event.id, 'failed');
    expect(job.attemptsMade).toBe(2);

    const mine = log.entries().filter((e) => e.alert === event.id);
    expect(mine.map((e) => [e.level, e.msg, e.status ?? null])).toEqual([
      [30, 'alert queued for delivery', null],
      [40, 'alert delivery failed; it will be retried', 502],
      [50, 'alert refused by the receiver; it will not be retried', 403],
    ]);
    for (const e of mine.slice(1)) {
      expect(e.target).toBe(baseUrl);
      expect(String(e.responseBody)).toMatch(/^error \d{3} x+$/);
      expect(String(e.responseBody)).toHaveLength(200);
    }
    const all = log.lines.join('');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(SECRET.slice(0, 16));
    expect(all).not.toContain('path-token');
    expect(all).not.toContain('query-token');
    // Nor in what Redis keeps of the job.
    expect(JSON.stringify(await job.toJSON())).not.toContain(SECRET);
  });

  it('finishes the delivery in flight before close resolves', async () => {
    const r = startRuntime(settings(), log.logger, new Registry());
    const keyPrefix = prefixes[prefixes.length - 1];
    const event = alertEvent();
    receiver.script(event.id, [{ status: 200, afterMs: 300 }]);
    await r.queue.emit(event);
    const deadline = Date.now() + 10_000;
    while (!receiver.requests(event.id).length && Date.now() < deadline) await pause(10);
    expect(r.running).toBe(true);
    await r.close();
    expect(r.running).toBe(false);
    const [request] = receiver.requests(event.id);
    expect(Date.now() - request.at).toBeGreaterThanOrEqual(295);
    const inspect = new Queue<AlertEvent, AlertDeliveryResult>(ALERTS_QUEUE, { connection: redis, prefix: bullPrefix(keyPrefix) });
    try {
      const job = await inspect.getJob(event.id);
      expect(await job!.getState()).toBe('completed');
      expect(job!.returnvalue).toMatchObject({ status: 200, attempt: 1 });
    } finally {
      await inspect.close();
    }
  });

  it('without a webhook, queues nothing and logs the alert at warn level', async () => {
    const quiet = memoryLogger();
    const r = startRuntime({ webhook: null, policy: { attempts: 4, backoffMs: BACKOFF_MS } }, quiet.logger, new Registry());
    try {
      expect(r.running).toBe(true);
      const event = alertEvent();
      expect(await r.queue.emit(event)).toEqual({ queued: false });
      expect(await r.queue.queue.getJob(event.id)).toBeUndefined();
      expect(await r.queue.queue.getJobCounts('waiting', 'delayed', 'active', 'completed', 'failed')).toMatchObject({ waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 });
      // BullMQ writes the queue's meta key; no job, list or set exists.
      expect(await redis.keys(`${prefixes[prefixes.length - 1]}*`)).toEqual([`${bullPrefix(prefixes[prefixes.length - 1])}:alerts:meta`]);
      expect(quiet.entries().map(({ level, msg, alert, alertType, project, environment, summary, data }) => ({ level, msg, alert, alertType, project, environment, summary, data }))).toEqual([
        { level: 40, msg: 'no alert webhook configured (ALERT_WEBHOOK_URL): alerts are logged, not delivered' },
        {
          level: 40,
          msg: 'alert not delivered: no webhook configured (ALERT_WEBHOOK_URL)',
          alert: event.id,
          alertType: 'release_plan.guardrail_breached',
          project: 'shop',
          environment: 'prod',
          summary: event.summary,
          data: undefined,
        },
      ]);
      expect(receiver.requests(event.id)).toEqual([]);
    } finally {
      await r.close();
    }
  });

  it('refuses a malformed event at emit', async () => {
    await expect(runtime.queue.emit(alertEvent({ id: 'plan:1' }))).rejects.toThrow(/^invalid alert event: id: must be 1-200 letters/);
  });
});
