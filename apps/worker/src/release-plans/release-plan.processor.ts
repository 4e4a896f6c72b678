import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { RELEASE_PLANS_QUEUE, type PlanStepResult, type ReleasePlanJobData, type ReleasePlans } from '@flagstream/changes';
import type { WorkerMetrics } from '../worker.metrics';

/**
 * Runs one release plan transition. Idempotent: the plan moves only while it is running at the
 * job's version and at the milestone before the job's, under a row lock. A step the current state
 * makes invalid pauses the plan and fails the job without retry; anything else is retried.
 */
export class ReleasePlanProcessor {
  constructor(
    private readonly plans: Pick<ReleasePlans, 'applyDue'>,
    private readonly metrics: WorkerMetrics,
    private readonly logger: Logger,
  ) {}

  async process(job: Job<ReleasePlanJobData>, token?: string): Promise<PlanStepResult> {
    const { id, version, milestone } = job.data;
    const end = this.metrics.duration.startTimer({ queue: RELEASE_PLANS_QUEUE });
    let outcome = 'retry';
    try {
      const result = await this.plans.applyDue(id, version, milestone, job.id ?? null);
      outcome = result.status === 'not-due' ? 'delayed' : result.status;
      switch (result.status) {
        case 'applied':
          this.logger.info({ releasePlan: id, milestone, revision: result.revision, job: job.id }, 'release plan advanced');
          return result;
        case 'skipped':
          this.logger.debug({ releasePlan: id, milestone, reason: result.reason, job: job.id }, 'release plan transition skipped');
          return result;
        case 'failed':
          this.metrics.failures.inc({ queue: RELEASE_PLANS_QUEUE, reason: result.error.code });
          this.logger.warn({ releasePlan: id, milestone, error: result.error, job: job.id }, 'release plan step is not valid; plan paused');
          throw new UnrecoverableError(`release plan ${id} cannot move to milestone ${milestone + 1}: ${result.error.message}`);
        case 'not-due':
          await job.moveToDelayed(result.at.getTime(), token);
          throw new DelayedError();
      }
    } catch (e) {
      if (e instanceof UnrecoverableError || e instanceof DelayedError) throw e;
      this.metrics.failures.inc({ queue: RELEASE_PLANS_QUEUE, reason: 'transient' });
      this.logger.warn({ err: e, releasePlan: id, milestone, attempt: job.attemptsMade + 1, job: job.id }, 'release plan job failed; it will be retried');
      throw e;
    } finally {
      end({ outcome });
    }
  }
}
