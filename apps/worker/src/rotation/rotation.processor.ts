import type { Logger } from 'pino';
import { randomToken, SECRET_MAINTENANCE_QUEUE, type RotationPassReport, type RotatorFn, type SecretRotations } from '@flagstream/changes';
import type { SecretRotator } from '@flagstream/persistence';
import type { AlertSink } from '../alerts/alert.queue';
import type { WorkerMetrics } from '../worker.metrics';

/** Makes an alert id from parts: BullMQ ids allow letters, digits, `.`, `_`, `-`. */
function idOf(...parts: string[]): string {
  return parts.join('-').replace(/[^A-Za-z0-9._-]/g, '.').slice(0, 200);
}

/**
 * The periodic secret-rotation pass (a repeating job on the secret-maintenance queue: one pass per
 * period, whichever worker takes it; a rotation is claimed in Postgres, so two passes never rotate
 * one secret twice). Rotated versions reach SDKs as `secret.changed`; repeated failures and
 * "rotation due" notices go out as alerts.
 */
export class RotationProcessor {
  private readonly rotators: Record<SecretRotator, RotatorFn>;

  constructor(
    private readonly rotations: Pick<SecretRotations, 'runDue'>,
    webhook: RotatorFn,
    private readonly alerts: Pick<AlertSink, 'emit'>,
    private readonly metrics: WorkerMetrics,
    private readonly logger: Logger,
  ) {
    this.rotators = { 'random-token': async (req) => randomToken(req.config), webhook };
  }

  async process(): Promise<RotationPassReport> {
    const end = this.metrics.duration.startTimer({ queue: SECRET_MAINTENANCE_QUEUE });
    let outcome = 'applied';
    try {
      const report = await this.rotations.runDue(this.rotators);
      for (const r of report.rotated) this.logger.info({ project: r.project, environment: r.environment, path: r.path, version: r.version }, 'secret rotated');
      for (const f of report.failed) {
        this.metrics.failures.inc({ queue: SECRET_MAINTENANCE_QUEUE, reason: 'rotation' });
        this.logger.warn({ project: f.project, environment: f.environment, path: f.path, failures: f.failures, error: f.error }, 'secret rotation failed; it will be tried again');
        if (f.alert) {
          await this.emit({
            id: idOf('rotation-failed', f.project, f.environment, f.path, String(f.failures)),
            type: 'secret.rotation_failed',
            occurredAt: new Date().toISOString(),
            project: f.project,
            environment: f.environment,
            summary: `Rotation of secret "${f.path}" in "${f.environment}" failed ${f.failures} times in a row: ${f.error}`,
            data: { path: f.path, failures: f.failures, error: f.error },
          });
        }
      }
      for (const n of report.notices) {
        await this.emit({
          id: idOf('rotation-due', n.project, n.environment, n.path, String(Date.parse(n.dueAt))),
          type: 'secret.rotation_due',
          occurredAt: new Date().toISOString(),
          project: n.project,
          environment: n.environment,
          summary: `Secret "${n.path}" in "${n.environment}" is due for rotation at ${n.dueAt}`,
          data: { path: n.path, dueAt: n.dueAt },
        });
      }
      if (report.failed.length) outcome = 'failed';
      return report;
    } catch (e) {
      outcome = 'retry';
      throw e;
    } finally {
      end({ outcome });
    }
  }

  private async emit(event: Parameters<AlertSink['emit']>[0]): Promise<void> {
    try {
      await this.alerts.emit(event);
    } catch (err) {
      this.logger.error({ err, alert: event.id }, 'a secret rotation alert could not be queued');
    }
  }
}
