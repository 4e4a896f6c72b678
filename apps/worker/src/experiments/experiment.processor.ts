import type { Logger } from 'pino';
import { EXPERIMENTS_QUEUE, type ExperimentPassReport, type ExperimentResults } from '@flagstream/changes';
import type { WorkerMetrics } from '../worker.metrics';

/**
 * One aggregation pass over the due experiments (the repeating job of the experiments queue: one
 * pass per WORKER_EXPERIMENT_MS, whichever worker takes it). Each experiment is aggregated in its
 * own transaction under its row lock, so an on-demand run from the admin API at the same time is
 * skipped, never double-counted; one experiment's failure is logged and the pass goes on.
 */
export class ExperimentProcessor {
  constructor(
    private readonly results: Pick<ExperimentResults, 'aggregateDue'>,
    private readonly metrics: WorkerMetrics,
    private readonly logger: Logger,
  ) {}

  async process(): Promise<ExperimentPassReport> {
    const end = this.metrics.duration.startTimer({ queue: EXPERIMENTS_QUEUE });
    let outcome = 'applied';
    try {
      const report = await this.results.aggregateDue('schedule');
      for (const f of report.failed) {
        this.metrics.failures.inc({ queue: EXPERIMENTS_QUEUE, reason: 'transient' });
        this.logger.error(f, 'experiment aggregation failed; the next pass tries again');
      }
      if (report.failed.length) outcome = 'failed';
      return report;
    } catch (err) {
      outcome = 'retry';
      throw err;
    } finally {
      end({ outcome });
    }
  }
}
