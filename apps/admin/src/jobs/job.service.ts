import { Inject, Injectable } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { redactSensitive } from '@flagstream/audit';
import type { WriteContext } from '@flagstream/changes';
import { NotFoundError } from '@flagstream/errors';
import { ChangeService } from '../changes/change.service';
import type { FailedJobPage, JobCountsView, JobView } from './job.dto';
import { JOB_QUEUE_NAMES, type JobQueueName, type JobQueues } from './job-queues';
import { JobQueuesUnavailableError } from './job-queues-unavailable.error';
import { JOB_QUEUES } from './jobs.tokens';

/**
 * Failed jobs of the worker's queues, for operators: look at them, send them back to waiting, or
 * drop them. Retries and removals are audited like any admin write (instance-wide events); the
 * audit lock of the write path also serialises two admins acting on the same job.
 */
@Injectable()
export class JobService {
  constructor(
    @Inject(JOB_QUEUES) private readonly queues: JobQueues | null,
    private readonly changes: ChangeService,
  ) {}

  async counts(): Promise<JobCountsView> {
    const queues = this.all();
    const items = await Promise.all(
      JOB_QUEUE_NAMES.map(async (queue) => {
        // Asking for 'waiting' also answers 'paused'; both, and prioritized jobs, are ready to run.
        const c = await queues[queue].getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed', 'completed');
        return {
          queue,
          waiting: (c.waiting ?? 0) + (c.paused ?? 0) + (c.prioritized ?? 0),
          delayed: c.delayed ?? 0,
          active: c.active ?? 0,
          failed: c.failed ?? 0,
          completed: c.completed ?? 0,
        };
      }),
    );
    return { items };
  }

  /** Newest failure first. */
  async failed(name: JobQueueName, start: number, limit: number): Promise<FailedJobPage> {
    const queue = this.all()[name];
    const [jobs, total] = await Promise.all([queue.getFailed(start, start + limit - 1), queue.getFailedCount()]);
    // A job removed between the range read and its fetch comes back empty.
    const items = jobs.filter((j): j is Job => Boolean(j?.id)).map((j) => viewOf(name, j, 'failed'));
    return { items, total, nextStart: start + limit < total ? start + limit : null };
  }

  /** Back to waiting with its attempts reset, as if it had just been added. */
  async retry(w: WriteContext, name: JobQueueName, id: string): Promise<JobView> {
    const queue = this.all()[name];
    return this.changes.write(w, async () => {
      const job = await mustFailed(queue, name, id);
      const before = viewOf(name, job, 'failed');
      try {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      } catch (err) {
        // Retried or removed by someone else (the worker's sweep retries scheduled changes) since the read.
        await mustFailed(queue, name, id);
        throw err;
      }
      const after = viewOf(name, job, await job.getState());
      return { result: after, audit: { action: 'job.retried', target: { type: 'job', key: `${name}/${id}` }, project: null, before, after } };
    });
  }

  async remove(w: WriteContext, name: JobQueueName, id: string): Promise<void> {
    const queue = this.all()[name];
    await this.changes.write(w, async () => {
      const job = await mustFailed(queue, name, id);
      const before = viewOf(name, job, 'failed');
      // A failed job holds no lock, so this removes it unless it was retried and picked up meanwhile.
      await job.remove();
      return { result: undefined, audit: { action: 'job.removed', target: { type: 'job', key: `${name}/${id}` }, project: null, before } };
    });
  }

  private all(): JobQueues {
    if (!this.queues) throw new JobQueuesUnavailableError('this admin API was started without the job queues: failed jobs cannot be listed, retried or removed here');
    return this.queues;
  }
}

async function mustFailed(queue: Queue, name: JobQueueName, id: string): Promise<Job> {
  const job = await queue.getJob(id);
  if (!job) throw new NotFoundError(`queue ${name} has no job "${id}"`);
  const state = await job.getState();
  if (state !== 'failed') throw new NotFoundError(`job "${id}" of queue ${name} is ${state}, not failed`);
  return job;
}

function viewOf(queue: JobQueueName, job: Job, state: string): JobView {
  return {
    queue,
    id: job.id ?? '',
    name: job.name,
    state,
    // Job data holds ids and versions; redact anyway in case a queue ever carries more.
    data: redactSensitive(job.data),
    failedReason: job.failedReason || null,
    attemptsMade: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    createdAt: new Date(job.timestamp).toISOString(),
    finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  };
}
