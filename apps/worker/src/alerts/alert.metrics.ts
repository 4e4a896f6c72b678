import { Counter, type Registry } from 'prom-client';

/**
 * The alert deliverer's metrics, in the worker's process registry (served on /metrics). `retry` and
 * `refused` are the outcomes to alert on: ops would otherwise miss that alerts do not arrive.
 */
export class AlertMetrics {
  readonly deliveries: Counter<'outcome'>;

  constructor(registry: Registry) {
    this.deliveries = new Counter({
      name: 'flagstream_worker_alert_deliveries_total',
      help: 'Alert webhook delivery attempts by outcome: delivered (2xx), retry (408, 429, 5xx, network error or timeout) or refused (other status; not retried)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    // Every outcome is exported from the start, so `rate()` and absence alerts work before the first delivery.
    for (const outcome of ['delivered', 'retry', 'refused'] as const) this.deliveries.inc({ outcome }, 0);
  }
}
