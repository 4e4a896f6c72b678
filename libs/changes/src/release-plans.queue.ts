import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { bullPrefix, DEFAULT_SCHEDULED_CHANGE_JOB_POLICY, type ScheduledChangeJobPolicy } from './scheduled-change.queue';

/** The BullMQ queue of release plan transitions (its keys live under the Redis key prefix). */
export const RELEASE_PLANS_QUEUE = 'release-plans';

/** What a job carries: move plan `id`, at `version`, to milestone `milestone`. */
export interface ReleasePlanJobData {
  id: string;
  version: number;
  milestone: number;
}

/** A timed transition as the queue needs it. */
export interface ReleasePlanTransitionRef extends ReleasePlanJobData {
  at: Date;
}

/**
 * The deterministic job id of a transition: the plan, the milestone it moves to, and the plan
 * version it was scheduled at (a pause and resume makes a new version, so a new job). No ':'.
 */
export function releasePlanJobId(id: string, milestone: number, version: number): string {
  return `plan-${id}-m${milestone}-v${version}`;
}

/** What the write path needs from a queue. */
export interface ReleasePlanQueuePort {
  enqueue(transitions: readonly ReleasePlanTransitionRef[]): Promise<void>;
  remove(id: string, milestone: number, version: number): Promise<void>;
}

/** Delayed BullMQ jobs for timed transitions; Postgres is the record, a job only wakes the worker. */
export class ReleasePlanQueue implements ReleasePlanQueuePort {
  readonly queue: Queue<ReleasePlanJobData>;

  /** `connection`: an ioredis client without `keyPrefix`; not closed by `close`. */
  constructor(
    connection: Redis,
    keyPrefix: string,
    private readonly policy: ScheduledChangeJobPolicy = DEFAULT_SCHEDULED_CHANGE_JOB_POLICY,
  ) {
    this.queue = new Queue<ReleasePlanJobData>(RELEASE_PLANS_QUEUE, { connection, prefix: bullPrefix(keyPrefix) });
  }

  /** Adds a delayed job per transition; transitions whose job exists (any state) keep it. */
  async enqueue(transitions: readonly ReleasePlanTransitionRef[], now = Date.now()): Promise<void> {
    if (!transitions.length) return;
    await this.queue.addBulk(
      transitions.map((t) => ({ name: 'advance', data: { id: t.id, version: t.version, milestone: t.milestone }, opts: this.jobOptions(t, now) })),
    );
  }

  async remove(id: string, milestone: number, version: number): Promise<void> {
    await this.queue.remove(releasePlanJobId(id, milestone, version));
  }

  /** Moves back to waiting the failed jobs whose ids are in `due`; returns how many. */
  async retryFailed(due: ReadonlySet<string>): Promise<number> {
    let retried = 0;
    for (const job of await this.queue.getFailed(0, 999)) {
      if (!job.id || !due.has(job.id)) continue;
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      retried++;
    }
    return retried;
  }

  close(): Promise<void> {
    return this.queue.close();
  }

  private jobOptions(t: ReleasePlanTransitionRef, now: number): JobsOptions {
    return {
      jobId: releasePlanJobId(t.id, t.milestone, t.version),
      delay: Math.max(0, t.at.getTime() - now),
      attempts: this.policy.attempts,
      backoff: { type: 'exponential', delay: this.policy.backoffMs },
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
    };
  }
}
