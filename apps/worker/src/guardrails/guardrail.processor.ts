import type { Logger } from 'pino';
import { GUARDRAILS_QUEUE, type GuardrailPassResult, type ReleasePlans } from '@flagstream/changes';
import type { AlertSink } from '../alerts/alert.queue';
import type { WorkerMetrics } from '../worker.metrics';

/** Where a rollback's alert goes (the alert queue: a signed webhook with retries). */
export type GuardrailAlertPort = Pick<AlertSink, 'emit'>;

/** What one evaluation pass did. */
export interface GuardrailPassReport {
  plans: number;
  breaches: number;
  rolledBack: string[];
  /** Plans whose evaluation failed (logged; the next pass tries again). */
  errors: number;
}

const PAGE = 200;

/**
 * One evaluation pass over every running plan with guardrails (the repeating job of the
 * guardrails queue: one pass per period, whichever worker takes it). A breach rolls the plan back
 * through `ReleasePlans.rollBackOnBreach`, which applies it once even if two passes judge the same
 * data, and the worker that did it sends the alert. One plan's failure does not stop the pass.
 */
export class GuardrailProcessor {
  constructor(
    private readonly plans: Pick<ReleasePlans, 'guardedPlans' | 'evaluateGuardrails'>,
    private readonly alerts: GuardrailAlertPort,
    private readonly metrics: WorkerMetrics,
    private readonly logger: Logger,
  ) {}

  async process(jobId: string | null = null): Promise<GuardrailPassReport> {
    const end = this.metrics.duration.startTimer({ queue: GUARDRAILS_QUEUE });
    const report: GuardrailPassReport = { plans: 0, breaches: 0, rolledBack: [], errors: 0 };
    let outcome = 'applied';
    try {
      let after: string | undefined;
      for (;;) {
        const page = await this.plans.guardedPlans(PAGE, after);
        for (const p of page) {
          report.plans++;
          try {
            const result = await this.plans.evaluateGuardrails(p.id, jobId);
            report.breaches += result.evaluations.filter((e) => e.status === 'breached').length;
            if (result.rolledBack) {
              report.rolledBack.push(p.id);
              await this.alert(result);
            }
          } catch (err) {
            report.errors++;
            this.metrics.failures.inc({ queue: GUARDRAILS_QUEUE, reason: 'transient' });
            this.logger.error({ err, releasePlan: p.id }, 'guardrail evaluation failed; the next pass tries again');
          }
        }
        if (page.length < PAGE) break;
        after = page[page.length - 1].id;
      }
      if (report.errors) outcome = 'failed';
      return report;
    } catch (e) {
      outcome = 'retry';
      throw e;
    } finally {
      end({ outcome });
    }
  }

  private async alert(result: GuardrailPassResult): Promise<void> {
    const rb = result.rolledBack!;
    const { plan } = rb;
    const summary = `Release plan of flag "${plan.flag}" in "${plan.environment}" rolled back to ${plan.currentMilestone < 0 ? 'its state before the plan' : `milestone ${plan.currentMilestone + 1}`} and paused: ${rb.reason}`;
    this.logger.warn({ releasePlan: plan.id, project: plan.project, environment: plan.environment, flag: plan.flag, revision: rb.revision, guardrail: rb.guardrail }, 'guardrail breached: release plan rolled back');
    try {
      await this.alerts.emit({
        // One alert per rollback: the plan version after it is unique to it.
        id: `guardrail-${plan.id}-v${plan.version}`,
        type: 'release_plan.guardrail_breached',
        occurredAt: new Date().toISOString(),
        project: plan.project,
        environment: plan.environment,
        summary,
        data: {
          releasePlan: plan.id,
          flag: plan.flag,
          status: plan.status,
          currentMilestone: plan.currentMilestone,
          revision: rb.revision,
          guardrail: { index: rb.guardrail, ...plan.guardrails[rb.guardrail], lastEvaluation: result.evaluations[rb.guardrail] },
        },
      });
    } catch (err) {
      // The rollback stands; only the notice is lost (the audit log and the plan history have it).
      this.logger.error({ err, releasePlan: plan.id }, 'the guardrail alert could not be queued');
    }
  }
}
