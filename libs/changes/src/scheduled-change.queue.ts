import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';

/** The BullMQ queue of scheduled changes (its keys live under the Redis key prefix). */
export const SCHEDULED_CHANGES_QUEUE = 'scheduled-changes';

/** What a job carries: the change and the version it was enqueued for (stale versions are skipped). */
export interface ScheduledChangeJobData {
  id: string;
  version: number;
}

/** A pending change as the queue needs it. */
export interface ScheduledChangeRef {
  id: string;
  version: number;
  runAt: Date;
}

/**
 * The deterministic job id of a change at a version: enqueueing it again (the worker's sweep, a
 * second admin) finds the job already there instead of adding another. BullMQ ids may not hold ':'.
 */
export function scheduledChangeJobId(id: string, version: number): string {
  return `sched-${id}-v${version}`;
}

/** BullMQ joins its prefix and the queue name with ':'; `flagstream:` becomes `flagstream`. */
export function bullPrefix(keyPrefix: string): string {
  return keyPrefix.replace(/:+$/, '') || 'flagstream';
}

/** How jobs retry transient failures (a validation failure is never retried). */
export interface ScheduledChangeJobPolicy {
  attempts: number;
  /** First retry delay; each next one doubles. */
  backoffMs: number;
}

export const DEFAULT_SCHEDULED_CHANGE_JOB_POLICY: ScheduledChangeJobPolicy = { attempts: 8, backoffMs: 1000 };

/** What the write path needs from a queue: put pending changes in it, take cancelled ones out. */
export interface ScheduledChangeQueuePort {
  enqueue(changes: readonly ScheduledChangeRef[]): Promise<void>;
  remove(id: string, version: number): Promise<void>;
}

/**
 * Delayed BullMQ jobs for pending scheduled changes. Postgres is the record: a job only says "look
 * at change X at version V now", so losing, duplicating or re-running jobs never loses or
 * doubles a change.
 */
export class ScheduledChangeQueue implements ScheduledChangeQueuePort {
  readonly queue: Queue<ScheduledChangeJobData>;

  /** `connection`: an ioredis client without `keyPrefix` (BullMQ prefixes its keys itself); not closed by `close`. */
  constructor(
    connection: Redis,
    keyPrefix: string,
    private readonly policy: ScheduledChangeJobPolicy = DEFAULT_SCHEDULED_CHANGE_JOB_POLICY,
  ) {
    this.queue = new Queue<ScheduledChangeJobData>(SCHEDULED_CHANGES_QUEUE, { connection, prefix: bullPrefix(keyPrefix) });
  }

  /** Adds a delayed job per change; changes whose job exists (any state) keep it. */
  async enqueue(changes: readonly ScheduledChangeRef[], now = Date.now()): Promise<void> {
    if (!changes.length) return;
    await this.queue.addBulk(changes.map((c) => ({ name: 'apply', data: { id: c.id, version: c.version }, opts: this.jobOptions(c, now) })));
  }

  /** Removes the job of a change at a version, unless a worker is running it (it will skip the change). */
  async remove(id: string, version: number): Promise<void> {
    await this.queue.remove(scheduledChangeJobId(id, version));
  }

  /**
   * Moves back to waiting the failed jobs (retries exhausted on transient errors) of changes that
   * are still pending at that version; returns how many.
   */
  async retryFailed(pending: ReadonlySet<string>): Promise<number> {
    let retried = 0;
    for (const job of await this.queue.getFailed(0, 999)) {
      if (!job.id || !pending.has(job.id)) continue;
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      retried++;
    }
    return retried;
  }

  close(): Promise<void> {
    return this.queue.close();
  }

  private jobOptions(c: ScheduledChangeRef, now: number): JobsOptions {
    return {
      jobId: scheduledChangeJobId(c.id, c.version),
      delay: Math.max(0, c.runAt.getTime() - now),
      attempts: this.policy.attempts,
      backoff: { type: 'exponential', delay: this.policy.backoffMs },
      // Postgres keeps the history; Redis keeps enough to inspect recent runs.
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
    };
  }
}
