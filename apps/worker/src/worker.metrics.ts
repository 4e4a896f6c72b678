import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const JOB_STATES = ['waiting', 'delayed', 'active', 'failed'] as const;

/** A queue the depth gauge reads at scrape time. */
export interface CountedQueue {
  name: string;
  counts(): Promise<Partial<Record<(typeof JOB_STATES)[number], number>>>;
}

/** The worker's job metrics, in its process registry (served on /metrics). */
export class WorkerMetrics {
  readonly duration: Histogram<'queue' | 'outcome'>;
  readonly failures: Counter<'queue' | 'reason'>;
  readonly pending: Gauge;
  readonly sweeps: Counter<'outcome'>;

  constructor(registry: Registry, queues: readonly CountedQueue[]) {
    new Gauge({
      name: 'flagstream_worker_queue_jobs',
      help: 'Jobs in the queue by state (read from Redis at scrape time)',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        for (const q of queues) {
          try {
            const counts = await q.counts();
            for (const state of JOB_STATES) this.set({ queue: q.name, state }, counts[state] ?? 0);
          } catch {
            // Redis is down: the readiness check reports it; keep the last values.
          }
        }
      },
    });
    this.duration = new Histogram({
      name: 'flagstream_worker_job_duration_seconds',
      help: 'Job run time by queue and outcome (applied, skipped, failed, delayed, retry)',
      labelNames: ['queue', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'flagstream_worker_job_failures_total',
      help: 'Failed job runs by reason: an error code (the change is invalid now; not retried) or "transient" (retried)',
      labelNames: ['queue', 'reason'],
      registers: [registry],
    });
    this.pending = new Gauge({
      name: 'flagstream_worker_scheduled_changes_pending',
      help: 'Pending scheduled changes in Postgres at the last sweep',
      registers: [registry],
    });
    this.sweeps = new Counter({
      name: 'flagstream_worker_sweeps_total',
      help: 'Sweeps that re-enqueue pending scheduled changes from Postgres, by outcome (ok, error)',
      labelNames: ['outcome'],
      registers: [registry],
    });
  }
}
