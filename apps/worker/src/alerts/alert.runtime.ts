import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ALERTS_QUEUE, bullPrefix } from '@flagstream/changes';
import type { AlertEvent } from './alert-event';
import { AlertDeliverer, type AlertDeliveryResult } from './alert.deliverer';
import { webhookOrigin, type AlertSettings } from './alert.env';
import { AlertMetrics } from './alert.metrics';
import { AlertQueue } from './alert.queue';

/** What the alert runtime needs; the connections stay the caller's (not closed by `close`). */
export interface AlertRuntimeDeps {
  /** Commands: the queue's connection. */
  redis: Redis;
  /** `maxRetriesPerRequest: null`: BullMQ's worker connection (it duplicates it for blocking reads). */
  blockingRedis: Redis;
  logger: Logger;
  registry: Registry;
  /** REDIS_KEY_PREFIX: the queue's keys live under `bullPrefix(keyPrefix)`. */
  keyPrefix: string;
  settings: AlertSettings;
  /** Deliveries in flight at once (default 4); a slow receiver holds one each for up to its timeout. */
  concurrency?: number;
}

/**
 * Alert delivery inside the worker process: the queue that code raising alerts emits on, and,
 * when a webhook is configured, the BullMQ worker that delivers them. Without a webhook nothing is
 * queued (alerts are logged) and no worker runs; jobs queued earlier wait for one.
 */
export class AlertRuntime {
  readonly queue: AlertQueue;
  readonly metrics: AlertMetrics;
  private worker: Worker<AlertEvent, AlertDeliveryResult> | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly deps: AlertRuntimeDeps) {
    this.queue = new AlertQueue(deps.redis, deps.keyPrefix, { policy: deps.settings.policy, deliver: deps.settings.webhook !== null, logger: deps.logger });
    this.metrics = new AlertMetrics(deps.registry);
  }

  /** Starts delivering (with a webhook); without one, says once that alerts are only logged. */
  start(): void {
    const { settings, logger } = this.deps;
    if (this.worker || this.closing) return;
    if (!settings.webhook) {
      logger.warn('no alert webhook configured (ALERT_WEBHOOK_URL): alerts are logged, not delivered');
      return;
    }
    const deliverer = new AlertDeliverer(settings.webhook, this.metrics, logger);
    this.worker = new Worker<AlertEvent, AlertDeliveryResult>(ALERTS_QUEUE, (job) => deliverer.process(job), {
      connection: this.deps.blockingRedis,
      prefix: bullPrefix(this.deps.keyPrefix),
      concurrency: this.deps.concurrency ?? 4,
      // A delivery takes at most its timeout: the lock outlives it, so a slow receiver never looks stalled.
      lockDuration: Math.max(30_000, 2 * settings.webhook.timeoutMs),
    });
    this.worker.on('error', (err) => logger.error({ err }, 'alert worker error'));
    logger.info({ target: webhookOrigin(settings.webhook.url), attempts: settings.policy.attempts }, 'alert delivery started');
  }

  /** True while alerts can be emitted and, with a webhook, are being delivered (the readiness check). */
  get running(): boolean {
    if (this.closing) return false;
    return this.deps.settings.webhook === null || (this.worker !== null && this.worker.isRunning());
  }

  /** Graceful stop: no new deliveries; those in flight finish (or time out) before it resolves. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.worker?.close();
      await this.queue.close();
    })();
    return this.closing;
  }
}

/** The alert runtime: construct, `start()`, and `close()` after the workers that emit alerts. */
export function createAlertRuntime(deps: AlertRuntimeDeps): AlertRuntime {
  return new AlertRuntime(deps);
}
