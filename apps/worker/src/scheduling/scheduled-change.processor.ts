import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { SCHEDULED_CHANGES_QUEUE, type ApplyResult, type ScheduledChanges, type ScheduledChangeJobData } from '@flagstream/changes';
import type { WorkerMetrics } from '../worker.metrics';

/**
 * Runs one scheduled-change job. Idempotent: the change applies only while it is pending at the
 * job's version, under a row lock, so a job that runs twice (or two jobs of one change) applies
 * it once. A change the current state makes invalid is marked failed and the job fails without
 * retry (`UnrecoverableError`); anything else is thrown and BullMQ retries with backoff.
 */
export class ScheduledChangeProcessor {
  constructor(
    private readonly schedules: Pick<ScheduledChanges, 'apply'>,
    private readonly metrics: WorkerMetrics,
    private readonly logger: Logger,
  ) {}

  async process(job: Job<ScheduledChangeJobData>, token?: string): Promise<ApplyResult> {
    const { id, version } = job.data;
    const end = this.metrics.duration.startTimer({ queue: SCHEDULED_CHANGES_QUEUE });
    let outcome = 'retry';
    try {
      const result = await this.schedules.apply(id, version, job.id ?? null);
      outcome = result.status === 'not-due' ? 'delayed' : result.status;
      switch (result.status) {
        case 'applied':
          this.logger.info({ scheduledChange: id, version, revision: result.revision, job: job.id }, 'scheduled change applied');
          return result;
        case 'skipped':
          this.logger.debug({ scheduledChange: id, version, reason: result.reason, job: job.id }, 'scheduled change skipped');
          return result;
        case 'failed':
          this.metrics.failures.inc({ queue: SCHEDULED_CHANGES_QUEUE, reason: result.error.code });
          this.logger.warn({ scheduledChange: id, version, error: result.error, job: job.id }, 'scheduled change is not valid any more; marked failed');
          throw new UnrecoverableError(`scheduled change ${id} cannot be applied: ${result.error.message}`);
        case 'not-due':
          await job.moveToDelayed(result.runAt.getTime(), token);
          throw new DelayedError();
      }
    } catch (e) {
      if (e instanceof UnrecoverableError || e instanceof DelayedError) throw e;
      this.metrics.failures.inc({ queue: SCHEDULED_CHANGES_QUEUE, reason: 'transient' });
      this.logger.warn({ err: e, scheduledChange: id, version, attempt: job.attemptsMade + 1, job: job.id }, 'scheduled change job failed; it will be retried');
      throw e;
    } finally {
      end({ outcome });
    }
  }
}
