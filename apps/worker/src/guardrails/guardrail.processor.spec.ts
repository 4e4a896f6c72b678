import { Registry } from 'prom-client';
import type { GuardrailPassResult, ReleasePlanView } from '@flagstream/changes';
import { createLogger } from '@flagstream/server';
import type { AlertEvent } from '../alerts/alert-event';
import { WorkerMetrics } from '../worker.metrics';
import { GuardrailProcessor } from './guardrail.processor';

const plan = (id: string, over: Partial<ReleasePlanView> = {}) =>
  ({ id, project: 'shop', environment: 'prod', flag: `flag-${id}`, status: 'paused', currentMilestone: 0, version: 7, guardrails: [{ metric: 'errors' }], ...over }) as unknown as ReleasePlanView;

describe('GuardrailProcessor', () => {
  let registry: Registry;
  let metrics: WorkerMetrics;
  let alerts: AlertEvent[];

  beforeEach(() => {
    registry = new Registry();
    metrics = new WorkerMetrics(registry, []);
    alerts = [];
  });

  function processor(ids: string[], evaluate: (id: string) => Promise<GuardrailPassResult>, emit?: (e: AlertEvent) => Promise<never>) {
    const pages: string[][] = [];
    return {
      pages,
      p: new GuardrailProcessor(
        {
          guardedPlans: async (limit, after) => {
            const page = ids.filter((id) => after === undefined || id > after).slice(0, limit);
            pages.push(page);
            return page.map((id) => ({ id, version: 1 }));
          },
          evaluateGuardrails: (id) => evaluate(id),
        },
        { emit: emit ?? (async (e) => (alerts.push(e), { queued: true as const, jobId: e.id })) },
        metrics,
        createLogger('worker-test', 'silent'),
      ),
    };
  }

  it('evaluates every plan, alerts once per rollback with a deterministic id, and goes on after a failing plan', async () => {
    const { p } = processor(['a', 'b', 'c'], async (id) => {
      if (id === 'b') throw new Error('connection reset');
      const breached = { status: 'breached', reason: 'errors rate: treatment 9% vs control 1%' } as GuardrailPassResult['evaluations'][number];
      return id === 'c' ? { planId: id, evaluations: [breached], rolledBack: { plan: plan(id), revision: 42, guardrail: 0, reason: breached.reason } } : { planId: id, evaluations: [] };
    });
    const report = await p.process('job-1');
    expect(report).toEqual({ plans: 3, breaches: 1, rolledBack: ['c'], errors: 1 });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      id: 'guardrail-c-v7',
      type: 'release_plan.guardrail_breached',
      project: 'shop',
      environment: 'prod',
      summary: 'Release plan of flag "flag-c" in "prod" rolled back to milestone 1 and paused: errors rate: treatment 9% vs control 1%',
      data: { releasePlan: 'c', revision: 42, currentMilestone: 0, guardrail: { index: 0, metric: 'errors' } },
    });
    const failures = await registry.getSingleMetric('flagstream_worker_job_failures_total')!.get();
    expect(failures.values).toEqual([{ labels: { queue: 'guardrails', reason: 'transient' }, value: 1 }]);
  });

  it('says "before the plan" for a rollback to milestone -1, and a failed alert does not fail the pass', async () => {
    const { p } = processor(
      ['x'],
      async (id) => ({ planId: id, evaluations: [], rolledBack: { plan: plan(id, { currentMilestone: -1 }), revision: 3, guardrail: 0, reason: 'r' } }),
      async (e) => {
        alerts.push(e);
        throw new Error('redis down');
      },
    );
    await expect(p.process()).resolves.toEqual({ plans: 1, breaches: 0, rolledBack: ['x'], errors: 0 });
    expect(alerts.map((a) => a.summary)).toEqual(['Release plan of flag "flag-x" in "prod" rolled back to its state before the plan and paused: r']);
  });

  it('pages through the plans by id', async () => {
    const ids = Array.from({ length: 450 }, (_, i) => `p${String(i).padStart(4, '0')}`);
    const seen: string[] = [];
    const { p, pages } = processor(ids, async (id) => (seen.push(id), { planId: id, evaluations: [] }));
    expect((await p.process()).plans).toBe(450);
    expect(pages.map((pg) => pg.length)).toEqual([200, 200, 50]);
    expect(seen).toEqual(ids);
  });
});
