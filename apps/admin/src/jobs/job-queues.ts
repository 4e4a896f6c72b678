import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ALERTS_QUEUE, EXPERIMENTS_QUEUE, GUARDRAILS_QUEUE, RELEASE_PLANS_QUEUE, SCHEDULED_CHANGES_QUEUE, SECRET_MAINTENANCE_QUEUE, bullPrefix } from '@flagstream/changes';

/** Every queue the worker runs, in the order the admin API lists them. */
export const JOB_QUEUE_NAMES = [SCHEDULED_CHANGES_QUEUE, RELEASE_PLANS_QUEUE, GUARDRAILS_QUEUE, ALERTS_QUEUE, SECRET_MAINTENANCE_QUEUE, EXPERIMENTS_QUEUE] as const;

/** A queue the failed-jobs routes may look into; any other name is a client mistake. */
export type JobQueueName = (typeof JOB_QUEUE_NAMES)[number];

/**
 * Handles on the worker's queues. The admin process only reads them and retries or removes
 * failed jobs: it runs no BullMQ worker, so it never processes a job itself.
 */
export type JobQueues = Readonly<Record<JobQueueName, Queue>>;

/** Narrows a string from a request to a queue name. */
export function isJobQueueName(value: unknown): value is JobQueueName {
  return typeof value === 'string' && (JOB_QUEUE_NAMES as readonly string[]).includes(value);
}

/**
 * Opens a handle per queue under `bullPrefix(keyPrefix)`, the prefix the worker uses.
 * `connection`: an ioredis client without `keyPrefix` (BullMQ prefixes its keys itself); it is
 * shared and not closed by `closeJobQueues`. `onError` hears connection errors, which BullMQ would
 * otherwise print to the console on every Redis blip.
 */
export function openJobQueues(connection: Redis, keyPrefix: string, onError: (err: Error) => void = () => undefined): JobQueues {
  const prefix = bullPrefix(keyPrefix);
  const open = (name: JobQueueName): Queue => new Queue(name, { connection, prefix }).on('error', onError);
  return {
    [SCHEDULED_CHANGES_QUEUE]: open(SCHEDULED_CHANGES_QUEUE),
    [RELEASE_PLANS_QUEUE]: open(RELEASE_PLANS_QUEUE),
    [GUARDRAILS_QUEUE]: open(GUARDRAILS_QUEUE),
    [ALERTS_QUEUE]: open(ALERTS_QUEUE),
    [SECRET_MAINTENANCE_QUEUE]: open(SECRET_MAINTENANCE_QUEUE),
    [EXPERIMENTS_QUEUE]: open(EXPERIMENTS_QUEUE),
  };
}

/** Closes every handle (not the shared connection). */
export async function closeJobQueues(queues: JobQueues): Promise<void> {
  await Promise.all(JOB_QUEUE_NAMES.map((name) => queues[name].close()));
}
