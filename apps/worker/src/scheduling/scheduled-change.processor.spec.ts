import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { Registry } from 'prom-client';
import type { ApplyResult, ScheduledChangeJobData } from '@flagstream/changes';
import { createLogger } from '@flagstream/server';
import { WorkerMetrics } from '../worker.metrics';
import { ScheduledChangeProcessor } from './scheduled-change.processor';

/** A job as the processor sees it, recording where it was moved. */
function fakeJob(): Job<ScheduledChangeJobData> & { delayedTo: Array<[number, string | undefined]> } {
  const delayedTo: Array<[number, string | undefined]> = [];
  return {
    id: 'sched-s1-v2',
    data: { id: 's1', version: 2 },
    attemptsMade: 0,
    delayedTo,
    moveToDelayed: async (timestamp: number, token?: string) => {
      delayedTo.push([timestamp, token]);
    },
  } as unknown as Job<ScheduledChangeJobData> & { delayedTo: Array<[number, string | undefined]> };
}

describe('ScheduledChangeProcessor', () => {
  let registry: Registry;
  let metrics: WorkerMetrics;
  const calls: Array<[string, number, string | null]> = [];

  function processor(apply: () => Promise<ApplyResult>) {
    return new ScheduledChangeProcessor(
      {
        apply: (id, version, requestId) => {
          calls.push([id, version, requestId]);
          return apply();
        },
      },
      metrics,
      createLogger('worker-test', 'silent'),
    );
  }

  async function count(name: string, labels: Record<string, string>): Promise<number> {
    const metric = await registry.getSingleMetric(name)!.get();
    return metric.values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((n, v) => n + v.value, 0);
  }

  beforeEach(() => {
    registry = new Registry();
    metrics = new WorkerMetrics(registry, []);
    calls.length = 0;
  });

  it('applies the job’s change at its version, with the job id as request id', async () => {
    await expect(processor(async () => ({ status: 'applied', revision: 7 })).process(fakeJob(), 'tok')).resolves.toEqual({ status: 'applied', revision: 7 });
    expect(calls).toEqual([['s1', 2, 'sched-s1-v2']]);
    expect(await count('flagstream_worker_job_duration_seconds', { outcome: 'applied' })).toBeGreaterThan(0);
  });

  it('completes without doing anything when the change moved on', async () => {
    await expect(processor(async () => ({ status: 'skipped', reason: 'other-version' })).process(fakeJob())).resolves.toEqual({ status: 'skipped', reason: 'other-version' });
  });

  it('fails without retry (UnrecoverableError) when the change is invalid now, counting its error code', async () => {
    const error = { code: 'VALIDATION_FAILED', message: 'flag settings are not valid', details: [] };
    const run = processor(async () => ({ status: 'failed', error })).process(fakeJob());
    await expect(run).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(run).rejects.toThrow('scheduled change s1 cannot be applied: flag settings are not valid');
    expect(await count('flagstream_worker_job_failures_total', { reason: 'VALIDATION_FAILED' })).toBe(1);
    expect(await count('flagstream_worker_job_failures_total', { reason: 'transient' })).toBe(0);
  });

  it('rethrows other errors so BullMQ retries them with backoff, counted as transient', async () => {
    const run = processor(async () => {
      throw new Error('connection terminated');
    }).process(fakeJob());
    await expect(run).rejects.toThrow('connection terminated');
    await expect(run).rejects.not.toBeInstanceOf(UnrecoverableError);
    expect(await count('flagstream_worker_job_failures_total', { reason: 'transient' })).toBe(1);
    expect(await count('flagstream_worker_job_duration_seconds', { outcome: 'retry' })).toBeGreaterThan(0);
  });

  it('moves a job that fired early back to the change’s time (DelayedError), without a failure', async () => {
    const job = fakeJob();
    const runAt = new Date('2030-01-01T00:00:00Z');
    await expect(processor(async () => ({ status: 'not-due', runAt })).process(job, 'tok')).rejects.toBeInstanceOf(DelayedError);
    expect(job.delayedTo).toEqual([[runAt.getTime(), 'tok']]);
    expect(await count('flagstream_worker_job_failures_total', {})).toBe(0);
  });
});
