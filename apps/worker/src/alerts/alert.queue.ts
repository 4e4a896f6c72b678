import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ALERTS_QUEUE, bullPrefix } from '@flagstream/changes';
import { alertEventProblems, type AlertEvent } from './alert-event';
import type { AlertJobPolicy } from './alert.env';

/** The defaults of `ALERT_ATTEMPTS` and `ALERT_BACKOFF_MS`: about 17 minutes of retries in all. */
export const DEFAULT_ALERT_JOB_POLICY: AlertJobPolicy = { attempts: 10, backoffMs: 2000 };

/** What `emit` did: queued under the event id, or only logged (no webhook configured). */
export type EmitResult = { queued: true; jobId: string } | { queued: false };

/** What code that raises alerts needs (guardrails): a port, so its tests can use a fake. */
export interface AlertSink {
  emit(event: AlertEvent): Promise<EmitResult>;
}

/** Options of {@link AlertQueue}. */
export interface AlertQueueOptions {
  policy: AlertJobPolicy;
  /** False when no webhook is configured: `emit` logs the alert instead of queueing it. */
  deliver: boolean;
  logger: Logger;
}

/**
 * The producer side of alert deliveries. One job per alert, its id the event id: emitting an alert
 * again (a retried guardrail run) while its job is kept queues nothing new, and the receiver
 * dedupes on the same id. Retries follow the policy; failed jobs are kept 7 days for inspection.
 */
export class AlertQueue implements AlertSink {
  readonly queue: Queue<AlertEvent>;

  /** `connection`: an ioredis client without `keyPrefix`; not closed by `close`. */
  constructor(
    connection: Redis,
    keyPrefix: string,
    private readonly options: AlertQueueOptions,
  ) {
    this.queue = new Queue<AlertEvent>(ALERTS_QUEUE, { connection, prefix: bullPrefix(keyPrefix) });
  }

  /**
   * Queues the delivery of `event`, or, without a webhook, logs it at warn level (summary and ids
   * only: `data` may be large) and queues nothing. Throws on a malformed event (a bug in the
   * emitter) and when Redis refuses the job (the caller's job should fail and retry).
   */
  async emit(event: AlertEvent): Promise<EmitResult> {
    const problems = alertEventProblems(event);
    if (problems.length) throw new Error(`invalid alert event: ${problems.join('; ')}`);
    const ids = { alert: event.id, alertType: event.type, project: event.project, environment: event.environment };
    if (!this.options.deliver) {
      this.options.logger.warn({ ...ids, summary: event.summary }, 'alert not delivered: no webhook configured (ALERT_WEBHOOK_URL)');
      return { queued: false };
    }
    await this.queue.add('deliver', event, this.jobOptions(event));
    this.options.logger.info(ids, 'alert queued for delivery');
    return { queued: true, jobId: event.id };
  }

  /** Closes the BullMQ queue (not the connection it was given). */
  close(): Promise<void> {
    return this.queue.close();
  }

  private jobOptions(event: AlertEvent): JobsOptions {
    return {
      jobId: event.id,
      attempts: this.options.policy.attempts,
      backoff: { type: 'exponential', delay: this.options.policy.backoffMs },
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
    };
  }
}
