import { performance } from 'node:perf_hooks';
import { ConflictError, NotFoundError } from '@flagstream/errors';
import { METRIC_LOOKBACK_SECONDS, type ExperimentSnapshotEntity, type ExperimentSnapshotTrigger, type Store } from '@flagstream/persistence';
import { analyzeTotals, experimentTotals } from './experiment-results.view';

export interface ExperimentResultsOptions {
  /** A stopped experiment keeps counting events that arrive this long after its stop. Default 1 hour. */
  settleSeconds?: number;
  now?: () => Date;
}

export const EXPERIMENT_RESULTS_DEFAULTS = { settleSeconds: 3600 } as const;

/** What one aggregation pass over the due experiments did. */
export interface ExperimentPassReport {
  aggregated: number;
  skipped: number;
  failed: Array<{ experiment: string; error: string }>;
}

/**
 * Experiment aggregation: folds the events received since the experiment's watermark into its
 * per-unit state (SQL in Postgres, ExperimentRepository.aggregateIncrement), recomputes the
 * per-variation totals and statistics, and stores them as a snapshot, all in one transaction that
 * holds the experiment's row lock, so each event is counted once even with several workers and
 * on-demand runs at the same time.
 */
export class ExperimentResults {
  readonly settleSeconds: number;
  private readonly now: () => Date;

  constructor(
    private readonly store: Store,
    options: ExperimentResultsOptions = {},
  ) {
    this.settleSeconds = options.settleSeconds ?? EXPERIMENT_RESULTS_DEFAULTS.settleSeconds;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Aggregates one experiment now and stores a snapshot. Null when another aggregation holds the
   * experiment (its snapshot will be as fresh); a draft is a 409.
   *
   * The window is a range of transaction ids, not of times: this step reads the events of every
   * transaction that finished since the previous step's horizon and before this one's, so an
   * insert that commits late is read by the next step instead of being skipped.
   */
  aggregate(experimentId: string, trigger: ExperimentSnapshotTrigger): Promise<ExperimentSnapshotEntity | null> {
    const began = performance.now();
    return this.store.transaction(async (tx) => {
      // The clock, then the horizon, before this transaction takes an id of its own (the lock
      // gives it one): every id from `horizon.xmax` on is handed out after `now`, and an idle
      // database gives xmin = xmax, so the next step can bound its scan by this one's time.
      const now = this.now();
      const horizon = await tx.experiments.horizon();
      const experiment = await tx.experiments.lockForAggregation(experimentId);
      if (!experiment) {
        if (!(await tx.experiments.findById(experimentId))) throw new NotFoundError(`experiment ${experimentId} does not exist`);
        return null;
      }
      if (experiment.status === 'draft' || !experiment.startedAt) throw new ConflictError(`experiment "${experiment.key}" has not started: there is nothing to aggregate`);
      const fromXid = experiment.watermarkXid;
      const firstScan = new Date(experiment.startedAt.getTime() - 86_400_000);
      let increment = { units: 0, metricEvents: 0 };
      if (fromXid === null || horizon.xmin > fromXid) {
        experiment.aggregationStep += 1;
        increment = await tx.experiments.aggregateIncrement(experiment, {
          fromXid,
          uptoXid: horizon.xmin,
          // Rows of transactions from `fromXid` on were stamped after that id was assigned: after
          // the latest snapshot whose next id was at most it. (Not after the previous run: a long
          // transaction can hold the horizon still across many runs.) The first step scans
          // arrivals from a day before the start: an SDK clock ahead of ours can stamp an event
          // after the start that arrived before it (occurred_at decides).
          since: fromXid === null ? firstScan : ((await tx.experiments.assignedAfter(experiment.id, fromXid)) ?? firstScan),
          receivedUntil: experiment.stoppedAt ? new Date(experiment.stoppedAt.getTime() + this.settleSeconds * 1000) : null,
          step: experiment.aggregationStep,
        });
        experiment.watermarkXid = horizon.xmin;
      }
      // A stopped experiment is done once its horizon passes every insert that began before the
      // settle time ended; the margin covers a gateway's stamp-to-INSERT delay.
      if (experiment.stoppedAt && experiment.settleXmax === null && now.getTime() >= experiment.stoppedAt.getTime() + (this.settleSeconds + METRIC_LOOKBACK_SECONDS) * 1000) {
        experiment.settleXmax = horizon.xmax;
      }
      const metrics = await tx.experiments.metrics(experiment.id);
      const totals = experimentTotals(experiment, metrics, await tx.experiments.unitTotals(experiment.id), await tx.experiments.metricTotals(experiment.id));
      let analysis: ReturnType<typeof analyzeTotals> = null;
      try {
        analysis = analyzeTotals(experiment, metrics, totals);
      } catch (err) {
        // The totals are valid whatever they are; a statistic that cannot take them must not stall
        // the experiment (the horizon still moves): the snapshot says why it has no read-out.
        if (!(err instanceof RangeError)) throw err;
        totals.analysisProblem = err.message;
      }
      experiment.watermark = now;
      experiment.aggregatedAt = now;
      await tx.experiments.save(experiment);
      return tx.experiments.insertSnapshot(
        {
          experimentId: experiment.id,
          watermark: now,
          trigger,
          horizonXmin: horizon.xmin,
          horizonXmax: horizon.xmax,
          eventsRead: increment.units + increment.metricEvents,
          durationMs: Math.round(performance.now() - began),
          totals: totals as unknown as Record<string, unknown>,
          analysis: analysis as unknown as Record<string, unknown> | null,
        },
        now,
      );
    });
  }

  /** One pass over every due experiment (running, or stopped and still settling), a page at a time. */
  async aggregateDue(trigger: ExperimentSnapshotTrigger = 'schedule'): Promise<ExperimentPassReport> {
    const report: ExperimentPassReport = { aggregated: 0, skipped: 0, failed: [] };
    let after: string | undefined;
    for (;;) {
      const page = await this.store.read.experiments.listDue(50, after);
      for (const experiment of page) {
        try {
          if (await this.aggregate(experiment.id, trigger)) report.aggregated++;
          else report.skipped++;
        } catch (err) {
          report.failed.push({ experiment: experiment.key, error: err instanceof Error ? err.message : String(err) });
        }
      }
      if (page.length < 50) return report;
      after = page[page.length - 1]!.id;
    }
  }
}
