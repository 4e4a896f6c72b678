import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { Registry } from 'prom-client';
import type { PlanStepResult, ReleasePlanJobData } from '@flagstream/changes';
import { createLogger } from '@flagstream/server';
import { WorkerMetrics } from '../worker.metrics';
import { ReleasePlanProcessor } from './release-plan.processor';

function fakeJob(): Job<ReleasePlanJobData> & { delayedTo: number[] } {
  const delayedTo: number[] = [];
  return {
    id: 'plan-p1-m2-v4',
    data: { id: 'p1', version: 4, milestone: 2 },
    attemptsMade: 0,
    delayedTo,
    moveToDelayed: async (timestamp: number) => {
      delayedTo.push(timestamp);
    },
  } as unknown as Job<ReleasePlanJobData> & { delayedTo: number[] };
}

describe('ReleasePlanProcessor', () => {
  let registry: Registry;
  let metrics: WorkerMetrics;
  const calls: Array<[string, number, number, string | null]> = [];

  function processor(result: () => Promise<PlanStepResult>) {
    return new ReleasePlanProcessor(
      {
        applyDue: (id, version, milestone, requestId) => {
          calls.push([id, version, milestone, requestId]);
          return result();
        },
      },
      metrics,
      createLogger('worker-test', 'silent'),
    );
  }

  async function failures(reason: string): Promise<number> {
    const metric = await registry.getSingleMetric('flagstream_worker_job_failures_total')!.get();
    return metric.values.filter((v) => v.labels.queue === 'release-plans' && v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
  }

  beforeEach(() => {
    registry = new Registry();
    metrics = new WorkerMetrics(registry, []);
    calls.length = 0;
  });

  it('applies the step named by the job, with the job id as request id', async () => {
    await expect(processor(async () => ({ status: 'applied', milestone: 2, revision: 9 })).process(fakeJob())).resolves.toEqual({ status: 'applied', milestone: 2, revision: 9 });
    expect(calls).toEqual([['p1', 4, 2, 'plan-p1-m2-v4']]);
  });

  it('does not retry a step that is invalid now', async () => {
    await expect(processor(async () => ({ status: 'failed', error: { code: 'VALIDATION_FAILED', message: 'no variation' } })).process(fakeJob())).rejects.toBeInstanceOf(UnrecoverableError);
    expect(await failures('VALIDATION_FAILED')).toBe(1);
  });

  it('moves an early job to the transition time, and rethrows transient errors for a retry', async () => {
    const job = fakeJob();
    await expect(processor(async () => ({ status: 'not-due', at: new Date(5000) })).process(job, 'tok')).rejects.toBeInstanceOf(DelayedError);
    expect(job.delayedTo).toEqual([5000]);
    await expect(processor(() => Promise.reject(new Error('connection reset'))).process(fakeJob())).rejects.toThrow('connection reset');
    expect(await failures('transient')).toBe(1);
  });
});
